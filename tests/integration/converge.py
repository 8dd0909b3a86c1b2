#!/usr/bin/env python3
"""converge.py — random case workflows across a tree of real nodes, and the check that every
office holding a case ends with the same one (test_convergence.sh).

  converge.py TREE register N SEED STATE     registers N cases over the offices (most at
                                             counties), one case.import per office; writes the
                                             ids to STATE
  converge.py TREE drive STEPS SEED STATE    STEPS random actions on those cases, each at the
                                             office that owns the case by its registering
                                             office's record: accept, reject, escalate, assign,
                                             transfer, extend, urge, report (sometimes missing
                                             items), send back, close. Refusals are expected
                                             (records on the way, rules); an office that does not
                                             answer (killed) is skipped. Prints the tally.
  converge.py TREE quiet SECS                waits until every link of every office has nothing
                                             waiting and the message counters stand still
  converge.py TREE check STATE [ID…]         every office of TREE named in any record of a
                                             case (held_by) holds it, with the same status,
                                             owner and history; prints what differs, exit 1 if
                                             anything does

TREE is a file of lines "CODE SOCKET PARENT" (PARENT "-" at the root).
Exit 0 done, 1 a check failed, 2 usage or a request that should not fail."""
import json, random, sys, time, os

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from ctlpy import Client  # noqa: E402

ITEMS = ["investigation", "instruction", "letter", "original", "evidence",
         "petitioner_opinion", "review_opinion"]


def die(msg, code=2):
    print(f"converge: {msg}", file=sys.stderr)
    sys.exit(code)


class Tree:
    def __init__(self, path):
        self.sock, self.parent, self.clients = {}, {}, {}
        for line in open(path):
            if line.strip():
                code, sock, parent = line.split()
                self.sock[code] = sock
                self.parent[code] = None if parent == "-" else parent
        self.codes = sorted(self.sock)

    def children(self, code):
        return [c for c in self.codes if self.parent[c] == code]

    def below(self, code):
        out = []
        for c in self.children(code):
            out += [c] + self.below(c)
        return out

    def ask(self, code, cmd, **args):
        """The result, or raises RuntimeError (refused) / OSError (not answering)."""
        c = self.clients.get(code)
        try:
            if c is None:
                c = self.clients[code] = Client(self.sock[code])
            return c.ask(cmd, **args)
        except OSError:
            self.clients.pop(code, None)
            raise


def register(tree, n, seed, state):
    rnd = random.Random(seed)
    weights = {c: (6 if not tree.children(c) else 2 if tree.parent[c] else 1) for c in tree.codes}
    per = {c: 0 for c in tree.codes}
    for _ in range(n):
        per[rnd.choices(tree.codes, [weights[c] for c in tree.codes])[0]] += 1
    ids = []
    for code, k in per.items():
        cases = [{"channel": rnd.choice(["letter", "visit", "phone", "email", "online"]),
                  "category": rnd.choice(["appeal", "inquiry", "accusation"]),
                  "summary": f"收敛测试 {code} 第{i}件"} for i in range(k)]
        if cases:
            ids += tree.ask(code, "case.import", cases=cases)["ids"]
    json.dump({"ids": ids}, open(state, "w"))
    print(f"registered {len(ids)}: " + ", ".join(f"{c} {k}" for c, k in per.items()))


def pick_action(tree, rnd, case, owner):
    """(office, command, args) of one plausible action on case, or None."""
    cid, status, sup = case["id"], case["status"], case.get("supervisor")
    others = [c for c in tree.codes if c != owner]
    below = tree.below(owner)
    r = rnd.random()
    if status == "registered":
        if r < 0.35:
            return owner, "case.accept", {"id": cid, "file": rnd.random() < 0.5}
        if r < 0.45:
            return owner, "case.reject", {"id": cid, "reason": "不属于受理范围"}
        if r < 0.65 and tree.parent[owner]:
            return owner, "case.escalate", {"id": cid, "note": "重大疑难，上报"}
        if r < 0.80:
            return owner, "case.transfer", {"id": cid, "to": rnd.choice(others), "note": "转有权处理单位"}
        if below:
            return owner, "case.assign", {"id": cid, "to": rnd.choice(below), "note": "交办，请报结果"}
        return None
    if status == "in_progress":
        if sup and r < 0.40:
            items = ITEMS if rnd.random() < 0.85 else ITEMS[:-2]
            return owner, "case.report", {"id": cid, "result": "已调查处理", "items": items}
        if sup and r < 0.55:
            return sup, "case.urge", {"id": cid, "note": "请加快办理"}
        if r < 0.65:
            return owner, "case.extend", {"id": cid, "days": rnd.choice([10, 30, 40]), "reason": "情况复杂"}
        if r < 0.75 and below:
            return owner, "case.assign", {"id": cid, "to": rnd.choice(below), "note": "交办，请报结果"}
        if r < 0.80 and tree.parent[owner]:
            return owner, "case.escalate", {"id": cid, "note": "重大疑难，上报"}
        return owner, "case.close", {"id": cid, "reply": "已答复信访人"}
    if status == "reported":
        if r < 0.5:
            return owner, "case.close", {"id": cid, "reply": "经审核，同意办结"}
        return owner, "case.send_back", {"id": cid, "reason": "材料不全，退回重办"}
    return None


