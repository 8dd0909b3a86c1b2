#!/usr/bin/env python3
"""tests/bench/peers/run.py — xfsync side by side with its peers (issue 9, second half).

One relay workload, county → city → province, ~1 KB messages, through four systems on 127.0.0.1:

  xfsync     three real xfsyncd nodes (tests/bench/relay.py's Node); the messages are case
             escalations (900-byte summaries, ~1 KB envelopes), escalated at the county in
             transactions of 1,000 ids, counted at the province (status cases.total)
  mosquitto  three mosquitto brokers; county bridges xf/# out (QoS 1) to the city, the city to the
             province; persistence true in a temporary directory, autosave_interval --autosave
             seconds (default 1), max_queued_messages 0 (no cap: the default 1,000 drops), a
             mosquitto_pub -q 1 -M WINDOW -l at the county, a mosquitto_sub -q 1 -c (persistent
             session) at the province
  nats       three nats-server with JetStream (domains prov, city, county): the city a leaf node of
             the province, the county a leaf node of the city; one file-backed stream capturing
             xf.cases at the province (the chain's durable store; the leaves forward), a
             natsbench publisher at the county with JetStream publish acks (at most WINDOW
             unacknowledged, Nats-Msg-Id = sequence, sent again when not acknowledged), a durable
             pull consumer at the province
  baseline   bench_relay_baseline run (the minimal durable CURVE+LMDB relay: the raw limit)

The relay alone (xfsync and mosquitto, `relay_drain`): the city stopped, N messages published
and acknowledged at the county (xfsync: escalated, queued in the county's outbox; mosquitto:
queued on the county's bridge), the city started, and the backlog timed at the province from
its first arrival to its last: the hops' work without the origin's (an escalation is a case's
state change, its event, audit record and copies at the county; a publish is none of that).
NATS has no store at the county or the city in this chain, so nothing to drain.

Each is run twice with N messages: once clean (the throughput reported), once with
`strace -f -c -e trace=fsync,fdatasync,msync,sync_file_range -p PID` attached to every broker or
node of the chain (the fsync count per message; the throughput under strace is reported too).
Each clean run also records how the machine's CPU time went (`machine`: busy, idle, iowait,
steal; see relay.machine_share). Then, per system except the baseline (which has no restart), the delivery check: K numbered
messages (as fast as the publisher goes, or paced at --rate), the middle process (city) SIGKILLed when about a third has reached the
province, restarted on the same store after --down seconds, the publisher let finish and the
chain drain; lost = numbers never at the province, duplicated = numbers there more than once
(xfsync: cases listed at the province, and each case's "escalate" events, as ctlpy.py once).

Prints one JSON object on stdout; progress on stderr. Every process started is stopped by its
pid at the end (also on failure or SIGTERM), and the temporary directory removed.

natsbench (the NATS client, natsbench/main.go) is built into the build directory on first use.

Usage: run.py [--full] [--build-dir DIR] [--messages N] [--kill-messages K] [--rate R]
              [--window W] [--autosave S] [--only xfsync,mosquitto,nats,baseline] [--no-strace]
  quick (default): N 10000, K 5000      --full: N 50000, K 20000      (kill test unpaced unless --rate)
"""
import argparse, collections, json, os, re, shutil, signal, socket, subprocess, sys, tempfile, threading, time

HERE = os.path.dirname(os.path.abspath(__file__))
ROOT = os.path.abspath(os.path.join(HERE, "..", "..", ".."))
sys.path.insert(0, os.path.join(ROOT, "tests", "bench"))
import relay  # noqa: E402  (Node, Client, register, total, wait_link_up)

SYNC_CALLS = "fsync,fdatasync,msync,sync_file_range"
SIZE = 1024          # bytes of a peer message: "%08d " + padding


def say(*a):
    print("peers:", *a, file=sys.stderr, flush=True)


def free_port():
    return relay.free_port()


def wait_port(port, limit=20):
    deadline = time.time() + limit
    while time.time() < deadline:
        try:
            socket.create_connection(("127.0.0.1", port), 0.2).close(); return
        except OSError:
            time.sleep(0.05)
    raise SystemExit(f"nothing listens on 127.0.0.1:{port} after {limit} s")


# ---------------------------------------------------------------- processes (stopped by pid)

class Procs:
    """Every process this script starts; stop_all() stops each by its pid."""
    def __init__(self):
        self.live = []

    def start(self, argv, log=None, **kw):
        out = open(log, "ab") if log else subprocess.DEVNULL
        kw.setdefault("stdout", out); kw.setdefault("stderr", out)
        p = subprocess.Popen(argv, **kw)
        self.live.append(p)
        return p

    def stop(self, p, sig=signal.SIGTERM, limit=10):
        if p is None:
            return
        if p.poll() is None:
            try:
                p.send_signal(sig); p.wait(limit)
            except subprocess.TimeoutExpired:
                p.kill(); p.wait()
        if p in self.live:
            self.live.remove(p)

    def kill9(self, p):
        if p.poll() is None:
            os.kill(p.pid, signal.SIGKILL)
        p.wait()
        if p in self.live:
            self.live.remove(p)

    def stop_all(self):
        for p in reversed(list(self.live)):
            self.stop(p)


