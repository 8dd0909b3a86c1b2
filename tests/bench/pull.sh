#!/usr/bin/env bash
# tests/bench/pull.sh — a consolidated statistics pull over the test tree (1 province, 2 cities,
# 4 counties, real xfsyncd processes on loopback), N cases registered at each county, timed at
# the province against a 查询码 lookup over the same links (the raw round trip). Prints one
# JSON object on stdout.
#   Usage: tests/bench/pull.sh [--cases N] [--rounds R] [--build-dir DIR]   (defaults 20000, 30)
set -euo pipefail
root=$(cd "$(dirname "$0")/../.." && pwd)
build=$root/build-bench cases=20000 rounds=30
while [ $# -gt 0 ]; do
    case $1 in
        --cases) cases=$2; shift ;;
        --rounds) rounds=$2; shift ;;
        --build-dir) build=$2; shift ;;
        *) echo "pull.sh: unknown argument $1" >&2; exit 2 ;;
    esac
    shift
done
export XFSYNCD=$build/xfsyncd XFCTL=$build/xfctl XF_TEST_TMP=/tmp
source "$root/tests/integration/lib.sh" >&2

nodes=(prov:410000 nanyang:411300 zp:411324 xc:411326 luohe:411100 yh:411102 wy:411121)
for n in "${nodes[@]}"; do node_config "${n%%:*}" "${n##*:}" false; done
link_nodes nanyang prov; link_nodes luohe prov
link_nodes zp nanyang; link_nodes xc nanyang; link_nodes yh luohe; link_nodes wy luohe
for n in "${nodes[@]}"; do start_node "${n%%:*}"; done
for pair in zp:411300 xc:411300 yh:411100 wy:411100 nanyang:410000 luohe:410000; do
    wait_for "${pair%%:*} up" 30 link_up "${pair%%:*}" "${pair##*:}"
done
for n in zp xc yh wy; do
    python3 "$root/tests/integration/ctlpy.py" "$T/$n/control.sock" register "$cases" bench >/dev/null
done
sleep 1
period=$(ctlj prov clock show | jq -r '.now[0:4]')
python3 "$root/tests/bench/pull.py" "$T/prov/control.sock" "$T/zp/control.sock" "$period" "$rounds" \
    | jq -c --argjson n "$cases" '{bench: "pull", cases_per_county: $n} + .'
for n in "${nodes[@]}"; do stop_node "${n%%:*}" >&2; done
