#!/usr/bin/env bash
# The case workflow between real offices: province 410000 → city 411300 → counties 411324
# (镇平) and 411326 (淅川), clocks moved with `xfctl clock set`.
#   A. 上报 from the county to the province (relayed by the city), 交办 back to the county.
#   B. Refusals: a report without the 七有 (names what is missing), a second extension, an
#      extension beyond max_extension_days, a close by a non-owner (names the owner), an
#      assignment to an unknown office, a transfer up.
#   C. Automatic 催办: the province's clock moved to 7 days before the county's deadline, to
#      the deadline, and 7 days after: exactly one urge per interval at the county; the third
#      marks 坐催 in the province's `case list --overdue`.
#   D. Report, send back (round 2), report again, close at the province; no urge after close;
#      the province and the county hold the same case and the same history.
#   E. 转办 between the counties through their city: 淅川 gets the whole history.
source "$(dirname "$0")/lib.sh"

node_config prov 410000
node_config city 411300
node_config zp 411324
node_config xc 411326
link_nodes city prov
link_nodes zp city
link_nodes xc city
for n in prov city zp xc; do start_node $n; done
wait_for "links up" 30 eval 'link_up zp 411300 && link_up xc 411300 && link_up city 410000'
pass "province, city and two counties linked"

owner_is () { ctlj "$1" case show "$2" | jq -e --arg o "$3" '.owner == $o' >/dev/null; }
status_is () { ctlj "$1" case show "$2" | jq -e --arg s "$3" '.status == $s' >/dev/null; }
urges_at () { ctlj "$1" case history "$2" | jq '[.events[] | select(.type == "urge")] | length'; }
urges_are () { [ "$(urges_at "$1" "$2")" = "$3" ]; }
refused () {   # refused PHRASE CMD… — the command fails and says PHRASE
    local phrase=$1; shift
    if "$@" 2>"$T/err" >/dev/null; then fail "not refused: $*"; fi
    grep -q -- "$phrase" "$T/err" || fail "refusal of '$*' does not say '$phrase': $(cat "$T/err")"
}
set_clock () { ctl "$1" clock set "$2T10:00:00" >/dev/null; }
all_items=investigation,instruction,letter,original,evidence,petitioner_opinion,review_opinion
today=$(TZ=Asia/Shanghai date +%Y-%m-%d)

# --- A. escalate up, assign back down
id=$(ctl zp case register --channel visit --category appeal --summary "土地补偿款长期未发放")
ctl zp case escalate "$id" --note "涉及多个部门，请省里协调" >/dev/null   # default: the parent
ctl zp case escalate "$id" --to 410000 --note "再报" 2>/dev/null && fail "the county escalated a case it no longer owns"
wait_for "the city owns it" 20 owner_is city "$id" 411300
ctl city case escalate "$id" --to 410000 --note "需省级协调" >/dev/null
wait_for "the province owns it" 20 owner_is prov "$id" 410000
wait_for "the county sees the province own it" 20 owner_is zp "$id" 410000
ctl prov case accept "$id" >/dev/null
ctl prov case assign "$id" --to 411324 --note "请查明情况，六十日内报结果" >/dev/null
wait_for "the county owns it again" 20 owner_is zp "$id" 411324
ctlj zp case show "$id" | jq -e '.supervisor == "410000" and .handler == "411324" and .status == "registered"' \
    >/dev/null || fail "the assigned case at the county: $(ctlj zp case show "$id")"
ctl zp case accept "$id" --file >/dev/null
pass "escalated through the city to the province, assigned back to the county, accepted there"

# --- B. refusals
refused "petitioner_opinion,review_opinion" \
    ctl zp case report "$id" --result "已补偿" --items investigation,instruction,letter,original,evidence
refused "owned by office 411324" ctl prov case close "$id" --reply "答复"
refused "report" ctl zp case close "$id" --reply "答复"
refused "max_extension_days" ctl zp case extend "$id" --days 31 --reason "取证"
ctl zp case extend "$id" --days 10 --reason "需要补充调查" >/dev/null
refused "one extension" ctl zp case extend "$id" --days 5 --reason "再次延期"
p=$(ctl prov case register --channel letter --category appeal --summary "省里收到的来信")
refused "no office 419999" ctl prov case assign "$p" --to 419999 --note x
refused "not below" ctl zp case assign "$id" --to 411300 --note x
refused "escalate" ctl zp case transfer "$id" --to 410000 --note x
status_is zp "$id" in_progress || fail "a refusal changed the case"
pass "refusals name what applies: missing items, the owner, the extension limits, unknown office, direction"