PROCS = Procs()


# ---------------------------------------------------------------- strace -c on a chain

class Strace:
    """strace -f -c attached to each pid; stop() detaches (SIGINT) and sums the calls."""
    def __init__(self, pids, tmp, tag):
        self.files, self.procs = {}, []
        for name, pid in pids.items():
            out, err = os.path.join(tmp, f"strace.{tag}.{name}"), os.path.join(tmp, f"strace.{tag}.{name}.err")
            p = PROCS.start(["strace", "-f", "-c", "-e", f"trace={SYNC_CALLS}", "-o", out, "-p", str(pid)],
                            stderr=open(err, "wb"))
            self.files[name] = out; self.procs.append((p, err))
        for p, err in self.procs:   # attached before anything is timed
            deadline = time.time() + 10
            while b"attached" not in open(err, "rb").read():
                if time.time() > deadline or p.poll() is not None:
                    raise SystemExit(f"strace did not attach: {open(err).read()}")
                time.sleep(0.02)

    def stop(self):
        for p, _ in self.procs:
            PROCS.stop(p, signal.SIGINT, 20)
        out = {}
        for name, f in self.files.items():
            calls = {}
            for line in open(f):
                m = re.match(r"\s*[\d.]+\s+[\d.]+\s+\d+\s+(\d+)\s+(?:\d+\s+)?(\w+)\s*$", line)
                if m and m.group(2) != "total":
                    calls[m.group(2)] = int(m.group(1))
            out[name] = calls
        return out


def sync_summary(counts, messages, note=None):
    per_proc = {n: sum(c.values()) for n, c in counts.items()}
    total = sum(per_proc.values())
    r = {"calls": counts, "per_process": per_proc, "total": total, "messages": messages,
         "per_message": round(total / messages, 5) if messages else None}
    if note:
        r["note"] = note
    return r


# ---------------------------------------------------------------- arrivals at the province

class Arrivals:
    """Reads a subscriber's stdout (one message a line, its first 8 characters the sequence
    number) in a thread: how often each number arrived, and when the last new one did."""
    def __init__(self, stream):
        self.counts = collections.Counter()
        self.first = {}          # seq -> when it first arrived
        self.ndistinct = 0
        self.t_last_new = self.t_last = None
        self.lock = threading.Lock()
        self.t = threading.Thread(target=self.run, args=(stream,), daemon=True); self.t.start()

    def run(self, stream):
        for line in stream:
            try:
                seq = int(line[:8])
            except ValueError:
                continue
            now = time.time()
            with self.lock:
                self.counts[seq] += 1
                self.t_last = now
                if self.counts[seq] == 1:
                    self.first[seq] = now
                    self.t_last_new = now
                    self.ndistinct += 1

    def distinct(self, lo, hi):
        with self.lock:
            return sum(1 for s in range(lo, hi + 1) if self.counts[s])

    def wait(self, lo, hi, limit, idle=None):
        """Until every number lo..hi arrived (or nothing new for idle s, or limit s)."""
        deadline = time.time() + limit
        with self.lock:
            base = self.ndistinct - sum(1 for s in range(lo, hi + 1) if self.counts[s])
        while True:
            d = self.ndistinct - base
            if d >= hi - lo + 1:
                return True
            if time.time() > deadline:
                return False
            if idle and self.t_last and time.time() - self.t_last > idle:
                return False
            time.sleep(0.01)

    def at_least(self, lo, hi, want, limit):
        """Until want numbers of lo..hi arrived (False after limit s)."""
        deadline = time.time() + limit
        with self.lock:
            base = self.ndistinct - sum(1 for s in range(lo, hi + 1) if self.counts[s])
        while self.ndistinct - base < want:
            if time.time() > deadline:
                return False
            time.sleep(0.005)
        return True

    def span(self, lo, hi):
        """When the first and the last of lo..hi first arrived."""
        with self.lock:
            ts = [self.first[s] for s in range(lo, hi + 1) if s in self.first]
        return (min(ts), max(ts)) if ts else (None, None)

    def verdict(self, lo, hi):
        with self.lock:
            lost = [s for s in range(lo, hi + 1) if not self.counts[s]]
            dup = {s: c for s, c in self.counts.items() if lo <= s <= hi and c > 1}
        return {"messages": hi - lo + 1, "arrived_distinct": hi - lo + 1 - len(lost), "lost": len(lost),
                "duplicated": len(dup), "extra_copies": sum(c - 1 for c in dup.values()),
                "lost_first": lost[:10], "duplicated_first": sorted(dup)[:10]}


