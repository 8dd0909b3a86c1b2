#!/usr/bin/env bash
# deploy/demo.sh — the main job, on one machine: builds xfsync and starts a small tree of
# offices under ./run/demo — 河南省 (410000) → 南阳市 (411300) → 镇平县 (411324) and 淅川县
# (411326) — each with its own key, store and CURVE link on 127.0.0.1, enrolled in a tree of
# certificates the province anchors (every message signed by the office that wrote it, the
# petitioner's identity sealed), and tells the whole story of one petition: registered at
# 镇平县, escalated (上报) to the province through the city, assigned back (交办), urged
# automatically once the province's clock nears the deadline (催办), reported (结案报告), sent
# back (退回重办), reported again and closed; then the audit log is verified.
#   deploy/demo.sh          run the story and leave the nodes running to explore
#   deploy/demo.sh --stop   run the story, then stop the nodes
# With XFSYNCD and XFCTL set, the story runs on those binaries, without the bootstrap and the
# build, and with XF_DEMO_RUN set, in that directory (emptied first) instead of ./run/demo:
# tests/integration/test_demo.sh runs it so on the test build.
set -euo pipefail
root=$(cd "$(dirname "$0")/.." && pwd)
keep=1
[ "${1:-}" = "--stop" ] && keep=0

if [ -n "${XFSYNCD:-}" ] && [ -n "${XFCTL:-}" ]; then
    xfsyncd=$XFSYNCD
    xfctl=$XFCTL
else
    "$root/deploy/bootstrap.sh"
    build=$root/build
    cmake -S "$root" -B "$build" -DCMAKE_BUILD_TYPE=Release -DXF_TESTS=OFF >/dev/null
    cmake --build "$build" -j"$(nproc)" >/dev/null
    xfsyncd=$build/xfsyncd
    xfctl=$build/xfctl
fi

run=${XF_DEMO_RUN:-$root/run/demo}
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
    if [ ! -f "$run/identity.key" ]; then   # one per tree: petitioners are compared by it
        (umask 077; od -An -tx1 -N32 /dev/urandom | tr -d ' \n' > "$run/identity.key")
    fi
    cat > "$run/$1/xfsyncd.conf" <<CONF
; $3 ($2)
[node]
code = $2
name = $3
data_dir = $run/$1/data
control_socket = $run/$1/control.sock
key_file = $run/$1/node.key
identity_key_file = $run/identity.key

[debug]
clock_control = true          ; the demo moves the province's clock to show automatic urging

[trust]                       ; the keys of the parent and the children come from certificates
anchor = $run/province/node.crt
certificate = $run/$1/node.crt
signing_key = $run/$1/sign.key
CONF
    if [ "$2" = 410000 ]; then   # the anchor: the province certifies itself
        "$xfctl" cert root "$run/$1" --code "$2" --name "$3" >/dev/null
    else                         # a request its parent's daemon signs once it runs
        "$xfctl" cert request "$run/$1" --code "$2" --name "$3" >/dev/null
    fi
}

# link CHILD_DIR CHILD_CODE PARENT_DIR PARENT_CODE PORT
link () {
    grep -q '^listen' "$run/$3/xfsyncd.conf" \
        || sed -i "/^\[node\]/a listen = tcp://127.0.0.1:$5" "$run/$3/xfsyncd.conf"
    printf '\n[parent]\ncode = %s\nendpoint = tcp://127.0.0.1:%s\n' "$4" "$5" >> "$run/$1/xfsyncd.conf"
    printf '\n[child %s]\n' "$2" >> "$run/$3/xfsyncd.conf"
}

office province 410000 中共河南省委组织部
office city 411300 中共南阳市委组织部
office county 411324 中共镇平县委组织部
office xichuan 411326 中共淅川县委组织部
link city 411300 province 410000 "$(free_port)"
port=$(free_port)
link county 411324 city 411300 "$port"
link xichuan 411326 city 411300 "$port"

