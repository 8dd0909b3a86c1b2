#!/usr/bin/env bash
# Petitioners and petitions between real offices: province 410000 → city 411300 → counties
# 411324 (镇平) and 411326 (淅川), sharing the tree's identity key, clocks moved with
# `xfctl clock set`.
#   A. Repeat and skip-level: the same person at the county, then at the city (repeat, linked,
#      not skip-level: the city learned of the county's case by its keyed hash), a newcomer at
#      the city (skip-level); group petitions and the 5-representative limit.
#   B. Conflict of interest: an accusation against the county's own unit is not transferred
#      or assigned to it; another county may take it.
#   C. 查询码: the public status at the registering county, at the other county and at the
#      province; never the petitioner; a mistyped code refused.
#   D. Review chain: 复查 at the city, 复核 at the province (which asks the registering county
#      and is sent on to the city), then final: a new registration of the matter is refused
#      with a pointer, --new-matter takes it.
#   E. A late 复查 is refused with the last day that applied; one at the wrong office too.
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
pass "province, city and two counties linked, one identity key"

owner_is () { ctlj "$1" case show "$2" | jq -e --arg o "$3" '.owner == $o' >/dev/null; }
has_flag () { ctlj "$1" case show "$2" | jq -e --arg f "$3" '.flags | index($f)' >/dev/null; }
drained () { ctlj "$1" status | jq -e --arg p "$2" '.links[] | select(.peer == $p) | .queue == 0' >/dev/null; }
refused () {   # refused PHRASE CMD… — the command fails and says PHRASE
    local phrase=$1; shift
    if "$@" 2>"$T/err" >/dev/null; then fail "not refused: $*"; fi
    grep -q -- "$phrase" "$T/err" || fail "refusal of '$*' does not say '$phrase': $(cat "$T/err")"
}
set_clock () { ctl "$1" clock set "$2T10:00:00" >/dev/null; }
says () {   # says NAME ID PHRASE — `case show ID` at NAME (found or not) says PHRASE
    local out; out=$(ctl "$1" case show "$2" 2>&1 || true); [[ $out == *"$3"* ]]
}
zhang=411324198001010018

# --- A. repeat, skip-level, group
a=$(ctl zp case register --channel visit --category appeal --summary "征地补偿款未发放" \
      --name 张三 --id-number $zhang)
wait_for "the county told the city" 20 drained zp 411300
b=$(ctl city case register --channel visit --category appeal --summary "征地补偿款未发放，到市里反映" \
      --name 张三 --id-number $zhang)
ctlj city case show "$b" | jq -e --arg a "$a" '(.flags | index("repeat")) and (.flags | index("skip_level") | not)
      and (.repeat_of | index($a))' >/dev/null || fail "repeat at the city: $(ctlj city case show "$b")"
c=$(ctl city case register --channel visit --category appeal --summary "直接到市里反映" \
      --name 陈七 --id-number 11010519491231002X)
has_flag city "$c" skip_level || fail "a newcomer at the city is not skip_level: $(ctlj city case show "$c")"
has_flag city "$c" repeat && fail "a newcomer at the city is a repeat"
wait_for "the city told the province" 20 drained city 410000
grep -rq "$zhang" "$T/prov/data" && fail "the ID number reached the province in clear"
d=$(ctl zp case register --channel letter --category appeal --summary "再次来信" --name 张三 --id-number $zhang)
has_flag zp "$d" repeat || fail "the second letter at the county is not a repeat"
refused "at most 5 representatives" ctl zp case register --channel visit --category appeal \
    --summary "集体访" --headcount 30 --representatives 6
g=$(ctl zp case register --channel visit --category appeal --summary "集体访" --headcount 30 --representatives 5)
has_flag zp "$g" group || fail "30 people are not a group petition"
pass "repeat linked across the tree by keyed hash, skip-level at the city, group limits"

# --- B. conflict of interest
x=$(ctl city case register --channel letter --category accusation --summary "反映县里干部问题" \
      --accused-name 某人 --accused-unit "测试办公室 411324")
