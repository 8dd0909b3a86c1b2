#!/usr/bin/env bash
# 对账: offices that share cases compare digests and repair what differs.
# City 411300 (the root here) and county 411324, [links] reconcile_seconds = 1.
#   A. A case registered at the county and escalated: after the next digests both sides say
#      "agreed", sharing 1 case, nothing re-sent.
#   B. The county is taken out of the city's config for a while (an operator's mistake): the
#      city accepts the case and its copy to the county is skipped — the county is out of
#      reach. The county back in the config, the digests differ in this month, the city
#      re-sends the case, the county shows it accepted with the same history as the city,
#      both `status` report the mismatch and the repair, and the next round agrees again.
source "$(dirname "$0")/lib.sh"

month=$(TZ=Asia/Shanghai date +%Y-%m)
entry () { ctlj "$1" status | jq -c --arg o "$2" '.reconcile.offices[] | select(.office == $o)'; }
agreed () { entry "$1" "$2" | jq -e '.agreed == true' >/dev/null; }
status_is () { ctlj "$1" case show "$2" | jq -e --arg s "$3" '.status == $s' >/dev/null; }
history () { ctlj "$1" case history "$2" | jq -c '[.events[] | {seq, office, type}]'; }

node_config city 411300 false
node_config zp 411324 false
link_nodes zp city
for n in city zp; do printf '\n[links]\nreconcile_seconds = 1\n' >> "$T/$n/xfsyncd.conf"; done
start_node city
start_node zp
wait_for "county link up" 30 link_up zp 411300

# --- A. agreed
id=$(ctl zp case register --channel letter --category appeal --summary "反映拖欠工程款问题")
ctl zp case escalate "$id" --note "请市里协调" >/dev/null
wait_for "the case at the city" 20 status_is city "$id" registered
wait_for "the city agrees with the county" 20 agreed city 411324
wait_for "the county agrees with the city" 20 agreed zp 411300
entry city 411324 | jq -e '.shared == 1 and .mismatches == 0 and .resent == 0 and .received == 0' \
    >/dev/null || fail "city's entry for the county after a clean exchange: $(entry city 411324)"
ctlj city status | jq -e '.reconcile.every_s == 1' >/dev/null || fail "status does not say every_s 1"
ctl city status | grep -q "对账" || fail "the text status has no reconciliation table"
pass "digests exchanged and agreed: $(entry city 411324)"

# --- B. a copy skipped while the county was out of the city's config
cp "$T/city/xfsyncd.conf" "$T/city/xfsyncd.conf.full"
stop_node city
awk '/^\[child 411324\]/ {skip = 1; next} /^\[/ {skip = 0} !skip' "$T/city/xfsyncd.conf.full" \
    > "$T/city/xfsyncd.conf"
start_node city
ctl city case accept "$id" >/dev/null
grep -q "411324" "$T/city/xfsyncd.conf" && fail "the county is still in the city's config"
status_is zp "$id" registered || fail "the county heard of the acceptance while out of reach"
stop_node city
cp "$T/city/xfsyncd.conf.full" "$T/city/xfsyncd.conf"
start_node city
wait_for "county link up again" 30 link_up zp 411300
wait_for "the acceptance re-sent to the county" 30 status_is zp "$id" in_progress
[ "$(history zp "$id")" = "$(history city "$id")" ] \
    || fail "histories differ: county $(history zp "$id") city $(history city "$id")"
entry zp 411300 | jq -e --arg m "$month" '.mismatches >= 1 and .received == 1' >/dev/null \
    || fail "the county's entry does not report the repair: $(entry zp 411300)"
# Rounds from both sides may each find the difference before the first copy lands, so the
# case can be re-sent twice; the county takes it once (received == 1 above).
entry city 411324 | jq -e '.resent >= 1 and .last_repair != null' >/dev/null \
    || fail "the city's entry does not report the case re-sent: $(entry city 411324)"
grep -q "re-sent" "$T/zp/xfsyncd.log" || fail "the county's log does not tell of the re-sent case"
pass "the skipped acceptance was found and re-sent: $(entry zp 411300)"
wait_for "agreed again at the county" 20 agreed zp 411300
wait_for "agreed again at the city" 20 agreed city 411324
pass "agreed again after the repair"

# xfctl reconcile: a round now, to the one office the county shares cases with.
before=$(entry zp 411300 | jq -r '.digest_sent')
sent=$(ctlj zp reconcile | jq -r '.sent')
[ "$sent" = 1 ] || fail "xfctl reconcile at the county sent $sent digests, not 1"
entry zp 411300 | jq -e --arg b "$before" '.digest_sent != null and .digest_sent >= $b' >/dev/null \
    || fail "status does not show the digest just sent: $(entry zp 411300)"
ctl zp reconcile extra 2>/dev/null && fail "xfctl reconcile took an extra word"
pass "xfctl reconcile sent one digest"

stop_node zp
stop_node city
pass "stopped cleanly"
