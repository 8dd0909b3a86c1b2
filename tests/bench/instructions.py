#!/usr/bin/env python3
"""instructions.py — the CPU work an escalated case costs one node, counted in instructions.

This machine's wall-clock and CPU-time figures for one build differ by up to 2x from run to run
(other machines share its cores), so a change of a few percent in what a case costs does not
show in them. callgrind counts the instructions a process executes, nearly the same from run
to run. This runs relay.py's chain (county -> city -> province, ~1 KB cases escalated 1,000 per
command) with one node under `valgrind --tool=callgrind`, its instrumentation switched on only
while the cases go through (`callgrind_control -i on|off`), and prints one JSON object: that
node's instructions per case, in all and in the functions that cost the most.

Instructions are not time: code that waits for memory (LMDB's pages) takes longer per
instruction than code that does not, the kernel's share (the commit's writes and sync) is not
counted, and under valgrind libcrypto and libsodium run without their CPU-specific instructions,
so hashing and CURVE count for more than they cost. Compare two builds on the same node with
it; to see where the time goes, use perf.

`per_case.total` is everything the node did while instrumented; `per_case.links` is its link
work (links_work: receiving, applying, acknowledging, sending) and `per_case.control` its
control socket (the county's escalate commands; at the province, the count polled to see when
every case arrived, which varies with how long the run takes: compare `links` there).

Usage: instructions.py --build-dir DIR [--node county|city|prov] [--cases N] [--top K]
                       [--compare DIR2]
"""
import argparse, json, os, re, shutil, signal, subprocess, sys, tempfile, time

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import relay  # noqa: E402  (chain, register, escalate, wait_total, wait_link_up)

ROW = re.compile(r"^\s*([\d,]+) \([ \d.]+%\)\s+\*?\s*(\S+?):(\S+)")


def annotate(out):
    """Inclusive instructions per function from a callgrind output file: {name: Ir}."""
    text = subprocess.run(["callgrind_annotate", "--inclusive=yes", "--threshold=100", out],
                          capture_output=True, text=True, check=True).stdout
    total, rows = None, {}
    for line in text.splitlines():
        if "PROGRAM TOTALS" in line:
            total = int(line.split()[0].replace(",", ""))
            continue
        m = ROW.match(line)
        if m:
            name = m.group(3).split("'")[0]   # callgrind marks recursion levels with '
            rows[name] = max(rows.get(name, 0), int(m.group(1).replace(",", "")))
    if total is None:
        raise SystemExit(f"callgrind_annotate found no totals in {out}: was anything run?")
    return total, rows


def control(node, state):
    """Switches callgrind's instrumentation of node on or off."""
    r = subprocess.run(["callgrind_control", "-i", state, str(node.proc.pid)], capture_output=True,
                       text=True)
    if r.returncode != 0:
        why = r.stderr.strip() or r.stdout.strip()
        raise SystemExit(f"callgrind_control -i {state} {node.name}: {why}")


def measure(build, node, cases, top):
    xfsyncd, xfctl = os.path.join(build, "xfsyncd"), os.path.join(build, "xfctl")
    root = tempfile.mkdtemp(prefix="xfinstr.")
    try:
        out = os.path.join(root, "callgrind.out")
        wrap = os.path.join(root, "xfsyncd-callgrind")
        with open(wrap, "w") as f:
            f.write(f"#!/bin/sh\nexec valgrind -q --tool=callgrind --instr-atstart=no "
                    f"--callgrind-out-file={out} {xfsyncd} \"$@\"\n")
        os.chmod(wrap, 0o755)
        prov, city, county = relay.chain(root, xfctl)
        nodes = {"prov": prov, "city": city, "county": county}
        target = nodes[node]
        try:
            for n in nodes.values():
                n.start(wrap if n is target else xfsyncd)
            relay.wait_link_up(city, prov.code); relay.wait_link_up(county, city.code)
            ids = relay.register(county, cases)
            control(target, "on")
            relay.escalate(county, ids, "bench")
            relay.wait_total(prov, cases)
            time.sleep(1.0)   # the acknowledgements travel back
            control(target, "off")
        finally:
            for n in nodes.values():
                n.stop()   # callgrind writes its file as the node exits
        total, rows = annotate(out)
    finally:
        shutil.rmtree(root, ignore_errors=True)
    per = lambda ir: round(ir / cases)
    skip = ("loop_run", "main", "_start", "__libc_start_main", "__libc_start_call_main",
            "start_thread", "clone3", "0x")
    ranked = sorted(((ir, f) for f, ir in rows.items() if not f.startswith(skip)), reverse=True)
    return {"build": build, "node": node, "cases": cases,
            "per_case": {"total": per(total), "links": per(rows.get("links_work", 0)),
                         "control": per(rows.get("xf_control_ready", 0))},
            "top_inclusive_per_case": [[f, per(ir)] for ir, f in ranked[:top]]}


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--build-dir", required=True, help="a build with xfsyncd and xfctl (Release)")
    ap.add_argument("--node", choices=("county", "city", "prov"), default="county")
    ap.add_argument("--cases", type=int, default=2000)
    ap.add_argument("--top", type=int, default=25, help="functions listed (inclusive)")
    ap.add_argument("--compare", metavar="DIR2", help="a second build, measured the same way")
    a = ap.parse_args()
    for tool in ("valgrind", "callgrind_control", "callgrind_annotate"):
        if not shutil.which(tool):
            raise SystemExit(f"instructions.py needs {tool} (apt-get install valgrind)")
    signal.signal(signal.SIGTERM, lambda *_: sys.exit(143))
    res = {"bench": "instructions", "runs": [measure(a.build_dir, a.node, a.cases, a.top)]}
    if a.compare:
        res["runs"].append(measure(a.compare, a.node, a.cases, a.top))
        x, y = (r["per_case"] for r in res["runs"])
        res["second_over_first"] = {k: round(y[k] / x[k], 4) if x[k] else None for k in x}
    print(json.dumps(res, indent=1))


if __name__ == "__main__":
    main()
