#!/usr/bin/env bash
# The main job (deploy/demo.sh --stop) on the test build: four offices enrolled in certificates
# and one petition's whole story — registered, escalated through the city, assigned back (an
# accusation, checked against the county's name), urged automatically, reported, sent back,
# reported again, closed — then the consolidated figures, 对账, the audit log verified, a backup
# and a reload. The story waits for what each step needs; once it assigned before the province
# had the county's name from the city's hello, and the demo failed where nothing ran it.
source "$(dirname "$0")/lib.sh"
command -v jq >/dev/null || { echo "SKIP: the demo needs jq (apt-get install jq)"; exit 77; }

out=$T/demo.out
XF_DEMO_RUN=$T/demo bash "$(dirname "$0")/../../deploy/demo.sh" --stop >"$out" 2>&1 \
    || { tail -n 30 "$out" >&2; fail "deploy/demo.sh --stop failed (its output above)"; }
pass "the story ran to its end"

grep -q '"type":"urge".*"automatic":true' "$out" || fail "no automatic urge in the story"
grep -Eq '^cases +total 1, .*closed 1, overdue 0' "$out" || fail "the county does not show the case closed"
grep -Eq '^holds +yes' "$out" || fail "the province's audit log does not verify"
grep -Eq '^411324,live,1,1,0' "$out" || fail "the consolidated figures lack the county's case"
grep -q "agreed" "$out" || fail "对账 did not agree"
grep -q "^backup of office 411324: .*1 cases" "$out" || fail "no backup of the county"
grep -q "^reloaded .*links rebuilt, queues kept" "$out" || fail "the city did not reload"
pass "urged, closed, figures consolidated, reconciled, audit verified, backed up, reloaded"

for pidfile in "$T"/demo/*/xfsyncd.pid; do
    if kill -0 "$(cat "$pidfile")" 2>/dev/null; then
        kill -KILL "$(cat "$pidfile")" 2>/dev/null || true
        fail "the demo left $(dirname "$pidfile") running"
    fi
done
pass "every node the demo started is stopped"
