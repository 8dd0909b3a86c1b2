#!/usr/bin/env python3
"""relay.py — durable relay county → city → province through real xfsyncd nodes.

Registers N cases at the county (case.import), escalates them to the province in batches of
1,000 (one transaction per batch), and measures how fast they arrive at the province (which
only applies; the city relays, storing each onward copy in the transaction that acknowledges
the inbound one). Then measures end-to-end latency with one escalation in flight, and the
catch-up of a backlog queued while the city was down. Prints one JSON object.

Latency is given twice: from the moment the county's escalate command returns (the county has
committed and handed the envelope to its socket) until the province shows the case — the
relay's share, comparable to the baseline's — and from the moment the command is sent (what an
operator sees, including the county's own commit). Both include polling the province over its
control socket. The backlog drain is timed from the county's link to the restarted city coming
up (the county backs off while its parent is down, up to 30 s, so the wait for the reconnect is
reported on its own).

Usage: relay.py --xfsyncd BIN --xfctl BIN [--cases N] [--latency M] [--backlog B]
"""
import argparse, json, os, shutil, signal, socket, subprocess, tempfile, time

WINDOW = os.environ.get("XF_WINDOW")   # [links] window; unset: the node's default


def free_port():
    s = socket.socket(); s.bind(("127.0.0.1", 0)); p = s.getsockname()[1]; s.close(); return p


class Node:
    def __init__(self, root, name, code, xfctl):
        self.dir = os.path.join(root, name); os.makedirs(self.dir)
        self.code, self.name, self.proc = code, name, None
        subprocess.run([xfctl, "keygen", self.dir], check=True, stdout=subprocess.DEVNULL)
        self.pub = open(os.path.join(self.dir, "node.pub")).read().strip()
        self.sock = os.path.join(self.dir, "control.sock")
        self.conf = [f"[node]\ncode = {code}\nname = bench {code}\ndata_dir = {self.dir}/data\n"
                     f"control_socket = {self.sock}\nkey_file = {self.dir}/node.key\n"]
        if WINDOW:
            self.conf.append(f"[links]\nwindow = {WINDOW}\n")
        self.port = None

    def link_to(self, parent):
        if parent.port is None:
            parent.port = free_port()
            parent.conf[0] += f"listen = tcp://127.0.0.1:{parent.port}\n"
        self.conf.append(f"[parent]\ncode = {parent.code}\nendpoint = tcp://127.0.0.1:{parent.port}\n"
                         f"public_key = {parent.pub}\n")
        parent.conf.append(f"[child {self.code}]\npublic_key = {self.pub}\n")

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


def wait_link_up(node, peer, limit=120):
    deadline = time.time() + limit
    while time.time() < deadline:
        links = node.client.ask("status")["links"]
        if any(l["peer"] == peer and l["state"] == "up" for l in links):
            return
        time.sleep(0.005)
    raise SystemExit(f"{node.name}: link to {peer} not up after {limit} s")


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--xfsyncd", required=True); ap.add_argument("--xfctl", required=True)
    ap.add_argument("--cases", type=int, default=20000); ap.add_argument("--latency", type=int, default=200)
    ap.add_argument("--backlog", type=int, default=20000)
    a = ap.parse_args()
    root = tempfile.mkdtemp(prefix="xfrelay.")
    nodes = []
    try:
        prov, city, county = (Node(root, "prov", "410000", a.xfctl), Node(root, "city", "411300", a.xfctl),
                              Node(root, "county", "411324", a.xfctl))
        nodes = [prov, city, county]
        city.link_to(prov); county.link_to(city)
        for n in nodes:
            n.start(a.xfsyncd)
        out = {"bench": "relay", "payload_bytes_approx": 1000, "rss_idle_kib": {n.name: n.rss_kib() for n in nodes}}

        ids = register(county, a.cases)
        t0 = time.time()
        for i in range(0, len(ids), 1000):
            county.client.ask("case.escalate", ids=ids[i:i + 1000], to="410000", note="bench")
        t_queued = time.time() - t0
        wait_total(prov, a.cases)
        dt = time.time() - t0
        out["throughput"] = {"cases": a.cases, "seconds": round(dt, 3), "cases_per_s": round(a.cases / dt, 1),
                             "county_escalate_s": round(t_queued, 3)}

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

        city.stop()
        ids = register(county, a.backlog)
        for i in range(0, len(ids), 1000):
            county.client.ask("case.escalate", ids=ids[i:i + 1000], to="410000", note="backlog")
        before = total(prov)
        t0 = time.time()
        city.start(a.xfsyncd)
        wait_link_up(county, city.code)
        t_up = time.time()
        wait_total(prov, before + a.backlog)
        dt = time.time() - t_up
        out["backlog"] = {"cases": a.backlog, "seconds_to_link_up": round(t_up - t0, 3),
                          "seconds_after_link_up": round(dt, 3), "cases_per_s": round(a.backlog / dt, 1),
                          "seconds_after_restart": round(time.time() - t0, 3)}
        out["rss_after_kib"] = {n.name: n.rss_kib() for n in nodes}
        print(json.dumps(out))
    finally:
        for n in nodes:
            n.stop()
        shutil.rmtree(root, ignore_errors=True)


if __name__ == "__main__":
    main()
