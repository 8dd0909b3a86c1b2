#!/usr/bin/env bash
# Crash: in a province → city → county tree, XF_KILLS (default 50) times a node picked at
# random is SIGKILLed at a random moment and restarted, while cases flow both ways — 1,000
# escalations up from the county, 500 assignments down from the province, sent by clients that
# reconnect to a restarted node. Afterwards, with every queue drained:
#   - every operation acknowledged to its client (the answer came before any kill) has its
#     effect at its destination, and an unacknowledged one (the connection broke first) has it
#     at most once: the destination holds exactly the acknowledged cases plus some of those;
#   - each case there has exactly one escalate (or assign) event in its history;
#   - the stores agree: the county's replicas point at the province, the province's assigned
#     cases are at the county;
#   - urges sent from the province (150 cases, while they travel) are each recorded by the
#     owner once when acknowledged, at most once when not; consolidated statistics pulled all
#     along end complete, counting the 1,500 cases.
source "$(dirname "$0")/lib.sh"
HERE=$(cd "$(dirname "$0")" && pwd)
kills=${XF_KILLS:-50}

chain_config
chain_start
py zp register 1000 镇平 > "$T/up.ids"
py prov register 500 河南 > "$T/down.ids"

py zp stream "$T/up.ids" --kind escalate --to 410000 --batch 5 --pause 0.15 > "$T/up.out" 2> "$T/up.err" &
up=$!
py prov stream "$T/down.ids" --kind assign --to 411324 --batch 5 --pause 0.3 > "$T/down.out" 2> "$T/down.err" &
down=$!
head -150 "$T/down.ids" > "$T/urge.ids"   # urged once assigned (a case not yet assigned is refused)
( sleep 10; py prov stream "$T/urge.ids" --kind urge --batch 5 --pause 0.2 ) > "$T/urge.out" 2> "$T/urge.err" &
urge=$!
( while sleep 1; do ctl prov stats --consolidated --format json >/dev/null 2>&1 || true; done ) &
pulls=$!
PIDS+=("$up" "$down" "$urge" "$pulls")   # stopped by the cleanup if the test fails
RANDOM=${XF_SEED:-$$}
echo "seed $RANDOM" > "$T/seed"
nodes=(prov city zp)
declare -A killed=([prov]=0 [city]=0 [zp]=0)
for ((i = 0; i < kills; i++)); do
    n=${nodes[RANDOM % 3]}
    sleep "0.$((RANDOM % 5))"
    stop_node "$n" KILL
    killed[$n]=$((killed[$n] + 1))
    start_node "$n"
done
pass "$kills kills: province ${killed[prov]}, city ${killed[city]}, 镇平 ${killed[zp]}"

wait "$up" || fail "the escalation client: $(cat "$T/up.err")"
wait "$down" || fail "the assignment client: $(cat "$T/down.err")"
wait "$urge" || fail "the urging client: $(cat "$T/urge.err")"
kill "$pulls"; wait "$pulls" 2>/dev/null || true
for f in up down; do
    sed -n 's/^acked //p' "$T/$f.out" | sort > "$T/$f.acked"
    sed -n 's/^unknown //p' "$T/$f.out" | sort > "$T/$f.unknown"
done
wait_for "the links up" 60 eval 'link_up city 410000 && link_up zp 411300'
for l in "zp 411300" "city 410000" "city 411324" "prov 411300"; do
    set -- $l
    wait_for "$1's queue to $2 drained" 120 link_is "$1" "$2" queue 0
done
sleep 1

# at the destination: all the acknowledged, some of the unknown, nothing else, nothing twice
check () {   # NODE OWNER WHAT ORIGIN: the cases registered at ORIGIN that NODE owns
    ctlj "$1" case list --owner "$2" --limit 100000 | jq -r '.cases[].id' | grep "^$4-" | sort > "$T/$3.there"
    [ -z "$(uniq -d "$T/$3.there")" ] || fail "$3: a case listed twice at $1"
    local missing extra
    missing=$(comm -23 "$T/$3.acked" "$T/$3.there" | head -3)
    [ -z "$missing" ] || fail "$3: acknowledged but not at $1: $missing"
    extra=$(comm -23 "$T/$3.there" <(sort "$T/$3.acked" "$T/$3.unknown") | head -3)
    [ -z "$extra" ] || fail "$3: at $1 but never sent: $extra"
}
check prov 410000 up 411324
check zp 411324 down 410000
held=$(py prov once "$T/up.there" escalate) || fail "a case escalated twice at the province"
py zp once "$T/down.there" assign >/dev/null || fail "a case assigned twice at 镇平"
pass "$(wc -l < "$T/up.acked") + $(wc -l < "$T/down.acked") acknowledged, $(cat "$T/up.unknown" "$T/down.unknown" | wc -l) unknown: every acknowledged one done once, nothing twice"

[ "$(ctlj zp case list --owner 410000 --limit 100000 | jq '.cases | length')" = "$(wc -l < "$T/up.there")" ] \
    || fail "镇平's replicas do not all point at the province"

# urges: each acknowledged one recorded once by the owner, an unknown one at most once
py zp count "$T/urge.ids" urge > "$T/urge.counts" || fail "counting the urges at 镇平"
read -r urged unsure < <(python3 - "$T/urge.out" "$T/urge.counts" <<'PY' || echo FAIL

import collections, sys
acked, unknown = collections.Counter(), collections.Counter()
for line in open(sys.argv[1]):
    kind, cid = line.split()
    (acked if kind == "acked" else unknown if kind == "unknown" else collections.Counter())[cid] += 1
for line in open(sys.argv[2]):
    cid, n = line.split()
    if not acked[cid] <= int(n) <= acked[cid] + unknown[cid]:
        sys.exit(f"case {cid}: {n} urge(s) recorded, {acked[cid]} acknowledged, {unknown[cid]} unknown")
print(sum(acked.values()), sum(unknown.values()))
PY
)
[ "$urged" != FAIL ] && [ "$urged" -gt 0 ] || fail "urges: none acknowledged, or one recorded twice (see $T/urge.out)"
# the consolidated statistics the province pulled during the kills, now complete
year=$(date +%Y)
ctlj prov stats --consolidated --period "$year" > "$T/stats.json"
jq -e '.partial != true and .totals.received == 1500' "$T/stats.json" >/dev/null \
    || fail "the consolidated statistics: $(jq -c '{partial, received: .totals.received, missing}' "$T/stats.json")"
pass "$urged acknowledged urges ($unsure unknown) each recorded once; the statistics pulled during the kills end complete (1,500 received)"
for n in zp city prov; do stop_node $n; done
pass "the replicas agree; clean stops"
