#!/usr/bin/env bash
# Backup and restore of the middle office. 河南 prov ← 南阳 city ← 镇平 zp. `xfctl backup` copies
# the city's store while 镇平 streams escalations into it (a hot copy: the node keeps working).
# After the backup the city goes on: more escalations from 镇平, assignments from the province,
# escalations of its own to the province. Then the city's machine is lost (SIGKILL) and the
# backup restored on a "new machine" (another data_dir and socket, the same keys): the links
# resynchronise — 镇平 and the province send again what the restored store is missing, and what
# the city queues after the restore reaches the province, none of it taken for a duplicate.
# A restore refuses a data_dir whose lock another process holds (a node starting there).
# Last, a daemon that takes the backup and then sends no byte of it (a stand-in on a socket of
# its own): `xfctl --timeout 1 backup` gives up saying so, exit status 3, leaving no FILE.
source "$(dirname "$0")/lib.sh"
HERE=$(cd "$(dirname "$0")" && pwd)
holds () { ctlj "$1" case show "$2" >/dev/null 2>&1; }
all_held () { local n=$1 f=$2 id; while read -r id; do holds "$n" "$id" || return 1; done < "$f"; }

chain_config
chain_start

# --- 1. a hot backup while 镇平 streams 300 escalations into the city
py zp register 300 热备 > "$T/ids1"
py city register 10 本级 > "$T/own1"
py zp escalate "$T/ids1" --batch 10 --pause 0.08 > /dev/null &
streamer=$!
sleep 1
ctl city backup "$T/city.backup" > "$T/backup.out" || fail "backup: $(cat "$T/backup.out")"
wait "$streamer" || fail "escalating during the backup failed"
[ -f "$T/city.backup" ] && [ ! -e "$T/city.backup.part" ] || fail "no complete backup file"
grep -q "backup of office 411300" "$T/backup.out" || fail "backup said: $(cat "$T/backup.out")"
wait_for "300 escalations at the city" 60 total_is city 310
at_backup=$(sed -n 's/.*iB, \([0-9]*\) cases.*/\1/p' "$T/backup.out")
[ "$at_backup" -gt 10 ] && [ "$at_backup" -lt 310 ] \
    || echo "note: the backup holds $at_backup cases: it was not taken in mid-stream this time"
[ "$at_backup" -ge 10 ] && [ "$at_backup" -le 310 ] || fail "the backup holds $at_backup cases"
pass "hot backup while 300 escalations streamed in: $(cat "$T/backup.out") (the city went on to 310)"

# a backup refused without the role, and into a place that cannot be written, changes nothing
expect_exit 1 ctl city backup "$T/no/such/dir/x.backup"
[[ "$ERR" == *"x.backup.part"* ]] || fail "an unwritable backup path was not named: $ERR"

# --- 2. after the backup: more from 镇平, from the province, and from the city itself
py zp register 40 备后 > "$T/ids2"
py zp escalate "$T/ids2" > /dev/null
wait_for "40 more at the city" 30 total_is city 350
head -5 "$T/own1" > "$T/own_up"
py city escalate "$T/own_up" > /dev/null
wait_for "the city's 5 at the province" 30 total_is prov 5
py prov register 3 省交办 > "$T/down"
py prov escalate "$T/down" --kind assign --to 411300 > /dev/null
wait_for "3 assignments at the city" 30 total_is city 353
wait_for "city outbox drained" 30 link_is city 410000 queue 0
pass "after the backup: 40 escalations from 镇平, 5 up to the province, 3 assigned down"

# --- 3. the city's machine is lost; the backup is restored on a new one
stop_node city KILL
mkdir -p "$T/city2"
sed -e "s|$T/city/data|$T/city2/data|" -e "s|$T/city/control.sock|$T/city2/control.sock|" \
    "$T/city/xfsyncd.conf" > "$T/city2/xfsyncd.conf"
expect_exit 1 "$XFSYNCD" -c "$T/city/xfsyncd.conf" --restore "$T/city.backup"
[[ "$ERR" == *"already holds a store"* ]] || fail "restoring over a store was not refused: $ERR"
# another office's backup: refused, naming both offices, and nothing left in data_dir
mkdir -p "$T/wrong"
sed -e "s|$T/zp/data|$T/wrong/data|" -e "s|$T/zp/control.sock|$T/wrong/control.sock|" \
    "$T/zp/xfsyncd.conf" > "$T/wrong/xfsyncd.conf"
