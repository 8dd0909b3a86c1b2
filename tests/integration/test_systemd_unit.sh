#!/usr/bin/env bash
# The shipped unit, deploy/systemd/xfsyncd.service:
#   - `systemd-analyze verify` passes (on a copy naming the built xfsyncd; with the man pages
#     of the build when there are any) and `systemd-analyze security --offline=true` rates its
#     exposure under 2.0;
#   - it is Type=notify with WatchdogSec, ExecReload, user xfsync and its three directories;
#   - the daemon runs as the unit runs it: its ExecStart (binary and config path moved to this
#     test's), UMask, NOTIFY_SOCKET (a fake systemd, notify_listener.py), WATCHDOG_USEC from
#     WatchdogSec, JOURNAL_STREAM. READY=1 comes, every stderr line carries its syslog priority
#     (<6> info, <4> warning, <3> error), ExecReload (SIGHUP) reloads and a bad configuration
#     is refused while it runs on, and SIGTERM (systemd's stop) brings STOPPING=1 and exit 0.
source "$(dirname "$0")/lib.sh"
HERE=$(cd "$(dirname "$0")" && pwd)
ROOT=$(cd "$HERE/../.." && pwd)
UNIT=$ROOT/deploy/systemd/xfsyncd.service
[ -f "$UNIT" ] || fail "no $UNIT"
command -v systemd-analyze >/dev/null || { echo "SKIP: systemd-analyze is not installed (apt-get install systemd)"; exit 77; }
XFSYNCD_ABS=$(readlink -f "$XFSYNCD")

# unit_value KEY — the unit's value of KEY (the last assignment, as systemd takes it)
unit_value () { sed -n "s/^$1=//p" "$UNIT" | tail -n 1; }

# --- 1. verify, on a copy that names the built binary (verify needs ExecStart to exist)
mkdir -p "$T/unit" "$T/man"
sed "s|/usr/sbin/xfsyncd|$XFSYNCD_ABS|g" "$UNIT" > "$T/unit/xfsyncd.service"
grep -q "^ExecStart=$XFSYNCD_ABS " "$T/unit/xfsyncd.service" || fail "no ExecStart=/usr/sbin/xfsyncd … in $UNIT"
# Documentation=man:… is checked when the build rendered the man pages (deploy/docs.cmake)
build_dir=$(dirname "$XFSYNCD_ABS")
man_check=no
if command -v man >/dev/null && [ -d "$build_dir/man" ]; then
    man_check=yes
    for page in $(sed -n 's/^Documentation=//p' "$UNIT"); do
        case $page in
        man:*) name=${page#man:}; sec=${name##*(}; sec=${sec%)}; name=${name%(*}
               mkdir -p "$T/man/man$sec"
               [ -f "$build_dir/man/$name.$sec" ] || { man_check=no; break; }
               ln -sf "$build_dir/man/$name.$sec" "$T/man/man$sec/$name.$sec" ;;
        esac
    done
fi
out=$(MANPATH=$T/man systemd-analyze verify --man=$man_check "$T/unit/xfsyncd.service" 2>&1) \
    || fail "systemd-analyze verify: $out"
[ -z "$out" ] || fail "systemd-analyze verify warns: $out"
pass "systemd-analyze verify (man pages checked: $man_check)"

# --- 2. exposure, on the unit as shipped
sec_out=$(systemd-analyze security --offline=true "$UNIT" 2>&1) || true
exposure=$(sed -n 's/.*Overall exposure level for xfsyncd.service: \([0-9.]*\).*/\1/p' <<<"$sec_out")
[ -n "$exposure" ] || fail "no overall exposure level in: $(tail -n 3 <<<"$sec_out")"
echo "exposure: $exposure"
awk -v e="$exposure" 'BEGIN { exit !(e < 2.0) }' \
    || fail "exposure $exposure is not under 2.0: $(grep '✗' <<<"$sec_out")"
pass "systemd-analyze security --offline=true: exposure $exposure (< 2.0)"

# --- 3. what the unit says
[ "$(unit_value Type)" = notify ] || fail "Type=$(unit_value Type), not notify"
[ -n "$(unit_value WatchdogSec)" ] || fail "no WatchdogSec="
grep -Eq '^ExecReload=(/usr)?/bin/kill -HUP \$MAINPID$' "$UNIT" || fail "ExecReload is not kill -HUP \$MAINPID"
for kv in User=xfsync Group=xfsync StateDirectory=xfsync RuntimeDirectory=xfsync \
          ConfigurationDirectory=xfsync RuntimeDirectoryMode=0750 ProtectSystem=strict \
          NoNewPrivileges=yes CapabilityBoundingSet= \
          "RestrictAddressFamilies=AF_UNIX AF_INET AF_INET6"; do
    grep -qx -- "$kv" "$UNIT" || fail "the unit does not say $kv"
done
execstart=$(unit_value ExecStart)
case $execstart in
/usr/sbin/xfsyncd\ *--foreground*) ;;
*) fail "ExecStart=$execstart: not /usr/sbin/xfsyncd … --foreground" ;;
esac
grep -q -- '-c /etc/xfsync/xfsyncd.conf' <<<"$execstart" || fail "ExecStart does not name /etc/xfsync/xfsyncd.conf"
watchdog_usec=$(systemd-analyze timespan "$(unit_value WatchdogSec)" | sed -n 's/^ *μs: //p')
[ -n "$watchdog_usec" ] && [ "$watchdog_usec" -gt 0 ] || fail "WatchdogSec=$(unit_value WatchdogSec) unreadable"
pass "Type=notify, WatchdogSec=$(unit_value WatchdogSec), ExecReload=kill -HUP, user xfsync, /etc /var/lib /run xfsync"

