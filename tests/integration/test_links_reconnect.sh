#!/usr/bin/env bash
# A parent back from a long outage hears from its child within seconds. The province is stopped
# for 40 s while the city escalates a case to it; restarted, the city's link is up again (its
# reconnect back-off is at most 5 s apart; at 30 s it came back 26.5 s after the restart) and
# the case arrives, once.
source "$(dirname "$0")/lib.sh"

node_config prov 410000 false
node_config city 411300 false
link_nodes city prov
start_node prov
start_node city
wait_for "city up to the province" 20 link_up city 410000
ups=$(link_field city 410000 ups)

stop_node prov
wait_for "the city sees the province down" 30 link_is city 410000 state down
id=$(ctl city case register --channel letter --category appeal --summary "省里停机时上报的案件")
ctl city case escalate "$id" --to 410000 --note "请省里处理" >/dev/null
sleep 40
link_is city 410000 queue 1 || fail "the escalation is not queued for the province: $(ctlj city status | jq -c .links)"
start_node prov
t0=$SECONDS
back () { [ "$(link_field city 410000 ups)" -gt "$ups" ] && link_is city 410000 state up; }
wait_for "the city's link up again within 10 s of the province's restart" 10 back
took=$((SECONDS - t0))
wait_for "the escalation at the province" 10 total_is prov 1
ctlj prov case show "$id" | jq -e '.owner == "410000"' >/dev/null || fail "$id is not the province's"
pass "province down 40 s: the city's link up again ${took} s after the restart, the queued escalation delivered"

for n in city prov; do stop_node $n; done
