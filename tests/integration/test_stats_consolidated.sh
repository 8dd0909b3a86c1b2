#!/usr/bin/env bash
# Consolidated statistics (月统计、季分析) over a tree of 1 province, 2 cities and 4 counties:
#   河南省 410000 → 南阳市 411300 → 镇平县 411324, 淅川县 411326
#                 → 漯河市 411100 → 源汇区 411102, 舞阳县 411121
#   A. Cases registered at every level and moved between them (accept, file, close, reject,
#      escalate to the city and past it to the province, assign back down, transfer). A
#      consolidated pull at the province: every office live, the totals equal the sum of the
#      rows and the test's own count per office (a case escalated twice counts as received
#      once, at the county); the same at a city for its subtree.
#   B. 舞阳 stopped before the month closes; the clocks move into the next month and the
#      others send their monthly snapshots up. 源汇 stopped too: the province's pull of the
#      month fills 源汇 from its snapshot (marked, as_of) and names 舞阳 missing (it sent
#      none), totals partial; the quarter is partial (the snapshot covers one month of it).
#   C. The report as table, CSV (a row per office), JSON and HTML (well-formed, with the JSON's
#      figures and the charts) written to files.
#   D. 目标管理 scores by the province's [score] rules, 舞阳 unscored (missing).
source "$(dirname "$0")/lib.sh"

DRIVER="python3 $(dirname "$0")/stats_tree.py"
nodes=(prov:410000 nanyang:411300 zp:411324 xc:411326 luohe:411100 yh:411102 wy:411121)
for n in "${nodes[@]}"; do node_config "${n%%:*}" "${n##*:}"; done
link_nodes nanyang prov
link_nodes luohe prov
link_nodes zp nanyang
link_nodes xc nanyang
link_nodes yh luohe
link_nodes wy luohe
for n in "${nodes[@]}"; do printf '\n[stats]\npull_seconds = 3\n' >> "$T/${n%%:*}/xfsyncd.conf"; done
printf '\n[score]\nfiled_bases = 411324:2, 411100:0\nper_overdue = 1\n' >> "$T/prov/xfsyncd.conf"
: > "$T/tree"
parent_of () { case $1 in 410000) echo -;; 4113*) [ "$1" = 411300 ] && echo 410000 || echo 411300;;
               4111*) [ "$1" = 411100 ] && echo 410000 || echo 411100;; esac; }
