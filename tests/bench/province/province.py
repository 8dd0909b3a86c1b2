#!/usr/bin/env python3
"""province.py — a whole province on one machine (issue 9): every 信访 office of 河南省 as a real
xfsyncd (1 province, 17 cities, 181 counties: 199 nodes, henan.csv), linked over CURVE on
127.0.0.1, driven through a quarter (2027Q1) over the control sockets, and the province's
consolidated pull checked against an independent count of what this generator did.

  province.py [--full] [--cases N] [--seed S] [--keep] [--build-dir DIR] [--trust PROFILE]
              [--xfsyncd BIN] [--xfctl BIN] [--workers W] [--latency K] [--inject-mismatch CODE]
  province.py --nodes-only …     the 199 nodes started, linked, measured idle (10 s), stopped
  province.py --national --nodes-only [--provinces N] [--wave W] …
                                 the same for china.csv (3,345 offices), or the national root and
                                 the first N provinces; started level by level in waves of W

The CI mode (default) registers 6,000 cases, --full 60,000 (a quarter). --trust standard|national
runs every office under [trust] (trust.py: the certificate tree, signed envelopes). The offices
as processes are in nodes.py, the quarter's workload and its own count in workload.py; this
file checks the pull against that count and prints the JSON. Prints one JSON object
on stdout; progress on stderr. Exit 0 when every consolidated figure matches, 1 on a mismatch
(office and figure named), 2 on bad use. Every xfsyncd is started in its own session and
stopped by its pid (SIGTERM, SIGKILL after a bounded wait) at the end, on failure and on
Ctrl-C; the temporary directory is removed unless --keep.

The quarter, with every node's clock moved together ([debug] clock_control, clock.set):
  T0 2027-01-04  counties and cities and the province register (case.import); counties escalate
                 10% to their city (上报, batches), reject 4% (不予受理), accept the rest (受理,
                 立案 for 12.3%: 8 of 65 in the 镇平 survey); K escalations are timed one at a
                 time county → city → province while all of this runs (per-hop latency)
  T1 2027-01-11  cities: of the escalations 20% on to the province, 40% accepted and closed,
                 40% assigned back down (交办) to a county of theirs; of their own cases half
                 transferred (转办) to a county, half accepted and closed. The province: half of
                 what reached it accepted and closed, half assigned (交办) to a city; its own
                 cases half transferred to a county two levels down, half assigned to a city.
                 Assignees accept 70% of what was assigned and report (结案报告, the 七有 items);
                 transferred cases are accepted and closed; the supervisors close the reports.
  T2 2027-01-20  the 30% of assigned cases still open are 8 days past assignment, past
                 due - 7 days: each supervisor's deadline scan sends one automatic 催办 for each;
                 then they are accepted and reported, and closed above; counties close 85% of
                 the cases they accepted at T0 (the rest stay in progress, due 2027-03-05).
  pull           `stats --consolidated --period 2027Q1` at the province: every office live, each
                 row and the totals equal to the generator's count of received, by_channel,
                 by_category, accepted, filed, rejected, closed, closed_on_time, escalated,
                 assigned, transferred, urges, overdue (0: nothing passes a deadline).

Mixes (see README.md): category accusation/appeal/inquiry 18/38/9 of 65 (镇平县 2012-2013,
zhenping-2012-2013.json); channel: the survey has letters 24 and visits 41 of 65 only, so
phone 10%, e-mail 5%, online 20% are assumed and letter/visit share the remaining 65% as 24:41.
"""
import argparse, json, os, resource, shutil, signal, sys, tempfile, time

from nodes import (Fail, HERE, ROOT, free_port, keygen, load_tree, mem_available_kib, memory,
                   pct, say, spread, start_all, stop_all)
from workload import (CATEGORIES, CAT_W, CHANNELS, CHECKED, CH_W, FILED_SHARE, PERIOD, Workload,
                      blank)
import trust


# ------------------------------------------------------------------------------------ check

