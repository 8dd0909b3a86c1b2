#!/usr/bin/env python3
"""relay.py — durable relay county → city → province through real xfsyncd nodes.

Registers N cases at the county (case.import), escalates them to the province in batches of
1,000 (one transaction per batch), and measures how fast they arrive at the province (which
only applies; the city relays, storing each onward copy in the transaction that acknowledges
the inbound one). Then measures end-to-end latency with one escalation in flight, and the
catch-up of a backlog queued while the city was down. Prints one JSON object. Nothing is timed
before both links are up (a link comes up on the nodes' 500 ms tick, most of a second).

With --trust PROFILE the three offices are first enrolled in a certificate tree as
tests/integration/test_trust.sh does it (the province's self-signed anchor; each child's request
issued by its parent's running daemon, which admits the child by it from then on; the child
started once it has one), and run with [trust]: every envelope is signed
by the county and verified at the province, the city relaying it untouched. The run fails unless
the province verified the county's signature and counted nothing as forged.

Latency is given twice: from the moment the county's escalate command returns (the county has
committed and handed the envelope to its socket) until the province shows the case — the
relay's share, comparable to the baseline's — and from the moment the command is sent (what an
operator sees, including the county's own commit). Both include polling the province over its
control socket. The throughput gives each node's CPU per case (user + system over all its
threads, from /proc, while the cases went through), and how each thread spent the run
(`threads_pct`, from /proc/PID/task/TID/schedstat: on a core, and runnable but waiting for
one, in percent of the wall time; `main` is the node's event loop, `zmq_io` its CURVE I/O
thread) beside the machine's own split (`machine_pct`, /proc/stat: busy, iowait, idle,
steal). The backlog drain is timed from both links of the restarted city being up again (the
county backs off while its parent is down, retrying at most 5 s apart, so the wait for the
reconnect is reported on its own); its rate counts the cases not yet at the province by then.

Usage: relay.py --xfsyncd BIN --xfctl BIN [--cases N] [--latency M] [--backlog B]
                [--trust standard|national]
"""
import argparse, json, os, shutil, signal, socket, subprocess, sys, tempfile, time

WINDOW = os.environ.get("XF_WINDOW")   # [links] window; unset: the node's default


def cpu_times():
    """The machine's CPU time so far, all cores (/proc/stat): user nice system idle iowait irq
    softirq steal, in clock ticks."""
    with open("/proc/stat") as f:
        return [int(x) for x in f.readline().split()[1:9]]


def machine_share(before, after):
    """How the machine's CPU time went between two cpu_times(), in percent of all of it. steal is
    time the hypervisor gave this machine's CPUs to others: it slows a CPU-bound system (xfsync)
    more than a disk-bound one (the baseline), so it is printed beside every measured run."""
    d = [b - a for a, b in zip(before, after)]
    total = sum(d) or 1
    pct = lambda x: round(100 * x / total, 1)
    return {"busy_pct": pct(d[0] + d[1] + d[2] + d[5] + d[6]), "idle_pct": pct(d[3]),
            "iowait_pct": pct(d[4]), "steal_pct": pct(d[7])}


def threads_pct(before, after, seconds):
    """Each node's threads over a run: % of the wall time on a core and waiting for one."""
    return {name: {kind: {"on_cpu": round((r - before[name].get(kind, (0, 0))[0]) / 1e7 / seconds, 1),
                          "waiting_for_cpu": round((w - before[name].get(kind, (0, 0))[1]) / 1e7 / seconds, 1)}
                   for kind, (r, w) in after[name].items() if kind in ("main", "zmq_io")}
            for name in after}


def free_port():
    s = socket.socket(); s.bind(("127.0.0.1", 0)); p = s.getsockname()[1]; s.close(); return p