# --- C. automatic urges at the province, one per interval
due=$(ctlj zp case show "$id" | jq -r .handle_due)
wait_for "the province knows the deadline $due" 20 \
    eval '[ "$(ctlj prov case show "$id" | jq -r .handle_due)" = "$due" ]'
set_clock prov "$(date -d "$due - 8 days" +%F)"
sleep 1
urges_are zp "$id" 0 || fail "urged 8 days before the deadline"
set_clock prov "$(date -d "$due - 7 days" +%F)"
wait_for "the first urge at the county" 20 urges_are zp "$id" 1
set_clock prov "$(date -d "$due - 6 days" +%F)"
sleep 1
urges_are zp "$id" 1 || fail "a second urge within the interval: $(urges_at zp "$id")"
set_clock prov "$due"
wait_for "the second urge" 20 urges_are zp "$id" 2
set_clock prov "$(date -d "$due + 7 days" +%F)"
wait_for "the third urge" 20 urges_are zp "$id" 3
wait_for "坐催 at the province" 20 eval \
    'ctlj prov case list --overdue | jq -e --arg id "$id" '"'"'.cases[] | select(.id == $id) | .flags | index("onsite")'"'"' >/dev/null'
ctlj zp case history "$id" | jq -e '[.events[] | select(.type == "urge")] | map(.automatic and .by == "410000") | all' \
    >/dev/null || fail "the urges are not automatic urges by the province"
pass "one automatic urge per interval at the county; the third marks 坐催 at the province"

# --- D. report, send back, report, close
ctl zp case report "$id" --result "经调查，补偿款已发放" --items "$all_items" >/dev/null
wait_for "the province reviews the report" 20 status_is prov "$id" reported
ctl prov case send-back "$id" --reason "缺少信访人签字的意见" >/dev/null
wait_for "sent back to the county" 20 status_is zp "$id" in_progress
ctlj zp case show "$id" | jq -e '.round == 2' >/dev/null || fail "not round 2"
ctl zp case report "$id" --result "补充信访人意见" --items "$all_items" >/dev/null
wait_for "reported again" 20 status_is prov "$id" reported
ctl prov case close "$id" --reply "已书面答复信访人" >/dev/null
wait_for "closed at the county too" 20 status_is zp "$id" closed
before=$(urges_at zp "$id")
set_clock prov "$(date -d "$due + 30 days" +%F)"
sleep 1
urges_are zp "$id" "$before" || fail "urged after close"
types=$(ctlj zp case history "$id" | jq -r '[.events[].type] | join(" ")')
case "$types" in
    "register escalate escalate accept assign accept extend urge urge "*"report send_back report close") ;;
    *) fail "history at the county: $types" ;;
esac
diff <(ctlj prov case history "$id") <(ctlj zp case history "$id") >/dev/null \
    || fail "the histories differ: $(diff <(ctlj prov case history "$id") <(ctlj zp case history "$id") | head)"
diff <(ctlj prov case show "$id" | jq -S 'del(.flags)') <(ctlj zp case show "$id" | jq -S 'del(.flags)') \
    >/dev/null || fail "the cases differ between province and county"
ctlj prov stats --period "$today..$(date -d "$due + 30 days" +%F)" \
    | jq -e '.totals.assigned == 1 and .totals.sent_back == 1 and .totals.closed == 1 and .totals.urges == 3' \
    >/dev/null || fail "province stats: $(ctlj prov stats --period "$today..$(date -d "$due + 30 days" +%F)" | jq -c .totals)"
pass "reported, sent back, reported again, closed; no urge after close; province and county agree"

# --- E. transfer sideways between the counties
t=$(ctl zp case register --channel letter --category inquiry --summary "咨询淅川县移民政策")
ctl zp case transfer "$t" --to 411326 --note "属淅川县职责" >/dev/null
wait_for "淅川 owns it" 20 owner_is xc "$t" 411326
ctlj xc case history "$t" | jq -e '[.events[].type] == ["register", "transfer"]' >/dev/null \
    || fail "淅川 lacks the history: $(ctlj xc case history "$t" | jq -c '[.events[].type]')"
ctl xc case accept "$t" >/dev/null
wait_for "镇平 sees the acceptance" 20 status_is zp "$t" in_progress
ctlj city case show "$t" >/dev/null 2>&1 && fail "the relaying city holds the transferred case"
pass "transferred from 镇平 to 淅川 through the city with its history; the origin follows it"
