#!/usr/bin/env bash
# Freeze: the middle node of a province → city → county tree is stopped (SIGSTOP) for longer
# than the link timeout (10 s) while cases flow both ways — 600 escalations up from the county,
# 200 assignments down from the province — then continued (SIGCONT). Nothing is restarted:
# both links go down and come back up by themselves, and every case arrives exactly once at
# the far end, each hop applying each envelope once. xfctl asking the frozen node gives up
# after its --timeout, saying so (exit status 3).
source "$(dirname "$0")/lib.sh"
HERE=$(cd "$(dirname "$0")" && pwd)
owned () { ctlj "$1" case list --owner "$2" --limit 100000 | jq '.cases | length'; }
owned_is () { [ "$(owned "$1" "$2")" = "$3" ]; }

chain_config
chain_start
ups_before=$(link_field prov 411300 ups)

py zp register 600 镇平 > "$T/up.ids"
py prov register 200 河南 > "$T/down.ids"
py zp escalate "$T/up.ids" --to 410000 --batch 10 --pause 0.1 > "$T/up.sent" 2> "$T/up.err" &
up=$!
py prov escalate "$T/down.ids" --kind assign --to 411324 --batch 5 --pause 0.1 > "$T/down.sent" 2> "$T/down.err" &
down=$!
PIDS+=("$up" "$down")   # stopped by the cleanup if the test fails
sleep 1
city=$(cat "$T/city/pid")
kill -STOP "$city"
# an operator asking the frozen node is told so, in the time given, not left waiting
t0=$SECONDS
expect_exit 3 "$XFCTL" --timeout 2 -s "$T/city/control.sock" status
[ $((SECONDS - t0)) -le 6 ] || fail "xfctl --timeout 2 took $((SECONDS - t0)) s against the frozen city"
grep -q "xfsyncd did not answer within 2 s: it may be stuck or overloaded" <<<"$ERR" \
    || fail "xfctl against the frozen city does not say it did not answer: $ERR"
sleep 12                   # past the 10 s link timeout: both sides mark the link down
link_is prov 411300 state up && fail "the province still shows the frozen city's link up"
link_is zp 411300 state up && fail "镇平 still shows the frozen city's link up"
kill -CONT "$city"
pass "city frozen for 14 s while cases flowed; its neighbours marked the links down"

wait "$up" || fail "escalations at 镇平: $(cat "$T/up.err")"
wait "$down" || fail "assignments at the province: $(cat "$T/down.err")"
wait_for "the links up again" 40 eval 'link_up city 410000 && link_up zp 411300'
[ "$(link_field prov 411300 ups)" -gt "$ups_before" ] || fail "the province's link never went down and up"
wait_for "600 escalations at the province" 60 owned_is prov 410000 600
wait_for "200 assignments at 镇平" 60 owned_is zp 411324 200
pass "links recovered without a restart; 600 cases up and 200 down arrived"

# exactly once: each id once at its destination, each hop applied each envelope once
ctlj prov case list --owner 410000 --limit 100000 | jq -r '.cases[].id' | sort > "$T/prov.ids"
ctlj zp case list --owner 411324 --limit 100000 | jq -r '.cases[].id' | sort > "$T/zp.ids"
cmp -s "$T/prov.ids" <(sort "$T/up.sent") || fail "the province's cases differ from those escalated"
cmp -s "$T/zp.ids" <(sort "$T/down.sent") || fail "镇平's cases differ from those assigned"
[ -z "$(uniq -d "$T/prov.ids")" ] && [ -z "$(uniq -d "$T/zp.ids")" ] || fail "a case listed twice"
link_is city 411324 applied 600 || fail "the city applied $(link_field city 411324 applied) from 镇平, not 600"
link_is prov 411300 applied 600 || fail "the province applied $(link_field prov 411300 applied) from the city, not 600"
link_is zp 411300 applied 200 || fail "镇平 applied $(link_field zp 411300 applied) from the city, not 200"
link_is city 410000 applied 200 || fail "the city applied $(link_field city 410000 applied) from the province, not 200"
pass "every case once at its destination; each hop applied each envelope once"

for n in zp city prov; do stop_node $n; done
