#!/usr/bin/env bash
# Long work shows progress on a terminal and nothing when piped: `case import`, `backup` and a
# consolidated pull that waits for an office below that is down. The terminal is a pty made by
# script(1).
source "$(dirname "$0")/lib.sh"
on_tty () { script -qec "$*" /dev/null; }

node_config city 411300 false
node_config zp 411324 false
node_config xc 411326 false
link_nodes zp city
link_nodes xc city
printf '\n[stats]\npull_seconds = 3\n' >> "$T/city/xfsyncd.conf"
start_node city
start_node zp
wait_for "镇平 up" 20 link_up city 411324

# --- case import: "importing N/M" on a terminal, nothing on stderr when piped
python3 - "$T/cases.jsonl" <<'PY'
import json, sys
with open(sys.argv[1], "w", encoding="utf-8") as f:
    for i in range(2500):
        f.write(json.dumps({"channel": "letter", "category": "appeal", "summary": "进度 %d" % i},
                           ensure_ascii=False) + "\n")
PY
on_tty "$XFCTL -s $T/city/control.sock case import $T/cases.jsonl" > "$T/import.tty"
grep -q "importing 2500/2500 (100%)" "$T/import.tty" || fail "no import progress on a terminal: $(tr '\r' '\n' < "$T/import.tty" | tail -3)"
ctl city case import "$T/cases.jsonl" > "$T/import.out" 2> "$T/import.err"
[ ! -s "$T/import.err" ] || fail "import progress written when stderr is not a terminal: $(cat "$T/import.err")"
pass "case import: progress on a terminal, none when piped"

# --- backup: "backup: X of at most Y MiB" on a terminal
on_tty "$XFCTL -s $T/city/control.sock backup $T/city.backup" > "$T/backup.tty"
grep -q "backup: [0-9.]* of at most [0-9.]* MiB" "$T/backup.tty" || fail "no backup progress: $(tr '\r' '\n' < "$T/backup.tty" | tail -3)"
ctl city backup "$T/city2.backup" > "$T/backup.out" 2> "$T/backup.err"
[ ! -s "$T/backup.err" ] || fail "backup progress written when piped: $(cat "$T/backup.err")"
pass "backup: progress on a terminal, none when piped"

# --- a consolidated pull waiting for 淅川, which is down: "gathering: 1 of 2 offices below answered"
on_tty "$XFCTL -s $T/city/control.sock stats --consolidated" > "$T/pull.tty"
grep -q "gathering: 1 of 2 offices below answered" "$T/pull.tty" \
    || fail "no pull progress: $(tr '\r' '\n' < "$T/pull.tty" | grep -a gathering | tail -2)"
ctl city stats --consolidated > "$T/pull.out" 2> "$T/pull.err"
[ ! -s "$T/pull.err" ] || fail "pull progress written when piped: $(cat "$T/pull.err")"
pass "consolidated pull: progress on a terminal while 淅川 is awaited, none when piped"

for n in zp city; do stop_node $n; done
pass "progress"
