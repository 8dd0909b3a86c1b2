#!/usr/bin/env bash
# A program that holds every reader slot of a node's store (xf_it_readers, as a stuck
# mdb_dump would): while it runs, a command that must read a case is refused saying why and
# what to do — never answered as if no recusal (回避) stood in the way — and a write still
# commits; once it is killed, the node clears the slots it left and answers again, counts
# them (xfsync_store_stale_readers_cleared_total) and says so in its log.
source "$(dirname "$0")/lib.sh"
: "${XF_IT_READERS:?set XF_IT_READERS to the xf_it_readers binary}"

node_config zp 411324 true
start_node zp
ctl zp clock set 2026-11-02T09:00:00 >/dev/null
id1=$(ctl zp case register --channel letter --category appeal --summary "要求落实退休待遇")
ctl zp case show "$id1" >/dev/null || fail "case show before the slots are taken"

"$XF_IT_READERS" "$T/zp/data" > "$T/held" 2>"$T/held.err" &
holder=$!
PIDS+=("$holder")
wait_for "the holder to take every slot" 10 test -s "$T/held"
held=$(cat "$T/held")
[ "$held" -gt 0 ] || fail "xf_it_readers holds no slot: $(cat "$T/held.err")"
pass "another process holds all $held reader slots"

expect_exit 1 ctl zp case show "$id1"
grep -q "cannot be read" <<<"$ERR" && grep -q "refused to be safe" <<<"$ERR" \
    || fail "case show was not refused for want of the recusals: $ERR"
grep -q "every reader slot is held by a running process" <<<"$ERR" && grep -q "mdb_stat -r" <<<"$ERR" \
    || fail "the refusal does not say who holds the slots, nor what to do: $ERR"
grep -q "recusals unreadable" "$T/zp/xfsyncd.log" || fail "the refusal is not in the node's log"
id2=$(ctl zp case register --channel visit --category inquiry --summary "咨询党员组织关系转接") \
    || fail "a write was refused while only the reader slots are taken"
pass "a read refused saying why and what to do; a write committed ($id2)"

kill -KILL "$holder"
wait "$holder" 2>/dev/null || true
ctlj zp case show "$id1" | jq -e --arg id "$id1" '.id == $id' >/dev/null \
    || fail "case show after the holder was killed"
ctlj zp case show "$id2" | jq -e '.status == "registered"' >/dev/null \
    || fail "the case registered while the slots were taken is not there"
ctl zp metrics | grep -qx "xfsync_store_stale_readers_cleared_total $held" \
    || fail "the metric does not count $held cleared slots: $(ctl zp metrics | grep stale)"
wait_for "the log line" 10 grep -q "cleared $held reader slot(s)" "$T/zp/xfsyncd.log"
pass "the killed holder's $held slots cleared at the next read, counted and logged"

stop_node zp
