#!/usr/bin/env bash
# deploy/demo.sh — the main job, on one machine: builds xfsync and starts a small tree of
# offices under ./run/demo — 河南省 (410000) → 南阳市 (411300) → 镇平县 (411324) — each with its
# own key, store and CURVE link on 127.0.0.1. A petition is registered at the county, accepted,
# then escalated (上报) to the city; the demo shows the case at both offices, the county's links
# and its statistics.
#   deploy/demo.sh          run the demo, then stop the nodes
#   deploy/demo.sh --keep   leave the nodes running for you to try xfctl
set -euo pipefail
root=$(cd "$(dirname "$0")/.." && pwd)
keep=0
[ "${1:-}" = "--keep" ] && keep=1

"$root/deploy/bootstrap.sh"
build=$root/build
cmake -S "$root" -B "$build" -DCMAKE_BUILD_TYPE=Release -DXF_TESTS=OFF >/dev/null
cmake --build "$build" -j"$(nproc)" >/dev/null
xfsyncd=$build/xfsyncd
xfctl=$build/xfctl

run=$root/run/demo
for pidfile in "$run"/*/xfsyncd.pid; do   # a previous demo still running
    [ -f "$pidfile" ] && kill "$(cat "$pidfile")" 2>/dev/null || true
done
sleep 0.3
rm -rf "$run"
mkdir -p "$run"

free_port () {
    python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])'
}

# office DIR CODE NAME — a key and the [node] part of a config
office () {
    mkdir -p "$run/$1"
    "$xfctl" keygen "$run/$1" >/dev/null
    cat > "$run/$1/xfsyncd.conf" <<CONF
; $3 ($2)
[node]
code = $2
name = $3
data_dir = $run/$1/data
control_socket = $run/$1/control.sock
key_file = $run/$1/node.key
CONF
}

# link CHILD_DIR CHILD_CODE PARENT_DIR PARENT_CODE PORT
link () {
    grep -q '^listen' "$run/$3/xfsyncd.conf" \
        || sed -i "/^\[node\]/a listen = tcp://127.0.0.1:$5" "$run/$3/xfsyncd.conf"
    printf '\n[parent]\ncode = %s\nendpoint = tcp://127.0.0.1:%s\npublic_key = %s\n' \
        "$4" "$5" "$(cat "$run/$3/node.pub")" >> "$run/$1/xfsyncd.conf"
    printf '\n[child %s]\npublic_key = %s\n' "$2" "$(cat "$run/$1/node.pub")" >> "$run/$3/xfsyncd.conf"
}

office province 410000 中共河南省委组织部
office city 411300 中共南阳市委组织部
office county 411324 中共镇平县委组织部
link city 411300 province 410000 "$(free_port)"
link county 411324 city 411300 "$(free_port)"

pids=()
stop () { for p in "${pids[@]}"; do kill "$p" 2>/dev/null || true; done; wait 2>/dev/null || true; }
[ $keep = 1 ] || trap stop EXIT
for o in province city county; do
    "$xfsyncd" -c "$run/$o/xfsyncd.conf" --foreground 2>"$run/$o/xfsyncd.log" &
    pids+=($!)
    echo $! > "$run/$o/xfsyncd.pid"
done
ctl () { local o=$1; shift; "$xfctl" -s "$run/$o/control.sock" "$@"; }
up () {   # wait until office $1 reports its link to $2 up
    for _ in $(seq 300); do
        ctl "$1" --json status 2>/dev/null \
            | jq -e --arg p "$2" '.links[]? | select(.peer == $p) | .state == "up"' >/dev/null 2>&1 && return 0
        sleep 0.05
    done
    echo "demo: the link $1 → $2 did not come up; logs are in $run/*/xfsyncd.log" >&2
    exit 1
}
up county 411300
up city 410000
echo "== three offices running under $run: 410000 ← 411300 ← 411324, linked with CURVE"
echo
echo "== 镇平县: xfctl case register …   (a letter reporting a village cadre)"
id=$(ctl county case register --channel letter --category accusation --subject 2 \
      --summary "反映某村党支部书记违规发展党员问题" \
      --name 李明 --phone 13903770000 --address "镇平县石佛寺镇" \
      --accused-name 王某 --accused-unit "某村党支部" --accused-rank village)
echo "$id"
echo
echo "== 镇平县: xfctl case accept $id --file   (受理 and 立案)"
ctl county case accept "$id" --file >/dev/null
echo
echo "== 镇平县: xfctl case escalate $id --note …   (上报 to 南阳市)"
ctl county case escalate "$id" --note "涉及多个乡镇，报请市委组织部协调" >/dev/null
for _ in $(seq 200); do ctl city case show "$id" >/dev/null 2>&1 && break; sleep 0.05; done
echo
echo "== 南阳市: xfctl case show $id   (the city now owns it and must decide on acceptance)"
ctl city case show "$id"
echo
echo "== 镇平县: xfctl case history $id"
ctl county case history "$id"
echo
echo "== 镇平县: xfctl status"
ctl county status
echo
echo "== 镇平县: xfctl stats"
ctl county stats
if [ $keep = 1 ]; then
    echo
    echo "The nodes keep running. Try:  $xfctl -s $run/city/control.sock case list"
    echo "Stop them with:              kill ${pids[*]}"
fi
