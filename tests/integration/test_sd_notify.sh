#!/usr/bin/env bash
# The sd_notify contract, with a fake systemd (notify_listener.py on NOTIFY_SOCKET):
#   - READY=1 comes once, and only when the node is ready: the listener asks the control socket
#     for the status the moment it arrives, and gets it;
#   - WATCHDOG=1 comes at least every WatchdogSec/2 (WATCHDOG_USEC = 1 s here);
#   - STATUS= names the links and their states;
#   - STOPPING=1 comes on SIGTERM.
source "$(dirname "$0")/lib.sh"
HERE=$(cd "$(dirname "$0")" && pwd)

node_config city 411300 false
node_config zp 411324 false
link_nodes zp city
python3 "$HERE/notify_listener.py" "$T/notify.sock" "$T/zp/control.sock" "$T/notify.jsonl" &
PIDS+=($!)
listener=$!
wait_for "the fake systemd" 10 grep -q listening "$T/notify.jsonl"
start_node city
NOTIFY_SOCKET=$T/notify.sock WATCHDOG_USEC=1000000 start_node zp
wait_for "the link up" 20 link_up zp 411300
sleep 3
stop_node zp
sleep 0.3
kill "$listener"

python3 - "$T/notify.jsonl" <<'PY' || fail "the sd_notify contract (messages in $T/notify.jsonl)"
import json, sys
recs = [json.loads(l) for l in open(sys.argv[1]) if '"msg"' in l]
def has(r, line): return line in r["msg"].split("\n")
ready = [r for r in recs if has(r, "READY=1")]
assert len(ready) == 1, f"READY=1 came {len(ready)} times"
assert ready[0].get("control_answered"), f"READY=1 came before the control socket answered: {ready[0]}"
dogs = [r["t"] for r in recs if has(r, "WATCHDOG=1")]
assert len(dogs) >= 6, f"only {len(dogs)} WATCHDOG=1 in about 4 s"
gaps = [b - a for a, b in zip(dogs, dogs[1:])]
assert max(gaps) <= 0.5 + 0.15, f"a watchdog gap of {max(gaps):.3f} s (WatchdogSec/2 = 0.5 s)"
status = [r["msg"] for r in recs if "STATUS=" in r["msg"]]
assert any("411300 up" in m for m in status), f"no STATUS= with the link up: {status[-3:]}"
assert any(has(r, "STOPPING=1") for r in recs), "no STOPPING=1 on SIGTERM"
assert dogs[0] >= ready[0]["t"] - 0.01, "a watchdog ping before READY"
print(f"READY once, {len(dogs)} watchdog pings, largest gap {max(gaps):.3f} s")
PY
pass "READY=1 only once the control socket answers; WATCHDOG=1 every ≤ 0.5 s; STATUS with the links; STOPPING=1"
stop_node city