for n in "${nodes[@]}"; do
    echo "${n##*:} $T/${n%%:*}/control.sock $(parent_of "${n##*:}")" >> "$T/tree"
    start_node "${n%%:*}"
done
for pair in zp:411300 xc:411300 yh:411100 wy:411100 nanyang:410000 luohe:410000; do
    wait_for "${pair%%:*} up" 30 link_up "${pair%%:*}" "${pair##*:}"
done
sleep 1   # the cities announce their counties to the province as their links come up
ctlj prov topology | jq -e '.parent == null and ([.children[].code] | sort) == ["411100", "411300"]
    and ([.children[] | select(.code == "411300") | .below[].code] | sort) == ["411324", "411326"]
    and all(.children[]; .state == "up")' >/dev/null || fail "the province's topology: $(ctlj prov topology | jq -c .)"
ctl zp topology | grep -q "^411300  (the office above; link up)" || fail "镇平's topology: $(ctl zp topology)"
pass "seven offices linked; the topology as each sees it"

quiet () {   # every queue empty at every office
    for n in "${nodes[@]}"; do
        ctlj "${n%%:*}" status | jq -e '[.links[].queue] | all(. == 0)' >/dev/null || return 1
    done
}
# four days before this month's end: moving into the next month then passes no deadline (the
# scores below count overdue cases), whatever today's date is
late=$(date -d "$(date +%Y-%m-01) + 1 month - 4 days" +%F)
for n in "${nodes[@]}"; do ctl "${n%%:*}" clock set "${late}T09:00:00" >/dev/null; done
month=$(ctlj prov clock show | jq -r '.now[0:7]')
quarter=$(date -d "${month}-01" +%Y)Q$(( ($(date -d "${month}-01" +%-m) - 1) / 3 + 1 ))
next=$(date -d "${month}-01 + 1 month" +%Y-%m-%d)

# ---------------------------------------------------------------- A. live
$DRIVER "$T/tree" drive "$T/expected.json" || fail "driving the cases"
wait_for "quiet" 30 quiet
sleep 0.5
$DRIVER "$T/tree" check "$T/expected.json" "$month" 410000 || fail "the province's live pull"
$DRIVER "$T/tree" check "$T/expected.json" "$quarter" 411100 || fail "漯河's live pull"
# the plain report of one office is its row of the consolidated one
ctlj zp stats --period "$month" | jq -e '.consolidated == false and (.offices | length) == 1
    and .offices[0].source == "live" and .totals.received == 9' >/dev/null \
    || fail "镇平's own report: $(ctlj zp stats --period "$month" | jq -c '.totals.received')"
pass "live: totals are the sum of the rows and the independent count"

# ---------------------------------------------------------------- B. snapshots and gaps
stop_node wy
for n in "${nodes[@]}"; do
    [ "${n%%:*}" = wy ] || ctl "${n%%:*}" clock set "${next}T09:00:00" >/dev/null
done
wait_for "the province holds the cities' snapshots" 30 eval \
    "ctlj prov status | jq -e '.stats.snapshots_stored >= 2' >/dev/null"
wait_for "漯河 holds 源汇's snapshot" 30 eval \
    "ctlj luohe status | jq -e '.stats.snapshots_stored >= 1' >/dev/null"
quiet_but_wy () {   # every queue empty but those to 舞阳, which is down
    for n in prov nanyang zp xc luohe yh; do
        ctlj $n status | jq -e '[.links[] | select(.peer != "411121") | .queue] | all(. == 0)' >/dev/null \
            || return 1
    done
}
wait_for "quiet" 30 quiet_but_wy
wy_down () { ctlj luohe topology | jq -e '.children[] | select(.code == "411121") | .state != "up"' >/dev/null; }
wait_for "漯河 seeing 舞阳 down" 30 wy_down
ctl luohe topology | grep -q "411121 .* ← DOWN" || fail "漯河's topology: $(ctl luohe topology)"
stop_node yh
start=$SECONDS
$DRIVER "$T/tree" check "$T/expected.json" "$month" 410000 --snapshot 411102 --missing 411121 \
    || fail "the province's pull with 源汇 down and 舞阳 never reported"
[ $((SECONDS - start)) -le 10 ] || fail "the pull took $((SECONDS - start)) s with pull_seconds = 3"
$DRIVER "$T/tree" check "$T/expected.json" "$month" 411100 --snapshot 411102 --missing 411121 \
    || fail "漯河's pull"
ctlj prov stats --consolidated --period "$quarter" > "$T/q.json"
jq -e '.partial == true and (.offices[] | select(.code == "411102") | .source == "snapshot"
       and .partial == true and .snapshot_months == ["'"$month"'"])' "$T/q.json" >/dev/null \
    || fail "the quarter is not partial with 源汇 from one month's snapshot: $(jq -c '[.partial, (.offices[] | select(.code == "411102"))]' "$T/q.json")"
pass "源汇 from its snapshot, 舞阳 missing, the quarter partial"

# ---------------------------------------------------------------- C. formats
ctl prov stats --consolidated --period "$month" > "$T/table.txt"
grep -q "missing offices: 411121" "$T/table.txt" || fail "the table does not name 舞阳 missing"
ctl prov stats --consolidated --period "$month" --format csv --out "$T/report.csv"
[ "$(wc -l < "$T/report.csv")" = 8 ] || fail "CSV: $(wc -l < "$T/report.csv") lines, not a header and 7 offices"
ctl prov stats --consolidated --period "$month" --format json --out "$T/report.json"
jq -e '.consolidated and (.offices | length) == 7' "$T/report.json" >/dev/null || fail "JSON file"
ctl prov stats --consolidated --period "$month" --format html --out "$T/report.html"
xmllint --noout "$T/report.html" || fail "the HTML report is not well-formed"
python3 "$(dirname "$0")/html_check.py" "$T/report.html" "$T/report.json" || fail "the HTML report"
pass "table, CSV, JSON and HTML"

# ---------------------------------------------------------------- D. 目标管理 scores
ctlj prov stats score --period "$month" > "$T/score.json"
score () { jq -r --arg c "$1" '.scores[] | select(.code == $c) | .score' "$T/score.json"; }
# each county filed one case, closed on time; 镇平's base is 2, the others' 0 (+4 per case)
[ "$(score 411324)" = 100 ] && [ "$(score 411326)" = 104 ] && [ "$(score 411102)" = 104 ] \
    && [ "$(score 411300)" = 100 ] && [ "$(score 411121)" = null ] \
    || fail "scores: $(jq -c '[.scores[] | [.code, .score]]' "$T/score.json")"
jq -e '(.scores | length) == 6 and .partial == true and .rules.per_filed_above == 4' "$T/score.json" \
    >/dev/null || fail "the score report: $(jq -c '{partial, rules}' "$T/score.json")"
ctl prov stats score --period "$month" | grep -q "411121 .*missing" || fail "the score table"
pass "目标管理 scores: $(jq -c '[.scores[] | [.code, .score]]' "$T/score.json")"

for n in prov nanyang zp xc luohe; do stop_node $n; done
pass "stopped cleanly"