ctl city case accept "$x" >/dev/null
refused "accused's own unit" ctl city case transfer "$x" --to 411324 --note "请核查"
refused "accused's own unit" ctl city case assign "$x" --to 411324 --note "请核查"
owner_is city "$x" 411300 || fail "a refused transfer moved the case"
ctl city case assign "$x" --to 411326 --note "请淅川县核查" >/dev/null
wait_for "淅川 has it" 20 owner_is xc "$x" 411326
pass "an accusation is not sent to the accused's unit; another county takes it"

# --- C. 查询码
code=$(ctlj zp case show "$a" | jq -r .query_code)
ctlj zp case lookup "$code" | jq -e --arg a "$a" '.found and .case_id == $a and .status == "registered"' \
    >/dev/null || fail "lookup at the county: $(ctlj zp case lookup "$code")"
for n in xc prov; do
    ctlj $n case lookup "${code,,}" > "$T/lookup.json" || fail "lookup at $n: $(cat "$T/lookup.json")"
    jq -e '.found and .office == "411324" and .stage and (.petitioner | not)' "$T/lookup.json" >/dev/null \
        || fail "lookup at $n: $(cat "$T/lookup.json")"
    grep -q 张三 "$T/lookup.json" && fail "the lookup at $n names the petitioner"
done
refused "not a query code" ctl prov case lookup 7KQ4-M2XD-9PW0
pass "the 查询码 answers at the county, the other county and the province, public status only"

# --- D. review chain to final
li=411324198305050027
r=$(ctl zp case register --channel letter --category appeal --subject 3 --summary "对拆迁补偿不服" \
      --name 李四 --id-number $li)
ctl zp case accept "$r" >/dev/null
ctl zp case close "$r" --reply "补偿标准符合规定" >/dev/null
ctlj city case review "$r" --reason "对答复不服" | jq -e '.asked_of == "411324"' >/dev/null \
    || fail "复查 not asked of the county"
wait_for "the city reviews it" 20 owner_is city "$r" 411300
ctlj city case show "$r" | jq -e '.review_level == 1 and .status == "in_progress"' >/dev/null \
    || fail "复查 at the city: $(ctlj city case show "$r")"
ctl city case close "$r" --reply "复查维持原答复" >/dev/null
ctlj prov case review "$r" --reason "对复查意见不服" | jq -e '.asked_of == "411324"' >/dev/null \
    || fail "复核 not asked of the registering county"
wait_for "the province re-examines it" 20 owner_is prov "$r" 410000
ctl prov case close "$r" --reply "复核维持" >/dev/null
wait_for "the county sees it final" 20 has_flag zp "$r" final
refused "final (终结)" ctl city case review "$r" --reason "仍不服"
refused "made final" ctl zp case register --channel letter --category appeal --subject 3 \
    --summary "仍对拆迁补偿不服" --name 李四 --id-number $li
ctl zp case register --channel letter --category appeal --subject 3 --summary "另一件事" \
    --name 李四 --id-number $li --new-matter >/dev/null
for n in zp city; do
    diff <(ctlj prov case history "$r") <(ctlj $n case history "$r") >/dev/null \
        || fail "the history of $r differs between the province and $n"
done
pass "复查 at the city, 复核 at the province, final; the matter not taken again"

# --- E. late and misplaced requests
l=$(ctl zp case register --channel letter --category inquiry --summary "咨询政策")
ctl zp case accept "$l" >/dev/null
ctl zp case close "$l" --reply "已解答" >/dev/null
closed=$(ctlj zp case show "$l" | jq -r .closed)
ctl xc case review "$l" --reason "不服" >/dev/null
wait_for "the sibling's request refused" 20 says xc "$l" "directly above office 411324"
set_clock zp "$(date -d "$closed + 31 days" +%F)"
ctl city case review "$l" --reason "不服" >/dev/null
last=$(date -d "$closed + 30 days" +%F)
wait_for "the late request refused" 20 says city "$l" "by $last"
owner_is zp "$l" 411324 || fail "a refused review moved the case"
pass "a late 复查 refused with the last day ($last), one at the wrong office too"