def message_lines(path, lo, hi):
    pad = "x" * (SIZE - 9)
    with open(path, "w") as f:
        for s in range(lo, hi + 1):
            f.write(f"{s:08d} {pad}\n")


# ---------------------------------------------------------------- Mosquitto bridge chain

class Mosquitto:
    NAMES = ("prov", "city", "county")

    def __init__(self, root, autosave, window):
        self.root, self.window = root, window
        self.port = {n: free_port() for n in self.NAMES}
        self.proc, self.dir = {}, {}
        for n in self.NAMES:
            d = self.dir[n] = os.path.join(root, "mq-" + n); os.makedirs(d)
            conf = [f"listener {self.port[n]} 127.0.0.1", "allow_anonymous true",
                    "persistence true", f"persistence_location {d}/", f"autosave_interval {autosave}",
                    "autosave_on_changes false", "max_queued_messages 0", "max_inflight_messages 20",
                    f"log_dest file {d}/mosquitto.log", "log_type error", "log_type warning",
                    "log_type notice"]
            parent = {"county": "city", "city": "prov"}.get(n)
            if parent:
                conf += [f"connection {n}-to-{parent}", f"address 127.0.0.1:{self.port[parent]}",
                         "topic xf/# out 1", "cleansession false", f"remote_clientid bridge-{n}",
                         f"local_clientid bridge-{n}-local", "restart_timeout 1",
                         "bridge_protocol_version mqttv311", "try_private true", "keepalive_interval 10"]
            with open(os.path.join(d, "mosquitto.conf"), "w") as f:
                f.write("\n".join(conf) + "\n")
        self.settings = {"persistence": True, "autosave_interval_s": autosave, "autosave_on_changes": False,
                         "max_queued_messages": 0, "max_inflight_messages": 20,
                         "bridges": "county→city, city→prov: topic xf/# out 1, cleansession false, "
                                    "restart_timeout 1",
                         "publisher": f"mqtt_pub.py: MQTT 3.1.1 QoS 1, at most {window} unacknowledged", "subscriber": "mosquitto_sub -q 1 -c"}

    def start_broker(self, n):
        self.proc[n] = PROCS.start(["mosquitto", "-c", os.path.join(self.dir[n], "mosquitto.conf")],
                                   log=os.path.join(self.dir[n], "stderr"))
        wait_port(self.port[n])

    def start(self):
        for n in self.NAMES:
            self.start_broker(n)
        self.sub = PROCS.start(["mosquitto_sub", "-h", "127.0.0.1", "-p", str(self.port["prov"]), "-q", "1",
                                "-c", "-i", "prov-sub", "-t", "xf/#"], stdout=subprocess.PIPE,
                               stderr=open(os.path.join(self.root, "mq-sub.err"), "ab"))
        self.arr = Arrivals(self.sub.stdout)
        # the chain is up once a message sent at the county reaches the province
        deadline = time.time() + 30
        while not self.arr.counts[0]:
            if time.time() > deadline:
                raise SystemExit("mosquitto chain: the warm-up message did not reach the province in 30 s")
            subprocess.run(["mosquitto_pub", "-h", "127.0.0.1", "-p", str(self.port["county"]), "-q", "1",
                            "-t", "xf/cases", "-m", "00000000 warm-up"], check=False)
            t = time.time() + 1
            while time.time() < t and not self.arr.counts[0]:
                time.sleep(0.02)

    def pids(self):
        return {n: self.proc[n].pid for n in self.NAMES}

    def publish(self, lo, hi, rate=0):
        """Starts the publisher of lo..hi; returns (process, feeding thread or None)."""
        path = os.path.join(self.root, f"msgs.{lo}")
        message_lines(path, lo, hi)
        argv = [sys.executable, os.path.join(HERE, "mqtt_pub.py"), str(self.port["county"]), "xf/cases", path,
                str(self.window)] + ([str(rate)] if rate else [])
        out = open(os.path.join(self.root, f"mq-pub.{lo}.json"), "wb")
        err = open(os.path.join(self.root, "mq-pub.err"), "ab")
        t0 = time.time()
        return PROCS.start(argv, stdout=out, stderr=err), None, t0


# ---------------------------------------------------------------- NATS leaf chain + JetStream

