#!/usr/bin/env bash
# tests/bench/province/ctest.sh — the province simulation's CI mode as a test: all 199 offices of
# 河南省 as real nodes, 6,000 cases, the quarter pulled at the province and checked office by office
# against the generator's count (province.py exits non-zero on any mismatch). Arguments go to
# province.py: province_ci_trust gives `--trust standard` (every office enrolled, every envelope
# signed and verified; province.py fails on a forged one or a province that verified none). It
# runs the build
# without sanitizers ($XFSYNCD_PLAIN, set by tests/run.sh): 199 nodes under ASan would not fit
# the machine. Skipped (77) without it.
set -euo pipefail
here=$(cd "$(dirname "$0")" && pwd)
if [ -z "${XFSYNCD_PLAIN:-}" ] || [ ! -x "$XFSYNCD_PLAIN" ]; then
    echo "XFSYNCD_PLAIN is not set to an xfsyncd without sanitizers (tests/run.sh sets it): skipped"
    exit 77
fi
out=${XF_TEST_TMP:-/tmp}/province-ci${1:+-trust}.json
mkdir -p "$(dirname "$out")"
python3 "$here/province.py" --xfsyncd "$XFSYNCD_PLAIN" --xfctl "$XFCTL" "$@" > "$out"
jq -c '{offices, trust, trust_status, start, workload: {registration: .workload.registration.cases_per_s,
        relay: .workload.relay.cases_per_s, urges: .workload.automatic_urges},
        latency_hop, pull: .pull.seconds, rss_idle_kib: .idle.rss_kib, check: .check.ok,
        cpu_s: .cpu_s.all_nodes_total, wall_s}' "$out"
jq -e '.check.ok and .check.mismatch_count == 0' "$out" >/dev/null
