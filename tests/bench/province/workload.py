"""workload.py — province.py's quarter: what each office registers, escalates, decides,
assigns, transfers, reports and urges at T0, T1 and T2 (see province.py), driven over the
control sockets by a pool of clients, and the generator's own count of every figure the
consolidated pull must show."""
import random, threading, time
from concurrent.futures import ThreadPoolExecutor

from nodes import Fail, say

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
            self.transfer_and_close(city, transfer, own, r)
        self.pool(one, self.cities)

    def transfer_and_close(self, node, transfer, own, r):
        """node transfers (转办) transfer's cases, {to: [ids]}, and accepts and closes its own."""
        for to, ids in sorted(transfer.items()):
            self.move(node, "transfer", ids, to, "transferred")
            self.transferred.extend((to, cid) for cid in ids)
        for cid in own:
            self.accept(node, cid, r.random() < FILED_SHARE)
            self.close(node, cid)

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
        self.transfer_and_close(prov, transfer, own, r)

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

    def take_grouped(self, name):
        """The (office, case id) pairs of list attribute `name`, grouped by office; the list
        emptied."""
        groups = {}
        for code, cid in getattr(self, name):
            groups.setdefault(code, []).append(cid)
        setattr(self, name, [])
        return groups

    def close_reports(self):
        by_sup = self.take_grouped("reports")

        def one(code):
            for cid in by_sup[code]:
                self.close(self.by_code[code], cid)
        self.pool(one, sorted(by_sup))

    def handle_transferred(self):
        by_to = self.take_grouped("transferred")

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