class Nats:
    NAMES = ("prov", "city", "county")

    def __init__(self, root, natsbench, window):
        self.root, self.nb, self.window = root, natsbench, window
        self.port = {n: free_port() for n in self.NAMES}
        self.leaf = {n: free_port() for n in ("prov", "city")}
        self.proc, self.dir = {}, {}
        for n in self.NAMES:
            d = self.dir[n] = os.path.join(root, "nats-" + n); os.makedirs(d)
            parent = {"county": "city", "city": "prov"}.get(n)
            leaf = []
            if n in self.leaf:
                leaf.append(f"  listen: 127.0.0.1:{self.leaf[n]}")
            if parent:
                leaf.append(f'  remotes: [ {{ url: "nats-leaf://127.0.0.1:{self.leaf[parent]}" }} ]')
            conf = (f"server_name: {n}\nlisten: 127.0.0.1:{self.port[n]}\n"
                    f'jetstream {{ store_dir: "{d}/js", domain: {n} }}\n'
                    f"leafnodes {{\n" + "\n".join(leaf) + "\n}\n")
            with open(os.path.join(d, "nats.conf"), "w") as f:
                f.write(conf)
        self.url = {n: f"nats://127.0.0.1:{self.port[n]}" for n in self.NAMES}
        self.settings = {"jetstream": "enabled on all three (domains prov, city, county), file store",
                         "stream": "XF at the province: subjects xf.cases, file storage, duplicate window 2 min",
                         "leafnodes": "city → prov, county → city (nats-leaf, default 1 s reconnect)",
                         "publisher": f"JetStream async publish, window {window}, Nats-Msg-Id = sequence, "
                                      "sent again after 3 s without an ack or on a refusal",
                         "consumer": "durable pull consumer at the province, AckAll per fetched batch of 500"}

    def start_server(self, n):
        self.proc[n] = PROCS.start(["nats-server", "-c", os.path.join(self.dir[n], "nats.conf")],
                                   log=os.path.join(self.dir[n], "log"))
        wait_port(self.port[n])

    def start(self):
        for n in self.NAMES:
            self.start_server(n)
        deadline = time.time() + 30
        while subprocess.run([self.nb, "setup", "-url", self.url["prov"]], stdout=subprocess.DEVNULL,
                             stderr=subprocess.DEVNULL).returncode != 0:
            if time.time() > deadline:
                raise SystemExit("nats: could not create the stream at the province")
            time.sleep(0.2)
        self.sub = PROCS.start([self.nb, "sub", "-url", self.url["prov"]], stdout=subprocess.PIPE,
                               stderr=open(os.path.join(self.root, "nats-sub.err"), "ab"))
        self.arr = Arrivals(self.sub.stdout)
        warm = PROCS.start([self.nb, "pub", "-url", self.url["county"], "-n", "1", "-start", "0"])
        try:
            warm.wait(60)
        except subprocess.TimeoutExpired:
            raise SystemExit("nats chain: the warm-up message was not acknowledged in 60 s")
        PROCS.stop(warm)
        if not self.arr.wait(0, 0, 30):
            raise SystemExit("nats chain: the warm-up message did not reach the consumer")

    def pids(self):
        return {n: self.proc[n].pid for n in self.NAMES}

    def publish(self, lo, hi, rate=0):
        argv = [self.nb, "pub", "-url", self.url["county"], "-n", str(hi - lo + 1), "-start", str(lo),
                "-window", str(self.window), "-size", str(SIZE)]
        if rate:
            argv += ["-rate", str(rate)]
        self.pub_out = os.path.join(self.root, f"nats-pub.{lo}.json")
        out = open(self.pub_out, "wb")
        err = open(os.path.join(self.root, "nats-pub.err"), "ab")
        t0 = time.time()
        return PROCS.start(argv, stdout=out, stderr=err), None, t0


# ---------------------------------------------------------------- the peers: throughput and the kill

def settle():
    """Before every measured phase, of every system: what earlier phases and runs wrote is on
    the disk, so that its writeback does not compete with the phase for the disk (xfsync's
    drain ran after its own throughput run and the registration of its cases, with some
    hundreds of MB still being written back, and measured 34-46k/s against 62-89k/s)."""
    os.sync()


def peer_throughput(chain, lo, hi, use_strace, tmp, tag):
    settle()
    st = Strace(chain.pids(), tmp, tag) if use_strace else None
    c0 = relay.cpu_times()
    pub, _, t0 = chain.publish(lo, hi)
    ok = chain.arr.wait(lo, hi, 600, idle=30)
    t_end = chain.arr.t_last_new
    pub.wait(60); PROCS.stop(pub)
    calls = st.stop() if st else None
    n = hi - lo + 1
    if not ok:
        raise SystemExit(f"{tag}: {chain.arr.distinct(lo, hi)} of {n} arrived")
    dt = t_end - t0
    return {"messages": n, "seconds": round(dt, 3), "msgs_per_s": round(n / dt, 1),
            "machine": relay.machine_share(c0, relay.cpu_times())}, calls


def drain_rate(n, t_first, t_last):
    """Messages after the first arrival, over the time from it to the last arrival."""
    dt = t_last - t_first
    return {"messages": n, "seconds_first_to_last": round(dt, 3),
            "msgs_per_s": round((n - 1) / dt, 1) if dt > 0 else None}


