"""nodes.py — province.py's offices as processes: the tree read from henan.csv (or china.csv),
each office's keys, config and xfsyncd started level by level in its own session, and stopped
by its pid; their memory and CPU read from /proc; the control client with a bounded wait."""
import csv, os, signal, socket, subprocess, sys, threading, time
from concurrent.futures import ThreadPoolExecutor

HERE = os.path.dirname(os.path.abspath(__file__))
ROOT = os.path.abspath(os.path.join(HERE, "..", "..", ".."))
sys.path.insert(0, os.path.join(ROOT, "tests", "integration"))
from ctlpy import Client  # noqa: E402

CLK = os.sysconf("SC_CLK_TCK")

def say(msg):
    print(f"province: {msg}", file=sys.stderr, flush=True)


class Fail(Exception):
    pass


def _ephemeral_low():
    try:
        with open("/proc/sys/net/ipv4/ip_local_port_range") as f:
            return int(f.read().split()[0])
    except OSError:
        return 32768


_next_port = [max(1024, min(20000, _ephemeral_low() - 5000))]


def free_port():
    """A port below the kernel's ephemeral range, bindable now. Not port 0: an ephemeral port
    picked now may be taken, before the node binds it, as the local end of one of the thousands
    of outgoing link connections (they draw from the same range)."""
    while _next_port[0] < _ephemeral_low():
        p = _next_port[0]
        _next_port[0] += 1
        s = socket.socket()
        try:
            s.bind(("127.0.0.1", p))
            return p
        except OSError:
            continue
        finally:
            s.close()
    raise Fail("no free port below the ephemeral range")


# ------------------------------------------------------------------------------------ nodes

class Node:
    def __init__(self, root, code, name, parent):
        self.code, self.name, self.parent = code, name, parent
        self.children = []
        self.dir = os.path.join(root, code)
        self.sock = os.path.join(self.dir, "c.sock")   # short: sun_path is 108 bytes
        self.proc, self.port, self.pub, self._client = None, None, None, None
        self.lock = threading.Lock()
        self.trust = None   # [trust] lines (trust.conf_lines): peers' keys from certificates

    @property
    def level(self):
        return 0 if not self.parent else 1 + self.parent.level

    TIMEOUT = 60.0   # no control request waits longer than this (a starved node is a failure)

    def client(self):
        if self._client is None:
            c = Client.__new__(Client)   # ctlpy's client, its socket with a timeout
            c.s = socket.socket(socket.AF_UNIX)
            c.s.settimeout(self.TIMEOUT)
            c.s.connect(self.sock)
            c.f = c.s.makefile("rwb")
            self._client = c
        return self._client

    def ask(self, cmd, **args):
        with self.lock:
            try:
                return self.client().ask(cmd, **args)
            except socket.timeout:
                self._client = None
                raise Fail(f"office {self.code}: no answer to {cmd} within {self.TIMEOUT:.0f} s")

    def write_conf(self):
        lines = ["[node]", f"code = {self.code}", f"name = {self.name}",
                 f"data_dir = {self.dir}/data", f"control_socket = {self.sock}",
                 f"key_file = {self.dir}/node.key"]
        if self.children:
            self.port = self.port or free_port()
            lines.append(f"listen = tcp://127.0.0.1:{self.port}")
        lines += ["", "[debug]", "clock_control = true", ""]
        if self.parent:
            lines += ["[parent]", f"code = {self.parent.code}",
                      f"endpoint = tcp://127.0.0.1:{self.parent.port}"]
            lines += [f"public_key = {self.parent.pub}", ""] if not self.trust else [""]
        for c in self.children:
            lines += [f"[child {c.code}]"] + ([f"public_key = {c.pub}", ""] if not self.trust else [""])
        lines += self.trust or []
        with open(os.path.join(self.dir, "xfsyncd.conf"), "w") as f:
            f.write("\n".join(lines))

    def spawn(self, xfsyncd):
        log = open(os.path.join(self.dir, "log"), "ab")
        # its own session: a Ctrl-C reaches this script only, which then stops every node in turn
        self.proc = subprocess.Popen([xfsyncd, "-c", os.path.join(self.dir, "xfsyncd.conf"),
                                      "--foreground"], stdout=log, stderr=log, stdin=subprocess.DEVNULL,
                                     start_new_session=True)
        log.close()

    def alive(self):
        return self.proc is not None and self.proc.poll() is None

    def proc_status(self):
        out = {}
        with open(f"/proc/{self.proc.pid}/status") as f:
            for line in f:
                k = line.split(":")[0]
                if k in ("VmRSS", "RssAnon", "RssFile", "Threads"):
                    out[k] = int(line.split()[1])
        return out

    def pss_kib(self):
        """Proportional set size: the shared library pages divided among the processes mapping
        them, so that the sum over all nodes is what they really take."""
        with open(f"/proc/{self.proc.pid}/smaps_rollup") as f:
            for line in f:
                if line.startswith("Pss:"):
                    return int(line.split()[1])
        return 0

    def cpu_s(self):
        with open(f"/proc/{self.proc.pid}/stat") as f:
            fields = f.read().rsplit(")", 1)[1].split()
        return (int(fields[11]) + int(fields[12])) / CLK   # utime, stime

    def fds(self):
        return len(os.listdir(f"/proc/{self.proc.pid}/fd"))


