#!/usr/bin/env bash
# Operators, recusal and the audit log at one office (镇平 411324), driven as the test's own
# user through [roles] that change between restarts:
#   1. Every refusal of every role: as a viewer each clerk, leader and admin command; as a clerk
#      each leader and admin command; as a leader (by its group) each admin command; with no
#      role even status. Each refusal names the role it needs and changes nothing.
#   2. Recusal (回避): an operator who recuses themselves from a case, or whom [recusal] names,
#      can no longer show, list or act on it; recusing someone else needs a leader.
#   3. The audit log: every operator action (with uid and role), refusals, and the deadline
#      scanner's events are on the chain; audit show filters by case, uid, time and action;
#      audit verify holds. Then, the node stopped, one record is edited in the data file with
#      mdb_dump/mdb_load: audit verify names that record.
source "$(dirname "$0")/lib.sh"

me=$(id -u)
user=$(id -un)
group=$(id -gn)
node_config zp 411324
conf=$T/zp/xfsyncd.conf
cp "$conf" "$T/base.conf"

with_roles () {   # TEXT: restart the node with [roles] (and more) appended to the base config
    [ -f "$T/zp/pid" ] && kill -0 "$(cat "$T/zp/pid")" 2>/dev/null && stop_node zp
    cp "$T/base.conf" "$conf"
    printf '\n%b\n' "$1" >> "$conf"
    start_node zp
}
refused () {      # ROLE CMD…: refused for want of ROLE, with a message naming it
    local role=$1; shift
    expect_exit 1 ctl zp "$@"
    grep -q "needs the role $role" <<<"$ERR" || fail "$* did not say it needs $role: $ERR"
}

# --- set up some cases as an admin (no [roles]: everyone is one)
start_node zp
c1=$(ctl zp case register --channel letter --category appeal --summary "反映拖欠工资问题")
c2=$(ctl zp case register --channel visit --category appeal --summary "反映宅基地纠纷")
ctl zp case accept "$c2" --file >/dev/null

# --- 1. every refusal of every role
with_roles "[roles]\nviewer = $me"
ctl zp status >/dev/null || fail "a viewer cannot read the status"
ctl zp case show "$c1" >/dev/null || fail "a viewer cannot show a case"
ctl zp case list >/dev/null || fail "a viewer cannot list"
ctl zp stats >/dev/null || fail "a viewer cannot read the statistics"
refused clerk case register --channel letter --category appeal --summary "x"
refused clerk case accept "$c1"
refused clerk case reject "$c1" --reason "不属于受理范围"
refused clerk case escalate "$c1" --note "上报"
refused clerk case report "$c2" --result "已办结" --items investigation
refused clerk case review "$c2" --reason "不服"
viewer_leader=(
    "case assign $c1 --to 411326 --note 交办"
    "case transfer $c1 --to 411326 --note 转办"
    "case urge $c2 --note 催办"
    "case extend $c2 --days 10 --reason 情况复杂"
    "case send-back $c2 --reason 重办"
    "case close $c2 --reply 已答复"
    "case recuse $c1 --operator 4242"
)
for cmd in "${viewer_leader[@]}"; do refused leader $cmd; done
admin_cmds=("clock set 2026-12-30T09:00:00" "reconcile" "audit verify" "audit show")
for cmd in "${admin_cmds[@]}"; do refused admin $cmd; done
grep -q "case.close needs the role leader; uid $me ($user) has the role viewer" <<<"$(ctl zp case close "$c2" --reply x 2>&1)" \
    || fail "the refusal does not say who has which role"
[ "$(ctlj zp case show "$c2" | jq -r .status)" = in_progress ] || fail "a refused close changed the case"

with_roles "[roles]\nclerk = $user"
ctl zp case accept "$c1" >/dev/null || fail "a clerk cannot accept"
for cmd in "${viewer_leader[@]}"; do refused leader $cmd; done
for cmd in "${admin_cmds[@]}"; do refused admin $cmd; done

with_roles "[roles]\nviewer = 4242\nleader = @$group"
ctl zp case extend "$c2" --days 10 --reason "情况复杂" >/dev/null || fail "a leader (by group) cannot extend"
for cmd in "${admin_cmds[@]}"; do refused admin $cmd; done

with_roles "[roles]\nviewer = 4242"
expect_exit 1 ctl zp status
grep -q "status needs the role viewer; uid $me ($user) has no role in \[roles\]" <<<"$ERR" \
    || fail "no role: $ERR"
pass "every role refusal names the role it needs and changes nothing"