def peer_drain(chain, lo, hi):
    """The relay alone: the city stopped, every message published and acknowledged at the
    county (queued on its bridge), then the city started and the backlog timed at the province
    from its first arrival to its last."""
    PROCS.stop(chain.proc["city"])
    pub, _, _ = chain.publish(lo, hi)
    pub.wait(600); PROCS.stop(pub)
    settle()
    chain.start_broker("city")
    if not chain.arr.wait(lo, hi, 600, idle=30):
        raise SystemExit(f"drain: {chain.arr.distinct(lo, hi)} of {hi - lo + 1} arrived")
    return drain_rate(hi - lo + 1, *chain.arr.span(lo, hi))


def peer_kill(chain, lo, hi, rate, down, idle):
    n = hi - lo + 1
    pub, feeder, _ = chain.publish(lo, hi, rate)
    if not chain.arr.at_least(lo, hi, n // 3, 120):
        raise SystemExit("a third of the stream did not arrive in 120 s")
    at_kill = chain.arr.distinct(lo, hi)
    publisher_running = pub.poll() is None
    PROCS.kill9(chain.proc["city"])
    time.sleep(down)
    (chain.start_broker if isinstance(chain, Mosquitto) else chain.start_server)("city")
    t_restart = time.time()
    try:
        pub.wait(300)
    except subprocess.TimeoutExpired:
        pass
    pub_rc = pub.poll()
    PROCS.stop(pub)
    if feeder:
        feeder.join(5)
    complete = chain.arr.wait(lo, hi, 300, idle=idle)
    time.sleep(2)   # late copies
    v = chain.arr.verdict(lo, hi)
    if getattr(chain, "pub_out", None):
        try:
            v["publisher"] = {k: x for k, x in json.load(open(chain.pub_out)).items() if k in ("retries", "refused")}
        except (OSError, ValueError):
            pass
    v.update({"rate_per_s": rate, "arrived_at_kill": at_kill, "publisher_running_at_kill": publisher_running,
              "city_down_s": down, "publisher_exit": pub_rc, "drained_s_after_restart": round(
                  (chain.arr.t_last or t_restart) - t_restart, 3), "all_arrived": complete})
    return v


# ---------------------------------------------------------------- xfsync

class Xfsync:
    def __init__(self, root, build):
        self.xfsyncd, self.xfctl = os.path.join(build, "xfsyncd"), os.path.join(build, "xfctl")
        self.prov, self.city, self.county = relay.chain(root, self.xfctl)
        self.nodes = [self.prov, self.city, self.county]

    def start(self):
        for n in self.nodes:
            n.start(self.xfsyncd)
        relay.wait_link_up(self.city, self.prov.code); relay.wait_link_up(self.county, self.city.code)

    def pids(self):
        return {n.name: n.proc.pid for n in self.nodes}

    def stop(self):
        for n in self.nodes:
            n.stop()

    def throughput(self, n, use_strace, tmp, tag):
        ids = relay.register(self.county, n)
        before = relay.total(self.prov)
        settle()
        st = Strace(self.pids(), tmp, tag) if use_strace else None
        c0, t0 = relay.cpu_times(), time.time()
        relay.escalate(self.county, ids, "bench")
        relay.wait_total(self.prov, before + n)
        dt = time.time() - t0
        machine = relay.machine_share(c0, relay.cpu_times())
        calls = st.stop() if st else None
        return {"messages": n, "seconds": round(dt, 3), "msgs_per_s": round(n / dt, 1),
                "unit": "case escalations (~1 KB envelopes), 1,000 per county transaction",
                "machine": machine}, calls

    def drain(self, n):
        """The relay alone, as peer_drain: the city stopped, n escalations queued at the county,
        the city started; the province's count polled every 5 ms, from the first arrival to the
        last (the county's link coming up is not counted, as the bridge's reconnection is not)."""
        ids = relay.register(self.county, n)
        self.city.stop()
        relay.escalate(self.county, ids, "drain")
        before = relay.total(self.prov)
        settle()
        self.city.start(self.xfsyncd)
        t_first, deadline = None, time.time() + 600
        while True:
            got, now = relay.total(self.prov) - before, time.time()
            if got and t_first is None:
                t_first, at_first = now, got
            if got >= n:
                break
            if now > deadline:
                raise SystemExit(f"xfsync drain: {got} of {n} after 600 s")
            time.sleep(0.005)
        r = drain_rate(n - at_first + 1, t_first, now)
        r["messages"] = n
        return r

    def kill(self, n, rate, down, idle):
        ids = relay.register(self.county, n)
        batch = 100
        state = {"sent": 0, "error": None}

        def escalate():   # paced at rate cases/s, batches of 100 (one county transaction each)
            try:
                c, t0 = relay.Client(self.county.sock), time.time()
                for i in range(0, n, batch):
                    d = t0 + i / rate - time.time() if rate else 0
                    if d > 0:
                        time.sleep(d)
                    c.ask("case.escalate", ids=ids[i:i + batch], to="410000", note="kill test")
                    state["sent"] = i + batch
            except Exception as e:   # noqa: BLE001
                state["error"] = repr(e)
        th = threading.Thread(target=escalate, daemon=True); th.start()
        t0 = time.time()
        while relay.total(self.prov) < n // 3:
            if time.time() - t0 > 120 or state["error"]:
                raise SystemExit(f"xfsync kill: a third did not arrive ({state})")
            time.sleep(0.005)
        at_kill = relay.total(self.prov)
        running = th.is_alive()
        os.kill(self.city.proc.pid, signal.SIGKILL)
        self.city.proc.wait(); self.city.proc = None
        time.sleep(down)
        self.city.start(self.xfsyncd)
        t_restart = time.time()
        th.join(300)
        # drain: until every case is at the province, or nothing new for idle s
        last, t_last = relay.total(self.prov), time.time()
        while last < n and time.time() - t_last < idle:
            time.sleep(0.05)
            t = relay.total(self.prov)
            if t != last:
                last, t_last = t, time.time()
        drained = time.time() - t_restart
        time.sleep(2)
        listed = self.prov.client.ask("case.list", limit=10 * n)["cases"]
        held = collections.Counter(c["id"] for c in listed)
        want = set(ids)
        lost = [i for i in ids if not held[i]]
        dup_list = [i for i, c in held.items() if c > 1]
        # events per case at the province (ctlpy.py `once`): exactly one escalate each
        multi_event, events = [], 0
        for cid in ids:
            if not held[cid]:
                continue
            ev = self.prov.client.ask("case.history", id=cid)["events"]
            k = sum(1 for e in ev if e["type"] == "escalate")
            events += k
            if k != 1:
                multi_event.append((cid, k))
        links = {l["peer"]: {k: l.get(k) for k in ("applied", "queue", "ups")}
                 for l in self.prov.client.ask("status")["links"]}
        return {"messages": n, "rate_per_s": rate, "arrived_at_kill": at_kill,
                "publisher_running_at_kill": running, "city_down_s": down, "escalate_error": state["error"],
                "arrived_distinct": len(want & set(held)), "lost": len(lost), "duplicated": len(dup_list),
                "cases_not_once": len(multi_event), "escalate_events_at_province": events,
                "lost_first": lost[:10], "duplicated_first": dup_list[:10], "not_once_first": multi_event[:10],
                "extra_ids_at_province": len(set(held) - want),
                "province_link_from_city": links.get("411300"),
                "drained_s_after_restart": round(drained, 3), "all_arrived": not lost}


def on_new_chain(path, build, work):
    """work(chain) on a new xfsync chain in path; then the chain stopped and path removed, also
    on failure, as the baseline removes its own: a store that kept the cases of the runs before
    would measure an ever larger store, and the data left behind (~1.2 GB a full run) slowed
    the runs after it (five full runs: 43.0k/s, then 30.1-33.6k/s; removed: 38.3-42.0k/s)."""
    xf = Xfsync(path, build)
    try:
        xf.start()
        return work(xf)
    finally:
        xf.stop()
        shutil.rmtree(path, ignore_errors=True)


# ---------------------------------------------------------------- the baseline

def baseline(binary, n, use_strace, tmp):
    argv = [binary, "run", "--messages", str(n), "--round-trips", "1", "--random-messages", "1", "--tmp", tmp]
    out = os.path.join(tmp, "baseline.json" + (".strace" if use_strace else ""))
    settle()
    p = PROCS.start(argv, stdout=open(out, "wb"), stderr=open(out + ".err", "wb"))
    st = Strace({"run": p.pid}, tmp, "baseline") if use_strace else None
    c0 = relay.cpu_times()
    rc = p.wait(900); PROCS.stop(p)
    machine = relay.machine_share(c0, relay.cpu_times())   # the whole run: its throughput phase is most of it
    calls = st.stop() if st else None
    if rc != 0:
        raise SystemExit(f"bench_relay_baseline failed: {open(out + '.err').read()[-2000:]}")
    r = json.load(open(out))
    r["machine"] = machine
    return r, calls


# ---------------------------------------------------------------- main

def build_natsbench(binary):
    """go build, offline, against Debian's golang-github-nats-io-go-nats-dev (GOPATH
    /usr/share/gocode, GO111MODULE=off); again whenever main.go is newer than the binary."""
    src = os.path.join(HERE, "natsbench")
    if os.path.exists(binary) and os.path.getmtime(binary) >= os.path.getmtime(os.path.join(src, "main.go")):
        return
    if not shutil.which("go"):
        raise SystemExit("nats: no go to build natsbench (apt-get install golang-go "
                         "golang-github-nats-io-go-nats-dev), or pass --only without nats")
    os.makedirs(os.path.dirname(binary), exist_ok=True)
    env = dict(os.environ, GOPATH="/usr/share/gocode", GO111MODULE="off", GOFLAGS="", GOPROXY="off",
               GOCACHE=os.path.join(os.path.dirname(os.path.abspath(binary)), "go-cache"))   # go wants it absolute
    say(f"building {binary}")
    r = subprocess.run(["go", "build", "-o", binary, "."], cwd=src, env=env, stderr=subprocess.PIPE, text=True)
    if r.returncode != 0:
        raise SystemExit(f"go build natsbench failed:\n{r.stderr}")


def median(xs):
    xs = sorted(xs)
    return xs[len(xs) // 2] if len(xs) % 2 else round((xs[len(xs) // 2 - 1] + xs[len(xs) // 2]) / 2, 1)


def rates(runs, key="msgs_per_s"):
    """What several runs say together: the median rate (runs[i][key]), every run's, and how the
    machine's CPU time went in each (the throughput runs; not the drains)."""
    r = {"msgs_per_s": median([x[key] for x in runs]), "runs_msgs_per_s": [x[key] for x in runs]}
    if all("machine" in x for x in runs):
        r["runs_steal_pct"] = [x["machine"]["steal_pct"] for x in runs]
        r["runs_machine"] = [x["machine"] for x in runs]
    return r


def combine(runs):
    """Several clean throughput runs as one: the first run's fields, with rates() in place of
    its own rate, time and machine."""
    r = {k: v for k, v in runs[0].items() if k not in ("seconds", "machine")}
    r.update(rates(runs))
    return r


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--full", action="store_true")
    ap.add_argument("--build-dir", default=os.path.join(ROOT, "build-peers"))
    ap.add_argument("--messages", type=int); ap.add_argument("--kill-messages", type=int)
    ap.add_argument("--rate", type=float, default=0,
                    help="messages/s of the kill test's publishers (default 0: as fast as each goes)")
    ap.add_argument("--down", type=float, default=1.0, help="seconds the city stays down")
    ap.add_argument("--window", type=int, default=1000, help="peer publishers' unacknowledged messages")
    ap.add_argument("--autosave", type=int, default=1, help="mosquitto autosave_interval (s)")
    ap.add_argument("--only", default="xfsync,mosquitto,nats,baseline")
    ap.add_argument("--no-strace", action="store_true")
    ap.add_argument("--repeat", type=int, default=3, help="clean throughput runs per system (median reported)")
    a = ap.parse_args()
    n = a.messages or (50000 if a.full else 10000)
    k = a.kill_messages or (20000 if a.full else 5000)
    rate = a.rate or 0
    only = set(a.only.split(","))
    idle = 15
    signal.signal(signal.SIGTERM, lambda *_: sys.exit(143))
    signal.signal(signal.SIGINT, lambda *_: sys.exit(130))
    natsbench = os.path.abspath(os.path.join(a.build_dir, "natsbench"))   # go build runs in its source
    if "nats" in only:
        build_natsbench(natsbench)
    tmp = tempfile.mkdtemp(prefix="xfpeers.")
    use_strace = not a.no_strace and shutil.which("strace") is not None
    out = {"bench": "peers", "mode": "full" if a.full else "quick", "nproc": os.cpu_count(),
           "message_bytes": SIZE, "throughput_messages": n, "kill_messages": k, "systems": {}, "kill": {}}
    chains = []
    try:
        # -------- throughput (clean, then under strace) and the kill test, system by system
        if "baseline" in only:
            say(f"baseline: {n} messages")
            runs = [baseline(os.path.join(a.build_dir, "tests", "bench_relay_baseline"), n, False, tmp)[0]
                    for _ in range(a.repeat)]
            b = runs[0]
            r = {**rates(runs, "throughput_per_s"), "messages": n,
                 "self_reported_fsync_per_message": b.get("fsync_per_message")}
            if use_strace:
                bs, calls = baseline(os.path.join(a.build_dir, "tests", "bench_relay_baseline"), n, True, tmp)
                stored = n + 1 + 21   # throughput + random-keys (1) + latency round trips (1 + 20 warm-up)
                r["fsync"] = sync_summary(calls, stored, "all three roles of the throughput phase (and 22 "
                                          "messages of the other phases); LMDB writes the meta page through an "
                                          "O_DSYNC descriptor, a second flush per commit not counted here")
                r["msgs_per_s_under_strace"] = bs["throughput_per_s"]
            out["systems"]["baseline"] = r

        if "xfsync" in only:
            say(f"xfsync: three nodes, {n} escalations")
            # each run on a new chain, as each baseline run is (the drain follows the run's own
            # n cases)
            runs, drains = [], []
            for i in range(a.repeat):
                run, drain = on_new_chain(os.path.join(tmp, f"xf{i}"), a.build_dir, lambda xf: (
                    xf.throughput(n, False, tmp, "xfsync")[0], xf.drain(n)))
                runs.append(run); drains.append(drain)
            r = combine(runs)
            if use_strace:
                rs, calls = on_new_chain(os.path.join(tmp, "xfs"), a.build_dir,
                                         lambda xf: xf.throughput(n, True, tmp, "xfsync"))
                r["fsync"] = sync_summary(calls, n, "LMDB: one fdatasync per commit counted; the meta page's "
                                          "O_DSYNC write is a second flush not counted here")
                r["msgs_per_s_under_strace"] = rs["msgs_per_s"]
            r["relay_drain"] = combine(drains)
            out["systems"]["xfsync"] = r
            say(f"xfsync kill test: {k} escalations at {rate}/s, the city SIGKILLed")
            out["kill"]["xfsync"] = on_new_chain(os.path.join(tmp, "xfk"), a.build_dir,
                                                 lambda xf: xf.kill(k, rate, a.down, idle))

        for name in ("mosquitto", "nats"):
            if name not in only:
                continue
            make = (lambda d: Mosquitto(d, a.autosave, a.window)) if name == "mosquitto" else \
                   (lambda d: Nats(d, natsbench, a.window))
            say(f"{name}: three brokers, {n} messages")
            c = make(os.path.join(tmp, name)); chains.append(c); c.start()
            r = combine([peer_throughput(c, i * n + 1, (i + 1) * n, False, tmp, name)[0] for i in range(a.repeat)])
            if use_strace:
                rs, calls = peer_throughput(c, a.repeat * n + 1, (a.repeat + 1) * n, True, tmp, name)
                r["fsync"] = sync_summary(calls, n)
                r["msgs_per_s_under_strace"] = rs["msgs_per_s"]
            if name == "mosquitto":
                base = (a.repeat + 1) * n
                r["relay_drain"] = combine([peer_drain(c, base + i * n + 1, base + (i + 1) * n)
                                            for i in range(a.repeat)])
            r["settings"] = c.settings
            out["systems"][name] = r
            say(f"{name} kill test: {k} messages at {rate}/s, the city SIGKILLed")
            c2 = make(os.path.join(tmp, name + "-kill")); chains.append(c2); c2.start()
            out["kill"][name] = peer_kill(c2, 1, k, rate, a.down, idle)
            for ch in (c, c2):
                for p in [ch.sub] + list(ch.proc.values()):
                    PROCS.stop(p)

        # -------- ratios and the targets
        s = out["systems"]
        xt = s.get("xfsync", {}).get("msgs_per_s"); bt = s.get("baseline", {}).get("msgs_per_s")
        for name, r in s.items():
            r["ratio_to_xfsync"] = round(r["msgs_per_s"] / xt, 3) if xt else None
            r["ratio_to_baseline"] = round(r["msgs_per_s"] / bt, 3) if bt else None
        targets = {}
        if xt and "mosquitto" in s:
            targets["xfsync_above_mosquitto"] = {"met": xt > s["mosquitto"]["msgs_per_s"], "xfsync": xt,
                                                 "mosquitto": s["mosquitto"]["msgs_per_s"]}
        if xt and bt:
            targets["xfsync_at_least_half_baseline"] = {
                "met": xt >= bt / 2, "ratio": round(xt / bt, 3),
                "steal_pct_median": {"xfsync": median(s["xfsync"]["runs_steal_pct"]),
                                     "baseline": median(s["baseline"]["runs_steal_pct"])}}
        # the relay alone (a backlog drained, the origin's own work not counted, on both sides)
        xd = s.get("xfsync", {}).get("relay_drain", {}).get("msgs_per_s")
        md = s.get("mosquitto", {}).get("relay_drain", {}).get("msgs_per_s")
        if xd and md:
            targets["xfsync_relay_above_mosquitto_relay"] = {"met": xd > md, "xfsync": xd, "mosquitto": md}
        if xd and bt:
            targets["xfsync_relay_at_least_half_baseline"] = {"met": xd >= bt / 2, "ratio": round(xd / bt, 3)}
        kx = out["kill"].get("xfsync")
        if kx:
            peers_bad = {p: {"lost": v["lost"], "duplicated": v["duplicated"]}
                         for p, v in out["kill"].items() if p != "xfsync"}
            targets["xfsync_exactly_once_under_kill"] = {
                "met": kx["lost"] == 0 and kx["duplicated"] == 0 and kx["cases_not_once"] == 0,
                "xfsync": {"lost": kx["lost"], "duplicated": kx["duplicated"], "cases_not_once": kx["cases_not_once"]},
                "peers": peers_bad,
                "peers_that_lost_or_duplicated": [p for p, v in peers_bad.items() if v["lost"] or v["duplicated"]]}
        out["targets"] = targets
        fs = {name: r["fsync"]["per_message"] for name, r in s.items() if "fsync" in r}
        if fs:
            out["fsync_per_message"] = fs
        print(json.dumps(out, indent=1))
    finally:
        PROCS.stop_all()
        shutil.rmtree(tmp, ignore_errors=True)


if __name__ == "__main__":
    main()