def drive(tree, steps, seed, state):
    rnd = random.Random(seed)
    ids = json.load(open(state))["ids"]
    done = set()
    tally = {}

    def count(what):
        tally[what] = tally.get(what, 0) + 1

    for _ in range(steps):
        open_ids = [i for i in ids if i not in done]
        if not open_ids:
            break
        cid = rnd.choice(open_ids)
        origin = cid.split("-")[0]
        try:
            case = tree.ask(origin, "case.show", id=cid)
        except OSError:
            count("unreachable")
            continue
        if case["status"] in ("closed", "rejected"):
            done.add(cid)
            continue
        act = pick_action(tree, rnd, case, case["owner"])
        if not act:
            count("no action")
            continue
        office, cmd, args = act
        try:
            tree.ask(office, cmd, **args)
            count(cmd.split(".")[1])
        except RuntimeError:
            count(cmd.split(".")[1] + " refused")
        except OSError:
            count("unreachable")
    print(json.dumps(dict(sorted(tally.items())), ensure_ascii=False))


def quiet(tree, secs):
    deadline = time.time() + secs
    last = None
    while time.time() < deadline:
        try:
            now = []
            for code in tree.codes:
                st = tree.ask(code, "status")
                now.append([(l["peer"], l["state"], l["queue"], l["messages_in"], l["messages_out"])
                            for l in st["links"]])
            waiting = any(q for links in now for (_, _, q, _, _) in links)
            down = any(s != "up" for links in now for (_, s, _, _, _) in links)
            if not waiting and not down and now == last:
                print(f"quiet: {sum(len(x) for x in now)} link ends up, nothing waiting")
                return
            last = now
        except OSError:
            last = None
        time.sleep(1.0)
    die(f"the tree was not quiet within {secs} s", 1)


def check(tree, state, extra):
    ids = json.load(open(state))["ids"] + extra
    problems, holders_total = [], 0
    for cid in ids:
        seen = {}
        for code in tree.codes:
            try:
                seen[code] = tree.ask(code, "case.show", id=cid)
            except RuntimeError:
                pass
        held_by = set()   # of the offices in TREE (a check may leave one out)
        for c in seen.values():
            held_by |= set(c["held_by"]) & set(tree.codes)
        missing = sorted(held_by - set(seen))
        stray = sorted(set(seen) - held_by)
        if missing:
            problems.append(f"{cid}: held by {', '.join(missing)} by some record, not there")
        if stray:
            problems.append(f"{cid}: at {', '.join(stray)}, which no record names")
        views = {}
        for code, c in seen.items():
            hist = tree.ask(code, "case.history", id=cid)["events"]
            views[code] = (c["status"], c["owner"], json.dumps(hist, sort_keys=True, ensure_ascii=False))
        holders_total += len(views)
        if len(set(views.values())) > 1:
            desc = "; ".join(f"{code}: {v[0]}, owner {v[1]}, {len(json.loads(v[2]))} events"
                             for code, v in sorted(views.items()))
            problems.append(f"{cid}: replicas differ — {desc}")
    for p in problems[:20]:
        print(p)
    print(f"checked {len(ids)} cases, {holders_total} replicas: {len(problems)} difference(s)")
    sys.exit(1 if problems else 0)


def main():
    a = sys.argv[1:]
    if len(a) < 2:
        die(__doc__)
    tree, what = Tree(a[0]), a[1]
    try:
        if what == "register":
            register(tree, int(a[2]), int(a[3]), a[4])
        elif what == "drive":
            drive(tree, int(a[2]), int(a[3]), a[4])
        elif what == "quiet":
            quiet(tree, float(a[2]))
        elif what == "check":
            check(tree, a[2], a[3:])
        else:
            die(f"unknown command {what}")
    except (OSError, RuntimeError) as e:
        die(str(e))


if __name__ == "__main__":
    main()
