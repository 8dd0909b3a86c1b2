#!/usr/bin/env bash
# I/O errors: a node runs under libfiu (fiu-run, Debian's fiu-utils), and once it is up its
# writes (pwrite) or syncs (fdatasync) are made to fail at random (fiu-ctrl) while cases are
# registered one by one. Once a commit fails the node acknowledges nothing more — every later
# change is refused saying why, status shows it, reads still answer — and after a restart
# without failures the cases the store holds are exactly the acknowledged ones. Two rounds:
# failing syncs, then failing writes.
#
# libfiu's preload does not mix with AddressSanitizer: the node here is the build without
# sanitizers, $XFSYNCD_PLAIN (tests/run.sh sets it); without one the test is skipped (77).
source "$(dirname "$0")/lib.sh"
HERE=$(cd "$(dirname "$0")" && pwd)
[ -x "${XFSYNCD_PLAIN:-}" ] || { echo "skipped: no XFSYNCD_PLAIN (a build without sanitizers)"; exit 77; }
command -v fiu-run >/dev/null || fail "fiu-run is missing (deploy/bootstrap.sh installs fiu-utils)"

round () {   # NAME FAILPOINT PROBABILITY
    local name=$1 point=$2 probability=$3 pid
    node_config "$name" 411324 false
    fiu-run -x -f "$T/$name/fiu" "$XFSYNCD_PLAIN" -c "$T/$name/xfsyncd.conf" --foreground \
        >>"$T/$name/xfsyncd.log" 2>&1 &
    pid=$!
    PIDS+=("$pid")
    echo "$pid" > "$T/$name/pid"
    wait_for "$name up" 20 ctl "$name" status
    fiu-ctrl -f "$T/$name/fiu" -c "enable_random name=$point,probability=$probability" "$pid" \
        || fail "fiu-ctrl could not reach $name"
    HERE="$HERE" python3 - "$T/$name/control.sock" "$T/$name.acked" "$T/$name.refusal" <<'PY' \
        || fail "$name: registering under failures"
import os, sys
sys.path.insert(0, os.environ["HERE"])
from ctlpy import Client
c = Client(sys.argv[1])
acked, refusal = [], None
for i in range(2000):
    try:
        acked.append(c.ask("case.register", channel="letter", category="appeal",
                           summary="在写入故障下登记 %d" % i)["id"])
    except RuntimeError as e:
        if refusal is None:
            refusal = str(e)
        if c.ask("status")["store"]["failed"]:
            break
else:
    sys.exit("no commit failed in 2,000 registrations")
# from now on nothing is acknowledged
for i in range(20):
    try:
        c.ask("case.register", channel="letter", category="appeal", summary="不应成功")
        sys.exit("a registration was acknowledged after a failed commit")
    except RuntimeError as e:
        if "refuses changes until xfsyncd is restarted" not in str(e):
            sys.exit("unexpected refusal: %s" % e)
c.ask("case.show", id=acked[0]) if acked else None   # reads still answer
open(sys.argv[2], "w").write("\n".join(sorted(acked)) + ("\n" if acked else ""))
open(sys.argv[3], "w").write(refusal or "")
PY
    ctlj "$name" status | jq -e '.store.failed | test("a commit failed")' >/dev/null \
        || fail "$name: status does not say the store failed"
    stop_node "$name" KILL
    start_node "$name"   # the sanitizer build, no failures
    ctlj "$name" case list --limit 100000 | jq -r '.cases[].id' | sort > "$T/$name.stored"
    cmp -s "$T/$name.stored" "$T/$name.acked" \
        || fail "$name: stored and acknowledged differ: $(diff "$T/$name.acked" "$T/$name.stored" | head -5)"
    stop_node "$name"
    pass "$point failing: $(wc -l < "$T/$name.acked") acknowledged, then every change refused; after a restart the store holds exactly those"
}

round sync posix/io/sync/fdatasync 0.03   # a commit syncs about twice
round write posix/io/rw/pwrite 0.005      # and writes many pages
