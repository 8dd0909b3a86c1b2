#!/usr/bin/env python3
"""soak.py — the chaos soak: a tree of 1 province, 2 cities and 4 counties (real xfsyncd
processes on 127.0.0.1, every link through a tcp_proxy.py that can cut it) runs a random
workload for --seconds while random faults hit it: a node SIGKILLed and restarted, a node
frozen (SIGSTOP) past the link timeout, a link cut for a while. Then everything is healed and
left to settle, and the invariants are checked:

  - every registration acknowledged to its client exists at its office;
  - every case exists once in each replica, and every replica of a case agrees (status, owner,
    supervisor, round) with the one its owner holds;
  - every case is held by its owner as its own;
  - the province's consolidated statistics of the year count exactly the cases registered
    (an independent count: each office's own registrations);
  - every office's audit chain verifies.

It prints {"seconds", "workload": {...}, "faults": {...}, "checks": {...}} and exits 1 on any
violation, saying which and with what evidence (the directory is kept then).

Usage: soak.py --xfsyncd BIN --xfctl BIN [--seconds N] [--seed S] [--keep]"""
import argparse, json, os, random, shutil, signal, socket, subprocess, sys, tempfile, threading, time

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, os.path.dirname(HERE))
from ctlpy import Client   # noqa: E402

TREE = [("410000", None), ("411300", "410000"), ("411100", "410000"),
        ("411324", "411300"), ("411326", "411300"), ("411102", "411100"), ("411121", "411100")]


def free_port():
    s = socket.socket(); s.bind(("127.0.0.1", 0)); p = s.getsockname()[1]; s.close(); return p


class Node:
    def __init__(self, root, code, parent, xfctl, xfsyncd):
        self.code, self.parent, self.xfsyncd = code, parent, xfsyncd
        self.dir = os.path.join(root, code); os.makedirs(self.dir)
        subprocess.run([xfctl, "keygen", self.dir], check=True, stdout=subprocess.DEVNULL)
        self.pub = open(os.path.join(self.dir, "node.pub")).read().strip()
        self.sock = os.path.join(self.dir, "control.sock")
        self.port, self.proc, self.frozen, self.proxy, self.proxy_port = None, None, False, None, None
        self.conf = (f"[node]\ncode = {code}\nname = soak {code}\ndata_dir = {self.dir}/data\n"
                     f"control_socket = {self.sock}\nkey_file = {self.dir}/node.key\n"
                     f"identity_key_file = {root}/identity.key\n")
        self.sections = []

    def start(self):
        with open(os.path.join(self.dir, "xfsyncd.conf"), "w") as f:
            f.write(self.conf + "".join(self.sections))
        log = open(os.path.join(self.dir, "log"), "a")
        self.proc = subprocess.Popen([self.xfsyncd, "-c", os.path.join(self.dir, "xfsyncd.conf"),
                                      "--foreground"], stdout=log, stderr=log)
        deadline = time.time() + 30
        while time.time() < deadline:
            try:
                Client(self.sock).ask("status"); return
            except (OSError, RuntimeError):
                if self.proc.poll() is not None:
                    raise SystemExit(f"soak: xfsyncd {self.code} exited during start (see {self.dir}/log)")
                time.sleep(0.05)
        raise SystemExit(f"soak: xfsyncd {self.code} did not answer within 30 s")

    def kill(self):
        if self.frozen:
            self.proc.send_signal(signal.SIGCONT); self.frozen = False
        self.proc.kill(); self.proc.wait()

    def stop(self):
        if self.proc and self.proc.poll() is None:
            if self.frozen:
                self.proc.send_signal(signal.SIGCONT)
            self.proc.terminate()
            try:
                return self.proc.wait(timeout=20)
            except subprocess.TimeoutExpired:
                self.proc.kill(); self.proc.wait()
                return -9
        return 0

    def ask(self, cmd, **args):
        return Client(self.sock).ask(cmd, **args)


