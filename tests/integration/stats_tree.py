#!/usr/bin/env python3
"""stats_tree.py — drives the consolidated statistics scenario (test_stats_consolidated.sh) over
the control sockets, and counts independently what each office's figures must be.

  stats_tree.py TREE drive STATE     registers cases at every office and moves them between
                                      levels; writes the expected figures per office to STATE
  stats_tree.py TREE check STATE PERIOD AT [--snapshot CODE…] [--missing CODE…]
                                      a consolidated pull at office AT: totals = sum of the rows
                                      = the independent count; every row as expected (live,
                                      from a snapshot, or missing)

TREE is a file of lines "CODE SOCKET PARENT" (PARENT "-" at the root).
Exit 0 when every check holds, 1 otherwise (the difference on stderr)."""
import json, sys, time

sys.path.insert(0, __file__.rsplit("/", 1)[0])
from ctlpy import Client  # noqa: E402

CHANNELS = ["letter", "visit", "phone", "email", "online"]
CATEGORIES = ["accusation", "appeal", "inquiry"]
COUNTED = ["received", "accepted", "rejected", "filed", "closed", "escalated", "assigned",
           "transferred"]


def die(msg):
    print(f"stats_tree: {msg}", file=sys.stderr)
    sys.exit(1)


class Tree:
    def __init__(self, path):
        self.parent, self.sock, self.clients = {}, {}, {}
        for line in open(path):
            code, sock, parent = line.split()
            self.sock[code] = sock
            self.parent[code] = None if parent == "-" else parent

    def ask(self, code, cmd, **args):
        if code not in self.clients:
            self.clients[code] = Client(self.sock[code])
        return self.clients[code].ask(cmd, **args)

    def children(self, code):
        return sorted(c for c, p in self.parent.items() if p == code)

    def below(self, code):
        out = [code]
        for c in self.children(code):
            out += self.below(c)
        return out


def blank():
    f = {k: 0 for k in COUNTED}
    f["by_channel"] = {c: 0 for c in CHANNELS}
    f["by_category"] = {c: 0 for c in CATEGORIES}
    return f


def wait_owner(tree, code, cid, owner, secs=20):
    deadline = time.time() + secs
    while time.time() < deadline:
        try:
            if tree.ask(code, "case.show", id=cid)["owner"] == owner:
                return
        except RuntimeError:
            pass
        time.sleep(0.05)
    die(f"case {cid} never reached {owner} (asked at {code})")


