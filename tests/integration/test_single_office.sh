#!/usr/bin/env bash
# One office end to end: register, decide, import, deadlines, statistics, refusals that change
# nothing, and a restart (clean and SIGKILL) that loses nothing and keeps numbering.
source "$(dirname "$0")/lib.sh"

node_config zp 411324 true
start_node zp
ctlj zp status | jq -e '.office.code == "411324"' >/dev/null || fail "status does not name the office"
[ "$(stat -c %a "$T/zp/control.sock")" = 660 ] || fail "control socket mode is $(stat -c %a "$T/zp/control.sock"), not 660"
pass "daemon started and answers status; control socket is 0660"

ctl zp clock set 2026-11-02T09:00:00 >/dev/null
ctlj zp clock show | jq -e '.now | startswith("2026-11-02T09:00")' >/dev/null || fail "clock not moved"

# --- registration and decisions
id1=$(ctl zp case register --channel letter --category accusation --summary "反映某村支书违规发展党员" \
      --name 张三 --id-number 11010519491231002X --accused-rank village)
[ "$id1" = "411324-2026-000001" ] || fail "first id is '$id1'"
id2=$(ctl zp case register --channel visit --category appeal --summary "要求落实退休待遇" \
      --name 张三 --id-number 11010519491231002X --headcount 6)
[ "$id2" = "411324-2026-000002" ] || fail "second id is '$id2'"
ctlj zp case show "$id2" | jq -e '(.flags | index("repeat")) and (.flags | index("group"))' >/dev/null \
    || fail "second case by the same petitioner is not flagged repeat and group"
id3=$(ctl zp case register --channel phone --category inquiry --summary "咨询党员组织关系转接" --anonymous)
pass "registered $id1 $id2 $id3"

ctl zp case accept "$id1" --file >/dev/null
ctlj zp case show "$id1" | jq -e '.status == "in_progress" and .filed and .handle_due == "2027-01-01"' \
    >/dev/null || fail "accept --file did not set in_progress, filed, handle_due"
ctl zp case reject "$id2" --reason "不属于组织部门受理范围" >/dev/null
ctl zp case extend "$id1" --days 30 --reason "需调取档案" >/dev/null
ctlj zp case show "$id1" | jq -e '.handle_due == "2027-01-31" and (.flags | index("extended"))' \
    >/dev/null || fail "extension did not move handle_due by 30 days"
pass "accept, reject, extend"

# --- refusals: clear error, exit 1, nothing changed
before=$(ctlj zp case history "$id1")
expect_exit 1 ctl zp case extend "$id1" --days 10 --reason again
grep -q "one extension" <<<"$ERR" || fail "second extension refusal does not say why: $ERR"
expect_exit 1 ctl zp case accept "$id2"
grep -q "rejected" <<<"$ERR" || fail "accepting a rejected case: $ERR"
expect_exit 1 ctl zp case show 411324-2026-999999
expect_exit 2 ctl zp case register --channel fax --category appeal --summary x   # a bad choice is a usage error
expect_exit 2 ctl zp case frobnicate
expect_exit 2 "$XFCTL" --timeout soon -s "$T/zp/control.sock" status
grep -q "timeout takes whole seconds, 0 to 86400" <<<"$ERR" || fail "a bad --timeout: $ERR"
"$XFCTL" --timeout=0 -s "$T/zp/control.sock" status >/dev/null || fail "--timeout=0 (wait) refused"
[ "$(ctlj zp case history "$id1")" = "$before" ] || fail "a refused action changed the history"
ctlj zp case history "$id1" | jq -e '[.events[].type] == ["register","accept","extend"]' >/dev/null \
    || fail "history of $id1 is not register, accept, extend"
pass "refusals change nothing"

# --- a hostile control client: junk, huge and malformed requests; the daemon keeps serving
python3 - "$T/zp/control.sock" <<'PY'
import json, socket, sys
s = socket.socket(socket.AF_UNIX); s.connect(sys.argv[1]); f = s.makefile("rwb")
def ask(raw):
    f.write(raw + b"\n"); f.flush(); return json.loads(f.readline())
assert ask(b"not json")["error"]["code"] == "bad_request"
assert ask(b'{"cmd":"status","cmd":"x"}')["error"]["code"] == "bad_request"     # duplicate key
assert ask(b'{"cmd":"case.show","args":{"id":"\xff\xfe"}}')["error"]["code"] == "bad_request"
assert ask(b'{"cmd":"nope"}')["error"]["code"] == "unknown_command"
assert ask(b'{"cmd":"case.accept","args":{"id":"x","bogus":1}}')["error"]["code"] == "bad_request"
big = b'{"cmd":"status","args":{"pad":"' + b"x" * (17 << 20) + b'"}}'
assert ask(big)["error"]["code"] == "too_large"
assert ask(b'{"cmd":"status"}')["ok"] is True
PY
pass "malformed and oversized requests refused, connection still usable"

