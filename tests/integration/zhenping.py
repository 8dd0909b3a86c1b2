#!/usr/bin/env python3
"""zhenping.py — replays 镇平县委组织部's 2012–2013 petitions (seed 004, section 一) through the
real workflow at two offices, moving their clocks through the two years, then checks the
county's `stats` against the published table (../shared/data/zhenping-2012-2013.json).

  zhenping.py COUNTY_SOCK TOWNSHIP_CODE TOWNSHIP_SOCK TABLE_JSON

What the seed gives: 65 petitions, 24 letters and 41 visits; 18 accusations (10 about village
cadres and party members, 7 about township cadres' working style, 1 about a section-level
cadre), 38 appeals (27 on treatment, wages, start of service and retirees' fees; 11 on party
admission and branch elections), 9 inquiries; 8 filed (立案), 8 due, 8 closed, all on time.

What it does not give, the replay fills in as seed 001 (五、受理程序) prescribes:
- the 8 filed cases (the section-level accusation and 7 of the election appeals) are accepted
  with --file and closed in about a month;
- matters for grassroots units (the 17 village and township accusations, the other 4 election
  appeals) are accepted and transferred (转请基层单位办理) to a township office, which closes
  them there — so they count as closed at the township, not the county;
- wage and fee appeals (人社 matters, 说明归口受理的单位) and inquiries answered on the spot are
  not accepted (不予受理), with the reason.
Exit 0 when every published figure matches exactly, 1 otherwise."""
import datetime as dt
import json, sys, time

sys.path.insert(0, __file__.rsplit("/", 1)[0])
from ctlpy import Client  # noqa: E402


def die(msg):
    print(f"zhenping: {msg}", file=sys.stderr)
    sys.exit(1)


def petitions():
    """65 (channel, category, rank, subject, disposition), in the order they arrive."""
    kinds = ([("accusation", "village", 3, "transfer")] * 10
             + [("accusation", "general", 2, "transfer")] * 7
             + [("accusation", "township", 2, "file")]
             + [("appeal", None, 7, "reject")] * 27
             + [("appeal", None, 3, "file")] * 7
             + [("appeal", None, 3, "transfer")] * 4
             + [("inquiry", None, 4, "reject")] * 9)
    # interleave the kinds over the two years, letters and visits 24:41 across them
    order = sorted(range(65), key=lambda i: (i * 37) % 65)
    out = []
    for k, i in enumerate(order):
        cat, rank, subject, what = kinds[i]
        channel = "letter" if (k * 24) // 65 != ((k + 1) * 24) // 65 else "visit"
        out.append((channel, cat, rank, subject, what))
    return out


def main():
    if len(sys.argv) != 5:
        die(__doc__)
    county, town_code, town, table = Client(sys.argv[1]), sys.argv[2], Client(sys.argv[3]), \
        json.load(open(sys.argv[4]))
    start = dt.datetime(2012, 1, 4, 9, 0)
    actions = []   # (time, seq, office, what, index)
    for i, p in enumerate(petitions()):
        t = start + dt.timedelta(days=i * 11)   # 65 arrivals over 2012-01-04 .. 2013-12-07
        actions.append((t, len(actions), "county", "register", i))
        what = p[4]
        if what == "file":
            actions.append((t + dt.timedelta(days=3), len(actions), "county", "file", i))
            actions.append((t + dt.timedelta(days=21), len(actions), "county", "close", i))
        elif what == "transfer":
            actions.append((t + dt.timedelta(days=2), len(actions), "county", "transfer", i))
            actions.append((t + dt.timedelta(days=4), len(actions), "township", "close", i))
        else:
            actions.append((t + dt.timedelta(days=1), len(actions), "county", "reject", i))
    actions.sort()
    ps, ids = petitions(), {}
    for t, _, office, what, i in actions:
        stamp = t.strftime("%Y-%m-%dT%H:%M:%S")
        for c in (county, town):
            c.ask("clock.set", time=stamp)
        channel, cat, rank, subject, _ = ps[i]
        if what == "register":
            case = {"channel": channel, "category": cat, "subject": subject,
                    "summary": f"镇平县 2012-2013 信访 {i + 1}"}
            if rank:
                case["accused"] = {"name": f"被反映人{i + 1}", "unit": "某村党支部"
                                   if rank == "village" else "某乡镇", "rank": rank}
            ids[i] = county.ask("case.register", **case)["id"]
        elif what == "file":
            county.ask("case.accept", id=ids[i], file=True)
        elif what == "close" and office == "county":
            county.ask("case.close", id=ids[i], reply="经调查核实，已依规处理并书面答复")
        elif what == "transfer":
            county.ask("case.accept", id=ids[i])
            county.ask("case.transfer", id=ids[i], to=town_code, note="转请基层党组织办理")
        elif what == "close":
            for _ in range(200):   # the transfer crosses the link
                try:
                    if town.ask("case.show", id=ids[i])["owner"] == town_code:
                        break
                except RuntimeError:
                    pass
                time.sleep(0.02)
            town.ask("case.accept", id=ids[i])
            town.ask("case.close", id=ids[i], reply="已由乡镇党委调查处理并答复")
        elif what == "reject":
            county.ask("case.reject", id=ids[i], reason=(
                "工资待遇政策属人社部门职责，已告知信访人向县人社局反映" if cat == "appeal"
                else "询问事项已当场解答"))
    county.ask("clock.set", time="2014-01-02T09:00:00")
    s = county.ask("stats", period=table["period"])
    got, bad = s["totals"], []
    for key in ("received", "filed", "due", "closed", "closed_on_time"):
        if got[key] != table[key]:
            bad.append(f"{key}: {got[key]}, published {table[key]}")
    for group in ("by_channel", "by_category"):
        for k, v in table[group].items():
            if got[group][k] != v:
                bad.append(f"{group}.{k}: {got[group][k]}, published {v}")
            share = got["shares"][group][k]
            if share != v / table["received"]:
                bad.append(f"shares.{group}.{k}: {share!r}, exactly {v}/{table['received']} is "
                           f"{v / table['received']!r}")
    if got["on_time_rate"] != table["on_time_rate"]:
        bad.append(f"on_time_rate {got['on_time_rate']}, published {table['on_time_rate']}")
    # the seed's detail: who was accused, and what the appeals were about (受理范围, seed 001)
    detail = {"by_accused_rank": {"village": 10, "general": 7, "township": 1},
              "by_subject": {"2": 7 + 1,      # township cadres, the section-level cadre
                             "3": 10 + 11,    # village cadres and members, party elections
                             "4": 9,          # inquiries
                             "7": 27}}        # treatment, wages, retirees' fees
    for group, want in detail.items():
        for k, v in want.items():
            if got[group][k] != v:
                bad.append(f"{group}.{k}: {got[group][k]}, expected {v}")
    if len(s["months"]) != 24 or sum(m["totals"]["received"] for m in s["months"]) != 65:
        bad.append("the month by month series does not add up to the 65 over 24 months")
    if bad:
        die("the county's figures differ from the published table:\n  " + "\n  ".join(bad))
    shares = ", ".join(f"{k} {100 * v:.1f}%" for k, v in got["shares"]["by_category"].items())
    print(f"镇平县 {table['period']}: received {got['received']} (letters "
          f"{got['by_channel']['letter']}, visits {got['by_channel']['visit']}), {shares}; "
          f"filed {got['filed']}, due {got['due']}, closed {got['closed']}, on time "
          f"{got['closed_on_time']} ({100 * got['on_time_rate']:.0f}%); transferred "
          f"{got['transferred']}, rejected {got['rejected']}")


if __name__ == "__main__":
    main()