expect_exit 1 "$XFSYNCD" -c "$T/wrong/xfsyncd.conf" --restore "$T/city.backup"
[[ "$ERR" == *"411300"*"411324"* ]] || fail "restoring the city's backup at 镇平 was not refused by office: $ERR"
[ ! -e "$T/wrong/data/data.mdb" ] || fail "a refused restore left a store behind"
echo garbage > "$T/not.backup"
expect_exit 1 "$XFSYNCD" -c "$T/city2/xfsyncd.conf" --restore "$T/not.backup"
[ ! -e "$T/city2/data/data.mdb" ] || fail "a failed restore left a store behind"
# a node starting on the empty data_dir holds its lock: the restore waits for no one, it refuses
flock -n -F "$T/city2/data/xfsyncd.lock" sleep 30 &   # -F: $! holds the lock itself
holder=$!
PIDS+=("$holder")
wait_for "the lock held" 10 bash -c "! flock -n '$T/city2/data/xfsyncd.lock' true"
expect_exit 1 "$XFSYNCD" -c "$T/city2/xfsyncd.conf" --restore "$T/city.backup"
[[ "$ERR" == *"is in use by another xfsyncd"* ]] || fail "a restore under a node's lock: $ERR"
[ ! -e "$T/city2/data/data.mdb" ] || fail "a restore under a node's lock left a store behind"
kill "$holder"; wait "$holder" 2>/dev/null || true
"$XFSYNCD" -c "$T/city2/xfsyncd.conf" --restore "$T/city.backup" > "$T/restore.out" \
    || fail "restore failed: $(cat "$T/restore.out")"
grep -q "restored the store of office 411300 ($at_backup case(s))" "$T/restore.out" \
    || fail "restore said: $(cat "$T/restore.out")"
start_node city2
# the city queues escalations before its links are back: they must not be taken for the ones the
# province already has from the old store
py city2 register 2 复原后 > "$T/own2"
py city2 escalate "$T/own2" > /dev/null
wait_for "restored city up to the province" 30 link_up city2 410000
wait_for "restored city up to 镇平" 30 link_up city2 411324
pass "restored on a new machine from the backup ($at_backup cases); links up"

# --- 4. the neighbours sent again what the backup missed
wait_for "镇平's first 300 escalations at the restored city" 60 all_held city2 "$T/ids1"
wait_for "镇平's 40 post-backup escalations back" 30 all_held city2 "$T/ids2"
wait_for "the province's 3 assignments back" 30 all_held city2 "$T/down"
wait_for "the city's post-restore escalations at the province" 30 all_held prov "$T/own2"
held=$(py city2 once "$T/ids2" escalate) || fail "an escalation from 镇平 twice at the restored city"
[ "$held" = 40 ] || fail "the restored city holds $held of 镇平's 40 post-backup escalations"
py prov once "$T/own2" escalate >/dev/null || fail "a post-restore escalation twice at the province"
ids2=$(sort "$T/own2" | tr '\n' ' ')
total_is prov 10 || fail "the province holds $(ctlj prov status | jq .cases.total) cases, not its 3 + the city's 5 + 2"
grep -q "resynchronised after the restore\|restored from a backup holding" "$T/city2/xfsyncd.log" \
    || fail "the restored city logged no resynchronisation"
grep -q "was restored from a backup" "$T/zp/xfsyncd.log" || fail "镇平 did not log the peer's restore"
grep -q "was restored from a backup" "$T/prov/xfsyncd.log" || fail "the province did not log the peer's restore"
ctl city2 audit verify > /dev/null || fail "the restored audit log does not verify"
ctlj city2 audit show --action node.restore | jq -e '.records | length == 1' >/dev/null \
    || fail "the restore is not in the audit log"
pass "镇平 and the province sent again what the backup missed (40 + 3), each once; the city's 2 new escalations ($ids2) reached the province; the audit log records the restore"

for n in zp city2 prov; do stop_node $n; done
pass "backup and restore"

# --- a node that takes the backup request, keeps the pipe and writes nothing
python3 - "$T/mute.sock" <<'PY' &
import json, socket, sys, time
srv = socket.socket(socket.AF_UNIX); srv.bind(sys.argv[1]); srv.listen(1)
conn, _ = srv.accept()
msg, fds, _, _ = socket.recv_fds(conn, 65536, 1)
assert json.loads(msg.split(b"\n")[0])["cmd"] == "backup"
conn.sendall(json.dumps({"ok": True, "result": {"office": "411300", "estimate": 1 << 20,
                                                 "id": 1}}).encode() + b"\n")
time.sleep(30)   # the pipe held open, nothing written
PY
mute=$!
PIDS+=("$mute")
wait_for "the stand-in's socket" 10 test -S "$T/mute.sock"
t0=$SECONDS
expect_exit 3 "$XFCTL" --timeout 1 -s "$T/mute.sock" backup "$T/mute.bak"
[ $((SECONDS - t0)) -le 5 ] || fail "xfctl --timeout 1 backup took $((SECONDS - t0)) s"
grep -q "xfsyncd sent no byte of the copy for 1 s" <<<"$ERR" || fail "the backup's give-up: $ERR"
[ ! -e "$T/mute.bak" ] && [ ! -e "$T/mute.bak.part" ] || fail "a backup that was given up left a file"
kill "$mute" 2>/dev/null || true
pass "a backup the node stops writing is given up after --timeout, leaving no file"