def drive(tree, state):
    exp = {code: blank() for code in tree.parent}
    n = 0

    def register(code, k):
        nonlocal n
        ids = []
        for i in range(k):
            ch, cat = CHANNELS[n % 5], CATEGORIES[(n // 5) % 3]
            n += 1
            c = tree.ask(code, "case.register", channel=ch, category=cat,
                         summary=f"统计测试 {code} {i}")
            ids.append(c["id"])
            exp[code]["received"] += 1
            exp[code]["by_channel"][ch] += 1
            exp[code]["by_category"][cat] += 1
        return ids

    def act(code, cmd, cid, counter, **args):
        tree.ask(code, cmd, id=cid, **args)
        if counter:
            exp[code][counter] += 1

    root = next(c for c, p in tree.parent.items() if p is None)
    cities = tree.children(root)
    for city in cities:
        for county in tree.children(city):
            ids = register(county, 9)
            act(county, "case.accept", ids[0], "accepted", file=True)
            exp[county]["filed"] += 1
            act(county, "case.close", ids[0], "closed", reply="已办结")
            act(county, "case.reject", ids[1], "rejected", reason="不属受理范围")
            act(county, "case.accept", ids[2], "accepted")
            act(county, "case.escalate", ids[3], "escalated", note="上报市委组织部")
            act(county, "case.escalate", ids[4], "escalated", to=root, note="上报省委组织部")
            wait_owner(tree, city, ids[3], city)   # arrived there, not only sent
            act(city, "case.accept", ids[3], "accepted")
            act(city, "case.close", ids[3], "closed", reply="市里办结")
            wait_owner(tree, root, ids[4], root)
            act(root, "case.accept", ids[4], "accepted", file=True)
            exp[root]["filed"] += 1
            act(root, "case.assign", ids[4], "assigned", to=county, note="交办")
        ids = register(city, 5)
        act(city, "case.accept", ids[0], "accepted")
        act(city, "case.transfer", ids[1], "transferred", to=tree.children(city)[0], note="转办")
        act(city, "case.reject", ids[2], "rejected", reason="重复信访")
    ids = register(root, 4)
    act(root, "case.accept", ids[0], "accepted", file=True)
    exp[root]["filed"] += 1
    act(root, "case.close", ids[0], "closed", reply="省里办结")
    json.dump(exp, open(state, "w"), ensure_ascii=False, indent=1)
    print(f"registered {n} cases over {len(tree.parent)} offices")


def pull(tree, code, period):
    r = tree.ask(code, "stats", period=period, consolidated=True)
    started = time.time()
    while r.get("pending"):
        if time.time() - started > 60:
            die(f"the consolidated report at {code} was not ready in 60 s")
        time.sleep(0.1)
        r = tree.ask(code, "stats", request=r["request"])
    return r


def sub(t, keys):
    return {k: (t[k] if not isinstance(t[k], dict) else dict(t[k])) for k in keys}


def numbers(t):
    """The integer figures of a totals object, flattened."""
    out = {}
    for k, v in t.items():
        if isinstance(v, dict):
            for k2, v2 in v.items():
                if isinstance(v2, int) and not isinstance(v2, bool):
                    out[f"{k}.{k2}"] = v2
        elif isinstance(v, int) and not isinstance(v, bool):
            out[k] = v
    return out


def check(tree, state, period, at, opts):
    exp = json.load(open(state))
    snapshot = set(opts.get("--snapshot", []))
    missing = set(opts.get("--missing", []))
    started = time.time()
    r = pull(tree, at, period)
    took = time.time() - started
    bad = []
    rows = {o["code"]: o for o in r["offices"]}
    if sorted(rows) != sorted(tree.below(at)):
        bad.append(f"rows {sorted(rows)}, expected every office below {at}: {tree.below(at)}")
    sums = {}
    for o in r["offices"]:
        if o["totals"] is not None:
            for k, v in numbers(o["totals"]).items():
                sums[k] = sums.get(k, 0) + v
    if sums != numbers(r["totals"]):
        diff = {k: (sums.get(k), v) for k, v in numbers(r["totals"]).items() if sums.get(k) != v}
        bad.append(f"totals are not the sum of the rows: {diff}")
    want_total = blank()
    for code, o in rows.items():
        src = "missing" if code in missing else "snapshot" if code in snapshot else "live"
        if o["source"] != src:
            bad.append(f"{code}: source {o['source']}, expected {src}")
        if src == "missing":
            if o["totals"] is not None:
                bad.append(f"{code}: missing but has totals")
            continue
        if src == "snapshot" and not o.get("as_of"):
            bad.append(f"{code}: from a snapshot without as_of")
        got = sub(o["totals"], COUNTED + ["by_channel", "by_category"])
        if got != exp[code]:
            bad.append(f"{code}: {got} != expected {exp[code]}")
        for k in COUNTED:
            want_total[k] += exp[code][k]
        for k in ("by_channel", "by_category"):
            for k2 in want_total[k]:
                want_total[k][k2] += exp[code][k][k2]
    if sub(r["totals"], COUNTED + ["by_channel", "by_category"]) != want_total:
        bad.append(f"totals {sub(r['totals'], COUNTED)} != independent count {want_total}")
    if sorted(r["missing"]) != sorted(missing):
        bad.append(f"missing {r['missing']}, expected {sorted(missing)}")
    want_partial = bool(missing) or any(rows[c].get("partial") for c in snapshot if c in rows)
    if r["partial"] != want_partial:
        bad.append(f"partial {r['partial']}, expected {want_partial}")
    if bad:
        die(f"consolidated {period} at {at}:\n  " + "\n  ".join(bad))
    src = {s: sum(1 for o in r["offices"] if o["source"] == s) for s in ("live", "snapshot", "missing")}
    print(f"{period} at {at} in {took:.2f} s: received {r['totals']['received']}, rows {src}, "
          f"partial {r['partial']}")


def main():
    a = sys.argv[1:]
    if len(a) < 3:
        die(__doc__)
    tree = Tree(a[0])
    if a[1] == "drive":
        drive(tree, a[2])
    elif a[1] == "check" and len(a) >= 5:
        opts, key = {}, None
        for w in a[5:]:
            if w.startswith("--"):
                key = w
                opts[key] = []
            elif key:
                opts[key].append(w)
        check(tree, a[2], a[3], a[4], opts)
    else:
        die(__doc__)


if __name__ == "__main__":
    main()