def pull(root, limit=300):
    t0 = time.perf_counter()
    r = root.ask("stats", period=PERIOD, consolidated=True)
    deadline = time.time() + limit
    while r.get("pending"):
        if time.time() > deadline:
            raise Fail(f"the consolidated {PERIOD} report was not ready in {limit} s")
        time.sleep(0.01)
        r = root.ask("stats", request=r["request"])
    return time.perf_counter() - t0, r


def check(report, exp, nodes):
    bad = []
    rows = {o["code"]: o for o in report["offices"]}
    want_codes = {n.code for n in nodes}
    if set(rows) != want_codes:
        bad.append(f"rows: missing {sorted(want_codes - set(rows))[:5]}, extra "
                   f"{sorted(set(rows) - want_codes)[:5]}")
    if report.get("missing"):
        bad.append(f"offices missing from the pull: {report['missing'][:10]}")
    if report.get("partial"):
        bad.append("the pull says partial")
    total = blank()
    for code in sorted(want_codes & set(rows)):
        o, e = rows[code], exp[code]
        if o.get("source") != "live":
            bad.append(f"office {code}: source {o.get('source')}, expected live")
            continue
        t = o["totals"]
        for k in CHECKED:
            if t.get(k) != e[k]:
                bad.append(f"office {code}: {k} = {t.get(k)}, the generator counted {e[k]}")
            total[k] += e[k]
        for dim in ("by_channel", "by_category"):
            for k, v in e[dim].items():
                if t[dim].get(k, 0) != v:
                    bad.append(f"office {code}: {dim}.{k} = {t[dim].get(k, 0)}, the generator "
                               f"counted {v}")
                total[dim][k] += v
    t = report["totals"]
    for k in CHECKED:
        if t.get(k) != total[k]:
            bad.append(f"totals: {k} = {t.get(k)}, the generator counted {total[k]}")
    for dim in ("by_channel", "by_category"):
        for k, v in total[dim].items():
            if t[dim].get(k, 0) != v:
                bad.append(f"totals: {dim}.{k} = {t[dim].get(k, 0)}, the generator counted {v}")
    return bad, total


# ------------------------------------------------------------------------------------ main

