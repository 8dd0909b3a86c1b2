#!/usr/bin/env python3
"""html_check.py REPORT.html REPORT.json — the HTML report holds the figures of the JSON: every
total (the cells marked data-figure), every office's code and source, the missing offices, and
the charts (inline SVG, no external resource). Exit 0 when it does, 1 otherwise."""
import json, sys
import xml.etree.ElementTree as ET

NS = {"h": "http://www.w3.org/1999/xhtml", "s": "http://www.w3.org/2000/svg"}
SOURCES = {"live": "实时", "snapshot": "月快照", "missing": "缺报"}


def die(msg):
    print(f"html_check: {msg}", file=sys.stderr)
    sys.exit(1)


def main():
    root = ET.parse(sys.argv[1]).getroot()
    stats = json.load(open(sys.argv[2]))
    text = ET.tostring(root, encoding="unicode")
    cells = {td.get("data-figure"): "".join(td.itertext())
             for td in root.iter(f"{{{NS['h']}}}td") if td.get("data-figure")}
    for key, v in stats["totals"].items():
        if isinstance(v, dict):
            continue
        want = "—" if v is None else f"{100 * v:.1f}%" if isinstance(v, float) else str(v)
        if cells.get(key) != want:
            die(f"total {key}: the report shows {cells.get(key)!r}, the JSON has {want!r}")
    for o in stats["offices"]:
        if o["code"] not in text or SOURCES[o["source"]] not in text:
            die(f"office {o['code']} ({o['source']}) is not in the report")
    for code in stats["missing"]:
        if "缺报单位" not in text or code not in text:
            die(f"missing office {code} is not named")
    svgs = list(root.iter(f"{{{NS['s']}}}svg"))
    if len(svgs) < 3:
        die(f"{len(svgs)} charts, expected category, channel, trend and on-time rate")
    for el in root.iter():
        for attr in ("src", "href"):
            if el.get(attr):
                die(f"an external resource: {el.get(attr)}")
    print(f"html: {len(cells)} totals, {len(stats['offices'])} offices, {len(svgs)} charts")


if __name__ == "__main__":
    main()
