#!/usr/bin/env bash
# Partition: the link between a county and its city runs through a proxy (tcp_proxy.py) that is
# cut for XF_PARTITION_SECONDS (default 25; the soak runs minutes) while both sides keep
# working: the county registers and escalates 300 cases to the province, the province assigns
# 150 of its own down to the county, and the county registers 50 it keeps. Once the proxy heals,
# everything converges with nothing restarted: every case once at its destination, every queue
# empty, each hop applying each envelope once, and 对账 agreeing between the county and the
# offices it shares cases with.
source "$(dirname "$0")/lib.sh"
HERE=$(cd "$(dirname "$0")" && pwd)
owned_is () { [ "$(ctlj "$1" case list --owner "$2" --limit 100000 | jq '.cases | length')" = "$3" ]; }
secs=${XF_PARTITION_SECONDS:-25}

chain_config
proxy=$(free_port)
sed -i "s#^endpoint = tcp://127.0.0.1:$(cat "$T/city/port")#endpoint = tcp://127.0.0.1:$proxy#" "$T/zp/xfsyncd.conf"
python3 "$HERE/tcp_proxy.py" "$proxy" "$(cat "$T/city/port")" > "$T/proxy.out" 2>&1 &
proxy_pid=$!
PIDS+=("$proxy_pid")
wait_for "the proxy" 10 grep -q ready "$T/proxy.out"
for n in prov city zp; do start_node $n; done
wait_for "city up to the province" 20 link_up city 410000
wait_for "镇平 up to the city, through the proxy" 20 link_up zp 411300

kill -USR1 "$proxy_pid"    # cut
py zp register 300 镇平 > "$T/up.ids"
py prov register 150 河南 > "$T/down.ids"
py zp register 50 本地 > "$T/local.ids"
py zp escalate "$T/up.ids" --to 410000 --batch 10 > "$T/up.sent"
py prov escalate "$T/down.ids" --kind assign --to 411324 --batch 10 > "$T/down.sent"
wait_for "镇平 seeing its link down" 30 eval '! link_up zp 411300'
sleep "$secs"
[ "$(link_field zp 411300 queue)" -ge 300 ] || fail "镇平 queued $(link_field zp 411300 queue), not its 300 escalations"
[ "$(link_field city 411324 queue)" -ge 150 ] || fail "the city queued $(link_field city 411324 queue) for 镇平, not 150"
pass "cut for ${secs} s: both sides kept working, 300 escalations and 150 assignments queued"

kill -USR2 "$proxy_pid"    # heal
wait_for "镇平 up again" 60 link_up zp 411300
wait_for "300 escalations at the province" 60 owned_is prov 410000 300
wait_for "150 assignments at 镇平" 60 owned_is zp 411324 200   # its 50 own, and the 150
for l in "zp 411300" "city 411324" "city 410000"; do
    set -- $l
    wait_for "$1's queue to $2 empty" 30 link_is "$1" "$2" queue 0
done
ctlj prov case list --owner 410000 --limit 100000 | jq -r '.cases[].id' | sort > "$T/prov.ids"
cmp -s "$T/prov.ids" <(sort "$T/up.sent") || fail "the province's cases differ from those escalated"
ctlj zp case list --owner 411324 --limit 100000 | jq -r '.cases[].id' | sort > "$T/zp.ids"
cmp -s "$T/zp.ids" <(sort "$T/down.sent" "$T/local.ids") || fail "镇平's cases differ from those assigned and its own"
link_is prov 411300 applied 300 || fail "the province applied $(link_field prov 411300 applied), not 300"
link_is zp 411300 applied 150 || fail "镇平 applied $(link_field zp 411300 applied), not 150"
pass "healed: every case once at its destination, each hop applied each envelope once, queues empty"

agreed () { ctlj zp status | jq -e '[.reconcile.offices[] | .agreed] | all and length > 0' >/dev/null; }
for round in $(seq 20); do
    ctl zp reconcile >/dev/null
    for _ in $(seq 20); do agreed && break 2; sleep 0.1; done
done
agreed || fail "对账 does not agree: $(ctlj zp status | jq -c .reconcile.offices)"
pass "对账 agrees between 镇平 and the offices it shares cases with"

for n in zp city prov; do stop_node $n; done
kill -TERM "$proxy_pid"