pids=()
stop () { for p in "${pids[@]}"; do kill "$p" 2>/dev/null || true; done; wait 2>/dev/null || true; }
[ $keep = 1 ] || trap stop EXIT
ctl () { local o=$1; shift; "$xfctl" -s "$run/$o/control.sock" "$@"; }
start () {
    "$xfsyncd" -c "$run/$1/xfsyncd.conf" --foreground 2>"$run/$1/xfsyncd.log" &
    pids+=($!)
    echo $! > "$run/$1/xfsyncd.pid"
    for _ in $(seq 200); do ctl "$1" status >/dev/null 2>&1 && return 0; sleep 0.05; done
    echo "demo: $1 did not start; see $run/$1/xfsyncd.log" >&2
    exit 1
}
# issue PARENT CHILD — the parent's daemon certifies the child's request (cert issue)
issue () { ctl "$1" cert issue "$run/$2/node.csr" --out "$run/$2/node.crt" >/dev/null; }
start province
issue province city
start city
issue city county
issue city xichuan
start county
start xichuan
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
up xichuan 411300
up city 410000
# named OFFICE CODE — until OFFICE's topology names office CODE: the offices below the city,
# with the names an accusation's 交办 is checked against, reach the province in the city's
# next hello (on its 500 ms tick), after the links are up
named () {
    for _ in $(seq 200); do
        ctl "$1" --json topology 2>/dev/null | jq -e --arg c "$2" \
            '[.. | objects | select(.code? == $c and (.name // "") != "")] | length > 0' \
            >/dev/null 2>&1 && return 0
        sleep 0.05
    done
    echo "demo: $1 never learned the name of office $2; logs are in $run/*/xfsyncd.log" >&2
    exit 1
}
named province 411324
named province 411326
# wait_until OFFICE ID JQ — until `case show` at OFFICE satisfies the jq test
wait_until () {
    for _ in $(seq 200); do
        ctl "$1" --json case show "$2" 2>/dev/null | jq -e "$3" >/dev/null 2>&1 && return 0
        sleep 0.05
    done
    echo "demo: $1 never saw $2 become $3; logs are in $run/*/xfsyncd.log" >&2
    exit 1
}
step () { echo; echo "== $*"; }
items=investigation,instruction,letter,original,evidence,petitioner_opinion,review_opinion
echo "== four offices running under $run: 410000 ← 411300 ← 411324, 411326, linked with CURVE,"
echo "   each admitted by the certificate its parent issued (xfctl cert root / request / issue)"
ctl county cert show | grep -E "^(code|issuer|anchor|profile|not_after) "

step "镇平县: xfctl case register …   (a letter reporting a village cadre)"
id=$(ctl county case register --channel letter --category accusation --subject 2 \
      --summary "反映某村党支部书记违规发展党员问题" \
      --name 李明 --phone 13903770000 --address "镇平县石佛寺镇" \
      --accused-name 王某 --accused-unit "某村党支部" --accused-rank village)
echo "$id"

step "镇平县: xfctl case escalate $id --to 410000 --note …   (上报 to the province, through 南阳市)"
ctl county case escalate "$id" --to 410000 --note "涉及多个乡镇，报请省委组织部督办" >/dev/null
wait_until province "$id" '.owner == "410000"'
ctl province case show "$id" | head -4
ctl province --json case show "$id" | jq -c '{identity, sealed_for, petitioner}'
echo "(signed by 镇平县, verified at the province; the identity sealed to 镇平县 and the handler)"

