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
runs every office under [trust] (trust.py: the certificate tree, signed envelopes). Prints one JSON object
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
import argparse, csv, json, os, random, resource, shutil, signal, socket, subprocess, sys
import tempfile, threading, time
from concurrent.futures import ThreadPoolExecutor

HERE = os.path.dirname(os.path.abspath(__file__))
ROOT = os.path.abspath(os.path.join(HERE, "..", "..", ".."))
sys.path.insert(0, os.path.join(ROOT, "tests", "integration"))
from ctlpy import Client  # noqa: E402
import trust  # noqa: E402

CHANNELS = ["letter", "visit", "phone", "email", "online"]
CATEGORIES = ["accusation", "appeal", "inquiry"]
CH_W = [0.65 * 24 / 65, 0.65 * 41 / 65, 0.10, 0.05, 0.20]
CAT_W = [18 / 65, 38 / 65, 9 / 65]
FILED_SHARE = 8 / 65
ITEMS = ["investigation", "instruction", "letter", "original", "evidence", "petitioner_opinion",
         "review_opinion"]
CHECKED = ["received", "accepted", "filed", "rejected", "closed", "closed_on_time", "escalated",
           "assigned", "transferred", "urges", "overdue"]
PERIOD = "2027Q1"
T0, T1, T2 = "2027-01-04T09:00:00", "2027-01-11T09:00:00", "2027-01-20T09:00:00"
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


# ------------------------------------------------------------------------------------ workload

def blank():
    f = {k: 0 for k in CHECKED}
    f["by_channel"] = {c: 0 for c in CHANNELS}
    f["by_category"] = {c: 0 for c in CATEGORIES}
    return f


