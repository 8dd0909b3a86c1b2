#!/usr/bin/env bash
# SIGHUP (systemctl reload) reads the configuration again: a child office added is admitted, a
# child's new key replaces its old one, a county's own new key is taken, and nothing queued or in
# flight is lost — escalations streaming up during three reloads all arrive once, assignments
# queued for a county that is down arrive after the reload. A configuration that does not load,
# or changes what needs a restart, is refused with the reason and the node runs on unchanged.
source "$(dirname "$0")/lib.sh"
HERE=$(cd "$(dirname "$0")" && pwd)
reload () { kill -HUP "$(cat "$T/$1/pid")"; }
log_has () { grep -q -- "$2" "$T/$1/xfsyncd.log"; }
# set_child_key CONF CODE KEY — the public_key line of [child CODE]
set_child_key () {
    python3 - "$1" "$2" "$3" <<'PY'
import re, sys
path, code, key = sys.argv[1:]
text = open(path, encoding="utf-8").read()
head = "[child %s]" % code
a = text.index(head)
b = text.find("\n[", a + 1)
b = len(text) if b < 0 else b
sec = re.sub(r"(?m)^public_key = .*$", "public_key = " + key, text[a:b])
open(path, "w", encoding="utf-8").write(text[:a] + sec + text[b:])
PY
}

node_config city 411300 false
node_config zp 411324 false
node_config xc 411326 false
link_nodes zp city
start_node city
start_node zp
wait_for "county up to the city" 20 link_up zp 411300
pass "南阳 and 镇平 linked"

# --- 1. escalations stream up while the city reloads three times: every one arrives once
py zp register 200 重载 > "$T/ids1"
py zp escalate "$T/ids1" --batch 5 --pause 0.05 > "$T/order1" &
streamer=$!
for i in 1 2 3; do
    sleep 0.4
    reload city
    wait_for "reload $i logged" 10 eval "[ \$(grep -c 'reloaded ' '$T/city/xfsyncd.log') -ge $i ]"
done
wait "$streamer" || fail "escalating during the reloads failed"
wait_for "200 escalations at the city" 60 total_is city 200
wait_for "county outbox drained" 30 link_is zp 411300 queue 0
link_is city 411324 applied 200 || fail "the city applied $(link_field city 411324 applied) envelopes, not 200"
held=$(py city once "$T/ids1" escalate) || fail "an escalation arrived twice at the city"
[ "$held" = 200 ] || fail "the city holds $held of the 200 escalated cases"
log_has city "links rebuilt, queues kept" || fail "no reload line in the city's log"
kill -0 "$(cat "$T/city/pid")" || fail "the city stopped on SIGHUP"
pass "200 escalations streamed through 3 reloads of the city: each arrived once"

# --- 2. assignments queued for a county that is down survive a reload that adds 淅川
py city register 5 交办 > "$T/ids2"
stop_node zp TERM
py city escalate "$T/ids2" --kind assign --to 411324 > /dev/null
wait_for "city sees 镇平 down" 20 link_is city 411324 state down
link_is city 411324 queue 5 || fail "the city queues $(link_field city 411324 queue) for 镇平, not 5"
link_nodes xc city   # adds [child 411326] to the city's config, [parent] to 淅川's
reload city
wait_for "reload with 淅川 logged" 10 log_has city "added 411326"
link_is city 411324 queue 5 || fail "after the reload the city queues $(link_field city 411324 queue) for 镇平, not 5"
start_node xc
wait_for "淅川 admitted without a restart" 20 link_up xc 411300
start_node zp
wait_for "the 5 assignments reach 镇平" 30 total_is zp 205
wait_for "city outbox to 镇平 drained" 30 link_is city 411324 queue 0
pass "5 assignments queued for 镇平 across the reload arrived; 淅川 added and admitted without a restart"