def load_tree(csv_path, root, provinces=None):
    """The offices of csv_path; with provinces (a number), only the national root and the first
    that many provinces with everything below them."""
    nodes = {}
    with open(csv_path, newline="", encoding="utf-8") as f:
        rows = list(csv.DictReader(f))
    if provinces:
        top = [r["code"] for r in rows if not r["parent"]]
        keep = set(top) | set(sorted(r["code"] for r in rows if r["parent"] in top)[:provinces])
        grew = True
        while grew:
            more = {r["code"] for r in rows if r["parent"] in keep - set(top)} - keep
            grew = bool(more)
            keep |= more
        rows = [r for r in rows if r["code"] in keep]
    for r in rows:
        nodes[r["code"]] = Node(root, r["code"], r["name"], None)
    for r in rows:
        if r["parent"]:
            nodes[r["code"]].parent = nodes[r["parent"]]
            nodes[r["parent"]].children.append(nodes[r["code"]])
    return [nodes[r["code"]] for r in rows]


def keygen(nodes, xfctl, workers):
    def one(n):
        os.makedirs(n.dir)
        subprocess.run([xfctl, "keygen", n.dir], check=True, stdout=subprocess.DEVNULL, timeout=30)
        n.pub = open(os.path.join(n.dir, "node.pub")).read().strip()
    with ThreadPoolExecutor(workers) as ex:
        list(ex.map(one, nodes))


def wait_sockets(nodes, deadline):
    for n in nodes:
        while True:
            try:
                n.ask("status")
                break
            except (OSError, RuntimeError):
                n._client = None
                if not n.alive():
                    try:
                        tail = open(os.path.join(n.dir, "log"), errors="replace").read()[-600:]
                    except OSError:
                        tail = ""
                    raise Fail(f"xfsyncd {n.code} exited during start (status {n.proc.returncode}); "
                               f"its log ends:\n{tail}")
                if time.time() > deadline:
                    raise Fail(f"xfsyncd {n.code} does not answer on its control socket")
                time.sleep(0.02)


def start_all(nodes, xfsyncd, wave, limit, before_level=None):
    """Level by level (parents listening before their children dial, so nobody backs off), in
    waves of `wave` processes, before_level(nodes) first for each level below the root;
    returns (seconds to all sockets up, seconds to all links up)."""
    t0 = time.time()
    deadline = t0 + limit
    for lvl in sorted({n.level for n in nodes}):
        level = [n for n in nodes if n.level == lvl]
        if lvl and before_level:
            before_level(level)
        for i in range(0, len(level), wave):
            part = level[i:i + wave]
            for n in part:
                n.spawn(xfsyncd)
            wait_sockets(part, deadline)
        say(f"level {lvl}: {len(level)} nodes answer ({time.time() - t0:.1f} s)")
    t_sockets = time.time() - t0
    pending = [n for n in nodes if n.parent]
    while pending:
        still = []
        for n in pending:
            links = n.ask("status")["links"]
            if not any(l["peer"] == n.parent.code and l["state"] == "up" for l in links):
                still.append(n)
        pending = still
        if pending:
            if time.time() > deadline:
                raise Fail(f"{len(pending)} links not up after {limit} s, e.g. {pending[0].code} → "
                           f"{pending[0].parent.code}")
            time.sleep(0.2)
    return t_sockets, time.time() - t0


def stop_all(nodes, limit=30):
    """SIGTERM to every node we started, by pid; SIGKILL what is left after `limit` s."""
    live = [n for n in nodes if n.proc is not None]
    for n in live:
        if n._client is not None:
            try:
                n._client.s.close()
            except OSError:
                pass
        if n.proc.poll() is None:
            try:
                n.proc.send_signal(signal.SIGTERM)
            except ProcessLookupError:
                pass
    deadline = time.time() + limit
    for n in live:
        try:
            n.proc.wait(max(0.1, deadline - time.time()))
        except subprocess.TimeoutExpired:
            say(f"xfsyncd {n.code} (pid {n.proc.pid}) ignored SIGTERM for {limit} s: SIGKILL")
            n.proc.kill()
            n.proc.wait()
    bad = [n.code for n in live if n.proc.returncode not in (0, -signal.SIGTERM)]
    for n in live:
        n.proc = None
    return bad


def spread(values):
    v = sorted(values)
    return {"min": v[0], "median": v[len(v) // 2], "max": v[-1], "n": len(v)}


def mem_available_kib():
    with open("/proc/meminfo") as f:
        for line in f:
            if line.startswith("MemAvailable:"):
                return int(line.split()[1])


def memory(nodes, avail_before=None):
    st = [n.proc_status() for n in nodes]
    rss = [s["VmRSS"] for s in st]
    pss = [n.pss_kib() for n in nodes]
    out = {"rss_kib": spread(rss), "rss_anon_kib": spread([s["RssAnon"] for s in st]),
            "rss_file_kib": spread([s["RssFile"] for s in st]),
            "pss_kib": spread(pss), "rss_total_mib": round(sum(rss) / 1024, 1),
            "pss_total_mib": round(sum(pss) / 1024, 1),
            "threads": spread([s["Threads"] for s in st]),
            "fds": spread([n.fds() for n in nodes]),
            "by_level_rss_kib": {str(l): spread([s["VmRSS"] for n, s in zip(nodes, st) if n.level == l])
                                 for l in sorted({n.level for n in nodes})}}
    if avail_before is not None:
        out["machine_mem_used_mib"] = round((avail_before - mem_available_kib()) / 1024, 1)
    return out


def pct(samples):
    s = sorted(samples)
    return {"n": len(s), "p50_ms": round(s[len(s) // 2] * 1e3, 2),
            "p99_ms": round(s[min(len(s) - 1, int(len(s) * 0.99))] * 1e3, 2),
            "max_ms": round(s[-1] * 1e3, 2)}
