# tests/integration/lib.sh — shared helpers for integration scenarios: temp dirs, keys,
# configs, starting and stopping real xfsyncd processes by pid, waiting with deadlines.
# Sourced by test_*.sh; expects $XFSYNCD and $XFCTL (set by ctest).
set -euo pipefail

: "${XFSYNCD:?set XFSYNCD to the xfsyncd binary}"
: "${XFCTL:?set XFCTL to the xfctl binary}"
mkdir -p "${XF_TEST_TMP:-/tmp}"
T=$(mktemp -d "${XF_TEST_TMP:-/tmp}/xfit.XXXXXX")
PIDS=()

cleanup () {
    local pid
    for pid in "${PIDS[@]}"; do
        kill -KILL "$pid" 2>/dev/null || true
    done
    wait 2>/dev/null || true
    if [ "${KEEP_TMP:-0}" = 1 ]; then echo "kept $T"; else rm -rf "$T"; fi
}
trap cleanup EXIT

fail () {
    echo "FAIL: $*" >&2
    for log in "$T"/*/xfsyncd.log; do
        [ -f "$log" ] && { echo "--- $log" >&2; tail -n 20 "$log" >&2; }
    done
    exit 1
}

pass () { echo "ok: $*"; }

# node_config NAME CODE [clock_control] — a node directory with a key and a config.
node_config () {
    local name=$1 code=$2 clock=${3:-true}
    local dir=$T/$name
    mkdir -p "$dir"
    "$XFCTL" keygen "$dir" >/dev/null
    if [ ! -f "$T/identity.key" ]; then   # the tree's identity key, the same at every office
        (umask 077; od -An -tx1 -N32 /dev/urandom | tr -d ' \n' > "$T/identity.key")
    fi
    cat > "$dir/xfsyncd.conf" <<CONF
[node]
code = $code
name = 测试办公室 $code
data_dir = $dir/data
control_socket = $dir/control.sock
key_file = $dir/node.key
identity_key_file = $T/identity.key

[debug]
clock_control = $clock
CONF
}

ctl () { local name=$1; shift; "$XFCTL" -s "$T/$name/control.sock" "$@"; }
ctlj () { local name=$1; shift; "$XFCTL" -s "$T/$name/control.sock" --json "$@"; }

# start_node NAME — starts xfsyncd in the foreground, waits until it answers `status` (a
# refusal is an answer: [roles] may give the test's user none).
start_node () {
    local name=$1 dir=$T/$1 rc
    "$XFSYNCD" -c "$dir/xfsyncd.conf" --foreground >>"$dir/xfsyncd.log" 2>&1 &
    local pid=$!
    PIDS+=("$pid")
    echo "$pid" > "$dir/pid"
    local deadline=$((SECONDS + 20))
    until rc=0; ctl "$name" status >/dev/null 2>&1 || rc=$?; [ $rc = 0 ] || [ $rc = 1 ]; do
        kill -0 "$pid" 2>/dev/null || fail "xfsyncd $name exited during start"
        [ $SECONDS -lt $deadline ] || fail "xfsyncd $name did not answer within 20 s"
        sleep 0.05
    done
}

# stop_node NAME [SIGNAL] — signals the node by pid and waits for it to exit.
stop_node () {
    local name=$1 sig=${2:-TERM} pid
    pid=$(cat "$T/$name/pid")
    kill "-$sig" "$pid"
    local deadline=$((SECONDS + 20))
    while kill -0 "$pid" 2>/dev/null; do
        [ $SECONDS -lt $deadline ] || fail "xfsyncd $name did not stop within 20 s of SIG$sig"
        sleep 0.05
    done
    local status=0
    wait "$pid" 2>/dev/null || status=$?
    # a clean stop exits 0; anything else (a sanitizer report, a crash) fails the scenario
    if [ "$sig" = TERM ] && [ "$status" != 0 ]; then
        fail "xfsyncd $name exited with status $status after SIGTERM"
    fi
}

# expect_exit CODE CMD… — runs CMD, checks its exit status, keeps its stderr in $ERR.
expect_exit () {
    local want=$1; shift
    local got=0
    ERR=$("$@" 2>&1 >/dev/null) || got=$?
    [ "$got" = "$want" ] || fail "expected exit $want, got $got from: $* ($ERR)"
}

# free_port — a TCP port on 127.0.0.1 that nothing listens on right now.
free_port () {
    python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])'
}

# link_nodes CHILD PARENT — makes PARENT listen (once) and CHILD connect to it, each side
# knowing the other's key. Both must come from node_config.
link_nodes () {
    local child=$1 parent=$2 port
    local cdir=$T/$child pdir=$T/$parent
    local ccode pcode
    ccode=$(sed -n 's/^code = //p' "$cdir/xfsyncd.conf" | head -1)
    pcode=$(sed -n 's/^code = //p' "$pdir/xfsyncd.conf" | head -1)
    if ! grep -q '^listen' "$pdir/xfsyncd.conf"; then
        port=$(free_port)
        sed -i "/^\[node\]/a listen = tcp://127.0.0.1:$port" "$pdir/xfsyncd.conf"
        echo "$port" > "$pdir/port"
    fi
    port=$(cat "$pdir/port")
    cat >> "$cdir/xfsyncd.conf" <<CONF

[parent]
code = $pcode
endpoint = tcp://127.0.0.1:$port
public_key = $(cat "$pdir/node.pub")
CONF
    cat >> "$pdir/xfsyncd.conf" <<CONF

[child $ccode]
name = 测试办公室 $ccode
public_key = $(cat "$cdir/node.pub")
CONF
}

# trust_config NAME [PROFILE] — [trust] with the province's certificate ($T/prov/node.crt) as
# the anchor; the CURVE keys of the parent and the children then come from certificates.
trust_config () {
    sed -i '/^public_key = /d' "$T/$1/xfsyncd.conf"
    cat >> "$T/$1/xfsyncd.conf" <<CONF

[trust]
anchor = $T/prov/node.crt
certificate = $T/$1/node.crt
signing_key = $T/$1/sign.key
profile = ${2:-standard}
CONF
}

# trust_tree [PROFILE] — 河南省 prov (410000) → 南阳市 city (411300) → 镇平县 zp (411324) with
# [trust] (standard, or national: SM2, SM3, SM4): the province's own certificate (cert root,
# the anchor) and the others' requests (node.csr), for their parents' daemons to issue; no node
# started.
trust_tree () {
    local profile=${1:-standard}
    node_config prov 410000 false
    node_config city 411300 false
    node_config zp 411324 false
    link_nodes city prov
    link_nodes zp city
    for n in prov city zp; do trust_config $n "$profile"; done
    ctl prov cert root "$T/prov" --code 410000 --name "中共河南省委组织部" --profile "$profile" >/dev/null
    ctl city cert request "$T/city" --code 411300 --name "中共南阳市委组织部" --profile "$profile" >/dev/null
    ctl zp cert request "$T/zp" --code 411324 --name "中共镇平县委组织部" --profile "$profile" >/dev/null
}

# trust_tree_up [PROFILE] — trust_tree, then each parent started and issuing its child's
# certificate before the child starts (admitted by it, no restart); both links up.
trust_tree_up () {
    trust_tree "$@"
    start_node prov
    ctl prov cert issue "$T/city/node.csr" --out "$T/city/node.crt" >/dev/null
    start_node city
    ctl city cert issue "$T/zp/node.csr" --out "$T/zp/node.crt" >/dev/null
    start_node zp
    wait_for "city link up" 30 link_up city 410000
    wait_for "county link up" 30 link_up zp 411300
}

# chain_config — 河南省 prov (410000) → 南阳市 city (411300) → 镇平县 zp (411324), configured and
# linked by CURVE keys; chain_start starts the three and waits for both links.
chain_config () {
    node_config prov 410000 false
    node_config city 411300 false
    node_config zp 411324 false
    link_nodes city prov
    link_nodes zp city
}
chain_start () {
    for n in prov city zp; do start_node $n; done
    wait_for "city up to the province" 20 link_up city 410000
    wait_for "镇平 up to the city" 20 link_up zp 411300
}

# wait_for DESCRIPTION SECONDS CMD… — retries CMD until it succeeds or the deadline passes.
wait_for () {
    local what=$1 secs=$2; shift 2
    local deadline=$((SECONDS + secs))
    until "$@" >/dev/null 2>&1; do
        [ $SECONDS -lt $deadline ] || fail "timed out after ${secs} s waiting for: $what"
        sleep 0.1
    done
}

# link_up NAME PEER — true when NAME reports its link to PEER as up.
link_up () {
    ctlj "$1" status | jq -e --arg p "$2" '.links[] | select(.peer == $p) | .state == "up"' >/dev/null
}

# Shared by the link scenarios: the fast control client (ctlpy.py) and the link fields of status.
HERE=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
py () { python3 "$HERE/ctlpy.py" "$T/$1/control.sock" "${@:2}"; }
link_field () { ctlj "$1" status | jq -r --arg p "$2" --arg f "$3" '.links[] | select(.peer == $p) | .[$f]'; }
link_is () { [ "$(link_field "$1" "$2" "$3")" = "$4" ]; }
total_is () { ctlj "$1" status | jq -e --argjson n "$2" '.cases.total == $n' >/dev/null; }
