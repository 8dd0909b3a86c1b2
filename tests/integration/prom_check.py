#!/usr/bin/env python3
"""prom_check.py — a strict reader of the Prometheus text exposition format 0.0.4, for
test_metrics.sh (promtool is not on a plain Debian machine).

  prom_check.py check FILE                 the grammar, then prints "N families, M samples"
  prom_check.py families FILE              "NAME TYPE" per family, sorted
  prom_check.py value FILE NAME [K=V …]    the value of the one sample with exactly those labels

It refuses (exit 1, naming the line): a line that is no comment, HELP, TYPE or sample; a HELP or
TYPE given twice, or a TYPE after the family's first sample; the samples of a family not
together; a bad metric or label name, a bad escape in a label value or HELP, a value that is no
float; the same series twice; a counter not named *_total; a histogram whose buckets are not in
increasing le order, decrease, lack +Inf, or whose +Inf bucket is not its _count, or without
_sum; a sample of a histogram family that is not _bucket, _sum or _count."""
import math
import re
import sys

NAME = re.compile(r"[a-zA-Z_:][a-zA-Z0-9_:]*")
LABEL = re.compile(r"[a-zA-Z_][a-zA-Z0-9_]*")
TYPES = {"counter", "gauge", "histogram", "summary", "untyped"}


class Bad(Exception):
    pass


def unescape(s, quotes):
    out, i = [], 0
    while i < len(s):
        c = s[i]
        if c == "\\":
            if i + 1 >= len(s):
                raise Bad("a backslash at the end")
            n = s[i + 1]
            if n == "\\":
                out.append("\\")
            elif n == "n":
                out.append("\n")
            elif n == '"' and quotes:
                out.append('"')
            else:
                raise Bad(f"bad escape \\{n}")
            i += 2
            continue
        out.append(c)
        i += 1
    return "".join(out)


def parse_value(s):
    if s in ("NaN", "+Inf", "-Inf", "Inf"):
        return float(s.replace("Inf", "inf").replace("NaN", "nan"))
    if not re.fullmatch(r"[+-]?(\d+\.?\d*|\.\d+)([eE][+-]?\d+)?", s):
        raise Bad(f"value {s!r} is not a float")
    return float(s)


def parse_sample(line):
    m = NAME.match(line)
    if not m:
        raise Bad("no metric name")
    name, i, labels = m.group(0), m.end(), {}
    if i < len(line) and line[i] == "{":
        i += 1
        while True:
            if line[i] == "}":
                i += 1
                break
            lm = LABEL.match(line, i)
            if not lm or lm.group(0).startswith("__"):
                raise Bad(f"bad label name at column {i + 1}")
            key, i = lm.group(0), lm.end()
            if line[i:i + 2] != '="':
                raise Bad(f"label {key}: no =\"")
            i += 2
            j = i
            while j < len(line) and line[j] != '"':
                j += 2 if line[j] == "\\" else 1
            if j >= len(line):
                raise Bad(f"label {key}: no closing quote")
            if key in labels:
                raise Bad(f"label {key} twice")
            labels[key] = unescape(line[i:j], True)
            i = j + 1
            if line[i] == ",":
                i += 1
            elif line[i] != "}":
                raise Bad(f"expected , or }} at column {i + 1}")
    rest = line[i:]
    if not rest.startswith(" "):
        raise Bad("no space before the value")
    parts = rest.split()
    if len(parts) not in (1, 2):
        raise Bad("expected a value and an optional timestamp")
    if len(parts) == 2 and not re.fullmatch(r"-?\d+", parts[1]):
        raise Bad("bad timestamp")
    return name, labels, parse_value(parts[0])


def family_of(name, types):
    if name in types:
        return name
    for suffix in ("_bucket", "_sum", "_count"):
        if name.endswith(suffix) and types.get(name[: -len(suffix)]) in ("histogram", "summary"):
            return name[: -len(suffix)]
    return name


