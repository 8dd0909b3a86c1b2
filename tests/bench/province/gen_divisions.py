#!/usr/bin/env python3
"""gen_divisions.py — writes henan.csv and china.csv (code,name,parent) beside this file from the
GB/T 2260 lists in /work/shared/data/divisions/ (cities.csv, areas.csv, provinces.csv; WTFPL).

An office is a 6-digit code: province PP0000, city PPCC00, county the area code. The
"省直辖县级行政区划" / "自治区直辖县级行政区划" rows of cities.csv (codes PP90) are not offices:
their counties (e.g. 济源 419001) hang directly under the province (DESIGN.md §2). china.csv adds a
national root 100000 (中央组织部) above the 31 provinces. Three cities without counties (东莞
441900, 中山 442000, 儋州 460400) appear in areas.csv too, with the city's code: one office.

  gen_divisions.py [DIVISIONS_DIR]"""
import csv, os, sys

src = sys.argv[1] if len(sys.argv) > 1 else "/work/shared/data/divisions"
here = os.path.dirname(os.path.abspath(__file__))


def rows(name):
    with open(os.path.join(src, name), newline="", encoding="utf-8") as f:
        return list(csv.DictReader(f))


provinces, cities, areas = rows("provinces.csv"), rows("cities.csv"), rows("areas.csv")
out = [("100000", "中央组织部", "")]
direct = set()
for p in provinces:
    out.append((p["code"] + "0000", p["name"] + "委组织部", "100000"))
for c in cities:
    if c["code"][2:] == "90":           # 省直辖县级行政区划: not an office
        direct.add(c["code"])
        continue
    out.append((c["code"] + "00", c["name"] + "委组织部", c["provinceCode"] + "0000"))
seen = {r[0] for r in out}
for a in areas:
    if a["code"] in seen:               # 东莞、中山、儋州: cities without counties, listed again as areas
        continue
    parent = a["provinceCode"] + "0000" if a["cityCode"] in direct else a["cityCode"] + "00"
    out.append((a["code"], a["name"] + "委组织部", parent))
codes = [r[0] for r in out]
assert len(codes) == len(set(codes)), "duplicate office codes"


def write(name, rs):
    with open(os.path.join(here, name), "w", newline="", encoding="utf-8") as f:
        w = csv.writer(f, lineterminator="\n")
        w.writerow(["code", "name", "parent"])
        w.writerows(rs)
    print(f"{name}: {len(rs)} offices", file=sys.stderr)


write("china.csv", out)
henan = [r for r in out if r[0].startswith("41")]
henan[0] = (henan[0][0], henan[0][1], "")
write("henan.csv", henan)