# --- 3. 淅川 changes its key: the city takes the new key on reload, 淅川 its own on reload
mkdir -p "$T/xc/new"
"$XFCTL" keygen "$T/xc/new" >/dev/null
set_child_key "$T/city/xfsyncd.conf" 411326 "$(cat "$T/xc/new/node.pub")"
reload city
wait_for "city reloaded with 淅川's new key" 10 eval "[ \$(grep -c 'reloaded ' '$T/city/xfsyncd.log') -ge 5 ]"
# the old key is no longer admitted
old_key_refused () { ctlj city status | jq -e '.refused.refused_keys > 0' >/dev/null; }
wait_for "淅川's old key refused at the city" 30 old_key_refused
# 淅川 learns it only when its connection closes: its link reads up until then (a clean check
# looked inside that second), then down (the connection closed) or refused (it has read the
# city's refusal): either, not up
old_key_not_up () { case "$(link_field xc 411300 state)" in down|refused) return 0 ;; esac; return 1; }
wait_for "淅川's link down or refused with its old key" 15 old_key_not_up
sed -i "s|^key_file = .*|key_file = $T/xc/new/node.key|" "$T/xc/xfsyncd.conf"
reload xc
wait_for "淅川 reloaded with its new key" 10 log_has xc "node key changed"
wait_for "淅川 up again with the new key" 30 link_up xc 411300
py xc register 1 新钥 > "$T/ids3"
py xc escalate "$T/ids3" > /dev/null
wait_for "淅川's escalation under the new key at the city" 30 total_is city 206
pass "淅川's key replaced on both sides by reloads, no restart"

# --- 4. a configuration that does not load is refused; the node runs on unchanged
cp "$T/city/xfsyncd.conf" "$T/city/good.conf"
printf '\n[links]\nwindow = many\n' >> "$T/city/xfsyncd.conf"
reload city
wait_for "bad reload refused" 10 log_has city "reload refused, the running configuration stays: .*xfsyncd.conf:[0-9]*"
link_up zp 411300 || fail "镇平's link went down after a refused reload"
ctl city status >/dev/null || fail "the city does not answer after a refused reload"
cp "$T/city/good.conf" "$T/city/xfsyncd.conf"
sed -i "s|^data_dir = .*|data_dir = $T/city/other|" "$T/city/xfsyncd.conf"
reload city
wait_for "data_dir change refused" 10 log_has city "data_dir changed in .*needs a restart"
cp "$T/city/good.conf" "$T/city/xfsyncd.conf"
# a child key that is not a key: refused, naming the line
set_child_key "$T/city/xfsyncd.conf" 411324 "not-a-key"
reload city
wait_for "bad child key refused" 10 log_has city "reload refused.*xfsyncd.conf:[0-9]*: public_key must be a CURVE public key"
# a node key file that is gone: refused when the keys are read, the running links kept
cp "$T/city/good.conf" "$T/city/xfsyncd.conf"
sed -i "s|^key_file = .*|key_file = $T/city/gone.key|" "$T/city/xfsyncd.conf"
reload city
wait_for "missing node key refused" 10 log_has city "reload refused.*gone.key"
cp "$T/city/good.conf" "$T/city/xfsyncd.conf"
wait_for "镇平 still linked" 20 link_up zp 411300
py zp register 1 拒后 > "$T/ids4"
py zp escalate "$T/ids4" > /dev/null
wait_for "escalation after the refused reloads" 30 total_is city 207
pass "bad line, data_dir change, a bad child key and a missing node key refused with the reason; the node ran on"

# --- 5. a SIGHUP while the node is still opening (systemctl reload right after the start) is
# taken by the loop once it runs, not a death
node_config solo 411399 false
for wait_s in 0 0.005 0.01 0.02 0.05; do
    rm -rf "$T/solo/data"
    "$XFSYNCD" -c "$T/solo/xfsyncd.conf" --foreground >>"$T/solo/xfsyncd.log" 2>&1 &
    pid=$!
    PIDS+=("$pid")
    # the store is being opened (signals are held from just before that)
    for _ in $(seq 1000); do [ -e "$T/solo/data/lock.mdb" ] && break; sleep 0.002; done
    sleep "$wait_s"
    kill -HUP "$pid"
    echo "$pid" > "$T/solo/pid"
    wait_for "the node answers after an early SIGHUP" 20 ctl solo status
    stop_node solo
done
pass "a SIGHUP during start-up (5 timings) did not kill the node"

for n in xc zp city; do stop_node $n; done
pass "reload"
