#!/usr/bin/env python3
"""ctlpy.py — a fast client of the xfsyncd control socket for integration scenarios (one JSON
request per line, daemon/control.h), so that thousands of cases need not spawn xfctl each.

  ctlpy.py SOCK register N TAG            registers N cases in one case.import; prints the ids
  ctlpy.py SOCK escalate IDS_FILE [--to CODE] [--batch B] [--pause S] [--shuffle SEED]
                                  [--kind escalate|assign|transfer]
                                          escalates (or assigns, transfers) the ids in batches
                                          of B (one transaction each), pausing S seconds
                                          between batches; prints the ids in the order sent
  ctlpy.py SOCK stream IDS_FILE --kind escalate|assign|transfer|urge --to CODE [--batch B] [--pause S]
                                          the same through node crashes: a batch whose answer
                                          came is printed "acked ID", one whose connection broke
                                          before the answer "unknown ID" (it may or may not have
                                          been done); then it reconnects (up to 60 s) and goes on
  ctlpy.py SOCK count IDS_FILE TYPE       prints "ID N": the events of TYPE in each case's history
  ctlpy.py SOCK once IDS_FILE TYPE        every case of IDS_FILE that the office holds has
                                          exactly one event of TYPE in its history (prints how
                                          many it holds); exit 1 naming one that has not
  ctlpy.py SOCK watch ORDER_FILE N [--secs S]
                                          waits for the socket, then polls case.list until N
                                          cases are there; every snapshot must be a prefix of
                                          ORDER_FILE (arrival in escalation order); prints the
                                          number of snapshots taken
Exit 0 done, 1 a check or a request failed (message on stderr)."""
import json, os, random, socket, sys, time


class Client:
    def __init__(self, path):
        self.s = socket.socket(socket.AF_UNIX)
        self.s.connect(path)
        self.f = self.s.makefile("rwb")

    def ask(self, cmd, **args):
        self.f.write(json.dumps({"cmd": cmd, "args": args}, ensure_ascii=False).encode() + b"\n")
        self.f.flush()
        line = self.f.readline()
        if not line:
            raise OSError("the daemon closed the control connection")
        r = json.loads(line)
        if not r.get("ok"):
            raise RuntimeError(f"{cmd}: {r['error']}")
        return r["result"]


def die(msg):
    print(f"ctlpy: {msg}", file=sys.stderr)
    sys.exit(1)


def opt(args, name, default):
    if name in args:
        i = args.index(name)
        v = args[i + 1]
        del args[i:i + 2]
        return type(default)(v) if default is not None else v
    return default


def register(c, n, tag):
    cases = [{"channel": ["letter", "visit", "phone", "email", "online"][i % 5],
              "category": ["accusation", "appeal", "inquiry"][i % 3],
              "summary": f"{tag} 集成测试案件 {i}"} for i in range(n)]
    ids = []
    for i in range(0, n, 5000):
        ids += c.ask("case.import", cases=cases[i:i + 5000])["ids"]
    print("\n".join(ids))


def escalate(c, ids, to, batch, pause, seed, kind="escalate"):
    if seed is not None:
        random.Random(seed).shuffle(ids)
    for i in range(0, len(ids), batch):
        part = ids[i:i + batch]
        args = {"ids": part, "note": "重大疑难，上报" if kind == "escalate" else "请办理"}
        if to:
            args["to"] = to
        c.ask("case." + kind, **args)
        print("\n".join(part), flush=True)
        if pause:
            time.sleep(pause)


def connect(path, secs=60.0):
    deadline = time.time() + secs
    while True:
        try:
            return Client(path)
        except OSError:
            if time.time() > deadline:
                die(f"{path} did not come back within {secs} s")
            time.sleep(0.05)


def stream(path, ids, kind, to, batch, pause):
    c = connect(path)
    for i in range(0, len(ids), batch):
        part = ids[i:i + batch]
        try:
            if kind == "urge":   # one case per request; a case not (yet) supervised is refused
                for x in part:
                    try:
                        c.ask("case.urge", id=x, note="请抓紧办理")
                        print("acked " + x, flush=True)
                    except RuntimeError:
                        print("refused " + x, flush=True)
            else:
                c.ask("case." + kind, ids=part, to=to, note="请办理")
                print("\n".join("acked " + x for x in part), flush=True)
        except OSError:
            print("\n".join("unknown " + x for x in part), flush=True)
            c = connect(path)
        except RuntimeError as e:
            die(f"batch {i // batch}: {e}")
        if pause:
            time.sleep(pause)


def once(c, ids, kind):
    held = 0
    for cid in ids:
        try:
            events = c.ask("case.history", id=cid)["events"]
        except RuntimeError:
            continue   # not held here
        held += 1
        n = sum(1 for e in events if e["type"] == kind)
        if n != 1:
            die(f"case {cid} has {n} {kind} events")
    print(held)


def watch(path, order, n, secs):
    deadline = time.time() + secs
    c = None
    while c is None:
        try:
            c = Client(path)
            c.ask("status")
        except (OSError, RuntimeError):
            c = None
            if time.time() > deadline:
                die(f"{path} did not answer within {secs} s")
            time.sleep(0.02)
    pos = {cid: i for i, cid in enumerate(order)}
    snaps = 0
    while True:
        got = [x["id"] for x in c.ask("case.list", limit=1000000)["cases"]]
        snaps += 1
        stray = [cid for cid in got if cid not in pos]
        if stray:
            die(f"case(s) that were never escalated arrived: {stray[:5]}")
        if len(set(got)) != len(got):
            die("case.list shows a case twice")
        k = len(got)
        if set(got) != set(order[:k]):
            missing = sorted(set(order[:k]) - set(got), key=pos.get)
            die(f"with {k} cases arrived, not the first {k} escalated: {missing[0]} (escalated "
                f"#{pos[missing[0]] + 1}) is missing while later ones are there")
        if k >= n:
            print(snaps)
            return
        if time.time() > deadline:
            die(f"only {k} of {n} cases arrived within {secs} s")
        time.sleep(0.01)


def main():
    args = sys.argv[1:]
    if len(args) < 2:
        die(__doc__)
    path, what = args[0], args[1]
    rest = args[2:]
    try:
        if what == "register":
            register(Client(path), int(rest[0]), rest[1])
        elif what == "escalate":
            to = opt(rest, "--to", "")
            batch = opt(rest, "--batch", 100)
            pause = opt(rest, "--pause", 0.0)
            seed = opt(rest, "--shuffle", None)
            kind = opt(rest, "--kind", "escalate")
            ids = open(rest[0]).read().split()
            escalate(Client(path), ids, to, batch, pause, None if seed is None else int(seed), kind)
        elif what == "stream":
            kind = opt(rest, "--kind", "escalate")
            to = opt(rest, "--to", "")
            batch = opt(rest, "--batch", 10)
            pause = opt(rest, "--pause", 0.0)
            stream(path, open(rest[0]).read().split(), kind, to, batch, pause)
        elif what == "count":
            c = Client(path)
            for cid in open(rest[0]).read().split():
                try:
                    events = c.ask("case.history", id=cid)["events"]
                except RuntimeError:
                    events = []   # not held here
                print(cid, sum(1 for e in events if e["type"] == rest[1]))
        elif what == "once":
            once(Client(path), open(rest[0]).read().split(), rest[1])
        elif what == "watch":
            secs = opt(rest, "--secs", 60.0)
            watch(path, open(rest[0]).read().split(), int(rest[1]), secs)
        else:
            die(f"unknown command {what}")
    except (OSError, RuntimeError) as e:
        die(str(e))


if __name__ == "__main__":
    main()