step "河南省: xfctl case accept $id, then case assign $id --to 411324   (交办: the result is owed back)"
ctl province case accept "$id" >/dev/null
ctl province case assign "$id" --to 411324 --note "请认真核查，按期报送结果" >/dev/null
wait_until county "$id" '.owner == "411324" and .supervisor == "410000"'
ctl county case show "$id" | grep -E "owner|supervisor|status"
wait_until province "$id" '.identity == "sealed"'
echo "河南省 now supervises: $(ctl province --json case show "$id" | jq -c '{identity, sealed_for}')"
if grep -a -q -F -e 李明 -e 13903770000 "$run"/*/data/data.mdb; then
    echo "demo: the petitioner's identity is readable in a data file" >&2
    exit 1
fi
echo "no data file of any office holds 李明 or his phone in clear"

step "镇平县: xfctl case accept $id --file   (受理 and 立案; 60 days to handle it)"
ctl county case accept "$id" --file >/dev/null
wait_until province "$id" '.status == "in_progress"'
due=$(ctl county --json case show "$id" | jq -r .handle_due)
echo "handling deadline: $due"

step "河南省: xfctl clock set $(date -d "$due - 7 days" +%F)T09:00:00   (a week before the deadline)"
ctl province clock set "$(date -d "$due - 7 days" +%F)T09:00:00" >/dev/null
wait_until county "$id" '.urges == 1'
ctl county --json case history "$id" | jq -c '.events[] | select(.type == "urge")'
ctl province clock set "$(TZ=Asia/Shanghai date +%FT%T)" >/dev/null   # back to today

step "镇平县: xfctl case report $id --result … --items investigation,letter   (missing items: refused)"
ctl county case report "$id" --result "经核查，反映问题部分属实" --items investigation,letter || true

step "镇平县: xfctl case report $id --result … --items <all seven>   (结案报告)"
ctl county case report "$id" --result "经核查，反映问题部分属实，已责令整改" --items "$items" >/dev/null
wait_until province "$id" '.status == "reported"'
echo "the province now reviews the report"

step "河南省: xfctl case send-back $id --reason …   (退回重办)"
ctl province case send-back "$id" --reason "缺少对信访人的答复意见，请补充" >/dev/null
wait_until county "$id" '.status == "in_progress" and .round == 2'
echo "back at 镇平县, round 2"

step "镇平县: xfctl case report $id …   (reported again)"
ctl county case report "$id" --result "已补充信访人意见，整改完成" --items "$items" >/dev/null
wait_until province "$id" '.status == "reported"'

step "河南省: xfctl case close $id --reply …   (办结, 答复)"
ctl province case close "$id" --reply "经查部分属实，已责令整改并书面答复信访人" >/dev/null
wait_until county "$id" '.status == "closed"'

step "镇平县: xfctl case history $id   (the same history at every office that held it)"
ctl county case history "$id"

step "河南省: xfctl stats --consolidated --period $(date +%Y)   (汇总: every office below answers)"
ctl province stats --consolidated --period "$(date +%Y)" --format csv | cut -d, -f1,3,6-8
ctl province stats --consolidated --period "$(date +%Y)" --format html --out "$run/report.html"
echo "(the same as one page with charts: $run/report.html)"

step "镇平县: xfctl reconcile   (对账: compare the shared cases with 南阳市 and 河南省 now)"
# An office compares only while nothing of its own is still on the way to the other (the
# province's close may not be acknowledged yet), so ask again until both have compared.
agreed () {
    ctl county --json status | jq -e '[.reconcile.offices[] | .agreed] | all and length > 0' \
        >/dev/null 2>&1
}
for round in $(seq 20); do
    if [ "$round" = 1 ]; then ctl county reconcile; else ctl county reconcile >/dev/null; fi
    for _ in $(seq 20); do agreed && break 2; sleep 0.05; done
done

step "河南省: xfctl audit verify; xfctl audit show --case $id --limit 6   (the hash-chained log)"
ctl province audit verify
ctl province audit show --case "$id" --limit 6

step "南阳市: xfctl topology   (the tree as the city sees it, from the links' announcements)"
ctl city topology

step "镇平县: xfctl metrics   (Prometheus text format; [metrics] listen serves it over HTTP)"
ctl county metrics | grep -E '^xfsync_(link_up|link_queue_envelopes|cases|cases_overdue)[{ ]|^xfsync_store_commit_duration_seconds_count' | head -12

step "镇平县: xfctl backup $run/zhenping.backup   (a consistent copy while the node works)"
ctl county backup "$run/zhenping.backup"
echo "(restore it on a new machine with: xfsyncd -c xfsyncd.conf --restore zhenping.backup)"

step "南阳市: kill -HUP   (systemctl reload: the configuration read again, the links rebuilt, queues kept)"
kill -HUP "$(cat "$run/city/xfsyncd.pid")"
for _ in $(seq 50); do grep -q "reloaded " "$run/city/xfsyncd.log" 2>/dev/null && break; sleep 0.1; done
grep -a "reloaded " "$run/city/xfsyncd.log" | tail -1 | sed 's/^.*info: //'

step "镇平县: xfctl status"
ctl county status
if [ $keep = 1 ]; then
    echo
    echo "The nodes keep running. Try, for example:"
    echo "  $xfctl -s $run/province/control.sock case list"
    echo "  $xfctl -s $run/xichuan/control.sock status"
    echo "  $xfctl -s $run/county/control.sock case transfer ID --to 411326 --note …"
    echo "Stop them with:  kill ${pids[*]}"
fi
