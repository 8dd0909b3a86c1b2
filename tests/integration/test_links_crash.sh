#!/usr/bin/env bash
# Three levels: province 410000, city 411300, counties 411324 and 411326. 2,000 escalations
# go from the counties to the province (relayed by the city) while the city is SIGKILLed and
# restarted twice: the province ends with exactly the 2,000 cases escalated, each once, and
# every outbox on the way is empty.
source "$(dirname "$0")/lib.sh"
HERE=$(cd "$(dirname "$0")" && pwd)
total () { ctlj "$1" status | jq .cases.total; }
total_over () { [ "$(total "$1")" -gt "$2" ]; }
total_is () { [ "$(total "$1")" = "$2" ]; }

node_config prov 410000 false
node_config city 411300 false
node_config zp 411324 false
node_config xx 411326 false
link_nodes city prov
link_nodes zp city
link_nodes xx city
for n in prov city zp xx; do start_node $n; done
wait_for "city up to the province" 20 link_up city 410000
wait_for "镇平 up to the city" 20 link_up zp 411300
wait_for "淅川 up to the city" 20 link_up xx 411300
pass "four nodes, three levels, linked"

py zp register 1000 镇平 > "$T/zp.ids"
py xx register 1000 淅川 > "$T/xx.ids"
[ "$(sort -u "$T/zp.ids" "$T/xx.ids" | wc -l)" = 2000 ] || fail "did not register 2,000 distinct cases"

# both counties escalate to the province in small transactions, paced so that the stream
# lasts several seconds; the city is killed twice while it runs
py zp escalate "$T/zp.ids" --to 410000 --batch 10 --pause 0.05 > "$T/zp.sent" 2> "$T/zp.err" &
esc_zp=$!
py xx escalate "$T/xx.ids" --to 410000 --batch 10 --pause 0.05 > "$T/xx.sent" 2> "$T/xx.err" &
esc_xx=$!

wait_for "the first escalations at the province" 30 total_over prov 200
# "in the middle": cases still flowing somewhere (the counties' streams or the outboxes)
[ "$(total prov)" -lt 2000 ] || fail "all 2,000 arrived before the first kill; pace them slower"
first=$(total prov)
stop_node city KILL
sleep 0.3                  # the counties keep escalating into their outboxes meanwhile
start_node city
pass "city SIGKILLed with $first cases at the province, restarted"

wait_for "more escalations at the province" 60 total_over prov $((first + 400))
[ "$(total prov)" -lt 2000 ] || fail "all 2,000 arrived before the second kill; pace them slower"
second=$(total prov)
stop_node city KILL
start_node city
pass "city SIGKILLed again with $second cases at the province, restarted"

wait "$esc_zp" || fail "escalations at 镇平: $(cat "$T/zp.err")"
wait "$esc_xx" || fail "escalations at 淅川: $(cat "$T/xx.err")"
sort "$T/zp.sent" "$T/xx.sent" > "$T/sent"
[ "$(wc -l < "$T/sent")" = 2000 ] || fail "escalated $(wc -l < "$T/sent") cases, not 2,000"

wait_for "2,000 cases at the province" 90 total_is prov 2000
wait_for "镇平's outbox drained" 30 link_is zp 411300 queue 0
wait_for "淅川's outbox drained" 30 link_is xx 411300 queue 0
wait_for "the city's relay outbox drained" 30 link_is city 410000 queue 0
pass "province has 2,000 cases; the counties' and the city's outboxes are drained"

# every id once, exactly the set escalated, all owned by the province
ctlj prov case list --limit 100000 > "$T/prov.json"
jq -r '.cases[].id' "$T/prov.json" | sort > "$T/prov.ids"
[ "$(wc -l < "$T/prov.ids")" = 2000 ] || fail "case list at the province has $(wc -l < "$T/prov.ids") rows"
dups=$(uniq -d "$T/prov.ids" | head -3)
[ -z "$dups" ] || fail "cases listed twice at the province: $dups"
cmp -s "$T/prov.ids" "$T/sent" || fail "province ids differ from the escalated ones: $(diff "$T/sent" "$T/prov.ids" | head -5)"
jq -e '[.cases[] | select(.owner != "410000" or .status != "registered")] | length == 0' "$T/prov.json" >/dev/null \
    || fail "not every case at the province is owned by 410000 and registered"
pass "exactly the 2,000 escalated ids at the province, each once, owner 410000"

# exactly once on every hop: the city applied 1,000 envelopes from each county and the province
# 2,000 from the city, so no envelope was applied (or relayed) twice across the kills
link_is city 411324 applied 1000 || fail "city applied $(link_field city 411324 applied) from 镇平, not 1,000"
link_is city 411326 applied 1000 || fail "city applied $(link_field city 411326 applied) from 淅川, not 1,000"
link_is prov 411300 applied 2000 || fail "province applied $(link_field prov 411300 applied) from the city, not 2,000"
for l in "zp 411300" "xx 411300" "city 410000" "city 411324" "city 411326" "prov 411300"; do
    set -- $l
    # acknowledged entries are dropped lazily (with the next apply, or within about a second)
    wait_for "$1's outbox to $2 emptied" 10 link_is "$1" "$2" queue_bytes 0
done
total_is city 0 || fail "the city, a relay here, holds $(total city) cases"
for n in zp xx; do
    [ "$(ctlj $n case list --owner 410000 --limit 10000 | jq '.cases | length')" = 1000 ] \
        || fail "$n's replicas do not all show owner 410000"
done
pass "each hop applied each envelope once; every outbox is empty; the county replicas point at 410000"

for n in xx zp city prov; do stop_node $n TERM; done
pass "clean stops"