class Workload:
    def __init__(self, nodes, cases, seed, workers, latency_n):
        self.nodes = nodes
        self.by_code = {n.code: n for n in nodes}
        self.root = next(n for n in nodes if not n.parent)
        self.cities = [n for n in self.root.children if n.children]
        self.counties = [n for n in nodes if not n.children]
        self.cases, self.seed, self.workers, self.latency_n = cases, seed, workers, latency_n
        self.exp = {n.code: blank() for n in nodes}
        self.mu = threading.Lock()
        self.case = {}            # id -> {"filed": bool, "supervisor": code}
        self.accepted_t0 = {}     # county -> [ids accepted at T0]
        self.arriving = {}        # office -> set of ids it must come to own
        self.assigned_open = []   # (supervisor, assignee, id) assigned, not yet reported
        self.reports = []         # (supervisor, id) reported, to be closed by the supervisor
        self.lat = {"county_city": [], "city_province": []}
        self.timings = {}

    # -- bookkeeping: every successful command counted once, at the office that did it
    def count(self, code, key, n=1):
        with self.mu:
            self.exp[code][key] += n

    def rng(self, *salt):
        return random.Random(f"{self.seed}/{'/'.join(map(str, salt))}")

    def pool(self, fn, items):
        ex = ThreadPoolExecutor(self.workers)
        try:
            return list(ex.map(fn, items))
        finally:   # on an error or Ctrl-C: nothing more is started, the running ones end
            ex.shutdown(wait=True, cancel_futures=True)

    def expect_arrival(self, code, ids):
        with self.mu:
            self.arriving.setdefault(code, set()).update(ids)

    def wait_arrivals(self, what, limit=600):
        t0 = time.time()
        deadline = t0 + limit
        want = dict(self.arriving)
        self.arriving = {}

        def one(code):
            node = self.by_code[code]
            while True:
                got = {c["id"] for c in node.ask("case.list", owner=code, limit=1000000)["cases"]}
                missing = want[code] - got
                if not missing:
                    return
                if time.time() > deadline:
                    raise Fail(f"{what}: {len(missing)} cases never reached office {code}, e.g. "
                               f"{sorted(missing)[0]}")
                time.sleep(0.05)
        self.pool(one, sorted(want))
        return time.time() - t0

    def set_clocks(self, t):
        self.pool(lambda n: n.ask("clock.set", time=t), self.nodes)

    # -- single-case commands
    def accept(self, node, cid, file):
        node.ask("case.accept", id=cid, file=file)
        self.count(node.code, "accepted")
        if file:
            self.count(node.code, "filed")
        self.case[cid]["filed"] = file

    def close(self, node, cid):
        node.ask("case.close", id=cid, reply="已办结，答复信访人")
        self.count(node.code, "closed")
        if self.case[cid]["filed"]:      # every close here is before its handling deadline
            self.count(node.code, "closed_on_time")

    def move(self, node, kind, ids, to, counter):
        if not ids:
            return
        for i in range(0, len(ids), 1000):
            node.ask("case." + kind, ids=ids[i:i + 1000], to=to,
                     note={"escalate": "重大疑难，上报", "assign": "交办，要结果",
                           "transfer": "转办，归口办理"}[kind])
            self.count(node.code, counter, len(ids[i:i + 1000]))
        self.expect_arrival(to, ids)

    def register(self, node, n, tag):
        r = self.rng("register", node.code, tag)
        rows = []
        for i in range(n):
            ch = r.choices(CHANNELS, CH_W)[0]
            cat = r.choices(CATEGORIES, CAT_W)[0]
            rows.append({"channel": ch, "category": cat,
                         "summary": f"{node.name} {tag} 第{i + 1}件：反映{cat}事项"})
        ids = []
        for i in range(0, n, 5000):
            ids += node.ask("case.import", cases=rows[i:i + 5000], first_line=i + 1)["ids"]
        with self.mu:
            e = self.exp[node.code]
            for row, cid in zip(rows, ids):
                e["received"] += 1
                e["by_channel"][row["channel"]] += 1
                e["by_category"][row["category"]] += 1
                self.case[cid] = {"filed": False, "supervisor": None}
        return ids

    # -- T0
    def plan_counts(self):
        """Cases per office: counties ~94% of the total (weights 0.4..1.6), cities 5%, the
        province 1%."""
        r = self.rng("plan")
        county_total = round(self.cases * 0.94)
        city_total = round(self.cases * 0.05)
        prov = self.cases - county_total - city_total
        out = {self.root.code: prov}
        for group, total in ((self.counties, county_total), (self.cities, city_total)):
            w = [r.uniform(0.4, 1.6) for _ in group]
            s = sum(w)
            share = [int(total * x / s) for x in w]
            for i in range(total - sum(share)):
                share[i % len(share)] += 1
            out.update({n.code: k for n, k in zip(group, share)})
        return out

    def t0_register(self, counts):
        self.own_t0 = {}
        t0 = time.time()

        def one(node):
            self.own_t0[node.code] = self.register(node, counts[node.code], "T0")
        self.pool(one, self.nodes)
        dt = time.time() - t0
        self.timings["register"] = {"cases": self.cases, "seconds": round(dt, 3),
                                    "cases_per_s": round(self.cases / dt, 1)}

    def t0_escalate(self):
        self.t0_rest = {}
        t0 = time.time()

        def one(node):
            ids = list(self.own_t0[node.code])
            self.rng("t0", node.code).shuffle(ids)
            k = round(len(ids) * 0.10)
            self.move(node, "escalate", ids[:k], node.parent.code, "escalated")
            self.t0_rest[node.code] = ids[k:]
        self.pool(one, self.counties)
        n = sum(len(v) for v in self.arriving.values())
        t_sent = time.time() - t0
        self._t0_arrivals = {k: set(v) for k, v in self.arriving.items()}
        self.wait_arrivals("T0 escalations")
        dt = time.time() - t0
        self.timings["relay"] = {"cases": n, "seconds_all_arrived": round(dt, 3),
                                 "seconds_commands": round(t_sent, 3),
                                 "cases_per_s": round(n / dt, 1) if dt else None,
                                 "note": "county → city escalations, batched per county, from the "
                                         "first command until every case is owned by its city"}

    def t0_decide(self):
        def one(node):
            r = self.rng("t0d", node.code)
            acc = []
            for cid in self.t0_rest[node.code]:
                if r.random() < 0.04 / 0.90:
                    node.ask("case.reject", id=cid, reason="不属于组织部门受理范围，告知向有关部门反映")
                    self.count(node.code, "rejected")
                else:
                    self.accept(node, cid, r.random() < FILED_SHARE)
                    acc.append(cid)
            self.accepted_t0[node.code] = acc
        t0 = time.time()
        self.pool(one, self.counties)
        return time.time() - t0

    def latency_probe(self, stop):
        """One escalation at a time: a fresh case at a county, escalated; arrival at the city
        timed by polling case.show there; then the city escalates it and the province is polled.
        The cases are counted like the others and handled at T1 by the province."""
        r = self.rng("latency")
        self.lat_ids = []
        i = 0
        while i < self.latency_n and not stop.is_set():
            county = r.choice([c for c in self.counties if c.parent is not self.root])
            city = county.parent
            cid = self.register(county, 1, f"L{i}")[0]

            def hop(frm, to, cid=cid):
                frm.ask("case.escalate", id=cid, to=to.code, note="重大疑难，上报（计时）")
                self.count(frm.code, "escalated")
                t = time.perf_counter()
                deadline = time.time() + 60
                while True:
                    try:
                        if to.ask("case.show", id=cid)["owner"] == to.code:
                            return time.perf_counter() - t
                    except RuntimeError:
                        pass
                    if time.time() > deadline:
                        raise Fail(f"latency case {cid} did not reach {to.code} within 60 s")
                    time.sleep(0.001)
            self.lat["county_city"].append(hop(county, city))
            self.lat["city_province"].append(hop(city, self.root))
            self.lat_ids.append(cid)
            i += 1

    # -- T1
    def t1_cities(self):
        def one(city):
            r = self.rng("t1c", city.code)
            kids = city.children
            esc = sorted(self.arriving_city.get(city.code, ()))
            up, assign, own = [], {}, []
            for cid in esc:
                x = r.random()
                if x < 0.2:
                    up.append(cid)
                elif x < 0.6:
                    own.append(cid)
                else:
                    assign.setdefault(self.county_of(cid, city), []).append(cid)
            self.move(city, "escalate", up, self.root.code, "escalated")
            for to, ids in sorted(assign.items()):
                self.move(city, "assign", ids, to, "assigned")
                for cid in ids:
                    self.case[cid]["supervisor"] = city.code
                    self.assigned_open.append((city.code, to, cid))
            transfer = {}
            for cid in self.own_t0[city.code]:
                if r.random() < 0.5:
                    transfer.setdefault(r.choice(kids).code, []).append(cid)
                else:
                    own.append(cid)
            for to, ids in sorted(transfer.items()):
                self.move(city, "transfer", ids, to, "transferred")
                self.transferred.extend((to, cid) for cid in ids)
            for cid in own:
                self.accept(city, cid, r.random() < FILED_SHARE)
                self.close(city, cid)
        self.pool(one, self.cities)

    def county_of(self, cid, city):
        """The county a case came from, when it is one of city's; else the city's first."""
        origin = cid.split("-")[0]
        return origin if any(k.code == origin for k in city.children) else city.children[0].code

    def t1_province(self):
        prov = self.root
        r = self.rng("t1p")
        cities = [c for c in prov.children]
        arrived = sorted(self.arriving_prov)
        assign, own = {}, []
        for cid in arrived:
            if r.random() < 0.5:
                own.append(cid)
            else:   # back to the city (or 省直辖 county) it came from
                origin = cid.split("-")[0]
                to = next((c.code for c in cities if c.code == origin
                           or any(k.code == origin for k in c.children)), cities[0].code)
                assign.setdefault(to, []).append(cid)
        transfer = {}
        for cid in self.own_t0[prov.code]:
            if r.random() < 0.5:
                transfer.setdefault(r.choice(self.counties).code, []).append(cid)
            else:
                assign.setdefault(r.choice(cities).code, []).append(cid)
        for to, ids in sorted(assign.items()):
            self.move(prov, "assign", ids, to, "assigned")
            for cid in ids:
                self.case[cid]["supervisor"] = prov.code
                self.assigned_open.append((prov.code, to, cid))
        for to, ids in sorted(transfer.items()):
            self.move(prov, "transfer", ids, to, "transferred")
            self.transferred.extend((to, cid) for cid in ids)
        for cid in own:
            self.accept(prov, cid, r.random() < FILED_SHARE)
            self.close(prov, cid)

    def handle_assigned(self, share, tag):
        """Assignees accept `share` of their open assigned cases and report the result up."""
        by_assignee = {}
        for sup, to, cid in self.assigned_open:
            by_assignee.setdefault(to, []).append((sup, cid))
        keep = []

        def one(code):
            node, r = self.by_code[code], self.rng(tag, code)
            done, left = [], []
            for sup, cid in by_assignee[code]:
                (done if r.random() < share else left).append((sup, cid))
            for sup, cid in done:
                self.accept(node, cid, r.random() < FILED_SHARE)
                node.ask("case.report", id=cid, result="经调查核实，已妥善处理", items=ITEMS)
                self.expect_arrival(sup, [cid])
            with self.mu:
                self.reports.extend(done)
                keep.extend((sup, code, cid) for sup, cid in left)
        self.pool(one, sorted(by_assignee))
        self.assigned_open = keep

    def close_reports(self):
        by_sup = {}
        for sup, cid in self.reports:
            by_sup.setdefault(sup, []).append(cid)
        self.reports = []

        def one(code):
            for cid in by_sup[code]:
                self.close(self.by_code[code], cid)
        self.pool(one, sorted(by_sup))

    def handle_transferred(self):
        by_to = {}
        for to, cid in self.transferred:
            by_to.setdefault(to, []).append(cid)
        self.transferred = []

        def one(code):
            node, r = self.by_code[code], self.rng("tr", code)
            for cid in by_to[code]:
                self.accept(node, cid, r.random() < FILED_SHARE)
                self.close(node, cid)
        self.pool(one, sorted(by_to))

    # -- T2
    def wait_urges(self, limit=120):
        """Each supervisor sends one automatic urge per open assigned case at its next deadline
        scan (the clock change triggers it); the urges are counted where they are sent."""
        want = {}
        for sup, _, _ in self.assigned_open:
            want[sup] = want.get(sup, 0) + 1
        for sup, k in want.items():
            self.count(sup, "urges", k)
        deadline = time.time() + limit
        for sup, k in sorted(want.items()):
            while True:
                got = self.by_code[sup].ask("stats", period=PERIOD)["totals"]["urges"]
                if got >= k:
                    break
                if time.time() > deadline:
                    raise Fail(f"office {sup}: {got} automatic urges sent of {k} expected after "
                               f"{limit} s")
                time.sleep(0.1)
        # the owners record them (history); one sample each way
        for sup, to, cid in self.assigned_open[:5]:
            deadline = time.time() + 30
            while self.by_code[to].ask("case.show", id=cid).get("urges", 0) < 1:
                if time.time() > deadline:
                    raise Fail(f"case {cid}: the urge of {sup} not recorded at {to} in 30 s")
                time.sleep(0.05)
        return sum(want.values())

    def t2_counties_close(self):
        def one(node):
            r = self.rng("t2", node.code)
            for cid in self.accepted_t0.get(node.code, []):
                if r.random() < 0.85:
                    self.close(node, cid)
        self.pool(one, self.counties)

    # -- the run
    def run(self):
        counts = self.plan_counts()
        say(f"T0 {T0}: registering {self.cases} cases over {len(self.nodes)} offices")
        self.set_clocks(T0)
        self.transferred = []
        self.t0_register(counts)
        say(f"  registered in {self.timings['register']['seconds']} s; escalating 10% of the "
            f"counties' cases")
        self.t0_escalate()
        say(f"  {self.timings['relay']['cases']} escalations at their cities in "
            f"{self.timings['relay']['seconds_all_arrived']} s; accepting/rejecting the rest, "
            f"timing {self.latency_n} escalations meanwhile")
        arrived_city = self._t0_arrivals
        stop = threading.Event()
        probe_err = []

        def probe():
            try:
                self.latency_probe(stop)
            except Exception as e:   # noqa: BLE001 — reported below
                probe_err.append(e)
        th = threading.Thread(target=probe, daemon=True)
        th.start()
        t_decide = self.t0_decide()
        th.join(timeout=600)
        if th.is_alive():
            stop.set()
            raise Fail("the latency probe did not finish within 600 s")
        if probe_err:
            raise probe_err[0]
        self.timings["t0_decide_seconds"] = round(t_decide, 3)

        say(f"T1 {T1}: cities and province decide; assignments, transfers, reports")
        self.set_clocks(T1)
        self.arriving_city = arrived_city
        self.t1_cities()
        self.arriving_prov = (set(self._t0_arrivals.get(self.root.code, set()))
                              | set(self.arriving.get(self.root.code, set())) | set(self.lat_ids))
        self.wait_arrivals("T1 city moves")
        self.t1_province()
        self.wait_arrivals("T1 province moves")
        self.handle_assigned(0.7, "t1a")
        self.handle_transferred()
        self.wait_arrivals("T1 reports")
        self.close_reports()
        say(f"T2 {T2}: {len(self.assigned_open)} assigned cases still open: automatic urges")
        self.set_clocks(T2)
        urges = self.wait_urges()
        self.handle_assigned(1.0, "t2a")
        self.wait_arrivals("T2 reports")
        self.close_reports()
        self.t2_counties_close()
        self.timings["urges"] = urges
        return self.exp


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