# --- 4. the daemon as the unit runs it. The county of the example, with a parent that does
# not answer and no identity key: a warning at start.
mkdir -p "$T/etc" "$T/parent" "$T/var" "$T/run"
chmod 0750 "$T/run"
"$XFCTL" keygen "$T/etc" >/dev/null
"$XFCTL" keygen "$T/parent" >/dev/null
port=$(free_port)
cat > "$T/etc/xfsyncd.conf" <<CONF
[node]
code = 411324
name = 中共镇平县委组织部
data_dir = $T/var/xfsync
control_socket = $T/run/control.sock
key_file = $T/etc/node.key

[parent]
code = 411300
endpoint = tcp://127.0.0.1:$port
public_key = $(cat "$T/parent/node.pub")
CONF
cp "$T/etc/xfsyncd.conf" "$T/etc/good.conf"
cmd=${execstart//\/usr\/sbin\/xfsyncd/$XFSYNCD_ABS}
cmd=${cmd//\/etc\/xfsync\/xfsyncd.conf/$T/etc/xfsyncd.conf}
python3 "$HERE/notify_listener.py" "$T/notify.sock" "$T/run/control.sock" "$T/notify.jsonl" &
PIDS+=($!)
listener=$!
wait_for "the fake systemd" 10 grep -q listening "$T/notify.jsonl"
: > "$T/stderr"
journal_stream=$(stat -c '%d:%i' "$T/stderr")
umask_unit=$(unit_value UMask)
# shellcheck disable=SC2086  # ExecStart is split into words, as systemd does
(cd / && umask "$umask_unit" && exec env NOTIFY_SOCKET="$T/notify.sock" WATCHDOG_USEC="$watchdog_usec" \
    JOURNAL_STREAM="$journal_stream" $cmd 2>>"$T/stderr") &
pid=$!
PIDS+=("$pid")
notes () { python3 -c '
import json, sys
n = 0
for l in open(sys.argv[1]):
    r = json.loads(l)
    n += sys.argv[2] in r.get("msg", "").split("\n")
print(n)' "$T/notify.jsonl" "$1"; }
notes_at_least () { [ "$(notes "$1")" -ge "$2" ]; }
wait_for "READY=1" 30 notes_at_least READY=1 1
kill -0 "$pid" 2>/dev/null || fail "xfsyncd exited: $(cat "$T/stderr")"
grep -q '"control_answered": true' "$T/notify.jsonl" || fail "READY=1 came before the control socket answered"
"$XFCTL" -s "$T/run/control.sock" status >/dev/null || fail "xfctl status does not answer"
pass "READY=1 once the control socket answers, started by the unit's ExecStart"

# the unit's UMask: the store is the daemon's alone, the control socket still the group's
[ "$(stat -c %a "$T/run/control.sock")" = 660 ] || fail "control socket mode $(stat -c %a "$T/run/control.sock"), not 660 under UMask=$umask_unit"
[ "$(stat -c %a "$T/var/xfsync")" = 700 ] || fail "data_dir mode $(stat -c %a "$T/var/xfsync"), not 700"
bad=$(grep -v '^<[0-7]>' "$T/stderr" || true)
[ -z "$bad" ] || fail "stderr lines without a <N> priority: $bad"
grep -q '^<6>411324: xfsyncd .* started for 411324' "$T/stderr" || fail "no <6> start line: $(cat "$T/stderr")"
grep -q '^<6>411324: systemd watchdog: every ' "$T/stderr" || fail "the watchdog from WatchdogSec is not on: $(cat "$T/stderr")"
grep -q '^<4>411324: no identity_key_file' "$T/stderr" || fail "no <4> warning for the missing identity key: $(cat "$T/stderr")"
pass "stderr for the journal: <6> info, <4> warning; socket 0660 and store 0700 under UMask=$umask_unit"

# --- 5. ExecReload: its command, with $MAINPID
reload_cmd=$(unit_value ExecReload)
reload () {
    # shellcheck disable=SC2086
    ${reload_cmd//\$MAINPID/$pid} || fail "ExecReload ($reload_cmd) failed"
}
reload
wait_for "reloaded" 20 grep -q '^<6>411324: reloaded ' "$T/stderr"
wait_for "READY=1 after RELOADING=1" 10 notes_at_least READY=1 2
notes_at_least RELOADING=1 1 || fail "no RELOADING=1 on SIGHUP"
kill -0 "$pid" 2>/dev/null || fail "xfsyncd stopped on SIGHUP"
"$XFCTL" -s "$T/run/control.sock" status >/dev/null || fail "no status after the reload"
pass "ExecReload: RELOADING=1, reloaded, READY=1, still answering"

# a configuration that does not load is refused with an error (<3>) and the node runs on
printf '\n[node]\nlisen = tcp://127.0.0.1:1\n' >> "$T/etc/xfsyncd.conf"
reload
wait_for "reload refused" 20 grep -q '^<3>411324: reload refused' "$T/stderr"
kill -0 "$pid" 2>/dev/null || fail "xfsyncd stopped on a bad reload"
"$XFCTL" -s "$T/run/control.sock" status >/dev/null || fail "no status after a refused reload"
cp "$T/etc/good.conf" "$T/etc/xfsyncd.conf"
pass "a bad configuration on reload: $(grep -m1 '^<3>' "$T/stderr" | cut -c1-90)…; still running"

# --- 6. stop: SIGTERM (KillSignal), STOPPING=1, exit 0
kill -TERM "$pid"
deadline=$((SECONDS + 30))
while kill -0 "$pid" 2>/dev/null; do
    [ $SECONDS -lt $deadline ] || fail "xfsyncd did not stop within 30 s of SIGTERM"
    sleep 0.05
done
status=0
wait "$pid" || status=$?
[ "$status" = 0 ] || fail "xfsyncd exited with status $status after SIGTERM: $(tail -n 5 "$T/stderr")"
wait_for "STOPPING=1" 5 notes_at_least STOPPING=1 1
grep -q '^<6>411324: stopped' "$T/stderr" || fail "no <6> stopped line"
kill "$listener"
pass "SIGTERM: STOPPING=1, exit 0"