class Node:
    def __init__(self, root, name, code, xfctl, trust=None):
        self.dir = os.path.join(root, name); os.makedirs(self.dir)
        self.code, self.name, self.proc, self.trust = code, name, None, trust
        subprocess.run([xfctl, "keygen", self.dir], check=True, stdout=subprocess.DEVNULL)
        self.pub = open(os.path.join(self.dir, "node.pub")).read().strip()
        self.sock = os.path.join(self.dir, "control.sock")
        self.conf = [f"[node]\ncode = {code}\nname = bench {code}\ndata_dir = {self.dir}/data\n"
                     f"control_socket = {self.sock}\nkey_file = {self.dir}/node.key\n"]
        if WINDOW:
            self.conf.append(f"[links]\nwindow = {WINDOW}\n")
        self.port = None

    def link_to(self, parent):
        """With [trust] no CURVE key of a peer is configured: they come from the certificates."""
        if parent.port is None:
            parent.port = free_port()
            parent.conf[0] += f"listen = tcp://127.0.0.1:{parent.port}\n"
        self.conf.append(f"[parent]\ncode = {parent.code}\nendpoint = tcp://127.0.0.1:{parent.port}\n"
                         + ("" if self.trust else f"public_key = {parent.pub}\n"))
        parent.conf.append(f"[child {self.code}]\n" + ("" if self.trust else f"public_key = {self.pub}\n"))

    def start(self, xfsyncd):
        with open(os.path.join(self.dir, "xfsyncd.conf"), "w") as f:
            f.write("\n".join(self.conf))
        log = open(os.path.join(self.dir, "log"), "a")
        self.proc = subprocess.Popen([xfsyncd, "-c", os.path.join(self.dir, "xfsyncd.conf"),
                                      "--foreground"], stderr=log, stdout=log)
        deadline = time.time() + 20
        while time.time() < deadline:
            try:
                self.client = Client(self.sock); self.client.ask("status"); return
            except OSError:
                time.sleep(0.05)
        raise SystemExit(f"{self.name} did not start")

    def stop(self):
        if self.proc and self.proc.poll() is None:
            self.proc.send_signal(signal.SIGTERM)
            try:
                self.proc.wait(20)
            except subprocess.TimeoutExpired:
                self.proc.kill(); self.proc.wait()
        self.proc = None

    def cpu_s(self):
        """CPU seconds the node has used (user + system, all its threads)."""
        f = open(f"/proc/{self.proc.pid}/stat").read().rsplit(")", 1)[1].split()
        return (int(f[11]) + int(f[12])) / os.sysconf("SC_CLK_TCK")

    def threads(self):
        """Per thread kind (main, zmq_io, ...): nanoseconds on a core and waiting for one."""
        out = {}
        for tid in os.listdir(f"/proc/{self.proc.pid}/task"):
            base = f"/proc/{self.proc.pid}/task/{tid}"
            try:
                comm = open(f"{base}/comm").read().strip()
                run, wait = (int(x) for x in open(f"{base}/schedstat").read().split()[:2])
            except OSError:
                continue   # a thread that ended meanwhile
            kind = "main" if comm == "xfsyncd" else "zmq_io" if comm.startswith("ZMQbg/IO") else comm
            r, w = out.get(kind, (0, 0))
            out[kind] = (r + run, w + wait)
        return out

    def store_kib(self):
        """What the node's LMDB file takes on disk (its apparent size is the map size)."""
        return os.stat(os.path.join(self.dir, "data", "data.mdb")).st_blocks // 2

    def rss_kib(self):
        """VmRSS, and how much of it is anonymous memory (the rest is mapped store pages)."""
        out = {}
        for line in open(f"/proc/{self.proc.pid}/status"):
            key = line.split(":")[0]
            if key in ("VmRSS", "RssAnon", "RssFile"):
                out[key] = int(line.split()[1])
        return out


class Client:
    def __init__(self, path):
        self.s = socket.socket(socket.AF_UNIX); self.s.connect(path); self.f = self.s.makefile("rwb")

    def ask(self, cmd, **args):
        self.f.write(json.dumps({"cmd": cmd, "args": args}).encode() + b"\n"); self.f.flush()
        r = json.loads(self.f.readline())
        if not r.get("ok"):
            raise RuntimeError(f"{cmd}: {r['error']}")
        return r["result"]


def chain(root, xfctl, trust=None):
    """The three offices, province 410000 <- city 411300 <- county 411324: configured, not
    started."""
    prov, city, county = (Node(root, "prov", "410000", xfctl, trust),
                          Node(root, "city", "411300", xfctl, trust),
                          Node(root, "county", "411324", xfctl, trust))
    city.link_to(prov); county.link_to(city)
    return prov, city, county