# --- 2. recusal
with_roles "[roles]\nleader = $me"
ctl zp case recuse "$c1" >/dev/null || fail "recusing oneself"
expect_exit 1 ctl zp case show "$c1"
grep -q "is recused from case $c1 (回避)" <<<"$ERR" || fail "a recused operator reads the case: $ERR"
expect_exit 1 ctl zp case history "$c1"
expect_exit 1 ctl zp case reject "$c1" --reason "x"
# several cases in one request ("ids", one read of the recusals for all): the recused one is
# named, and the request as a whole is refused before anything moves
printf '%s\n%s\n' "$c2" "$c1" > "$T/ids"
before=$(ctlj zp case show "$c2" | jq -c '{status, owner}')
py zp escalate "$T/ids" --batch 2 >/dev/null 2>"$T/batch.err" && fail "a batch with a recused case was done"
grep -q "is recused from case $c1 (回避)" "$T/batch.err" || fail "the batch refusal: $(cat "$T/batch.err")"
[ "$(ctlj zp case show "$c2" | jq -c '{status, owner}')" = "$before" ] || fail "the refused batch moved $c2"
ctlj zp case list | jq -e --arg c "$c1" '[.cases[].id] | index($c) == null' >/dev/null \
    || fail "the list still shows the case the operator is recused from"
ctlj zp case list | jq -e --arg c "$c2" '[.cases[].id] | index($c) != null' >/dev/null \
    || fail "the list lost a case the operator is not recused from"
ctlj zp case recuse "$c2" --operator 4242 | jq -e '.uid == 4242' >/dev/null || fail "a leader recusing another"
ctl zp case show "$c2" >/dev/null || fail "recusing another recused the leader"
with_roles "[roles]\nleader = $me\n\n[recusal]\ncases = $c2:$user"
expect_exit 1 ctl zp case close "$c2" --reply "已答复"
grep -q "is recused from case $c2" <<<"$ERR" || fail "[recusal] in the config: $ERR"
expect_exit 1 ctl zp case show "$c1"   # the stored recusal outlives the restart
pass "recusal by command and by config: the case cannot be read, listed or acted on"

# --- 3. the audit log
with_roles "[roles]\nadmin = $me"
ctl zp clock set "$(date -d '+75 days' +%Y-%m-%dT09:00:00)" >/dev/null   # past both handling deadlines
wait_for "the deadline scan" 10 eval "ctlj zp audit show --action node. | jq -e '.records | length >= 1' >/dev/null"
ctlj zp audit verify > "$T/verify.json" || fail "audit verify: $(cat "$T/verify.json")"
records=$(jq -r .records "$T/verify.json")
[ "$records" -ge 20 ] || fail "only $records audit records"
ctlj zp audit show --case "$c2" > "$T/c2.json"
jq -e '[.records[].action] | index("case.register") != null and index("case.accept") != null
       and index("case.extend") != null' "$T/c2.json" >/dev/null || fail "case $c2's record: $(jq -c '[.records[].action]' "$T/c2.json")"
jq -e --argjson me "$me" '[.records[] | select(.action == "case.extend" and .detail == null)][0] | .uid == $me and .role == "leader"' \
    "$T/c2.json" >/dev/null || fail "the extension is not recorded with uid and role"
ctlj zp audit show --action case.close | jq -e '[.records[] | select(.detail | startswith("refused:"))] | length >= 1' \
    >/dev/null || fail "refusals are not audited"
ctlj zp audit show --uid -1 | jq -e '.records | length >= 1 and all(.role == "node")' >/dev/null \
    || fail "the node's own events are not audited as the node"
ctlj zp audit show --limit 3 | jq -e '.records | length == 3' >/dev/null || fail "audit show --limit"
ctlj zp audit show --from 2000-01-01T00:00:00 --to 2000-12-31T00:00:00 | jq -e '.records == []' >/dev/null \
    || fail "audit show --from/--to"
ctl zp audit show --case "$c1" | grep -q "case.register" || fail "audit show as a table"
pass "audit log: $records records hold; filters by case, uid, time and action"

stop_node zp
mdb_dump -s audit "$T/zp/data" > "$T/audit.dump"
python3 - "$T/audit.dump" "$me" <<'PY' || fail "editing the audit dump"
import sys
path, me = sys.argv[1], sys.argv[2]
lines = open(path).read().split("\n")
# after the header, keys and values alternate, one hex line each (a leading space):
# the 5th record's operator becomes 4242 in its text, the hash in front left as it was
start = lines.index("HEADER=END") + 1
value = start + 2 * 4 + 1
raw = bytes.fromhex(lines[value].strip())
old = ('"uid":' + me).encode()
assert old in raw[32:], raw[32:200]
raw = raw[:32] + raw[32:].replace(old, b'"uid":4242', 1)
lines[value] = " " + raw.hex()
open(path, "w").write("\n".join(lines))
PY
mdb_load -s audit -f "$T/audit.dump" "$T/zp/data" || fail "mdb_load"
start_node zp
expect_exit 1 ctl zp audit verify
grep -q "the audit log is broken at record 5: its hash does not match its text" <<<"$ERR" \
    || fail "the edited record is not found: $ERR"
pass "one record edited offline: audit verify names record 5"

stop_node zp
