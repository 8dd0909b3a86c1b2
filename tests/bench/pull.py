#!/usr/bin/env python3
"""pull.py — times consolidated statistics pulls at the root of a running tree (pull.sh starts
it) against the raw limit of the same path: a 查询码 lookup from the root answered by a county,
which crosses the same links down and back up. Prints one JSON object.

  pull.py ROOT_SOCK COUNTY_SOCK PERIOD ROUNDS"""
import json, statistics, sys, time

sys.path.insert(0, __file__.rsplit("/", 1)[0] + "/../integration")
from ctlpy import Client  # noqa: E402

POLL = 0.002


def timed(c, cmd, again, **args):
    t0 = time.perf_counter()
    r = c.ask(cmd, **args)
    while r.get("pending"):
        time.sleep(POLL)
        r = c.ask(cmd, **again(r))
    return (time.perf_counter() - t0) * 1e3, r


def summary(ms):
    ms = sorted(ms)
    return {"p50_ms": round(statistics.median(ms), 3), "p90_ms": round(ms[int(0.9 * (len(ms) - 1))], 3),
            "max_ms": round(ms[-1], 3)}


def main():
    root, county, period, rounds = Client(sys.argv[1]), Client(sys.argv[2]), sys.argv[3], int(sys.argv[4])
    # a different case each round: an answer is kept for a while, and a kept one is no round trip
    codes = [c["query_code"] for c in county.ask("case.list", limit=rounds)["cases"]]
    pulls, lookups, report = [], [], None
    for code in codes:
        ms, report = timed(root, "stats", lambda r: {"request": r["request"]}, period=period,
                           consolidated=True)
        pulls.append(ms)
        ms, _ = timed(root, "case.lookup", lambda r, code=code: {"query_code": code}, query_code=code)
        lookups.append(ms)
    p, lk = summary(pulls), summary(lookups)
    print(json.dumps({"period": period, "offices": len(report["offices"]),
                      "received": report["totals"]["received"], "rounds": rounds, "pull": p,
                      "raw_lookup_roundtrip": lk,
                      "pull_vs_lookup_ratio": round(p["p50_ms"] / lk["p50_ms"], 2)}))


if __name__ == "__main__":
    main()
