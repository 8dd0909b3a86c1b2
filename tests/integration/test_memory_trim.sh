#!/usr/bin/env bash
# Freed heap goes back to the system (daemon/memory.c). Two imports of 5,000 cases with ~1.8 KB
# summaries (each request ~10 MB of JSON) leave glibc holding tens of MiB the node no longer
# uses; within a few seconds the node hands it back: its anonymous RSS falls by at least 8 MiB
# from what the imports left, and the metrics count the trim and the bytes. Measured in stop
# 24: 47.4 MiB after the imports, 23.8 MiB 2 s later (before memory.c: 47.4 MiB for good; what
# stays is mostly LMDB's cache of dirty-page buffers from the imports' transactions, which it
# keeps for the next transaction, and the store's own data).
#
# glibc's allocator is what is measured: the node here is the build without sanitizers,
# $XFSYNCD_PLAIN (tests/run.sh sets it; ASan has an allocator of its own); without one the test
# is skipped (77).
source "$(dirname "$0")/lib.sh"
[ -x "${XFSYNCD_PLAIN:-}" ] || { echo "skipped: no XFSYNCD_PLAIN (a build without sanitizers)"; exit 77; }
XFSYNCD=$XFSYNCD_PLAIN

node_config zp 411324 false
start_node zp
sleep 2.5   # the node's first look at its memory sets the mark
anon_kib () { awk '/^RssAnon:/ {print $2}' "/proc/$(cat "$T/zp/pid")/status"; }
before=$(anon_kib)
python3 - "$T/zp/control.sock" <<'PY' || fail "the imports were refused"
import json, socket, sys
s = socket.socket(socket.AF_UNIX)
s.connect(sys.argv[1])
f = s.makefile("rwb")
for b in range(2):
    rows = [{"channel": "letter", "category": "appeal", "summary": "反映问题" * 150 + f" {b}-{k}"}
            for k in range(5000)]
    f.write(json.dumps({"cmd": "case.import", "args": {"cases": rows, "first_line": 1}},
                       ensure_ascii=False).encode() + b"\n")
    f.flush()
    r = json.loads(f.readline())
    if not r.get("ok"):
        sys.exit(f"case.import: {json.dumps(r, ensure_ascii=False)[:300]}")
PY
peak=$(anon_kib)
[ "$peak" -gt $((before + 16384)) ] || fail "the imports left only $peak KiB (from $before): nothing to trim, the test says nothing"
trimmed () { [ "$(anon_kib)" -le $((peak - 8192)) ]; }
wait_for "anonymous memory back below $((peak - 8192)) KiB (it was $peak after the imports)" 8 trimmed
metric () { ctl zp metrics | awk -v m="$1" '$1 == m {print $2}'; }
trims=$(metric xfsync_heap_trims_total)
bytes=$(metric xfsync_heap_trimmed_bytes_total)
after=$(anon_kib)
[ "$trims" -ge 1 ] || fail "no trim counted: $(ctl zp metrics | grep heap)"
[ "$bytes" -ge $((8 << 20)) ] || fail "the trimmed bytes are not counted: $(ctl zp metrics | grep heap)"
[ "$(ctlj zp status | jq '.cases.total')" = 10000 ] || fail "the cases are not all there"
stop_node zp
pass "freed heap handed back: $before KiB at start, $peak after the imports, $after once trimmed ($trims trim(s), $bytes bytes counted)"
