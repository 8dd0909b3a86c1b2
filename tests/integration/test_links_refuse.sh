#!/usr/bin/env bash
# What a parent's ROUTER refuses. A county whose key the city does not list gets nothing
# through, the city's log names the refused key, the county's log says what to configure, and
# it keeps trying (backing off) so that it gets through once the city lists its key. Raw TCP garbage and broken ZMTP greetings
# do not hurt the city. A child that is admitted (its key is configured) but sends malformed
# or lying frames has each of them rejected and counted on its link. Meanwhile the real
# county's escalations keep arriving.
source "$(dirname "$0")/lib.sh"
HERE=$(cd "$(dirname "$0")" && pwd)
city_alive () { kill -0 "$(cat "$T/city/pid")" 2>/dev/null || fail "the city died"; }

node_config city 411300 false
node_config zp 411324 false          # the real county
node_config rogue 411326 false       # thinks the city is its parent; the city does not know its key
link_nodes zp city
port=$(cat "$T/city/port")
cat >> "$T/rogue/xfsyncd.conf" <<CONF

[parent]
code = 411300
endpoint = tcp://127.0.0.1:$port
public_key = $(cat "$T/city/node.pub")
CONF
# a configured child with no daemon: its key is used below by a misbehaving client
mkdir -p "$T/bad" && "$XFCTL" keygen "$T/bad" >/dev/null
cat >> "$T/city/xfsyncd.conf" <<CONF

[child 411327]
name = 测试办公室 411327
public_key = $(cat "$T/bad/node.pub")
CONF

start_node city
start_node zp
start_node rogue
wait_for "county link up" 20 link_up zp 411300
zp_ups=$(link_field city 411324 ups)

# --- 1. the unknown key gets nothing through
rid=$(ctl rogue case register --channel letter --category appeal --summary "未获准的下级")
ctl rogue case escalate "$rid" --note "上报" >/dev/null
rogue_key=$(cat "$T/rogue/node.pub")
refused_logged () { grep -qF "CURVE key $rogue_key is not the key of any configured" "$T/city/xfsyncd.log"; }
wait_for "the city's log naming the refused key" 20 refused_logged
sleep 3   # a few more reconnection attempts: none may get through
ctlj rogue status | jq -e '.links[0] | .peer == "411300" and .state != "up" and .queue == 1 and .ups == 0 and .frames_in == 0' \
    >/dev/null || fail "the refused county's link: $(ctlj rogue status | jq -c '.links[0]')"
ctlj city status | jq -e '[.links[].peer] | index("411326") | not' >/dev/null || fail "the city shows a link to 411326"
expect_exit 1 ctl city case show "$rid"
ctlj city case list --limit 1000 | jq -e '[.cases[] | select(.origin == "411326")] | length == 0' >/dev/null \
    || fail "a case from the refused county reached the city"
ctlj rogue case show "$rid" | jq -e '.owner == "411300"' >/dev/null || fail "rogue's replica lost its escalation"
attempts=$(grep -cF "CURVE key $rogue_key" "$T/city/xfsyncd.log")
[ "$attempts" -ge 2 ] || fail "the refused county tried once and gave up (libzmq drops an endpoint whose handshake failed)"
[ "$attempts" -le 8 ] || fail "the refused county hammers its parent: $attempts attempts in a few seconds"
grep -qF "refused this node (status 400): its configuration must list this node's public key $rogue_key under [child 411326]" \
    "$T/rogue/xfsyncd.log" || fail "the refused county's log does not say why its link stays down"
pass "a county with an unlisted key: refused $attempts time(s), logged on both sides with its key, nothing through"

# the real county works meanwhile
py zp register 50 正常 > "$T/ids1"
py zp escalate "$T/ids1" --batch 10 > /dev/null
wait_for "50 escalations at the city" 20 total_is city 50

# --- 2. raw TCP garbage and broken ZMTP greetings at the ROUTER port
python3 - "$port" <<'PY' || fail "the garbage client failed (the city refusing connections: did it die?)"
import os, socket, struct, sys, time
port = int(sys.argv[1])

def conn():
    s = socket.create_connection(("127.0.0.1", port), timeout=2)
    s.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, struct.pack("ii", 1, 0))   # RST on close
    return s

def drain(s, secs=0.2):
    s.settimeout(secs)
    try:
        while s.recv(4096):
            pass
    except OSError:
        pass

def greeting(major=3, minor=0, mech=b"CURVE", server=0):
    return (b"\xff" + b"\0" * 8 + b"\x7f" + bytes([major, minor]) + mech.ljust(20, b"\0")
            + bytes([server]) + b"\0" * 31)