class Soak:
    def __init__(self, a):
        self.a, self.rng = a, random.Random(a.seed)
        self.root = tempfile.mkdtemp(prefix="xfsoak.")
        with open(os.path.join(self.root, "identity.key"), "w") as f:
            f.write(os.urandom(32).hex())
        os.chmod(os.path.join(self.root, "identity.key"), 0o600)
        self.nodes = {code: Node(self.root, code, parent, a.xfctl, a.xfsyncd) for code, parent in TREE}
        self.proxies = []
        self.lock = threading.Lock()
        self.work = {"registered": 0, "escalated": 0, "assigned": 0, "accepted": 0, "closed": 0,
                     "refused": 0, "unknown": 0}
        self.faults = {"kills": 0, "freezes": 0, "cuts": 0}
        self.acked_registrations = set()
        self.stop_flag = threading.Event()

    # ---------------------------------------------------------------- the tree

    def build(self):
        for code, parent in TREE:
            n = self.nodes[code]
            if parent:
                p = self.nodes[parent]
                if p.port is None:
                    p.port = free_port()
                    p.conf += f"listen = tcp://127.0.0.1:{p.port}\n"
                n.proxy_port = free_port()
                n.sections.append(f"[parent]\ncode = {parent}\nendpoint = tcp://127.0.0.1:{n.proxy_port}\n"
                                  f"public_key = {p.pub}\n")
                p.sections.append(f"[child {code}]\nname = soak {code}\npublic_key = {n.pub}\n")
        for code, parent in TREE:
            n = self.nodes[code]
            if parent:
                out = open(os.path.join(n.dir, "proxy.log"), "w")
                n.proxy = subprocess.Popen([sys.executable, os.path.join(os.path.dirname(HERE), "tcp_proxy.py"),
                                            str(n.proxy_port), str(self.nodes[parent].port)],
                                           stdout=out, stderr=out)
                self.proxies.append(n.proxy)
        time.sleep(0.5)
        for code, _ in TREE:
            self.nodes[code].start()
        self.wait_links(60)

    def links_up(self):
        for code, parent in TREE:
            if not parent:
                continue
            try:
                st = self.nodes[code].ask("status")
            except (OSError, RuntimeError):
                return False
            if not any(l["peer"] == parent and l["state"] == "up" for l in st["links"]):
                return False
        return True

    def wait_links(self, secs):
        deadline = time.time() + secs
        while not self.links_up():
            if time.time() > deadline:
                raise SystemExit("soak: the links did not come up")
            time.sleep(0.2)

    # ---------------------------------------------------------------- workload

    def count(self, what):
        with self.lock:
            self.work[what] += 1

    def op(self, node, cmd, **args):
        """One request: its result, None when refused, or "unknown" when the connection broke."""
        try:
            return node.ask(cmd, **args)
        except RuntimeError:
            self.count("refused")
            return None
        except OSError:
            self.count("unknown")
            return "unknown"

    def below(self, code):
        return [c for c, p in TREE if p == code] + [c for c, p in TREE if p in [x for x, q in TREE if q == code]]

    def worker(self, seed):
        rng = random.Random(seed)
        counties = [c for c, p in TREE if p and p != "410000"]
        while not self.stop_flag.is_set():
            r = rng.random()
            if r < 0.45:       # a petition registered at a county or a city
                code = rng.choice(counties + ["411300", "411100"])
                res = self.op(self.nodes[code], "case.register", channel=rng.choice(["letter", "visit", "online"]),
                              category=rng.choice(["accusation", "appeal", "inquiry"]),
                              summary=f"soak {code} {rng.random():.6f}")
                if isinstance(res, dict):
                    with self.lock:
                        self.acked_registrations.add(res["id"])
                    self.count("registered")
            else:              # a move or a decision on a case some office owns
                code = rng.choice([c for c, _ in TREE])
                node = self.nodes[code]
                try:
                    cases = node.ask("case.list", owner=code, limit=50)["cases"]
                except (OSError, RuntimeError):
                    time.sleep(0.1); continue
                open_cases = [c for c in cases if c["status"] in ("registered", "in_progress")]
                if not open_cases:
                    continue
                c = rng.choice(open_cases)
                parent = dict(TREE)[code]
                kids = self.below(code)
                if r < 0.65 and parent:
                    if self.op(node, "case.escalate", id=c["id"], note="上报") not in (None, "unknown"):
                        self.count("escalated")
                elif r < 0.8 and kids:
                    if self.op(node, "case.assign", id=c["id"], to=rng.choice(kids), note="交办") not in (None, "unknown"):
                        self.count("assigned")
                elif c["status"] == "registered":
                    if self.op(node, "case.accept", id=c["id"]) not in (None, "unknown"):
                        self.count("accepted")
                elif not c.get("supervisor"):
                    if self.op(node, "case.close", id=c["id"], reply="已答复") not in (None, "unknown"):
                        self.count("closed")
            time.sleep(rng.random() * 0.05)

    # ---------------------------------------------------------------- faults

    def fault(self):
        kind = self.rng.choice(["kill", "kill", "freeze", "cut"])
        code = self.rng.choice([c for c, _ in TREE])
        n = self.nodes[code]
        if kind == "kill":
            n.kill(); time.sleep(self.rng.random()); n.start()
            self.faults["kills"] += 1
        elif kind == "freeze":
            n.proc.send_signal(signal.SIGSTOP); n.frozen = True
            time.sleep(11 + self.rng.random() * 3)
            n.proc.send_signal(signal.SIGCONT); n.frozen = False
            self.faults["freezes"] += 1
        else:
            victim = self.rng.choice([self.nodes[c] for c, p in TREE if p])
            victim.proxy.send_signal(signal.SIGUSR1)
            time.sleep(5 + self.rng.random() * 10)
            victim.proxy.send_signal(signal.SIGUSR2)
            self.faults["cuts"] += 1

    # ---------------------------------------------------------------- settling and checks

    def quiet(self):
        for code, _ in TREE:
            st = self.nodes[code].ask("status")
            if any(l["queue"] for l in st["links"]) or any(l["state"] != "up" for l in st["links"]):
                return False
        return True

    def settle(self, secs):
        deadline, calm = time.time() + secs, 0
        while time.time() < deadline:
            try:
                calm = calm + 1 if self.quiet() else 0
            except (OSError, RuntimeError):
                calm = 0
            if calm >= 5:
                return True
            time.sleep(0.5)
        return False

    def check(self):
        bad = []
        cases = {}
        for code, _ in TREE:
            for c in self.nodes[code].ask("case.list", limit=1000000)["cases"]:
                cases.setdefault(c["id"], {})[code] = c
        checks = {"cases": len(cases)}
        for rid in sorted(self.acked_registrations):
            origin = rid.split("-")[0]
            if origin not in cases.get(rid, {}):
                bad.append(f"acknowledged registration {rid} is not at {origin}")
        for cid, reps in cases.items():
            owners = {r["owner"] for r in reps.values()}
            if len(owners) != 1:
                bad.append(f"{cid}: replicas disagree on the owner: { {k: v['owner'] for k, v in reps.items()} }")
                continue
            owner = owners.pop()
            if owner not in reps:
                bad.append(f"{cid}: its owner {owner} does not hold it (held at {sorted(reps)})")
                continue
            want = {k: reps[owner].get(k) for k in ("status", "supervisor", "round")}
            for office, r in reps.items():
                got = {k: r.get(k) for k in want}
                if got != want:
                    bad.append(f"{cid}: {office} holds {got}, its owner {owner} {want}")
        checks["replicas_agree"] = not bad
        own = sum(1 for cid, reps in cases.items() if cid.split("-")[0] in reps)
        year = time.strftime("%Y")
        rep = self.nodes["410000"].ask("stats", period=year, consolidated=True)
        while rep.get("pending"):
            time.sleep(0.2)
            rep = self.nodes["410000"].ask("stats", period=year, consolidated=True, request=rep["request"])
        received = rep["totals"]["received"]
        checks["consolidated_received"], checks["independent_count"] = received, own
        if received != own or rep.get("missing"):
            bad.append(f"consolidated received {received} (missing {rep.get('missing')}), an independent count {own}")
        for code, _ in TREE:
            try:
                self.nodes[code].ask("audit.verify")
            except RuntimeError as e:
                bad.append(f"audit chain of {code}: {e}")
        checks["audit_chains"] = "verified" if not any("audit" in b for b in bad) else "broken"
        return checks, bad

    def run(self):
        out, status = {"seconds": self.a.seconds, "seed": self.a.seed, "dir": self.root}, 0
        try:
            self.build()
            workers = [threading.Thread(target=self.worker, args=(self.a.seed * 10 + i,), daemon=True)
                       for i in range(3)]
            for w in workers:
                w.start()
            end = time.time() + self.a.seconds
            while time.time() < end:
                time.sleep(2 + self.rng.random() * 4)
                if time.time() < end:
                    self.fault()
            self.stop_flag.set()
            for w in workers:
                w.join(timeout=30)
            if not self.settle(180):
                raise SystemExit("soak: the tree did not settle within 180 s after the faults")
            checks, bad = self.check()
            out.update(workload=self.work, faults=self.faults, checks=checks)
            if bad:
                out["violations"] = bad[:20]
                status = 1
        finally:
            for code, _ in TREE:
                if self.nodes[code].stop() not in (0, None):
                    out.setdefault("violations", []).append(f"xfsyncd {code} did not stop cleanly")
                    status = 1
            for p in self.proxies:
                p.terminate(); p.wait()
            print(json.dumps(out, ensure_ascii=False))
            if status == 0 and not self.a.keep:
                shutil.rmtree(self.root, ignore_errors=True)
        return status


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--xfsyncd", required=True)
    ap.add_argument("--xfctl", required=True)
    ap.add_argument("--seconds", type=int, default=300)
    ap.add_argument("--seed", type=int, default=int(time.time()) % 100000)
    ap.add_argument("--keep", action="store_true")
    sys.exit(Soak(ap.parse_args()).run())


if __name__ == "__main__":
    main()
