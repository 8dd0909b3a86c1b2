#!/usr/bin/env bash
# Disk full: a county whose store may grow to 4 MiB ([node] store_max_mb) escalates cases while
# its city is down, until the store is full. Then:
#   - new work is refused with an error that says the store is full, and changes nothing;
#   - reads and status still answer;
#   - once the city is back and has taken the queued escalations, the freed space takes new
#     work again;
#   - the province holds exactly the escalations that were acknowledged, each once.
source "$(dirname "$0")/lib.sh"
HERE=$(cd "$(dirname "$0")" && pwd)
owned_is () { [ "$(ctlj "$1" case list --owner "$2" --limit 100000 | jq '.cases | length')" = "$3" ]; }

chain_config
sed -i "/^\[node\]/a store_max_mb = 4" "$T/zp/xfsyncd.conf"
chain_start
stop_node city

# fill: batches of 20 registered and escalated until the store refuses, then single cases,
# then registrations alone (what is left between is a few pages: a small request may fit)
HERE="$HERE" python3 - "$T/zp/control.sock" "$T/acked" "$T/refusal" <<'PY' || fail "filling the store"
import os, sys
sys.path.insert(0, os.environ["HERE"])
from ctlpy import Client
c = Client(sys.argv[1])
acked, refusal, size = open(sys.argv[2], "w"), None, 20
for batch in range(20000):   # batches of 20, then single cases once 20 no longer fit
    try:
        cases = [{"channel": "letter", "category": "appeal",
                  "summary": "反映问题 %d-%d，" % (batch, i) + "内容" * 200} for i in range(size)]
        ids = c.ask("case.import", cases=cases)["ids"]
        c.ask("case.escalate", ids=ids, to="410000", note="上报")
        acked.write("\n".join(ids) + "\n")
        acked.flush()
    except RuntimeError as e:
        refusal = str(e)
        if size == 1:
            break
        size = 1
if size != 1 or not refusal:
    sys.exit("the store never filled")
for i in range(5000):        # and registrations alone, until even those no longer fit
    try:
        c.ask("case.register", channel="letter", category="appeal", summary="满足" * 200)
    except RuntimeError as e:
        refusal = str(e)
        break
else:
    sys.exit("registrations never filled the store")
open(sys.argv[3], "w").write(refusal)
PY
grep -q "is full" "$T/refusal" || fail "the refusal does not say the store is full: $(cat "$T/refusal")"
n=$(wc -l < "$T/acked")
[ "$n" -gt 0 ] || fail "nothing was acknowledged before the store filled"
ctlj zp status | jq -e '.cases.total > 0' >/dev/null || fail "status does not answer when full"
ctl zp case show "$(head -1 "$T/acked")" >/dev/null || fail "case show does not answer when full"
total=$(ctlj zp status | jq .cases.total)
python3 -c 'import json
for i in range(50): print(json.dumps({"channel": "letter", "category": "appeal", "summary": "满了 %d，" % i + "内容" * 200}, ensure_ascii=False))' > "$T/more.jsonl"
expect_exit 1 ctl zp case import "$T/more.jsonl"
grep -q "is full" <<<"$ERR" || fail "an import when full: $ERR"
[ "$(ctlj zp status | jq .cases.total)" = "$total" ] || fail "a refused import changed the count"
pass "full after $n acknowledged escalations: new work refused ($(head -c 120 "$T/refusal")…), reads answer"

start_node city
wait_for "the queue drained to the province" 120 owned_is prov 410000 "$n"
wait_for "镇平's outbox emptied" 30 eval '[ "$(link_field zp 411300 queue)" = 0 ]'
ctlj prov case list --owner 410000 --limit 100000 | jq -r '.cases[].id' | sort > "$T/prov.ids"
cmp -s "$T/prov.ids" <(sort "$T/acked") || fail "the province's cases differ from the acknowledged escalations"
[ -z "$(uniq -d "$T/prov.ids")" ] || fail "a case twice at the province"
# the space the acknowledged envelopes held is free again
wait_for "new work accepted again" 30 ctl zp case register --channel letter --category appeal --summary "空间恢复后登记"
pass "the city back: all $n acknowledged escalations at the province once; new work accepted again"

for n in zp city prov; do stop_node $n; done