cases = {
    "random bytes": os.urandom(4096),
    "half a signature": b"\xff\0\0\0\0",
    "a signature only": b"\xff" + b"\0" * 8 + b"\x7f",
    "a greeting cut short": greeting()[:40],
    "a NULL-mechanism greeting": greeting(mech=b"NULL"),
    "a PLAIN greeting": greeting(mech=b"PLAIN"),
    "an unknown mechanism": greeting(mech=b"XYZZY"),
    "a ZMTP 1.0 greeting": b"\x01\x00",
    "a ZMTP 2.0 greeting": b"\xff" + b"\0" * 8 + b"\x7f\x01\x05",
    "a 3.1 greeting claiming to be a server": greeting(minor=1, server=1),
    "CURVE greeting then a garbage HELLO": greeting() + b"\x04\xc8\x05HELLO" + os.urandom(194),
    "CURVE greeting then a frame of 2^62 bytes": greeting() + b"\x06" + struct.pack(">Q", 1 << 62) + b"x" * 100,
    "CURVE greeting then a frame of 1 GiB": greeting() + b"\x06" + struct.pack(">Q", 1 << 30) + b"x" * 100,
    "CURVE greeting then a message frame of 2^40": greeting() + b"\x02" + struct.pack(">Q", 1 << 40),
    "CURVE greeting then a short command": greeting() + b"\x04\x01\x05",
    "CURVE greeting then random bytes": greeting() + os.urandom(2048),
}
for name, data in cases.items():
    s = conn()
    try:
        s.sendall(data)
    except OSError:
        pass   # the city may close on us half-way: that is a refusal too
    drain(s)
    s.close()
# the same after reading the city's greeting first, and a crowd of idle connections
for name, data in cases.items():
    s = conn()
    drain(s, 0.05)
    try:
        s.sendall(data)
    except OSError:
        pass
    s.close()
crowd = [conn() for _ in range(64)]
time.sleep(0.3)
for s in crowd:
    s.close()
PY
city_alive
ctl city status >/dev/null || fail "status does not answer after the garbage"
pass "raw garbage and broken greetings on the ROUTER port: the city keeps running"

# --- 3. an admitted child (configured key) sending malformed and lying frames
out=$("$XF_IT_PEER" "tcp://127.0.0.1:$port" "$T/city/node.pub" "$T/bad/node.key" 411327 411324) \
    || fail "xf_it_peer failed: $out"
want=$(sed -n 's/^expect_rejected //p' <<<"$out")
[ -n "$want" ] || fail "xf_it_peer did not say what to expect: $out"
rejected_is () { link_is city 411327 rejected "$1"; }
wait_for "$want rejected frames counted on the link to 411327" 15 rejected_is "$want"
sleep 0.5
link_is city 411327 rejected "$want" || fail "rejected is $(link_field city 411327 rejected), not $want"
city_alive
ctlj city case list --limit 1000 | jq -e '[.cases[] | select(.origin != "411324")] | length == 0' >/dev/null \
    || fail "a case from somewhere other than 411324 appeared at the city"
grep -q "claims origin 411324" "$T/city/xfsyncd.log" || fail "the spoofed origin is not in the city's log"
pass "an admitted child's $want malformed or lying frames: each rejected and counted on its link"

# --- the real county still works, its link untouched by all of this
py zp register 50 之后 > "$T/ids2"
py zp escalate "$T/ids2" --batch 10 > /dev/null
wait_for "100 escalations at the city" 20 total_is city 100
wait_for "county outbox drained" 20 link_is zp 411300 queue 0
link_is city 411324 rejected 0 || fail "the real county's link counted $(link_field city 411324 rejected) rejections"
link_is city 411324 applied 100 || fail "the city applied $(link_field city 411324 applied) from the county, not 100"
link_is city 411324 ups "$zp_ups" || fail "the real county's link went down and up during the abuse"
ctlj rogue status | jq -e '.links[0].queue == 1 and .links[0].ups == 0' >/dev/null || fail "the refused county got through in the end"
pass "the real county's escalations still arrive; status works"

# --- 4. the city lists the refused county's key and restarts: the county gets through by
# itself (no restart of the county), its queued escalation arrives
stop_node city TERM
cat >> "$T/city/xfsyncd.conf" <<CONF

[child 411326]
name = 测试办公室 411326
public_key = $rogue_key
CONF
start_node city
wait_for "the formerly refused county linked" 45 link_up rogue 411300
wait_for "its escalation at the city" 20 total_is city 101
ctlj city case show "$rid" | jq -e '.owner == "411300"' >/dev/null || fail "$rid did not arrive at the city"
wait_for "its outbox drained" 20 link_is rogue 411300 queue 0
pass "once its key is configured, the refused county connects again by itself and its backlog arrives"

stop_node rogue TERM
stop_node zp TERM
stop_node city TERM
pass "clean stops"
