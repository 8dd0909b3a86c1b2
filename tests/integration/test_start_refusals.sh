#!/usr/bin/env bash
# What xfsyncd refuses to start with — each a clear message and exit status 1, never a crash,
# and the files it was given left exactly as they were:
#   1. another office's store (data_dir of 镇平 given to 淅川's config);
#   2. a data file that is not a store (random bytes);
#   3. a store cut short (a copy interrupted), which LMDB would otherwise fault reading;
#   4. a node key readable by others;
#   5. a clock behind the latest time the store has seen (simulated by moving the store's mark
#      ahead, offline): refused, then started with --accept-clock, which the next start keeps;
#   6. a store another xfsyncd has open (a second config naming the same data_dir): refused
#      naming the running one's pid, which keeps working; once it stops, the store is free.
#   7. a lock file that cannot be opened (xfsyncd.lock made a directory): refused saying what
#      to check, the store untouched.
#   8. a data_dir that cannot be made (its parent is a file): refused naming it, both at a start
#      and at a restore (--restore), which make and lock it the same way.
source "$(dirname "$0")/lib.sh"

node_config zp 411324 false
start_node zp
for i in $(seq 40); do
    ctl zp case register --channel letter --category appeal --summary "反映问题 $i 号，内容较长以占用存储页" >/dev/null
done
stop_node zp
sum () { sha256sum "$1" | cut -d' ' -f1; }
refused () {   # CONFIG TEXT FILE: exit 1 with TEXT in the message, FILE unchanged
    local before got=0 out
    before=$(sum "$3")
    out=$("$XFSYNCD" -c "$1" --foreground 2>&1) || got=$?
    [ "$got" = 1 ] || fail "exit status $got (not 1) for: $out"
    grep -q -- "$2" <<<"$out" || fail "the refusal does not say \"$2\": $out"
    [ "$(sum "$3")" = "$before" ] || fail "$3 changed although the start was refused"
}

# --- 1. another office's store
node_config xc 411326 false
sed -i "s#^data_dir = .*#data_dir = $T/zp/data#" "$T/xc/xfsyncd.conf"
refused "$T/xc/xfsyncd.conf" "the store belongs to office 411324 .* and this office is 411326" "$T/zp/data/data.mdb"
pass "another office's store refused"

# --- 2. not a store
mkdir -p "$T/junk/data"
head -c 65536 /dev/urandom > "$T/junk/data/data.mdb"
sed "s#$T/zp/data#$T/junk/data#" "$T/zp/xfsyncd.conf" > "$T/junk.conf"
refused "$T/junk.conf" "it is not an xfsync store, or it is damaged" "$T/junk/data/data.mdb"
pass "a data file that is not a store refused"

# --- 3. a store cut short
mkdir -p "$T/cut/data"
head -c 16384 "$T/zp/data/data.mdb" > "$T/cut/data/data.mdb"
sed "s#$T/zp/data#$T/cut/data#" "$T/zp/xfsyncd.conf" > "$T/cut.conf"
refused "$T/cut.conf" "the file was cut short" "$T/cut/data/data.mdb"
pass "a store cut short refused"

# --- 4. a key others can read
chmod 644 "$T/zp/node.key"
refused "$T/zp/xfsyncd.conf" "readable by group or others (mode 644); run: chmod 600" "$T/zp/data/data.mdb"
chmod 600 "$T/zp/node.key"
pass "a key readable by others refused"

# --- 5. a clock behind the store's latest time: the mark moved two days ahead, offline
mdb_dump -s meta "$T/zp/data" > "$T/meta.dump"
python3 - "$T/meta.dump" <<'PY' || fail "moving the clock mark"
import struct, sys, time
path = sys.argv[1]
lines = open(path).read().split("\n")
start = lines.index("HEADER=END") + 1
key = b"clock/latest".hex()
for i in range(start, len(lines) - 1, 2):
    if lines[i].strip() == key:
        lines[i + 1] = " " + struct.pack(">Q", int(time.time()) + 2 * 86400).hex()
        break
