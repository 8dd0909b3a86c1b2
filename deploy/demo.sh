#!/usr/bin/env bash
# deploy/demo.sh — the main job, on one machine: builds xfsync, starts the 镇平县 (411324)
# office node with a fresh key under ./run/demo, registers a sample petition, accepts it,
# and shows the case and the office's statistics.
#   deploy/demo.sh          run the demo, then stop the node
#   deploy/demo.sh --keep   leave the node running for you to try xfctl
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
if [ -f "$run/xfsyncd.pid" ] && kill -0 "$(cat "$run/xfsyncd.pid")" 2>/dev/null; then
    kill "$(cat "$run/xfsyncd.pid")"
    sleep 0.5
fi
rm -rf "$run"
mkdir -p "$run"
"$xfctl" keygen "$run" >/dev/null
cat > "$run/xfsyncd.conf" <<CONF
; 镇平县委组织部 — a county office, the leaf of the tree for this demo
[node]
code = 411324
name = 中共镇平县委组织部
data_dir = $run/data
control_socket = $run/control.sock
key_file = $run/node.key

[deadlines]
accept_days = 15
handle_days = 60
max_extension_days = 30
CONF

"$xfsyncd" -c "$run/xfsyncd.conf" --foreground 2>"$run/xfsyncd.log" &
pid=$!
echo "$pid" > "$run/xfsyncd.pid"
stop () { kill "$pid" 2>/dev/null && wait "$pid" 2>/dev/null || true; }
[ $keep = 1 ] || trap stop EXIT
export XFSYNC_SOCKET=$run/control.sock
for _ in $(seq 200); do "$xfctl" status >/dev/null 2>&1 && break; sleep 0.05; done
"$xfctl" status >/dev/null || { cat "$run/xfsyncd.log"; exit 1; }

echo "== 镇平县 node 411324 is running (pid $pid), store $run/data"
echo
echo "== xfctl case register …   (a letter reporting a village cadre)"
id=$("$xfctl" case register --channel letter --category accusation --subject 2 \
      --summary "反映某村党支部书记违规发展党员问题" \
      --name 李明 --phone 13903770000 --address "镇平县石佛寺镇" \
      --accused-name 王某 --accused-unit "某村党支部" --accused-rank village)
echo "$id"
echo
echo "== xfctl case accept $id --file   (受理 and 立案)"
"$xfctl" case accept "$id" --file >/dev/null
echo
echo "== xfctl case show $id"
"$xfctl" case show "$id"
echo
echo "== xfctl stats"
"$xfctl" stats
if [ $keep = 1 ]; then
    echo
    echo "The node keeps running. Try:  export XFSYNC_SOCKET=$run/control.sock; $xfctl case list"
    echo "Stop it with:                kill $pid"
fi