def check_histograms(samples, types):
    series = {}
    for name, labels, value, lineno in samples:
        fam = family_of(name, types)
        if types.get(fam) != "histogram":
            continue
        suffix = name[len(fam):]
        if suffix not in ("_bucket", "_sum", "_count"):
            raise Bad(f"line {lineno}: {name} in histogram {fam}")
        rest = tuple(sorted((k, v) for k, v in labels.items() if k != "le"))
        h = series.setdefault((fam, rest), {"buckets": [], "sum": None, "count": None})
        if suffix == "_bucket":
            if "le" not in labels:
                raise Bad(f"line {lineno}: a bucket without le")
            h["buckets"].append((parse_value(labels["le"]), value, lineno))
        else:
            h[suffix[1:]] = value
    for (fam, rest), h in series.items():
        les = [b[0] for b in h["buckets"]]
        if les != sorted(les) or len(set(les)) != len(les):
            raise Bad(f"{fam}{dict(rest)}: buckets not in increasing le order")
        if not les or les[-1] != math.inf:
            raise Bad(f"{fam}{dict(rest)}: no +Inf bucket")
        counts = [b[1] for b in h["buckets"]]
        for a, b in zip(counts, counts[1:]):
            if b < a:
                raise Bad(f"{fam}{dict(rest)}: buckets are not cumulative ({counts})")
        if h["count"] is None or h["sum"] is None:
            raise Bad(f"{fam}{dict(rest)}: no _count or no _sum")
        if counts[-1] != h["count"]:
            raise Bad(f"{fam}{dict(rest)}: +Inf bucket {counts[-1]} is not _count {h['count']}")


def parse(path):
    text = open(path, encoding="utf-8").read()
    if text and not text.endswith("\n"):
        raise Bad("the last line has no newline")
    types, helps, samples, seen, done, current = {}, {}, [], set(), set(), None
    for lineno, line in enumerate(text.split("\n")[:-1], 1):
        try:
            if not line.strip():
                continue
            if line.startswith("#"):
                parts = line.split(" ", 3)
                if len(parts) >= 3 and parts[1] in ("HELP", "TYPE"):
                    name = parts[2]
                    if not NAME.fullmatch(name):
                        raise Bad(f"bad metric name {name!r}")
                    if name in done:
                        raise Bad(f"{parts[1]} of {name} after its family ended")
                    if parts[1] == "HELP":
                        if name in helps:
                            raise Bad(f"second HELP for {name}")
                        helps[name] = unescape(parts[3] if len(parts) > 3 else "", False)
                    else:
                        t = parts[3] if len(parts) > 3 else ""
                        if t not in TYPES:
                            raise Bad(f"unknown type {t!r}")
                        if name in types:
                            raise Bad(f"second TYPE for {name}")
                        if any(family_of(s[0], {name: t}) == name for s in samples):
                            raise Bad(f"TYPE of {name} after its samples")
                        if t == "counter" and not name.endswith("_total"):
                            raise Bad(f"counter {name} is not named *_total")
                        types[name] = t
                    if current and current != name:
                        done.add(current)
                    current = name
                continue
            name, labels, value = parse_sample(line)
            fam = family_of(name, types)
            if fam in done:
                raise Bad(f"a sample of {fam} after its family ended")
            if current and current != fam:
                done.add(current)
            current = fam
            key = (name, tuple(sorted(labels.items())))
            if key in seen:
                raise Bad(f"series {name}{labels} twice")
            seen.add(key)
            samples.append((name, labels, value, lineno))
        except (Bad, IndexError) as e:
            raise Bad(f"{path}:{lineno}: {e or 'cut short'}: {line!r}")
    check_histograms(samples, types)
    return types, helps, samples


def main():
    if len(sys.argv) < 3:
        sys.exit(__doc__)
    cmd, path = sys.argv[1], sys.argv[2]
    try:
        types, helps, samples = parse(path)
    except Bad as e:
        print(f"prom_check: {e}", file=sys.stderr)
        sys.exit(1)
    if cmd == "check":
        print(f"{len(types)} families, {len(samples)} samples")
    elif cmd == "families":
        for name in sorted(types):
            print(name, types[name])
    elif cmd == "value":
        want = dict(a.split("=", 1) for a in sys.argv[4:])
        hits = [v for n, l, v, _ in samples if n == sys.argv[3] and l == want]
        if len(hits) != 1:
            print(f"prom_check: {len(hits)} samples {sys.argv[3]}{want} in {path}", file=sys.stderr)
            sys.exit(1)
        v = hits[0]
        print(int(v) if math.isfinite(v) and v == int(v) else v)
    else:
        sys.exit(__doc__)


if __name__ == "__main__":
    main()