else:
    sys.exit("no clock/latest in the store")
open(path, "w").write("\n".join(lines))
PY
mdb_load -s meta -f "$T/meta.dump" "$T/zp/data" || fail "mdb_load"
refused "$T/zp/xfsyncd.conf" "behind the latest time this store has seen" "$T/zp/data/data.mdb"
"$XFSYNCD" -c "$T/zp/xfsyncd.conf" --foreground --accept-clock >>"$T/zp/xfsyncd.log" 2>&1 &
PIDS+=($!)
echo $! > "$T/zp/pid"
wait_for "the node started with --accept-clock" 20 ctl zp status
grep -q "started anyway (--accept-clock)" "$T/zp/xfsyncd.log" || fail "no warning for --accept-clock"
stop_node zp
start_node zp   # the mark now follows the clock again
stop_node zp
pass "a clock behind the store refused; --accept-clock starts once, and the mark follows"

# --- 6. a store in use by another xfsyncd
start_node zp
sed "s#^control_socket = .*#control_socket = $T/zp/second.sock#" "$T/zp/xfsyncd.conf" > "$T/second.conf"
got=0
out=$("$XFSYNCD" -c "$T/second.conf" --foreground 2>&1) || got=$?
[ "$got" = 1 ] || fail "a second xfsyncd on the store exited $got (not 1): $out"
grep -q "data_dir $T/zp/data is in use by another xfsyncd (pid $(cat "$T/zp/pid"))" <<<"$out" \
    || fail "the refusal does not name the running xfsyncd: $out"
[ ! -e "$T/zp/second.sock" ] || fail "the refused xfsyncd left a control socket"
ctlj zp status | jq -e '.cases.total == 40' >/dev/null || fail "the running node stopped answering"
stop_node zp
"$XFSYNCD" -c "$T/second.conf" --foreground >>"$T/zp/xfsyncd.log" 2>&1 &
PIDS+=($!)
echo $! > "$T/zp/pid"
wait_for "the second config's node, once the first stopped" 20 "$XFCTL" -s "$T/zp/second.sock" status
stop_node zp
pass "a store in use by another xfsyncd refused, naming it; free once it stopped"

# --- 7. the lock file cannot be opened
mv "$T/zp/data/xfsyncd.lock" "$T/zp/lock.saved"
mkdir "$T/zp/data/xfsyncd.lock"
refused "$T/zp/xfsyncd.conf" "cannot open its lock file xfsyncd.lock: Is a directory (it must be a file" "$T/zp/data/data.mdb"
rmdir "$T/zp/data/xfsyncd.lock"
mv "$T/zp/lock.saved" "$T/zp/data/xfsyncd.lock"
start_node zp
ctlj zp status | jq -e '.cases.total == 40' >/dev/null || fail "the node did not start once the lock file was back"
stop_node zp
pass "a lock file that cannot be opened refused, saying what to check"

# --- 8. a data_dir that cannot be made
node_config nd 411326 false
echo "not a directory" > "$T/nd/file"
sed -i "s#^data_dir = .*#data_dir = $T/nd/file/data#" "$T/nd/xfsyncd.conf"
refused "$T/nd/xfsyncd.conf" "data_dir $T/nd/file/data: Not a directory" "$T/nd/file"
got=0
out=$("$XFSYNCD" -c "$T/nd/xfsyncd.conf" --restore "$T/nd/file" 2>&1) || got=$?
[ "$got" = 1 ] || fail "a restore into a data_dir that cannot be made exited $got (not 1): $out"
grep -q "data_dir $T/nd/file/data: Not a directory" <<<"$out" \
    || fail "the restore's refusal does not name the data_dir: $out"
pass "a data_dir that cannot be made refused, naming it, at a start and at a restore"
