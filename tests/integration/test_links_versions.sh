#!/usr/bin/env bash
# A tree of mixed builds: the county speaks link version 1 only ([debug] link_version = 1, as a
# node of an older build), the city and the province version 2. The county's escalations reach
# the province each exactly once: one envelope a frame between the county and the city (a
# version 1 node would not see the envelopes a version 2 frame carries after the first), several
# a frame between the city and the province; and the province's assignments come down to the
# county the same way. Then the county is "upgraded" (restarted without the setting) and its
# link to the city carries several a frame too.
source "$(dirname "$0")/lib.sh"
HERE=$(cd "$(dirname "$0")" && pwd)

chain_config
sed -i '/^\[debug\]/a link_version = 1' "$T/zp/xfsyncd.conf"
grep -A2 '^\[debug\]' "$T/zp/xfsyncd.conf" | grep -q '^link_version = 1$' || fail "the county's config lacks link_version = 1"
chain_start
pass "a version 1 county linked to a version 2 city"

frames () { link_field "$1" "$2" frames_in; }
msgs () { link_field "$1" "$2" messages_in; }

# --- up: 600 escalations, county -> city -> province
py zp register 600 版本 > "$T/ids"
py zp escalate "$T/ids" --batch 200 --to 410000 > /dev/null
wait_for "the province has 600 cases" 60 total_is prov 600
wait_for "the county's outbox drained" 30 link_is zp 411300 queue 0
[ "$(msgs city 411324)" -ge 600 ] || fail "the city took $(msgs city 411324) envelopes from the county, not 600"
[ "$(frames city 411324)" -ge "$(msgs city 411324)" ] \
    || fail "the version 1 county's link carried $(msgs city 411324) envelopes in $(frames city 411324) frames: several a frame"
[ "$(msgs prov 411300)" -ge 600 ] || fail "the province took $(msgs prov 411300) envelopes from the city, not 600"
[ "$(frames prov 411300)" -lt "$(msgs prov 411300)" ] \
    || fail "the city's link to the province carried $(msgs prov 411300) envelopes in $(frames prov 411300) frames: one a frame"
py prov once "$T/ids" escalate || fail "an escalation is not at the province exactly once"
pass "600 escalations arrived once each: one a frame from the county ($(frames city 411324) frames), $(msgs prov 411300) in $(frames prov 411300) frames from the city"

# --- down: the province assigns 300 of them back to the county (two levels, 交办)
head -300 "$T/ids" > "$T/back"
py prov escalate "$T/back" --kind assign --to 411324 --batch 100 > /dev/null
wait_for "the county owns 300 assigned cases" 60 \
    bash -c "[ \"\$($XFCTL -s $T/zp/control.sock --json case list --owner 411324 --limit 1000 | jq '.cases | length')\" -ge 300 ]"
[ "$(frames zp 411300)" -ge "$(msgs zp 411300)" ] \
    || fail "the city sent the version 1 county $(msgs zp 411300) envelopes in $(frames zp 411300) frames"
pass "300 assignments came down to the version 1 county, one a frame"

# --- the county upgraded: restarted without the setting, its link carries several a frame
sed -i '/^link_version = 1$/d' "$T/zp/xfsyncd.conf"
stop_node zp TERM
start_node zp
wait_for "镇平 up to the city again" 20 link_up zp 411300
before_f=$(frames city 411324); before_m=$(msgs city 411324)
py zp register 600 升级 > "$T/ids2"
py zp escalate "$T/ids2" --batch 600 --to 410000 > /dev/null
wait_for "the province has 1,200 cases" 60 total_is prov 1200
df=$(( $(frames city 411324) - before_f )); dm=$(( $(msgs city 411324) - before_m ))
[ "$dm" -ge 600 ] || fail "the city took $dm envelopes from the upgraded county, not 600"
[ "$df" -lt "$dm" ] || fail "the upgraded county sent $dm envelopes in $df frames: still one a frame"
py prov once "$T/ids2" escalate || fail "an escalation after the upgrade is not at the province exactly once"
pass "after the upgrade: $dm envelopes in $df frames from the county, each once at the province"