# --- import: all or nothing, line numbers in errors
python3 - "$T/good.jsonl" "$T/bad.jsonl" <<'PY'
import json, sys
rows = [{"channel": ["letter", "visit"][i % 2], "category": ["accusation", "appeal", "inquiry"][i % 3],
         "summary": f"导入案件 {i}", "received": "2026-10-%02d" % (1 + i % 28)} for i in range(250)]
open(sys.argv[1], "w").write("\n".join(json.dumps(r, ensure_ascii=False) for r in rows) + "\n")
rows[2]["channel"] = "pigeon"
open(sys.argv[2], "w").write("\n".join(json.dumps(r, ensure_ascii=False) for r in rows) + "\n")
PY
expect_exit 1 ctl zp case import "$T/bad.jsonl"
grep -q "bad.jsonl:3" <<<"$ERR" || fail "import error does not name line 3: $ERR"
ctlj zp status | jq -e '.cases.total == 3' >/dev/null || fail "a failed import left cases behind"
ctl zp case import "$T/good.jsonl" >/dev/null
ctlj zp status | jq -e '.cases.total == 253' >/dev/null || fail "import did not register 250 cases"
pass "import is all-or-nothing and names the bad line"

# --- statistics from the counters
ctlj zp stats --period 2026Q4 > "$T/q4.json"
jq -e '.totals.received == 253 and .totals.by_channel.letter == 126 and .totals.by_channel.visit == 126
       and .totals.by_channel.phone == 1 and .totals.accepted == 1 and .totals.rejected == 1
       and .totals.filed == 1 and .totals.repeat == 1 and .totals.group == 1 and .totals.due == 0
       and .totals.on_time_rate == null' "$T/q4.json" >/dev/null || fail "Q4 figures wrong: $(cat "$T/q4.json")"
ctlj zp stats --period 2027Q1 | jq -e '.totals.due == 1' >/dev/null || fail "due not counted under the extended deadline"
pass "stats"

# --- restart: nothing lost, numbering continues
stop_node zp TERM
start_node zp
ctlj zp status | jq -e '.cases.total == 253' >/dev/null || fail "cases lost over a restart"
id=$(ctl zp case register --channel email --category appeal --summary "重启后登记")
[ "$id" = "411324-2026-000254" ] || fail "numbering after restart: $id"
stop_node zp KILL
start_node zp
ctlj zp case show "$id" | jq -e '.status == "registered"' >/dev/null || fail "acknowledged case lost by SIGKILL"
id=$(ctl zp case register --channel email --category appeal --summary "强杀后登记")
[ "$id" = "411324-2026-000255" ] || fail "numbering after SIGKILL: $id"
pass "restart and SIGKILL lose nothing; numbering continues"

# --- deadlines: the scan marks cases past accept_due as overdue
ctl zp clock set 2026-12-31T10:00:00 >/dev/null
deadline=$((SECONDS + 10))
until ctlj zp case show "$id3" | jq -e '.flags | index("overdue")' >/dev/null; do
    [ $SECONDS -lt $deadline ] || fail "registered case not overdue after its accept deadline"
    sleep 0.1
done
ctlj zp case history "$id3" | jq -e '.events[-1].type == "overdue"' >/dev/null || fail "no overdue event"
ctlj zp case list --overdue --limit 1000 | jq -e '(.cases | length) == 253' >/dev/null \
    || fail "overdue list: $(ctlj zp case list --overdue --limit 1000 | jq '.cases | length')"
pass "deadline scan"

# --- clock control is refused when the config does not allow it
stop_node zp TERM
sed -i 's/clock_control = true/clock_control = false/' "$T/zp/xfsyncd.conf"
start_node zp
expect_exit 1 ctl zp clock set 2030-01-01T00:00:00
grep -q "clock_control" <<<"$ERR" || fail "clock refusal does not name the option: $ERR"
stop_node zp TERM

# --- a bad config stops the daemon at start with FILE:LINE
printf '[node]\ncode = 411324\nlisen = x\n' > "$T/bad.conf"
got=0; out=$("$XFSYNCD" -c "$T/bad.conf" --foreground 2>&1) || got=$?
[ "$got" = 1 ] && grep -q "bad.conf:3" <<<"$out" || fail "bad config: exit $got, '$out'"
pass "config and clock refusals"