def escalate(county, ids, note):
    """Escalates ids to the province, 1,000 per command (one county transaction each)."""
    for i in range(0, len(ids), 1000):
        county.client.ask("case.escalate", ids=ids[i:i + 1000], to="410000", note=note)


def register(county, n):
    ids = []
    for i in range(0, n, 1000):
        rows = [{"channel": "letter", "category": "appeal", "summary": "x" * 900 + f" {i + k}"}
                for k in range(min(1000, n - i))]
        ids += county.client.ask("case.import", cases=rows, first_line=i + 1)["ids"]
    return ids


def total(node):
    return node.client.ask("status")["cases"]["total"]


def wait_total(node, want, limit=600):
    deadline = time.time() + limit
    while total(node) < want:
        if time.time() > deadline:
            raise SystemExit(f"{node.name}: {total(node)} of {want} after {limit} s")
        time.sleep(0.01)


def percentiles(samples):
    samples = sorted(samples)
    return {"p50": round(samples[len(samples) // 2]),
            "p99": round(samples[min(len(samples) - 1, int(len(samples) * 0.99))])}


def link_ups(node, peer):
    """How many times node's link to peer has come up."""
    return sum(l.get("ups", 0) for l in node.client.ask("status")["links"] if l["peer"] == peer)


def wait_link_up(node, peer, ups_before=0, limit=120):
    """Until the link is up for the (ups_before + 1)th time: a node notices a peer gone only at
    its next link tick, so a bare "up" right after a restart may be the old link's."""
    deadline = time.time() + limit
    while time.time() < deadline:
        links = node.client.ask("status")["links"]
        if any(l["peer"] == peer and l["state"] == "up" and l.get("ups", 1) > ups_before for l in links):
            return
        time.sleep(0.005)
    raise SystemExit(f"{node.name}: link to {peer} not up after {limit} s")


def enrol(prov, city, county, profile, xfctl, xfsyncd):
    """The certificate tree, in test_trust.sh's order; leaves the three nodes running."""
    def run(*args):
        r = subprocess.run([xfctl, *args], stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True)
        if r.returncode != 0:
            raise SystemExit(f"xfctl {' '.join(args)}: {r.stderr.strip()}")
    run("cert", "root", prov.dir, "--code", prov.code, "--name", f"bench {prov.code}", "--profile", profile)
    for n in (city, county):
        run("cert", "request", n.dir, "--code", n.code, "--name", f"bench {n.code}", "--profile", profile)
    for n in (prov, city, county):
        n.conf.append(f"[trust]\nanchor = {prov.dir}/node.crt\ncertificate = {n.dir}/node.crt\n"
                      f"signing_key = {n.dir}/sign.key\nprofile = {profile}\n")
    prov.start(xfsyncd)
    for parent, child in ((prov, city), (city, county)):
        crt = os.path.join(child.dir, "node.crt")
        # the parent admits the child by the certificate it issued, without a restart
        run("-s", parent.sock, "cert", "issue", os.path.join(child.dir, "node.csr"), "--out", crt)
        child.start(xfsyncd)


def trust_status(nodes, profile):
    """Each node's status.trust; refuses a run in which the province verified nothing."""
    st = {n.name: n.client.ask("status")["trust"] for n in nodes}
    prov = st[nodes[0].name]
    if profile and not (prov.get("enabled") and prov.get("profile") == profile
                        and prov.get("verified_signers", 0) >= 1 and prov.get("forged") == 0):
        raise SystemExit(f"the province's trust status after a signed run: {json.dumps(prov)}")
    return {name: {k: t[k] for k in ("enabled", "verified_signers", "offices_known", "forged") if k in t}
            for name, t in st.items()}


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--xfsyncd", required=True); ap.add_argument("--xfctl", required=True)
    ap.add_argument("--cases", type=int, default=20000); ap.add_argument("--latency", type=int, default=200)
    ap.add_argument("--backlog", type=int, default=20000)
    ap.add_argument("--trust", choices=("standard", "national"),
                    help="enrol the offices in certificates and sign every envelope end to end")
    a = ap.parse_args()
    # run.sh stops this script with SIGTERM: unwind, so the finally below stops the nodes
    signal.signal(signal.SIGTERM, lambda *_: sys.exit(143))
    root = tempfile.mkdtemp(prefix="xfrelay.")
    nodes = []
    try:
        prov, city, county = chain(root, a.xfctl, a.trust)
        nodes = [prov, city, county]
        t0 = time.time()
        if a.trust:
            enrol(prov, city, county, a.trust, a.xfctl, a.xfsyncd)
        else:
            for n in nodes:
                n.start(a.xfsyncd)
        t_started = time.time()
        # both links up before anything is timed (a link takes most of a second to come up, which
        # the throughput below would otherwise count), with or without the certificates
        wait_link_up(city, prov.code); wait_link_up(county, city.code)
        os.sync()   # the dirty pages of what ran before (another relay, a baseline) not on our fsyncs
        out = {"bench": "relay", "trust": a.trust or "off", "payload_bytes_approx": 1000,
               "start_s": round(t_started - t0, 3), "links_up_s": round(time.time() - t_started, 3),
               "rss_idle_kib": {n.name: n.rss_kib() for n in nodes}}

        ids = register(county, a.cases)
        cpu0 = {n.name: n.cpu_s() for n in nodes}
        th0, m0 = {n.name: n.threads() for n in nodes}, cpu_times()
        t0 = time.time()
        escalate(county, ids, "bench")
        t_queued = time.time() - t0
        wait_total(prov, a.cases)
        dt = time.time() - t0
        th1, m1 = {n.name: n.threads() for n in nodes}, cpu_times()
        out["throughput"] = {"cases": a.cases, "seconds": round(dt, 3), "cases_per_s": round(a.cases / dt, 1),
                             "county_escalate_s": round(t_queued, 3),
                             "cpu_us_per_case": {n.name: round(1e6 * (n.cpu_s() - cpu0[n.name]) / a.cases, 1)
                                                 for n in nodes},
                             "threads_pct": threads_pct(th0, th1, dt), "machine_pct": machine_share(m0, m1)}

        relay_lat, operator_lat = [], []
        for i in range(a.latency):
            cid = register(county, 1)[0]
            t = time.time()
            county.client.ask("case.escalate", id=cid, to="410000", note="latency")
            t_sent = time.time()
            while True:
                try:
                    prov.client.ask("case.show", id=cid); break
                except RuntimeError:
                    pass
            t_seen = time.time()
            relay_lat.append((t_seen - t_sent) * 1e6)
            operator_lat.append((t_seen - t) * 1e6)
        out["latency_us"] = {"samples": len(relay_lat), **percentiles(relay_lat),
                             "operator": percentiles(operator_lat),
                             "note": "p50/p99: escalate returned at the county -> case visible at the province; "
                                     "operator: from sending the escalate command"}

        ups = link_ups(county, city.code)
        city.stop()
        ids = register(county, a.backlog)
        escalate(county, ids, "backlog")
        before = total(prov)
        t0 = time.time()
        city.start(a.xfsyncd)
        wait_link_up(county, city.code, ups); wait_link_up(city, prov.code)
        t_up = time.time()
        left = before + a.backlog - total(prov)   # some may have gone while one link was up
        wait_total(prov, before + a.backlog)
        dt = time.time() - t_up
        out["backlog"] = {"cases": a.backlog, "seconds_to_link_up": round(t_up - t0, 3),
                          "cases_after_link_up": left, "seconds_after_link_up": round(dt, 3),
                          "cases_per_s": round(left / dt, 1) if left > 0 else None,
                          "seconds_after_restart": round(time.time() - t0, 3)}
        out["rss_after_kib"] = {n.name: n.rss_kib() for n in nodes}
        out["store_disk_kib"] = {n.name: n.store_kib() for n in nodes}
        out["trust_status"] = trust_status(nodes, a.trust)
        print(json.dumps(out))
    finally:
        for n in nodes:
            n.stop()
        shutil.rmtree(root, ignore_errors=True)


if __name__ == "__main__":
    main()