def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--full", action="store_true", help="the whole quarter: 60,000 cases")
    ap.add_argument("--cases", type=int, help="cases registered (default 6000, --full 60000)")
    ap.add_argument("--seed", type=int, default=2027)
    ap.add_argument("--latency", type=int, help="escalations timed one at a time (default 40, "
                    "--full 200)")
    ap.add_argument("--workers", type=int, default=8, help="concurrent control clients")
    ap.add_argument("--national", action="store_true", help="china.csv: every office (3,345)")
    ap.add_argument("--nodes-only", action="store_true", help="start, link, measure, stop")
    ap.add_argument("--provinces", type=int, help="with --national: the national root and the "
                    "first N provinces only (a sample that fits a small machine)")
    ap.add_argument("--wave", type=int, default=200, help="processes started before waiting "
                    "for their control sockets")
    ap.add_argument("--keep", action="store_true", help="keep the temporary directory")
    ap.add_argument("--build-dir", default=os.path.join(ROOT, "build-prov"))
    ap.add_argument("--xfsyncd")
    ap.add_argument("--xfctl")
    ap.add_argument("--inject-mismatch", metavar="CODE", help="self-test of the check: count one "
                    "received case too many at office CODE, which must then fail the run")
    ap.add_argument("--settle", type=float, default=3.0, help="seconds idle before the RSS sample")
    ap.add_argument("--trust", choices=("standard", "national"), help="every office under [trust] "
                    "with this profile: certificates issued down the tree, envelopes signed")
    a = ap.parse_args()
    if a.national and not a.nodes_only:
        ap.error("--national runs with --nodes-only (see README.md for the estimate of a "
                 "national workload)")
    xfsyncd = a.xfsyncd or os.path.join(a.build_dir, "xfsyncd")
    xfctl = a.xfctl or os.path.join(a.build_dir, "xfctl")
    for b in (xfsyncd, xfctl):
        if not os.access(b, os.X_OK):
            print(f"province: {b} is missing (build it: cmake --build {a.build_dir})", file=sys.stderr)
            return 2
    cases = a.cases or (60000 if a.full else 6000)
    latency_n = a.latency or (200 if a.full else 40)

    # one control socket per node in this process, plus the pipes of the Popen calls
    soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    want_fd = 8 * 4096
    if soft < want_fd:
        resource.setrlimit(resource.RLIMIT_NOFILE, (min(want_fd, hard), hard))
    nofile = resource.getrlimit(resource.RLIMIT_NOFILE)[0]

    signal.signal(signal.SIGTERM, lambda *_: sys.exit(143))
    signal.signal(signal.SIGINT, signal.default_int_handler)   # also when started in the background
    tmp = tempfile.mkdtemp(prefix="xfprov.", dir=os.environ.get("TMPDIR", "/tmp"))
    nodes = []
    status = 1
    t_begin = time.time()
    try:
        nodes = load_tree(os.path.join(HERE, "china.csv" if a.national else "henan.csv"), tmp,
                          a.provinces if a.national else None)
        say(f"{len(nodes)} offices; keys and configs in {tmp}")
        t0 = time.time()
        keygen(nodes, xfctl, 4)
        if a.trust:
            root = trust.requests(nodes, xfctl, a.trust, 4)
            for n in nodes:
                n.trust = trust.conf_lines(n, root, a.trust)
        for n in nodes:     # every parent's port before its children's configs name it
            if n.children:
                n.port = free_port()
        for n in nodes:
            n.write_conf()
        t_keys = time.time() - t0
        avail0 = mem_available_kib()
        t_sock, t_links = start_all(nodes, xfsyncd, a.wave, 600 if a.national else 300,
                                    (lambda level: trust.issue(level, xfctl, 8)) if a.trust else None)
        say(f"all {len(nodes)} nodes up in {t_sock:.1f} s, all links up at {t_links:.1f} s")
        time.sleep(a.settle)
        out = {"bench": "province", "trust": a.trust or "off",
               "mode": ("national-nodes-only" if a.national else
                                             "nodes-only" if a.nodes_only else
                                             "full" if a.full else "ci"),
               "offices": len(nodes),
               "levels": {str(l): sum(1 for n in nodes if n.level == l)
                          for l in sorted({n.level for n in nodes})},
               "listening_ports": sum(1 for n in nodes if n.children),
               "machine": {"cores": os.cpu_count(),
                           "mem_total_mib": os.sysconf("SC_PHYS_PAGES") * os.sysconf("SC_PAGE_SIZE") // 2**20,
                           "nofile_driver": nofile},
               "keys_configs_s": round(t_keys, 3),
               "start": {"sockets_up_s": round(t_sock, 3), "links_up_s": round(t_links, 3),
                         "note": "from the first spawn: every control socket answering; every "
                                 "child's link to its parent up"},
               "idle": memory(nodes, avail0)}
        cpu_idle = {n.code: n.cpu_s() for n in nodes}
        out["cpu_s_start"] = round(sum(cpu_idle.values()), 2)
        if a.nodes_only:
            time.sleep(10)
            cpu_later = {n.code: n.cpu_s() for n in nodes}
            idle_cpu = sum(cpu_later.values()) - sum(cpu_idle.values())
            out["cpu_idle"] = {"all_nodes_s_per_10s": round(idle_cpu, 3),
                               "per_node_ms_per_s": round(idle_cpu / len(nodes) / 10 * 1e3, 3),
                               "cores_busy": round(idle_cpu / 10, 3),
                               "note": "CPU of all nodes over 10 s of idling, links up"}
            out["idle_after_10s"] = {"rss_kib": spread([n.proc_status()["VmRSS"] for n in nodes])}
            out["store_disk_kib"] = spread([os.stat(os.path.join(n.dir, "data", "data.mdb")).st_blocks // 2
                                            for n in nodes])
            status = 0
        else:
            w = Workload(nodes, cases, a.seed, a.workers, latency_n)
            t_work = time.time()
            exp = w.run()
            work_s = time.time() - t_work
            cpu_work = {n.code: n.cpu_s() for n in nodes}
            say(f"workload done in {work_s:.1f} s; pulling {PERIOD} at {w.root.code}")
            pull_s, report = pull(w.root)
            pull2_s, _ = pull(w.root)
            if a.inject_mismatch:
                exp[a.inject_mismatch]["received"] += 1
            bad, total = check(report, exp, nodes)
            out["workload"] = {
                "cases": cases, "seed": a.seed, "period": PERIOD, "seconds": round(work_s, 3),
                "registration": w.timings["register"], "relay": w.timings["relay"],
                "t0_accept_reject_s": w.timings["t0_decide_seconds"],
                "automatic_urges": w.timings["urges"],
                "mix": {"channel": dict(zip(CHANNELS, [round(x, 4) for x in CH_W])),
                        "category": dict(zip(CATEGORIES, [round(x, 4) for x in CAT_W])),
                        "filed_share_of_accepted": round(FILED_SHARE, 4),
                        "escalated_share": 0.10}}
            out["latency_hop"] = {"county_city": pct(w.lat["county_city"]),
                                  "city_province": pct(w.lat["city_province"]),
                                  "note": "escalate command returned at the sender → case owned "
                                          "by the receiver (case.show polled every 1 ms), one at "
                                          "a time while the counties accept/reject T0's cases"}
            out["pull"] = {"seconds": round(pull_s, 3), "again_seconds": round(pull2_s, 3),
                           "rows": len(report["offices"]),
                           "sources": {s: sum(1 for o in report["offices"] if o["source"] == s)
                                       for s in ("live", "snapshot", "missing")}}
            out["consolidated_totals"] = {k: report["totals"][k] for k in
                                          CHECKED + ["by_channel", "by_category", "due"]}
            out["check"] = {"ok": not bad, "offices_checked": len(nodes),
                            "figures": CHECKED + ["by_channel.*", "by_category.*"],
                            "mismatches": bad[:50], "mismatch_count": len(bad)}
            out["after_load"] = memory(nodes, avail0)
            cpu_end = {n.code: n.cpu_s() for n in nodes}
            total_cpu = sum(cpu_end.values())
            out["cpu_s"] = {"all_nodes_total": round(total_cpu, 2),
                            "start": out.pop("cpu_s_start"),
                            "workload": round(sum(cpu_work.values()) - sum(cpu_idle.values()), 2),
                            "per_case_ms": round((sum(cpu_work.values()) - sum(cpu_idle.values()))
                                                 / cases * 1e3, 3),
                            "top": sorted(((round(v, 2), k) for k, v in cpu_end.items()),
                                          reverse=True)[:3]}
            out["store_disk_kib"] = spread([os.stat(os.path.join(n.dir, "data", "data.mdb")).st_blocks // 2
                                            for n in nodes])
            if a.trust:
                out["trust_status"] = trust.summary(nodes, a.trust)
            status = 0 if not bad else 1
            for m in bad[:20]:
                say(f"MISMATCH {m}")
        if "cpu_s_start" in out:
            out["cpu_s"] = {"all_nodes_total": round(sum(n.cpu_s() for n in nodes), 2),
                            "start": out.pop("cpu_s_start")}
        t_stop = time.time()
        crashed = stop_all(nodes)
        out["stop_s"] = round(time.time() - t_stop, 3)
        if crashed:
            out["abnormal_exit"] = crashed
            status = 1
        out["wall_s"] = round(time.time() - t_begin, 1)
        out["temp_dir"] = tmp if a.keep else None
        print(json.dumps(out, ensure_ascii=False))
        return status
    except (Fail, trust.TrustFail) as e:
        say(f"FAILED: {e}")
        return 1
    except KeyboardInterrupt:
        say("interrupted")
        return 130
    finally:
        stop_all(nodes)
        if a.keep:
            say(f"kept {tmp}")
        else:
            shutil.rmtree(tmp, ignore_errors=True)


if __name__ == "__main__":
    sys.exit(main())
