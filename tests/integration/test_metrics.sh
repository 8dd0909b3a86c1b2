#!/usr/bin/env bash
# `xfctl metrics` and [metrics] listen: a county (with the HTTP endpoint) and its city.
#   - the exposition is Prometheus text format 0.0.4 (prom_check.py: HELP/TYPE once per family,
#     escapes, counters *_total, histograms cumulative with +Inf = _count);
#   - its values are right: both links up, the county's envelopes out and the city's in after an
#     escalation, cases by status and overdue as `xfctl --json status` counts them, commits timed;
#   - curl gets the same families with Content-Type text/plain; version=0.0.4, 404 for another
#     path, 405 for another method;
#   - slow and garbage clients (every client slot held, a request over 8 KiB) do not hold up
#     `xfctl status` or the links, and are dropped after 5 s;
#   - a port already taken, or a bad listen value, refuses the start naming the address;
#     a reload that changes the address is refused (a restart is needed).
source "$(dirname "$0")/lib.sh"
HERE=$(cd "$(dirname "$0")" && pwd)
prom () { python3 "$HERE/prom_check.py" "$@"; }

node_config city 411300 false
node_config zp 411324 true
link_nodes zp city
port=$(free_port)
printf '\n[metrics]\nlisten = 127.0.0.1:%s\n' "$port" >> "$T/zp/xfsyncd.conf"
start_node city
start_node zp
wait_for "county link up" 20 link_up zp 411300
wait_for "city link up" 20 link_up city 411324
grep -q "metrics: Prometheus scrapes http://127.0.0.1:$port/metrics" "$T/zp/xfsyncd.log" \
    || fail "no start line for the metrics endpoint"

# --- 1. values after an escalation, and an overdue case
id=$(ctl zp case register --channel letter --category appeal --summary "工资拖欠")
ctl zp case escalate "$id" --note "请市里协调" >/dev/null
ctl zp case register --channel visit --category inquiry --summary "政策咨询" >/dev/null
ctl zp clock set "$(date -d '+20 days' +%Y-%m-%dT12:00:00)" >/dev/null   # past accept_days
case_at_city () { ctlj city status | jq -e '.cases.total == 1' >/dev/null; }
wait_for "the case at the city" 20 case_at_city
zp_drained () { ctlj zp status | jq -e '.links[0].queue == 0' >/dev/null; }
wait_for "the county's outbox acknowledged" 20 zp_drained
overdue_seen () { ctlj zp status | jq -e '.cases.overdue >= 1' >/dev/null; }
wait_for "an overdue case at the county" 10 overdue_seen

ctl zp metrics > "$T/zp.prom" || fail "xfctl metrics at the county"
ctl city metrics > "$T/city.prom" || fail "xfctl metrics at the city"
ctlj zp status > "$T/zp.status.json"
for n in zp city; do
    summary=$(prom check "$T/$n.prom" 2>&1) || fail "$n's exposition: $summary"
done
pass "xfctl metrics is Prometheus text (county: $(prom check "$T/zp.prom"))"

val () { prom value "$T/$1.prom" "${@:2}"; }
[ "$(val zp xfsync_link_up peer=411300 role=parent)" = 1 ] || fail "county: link to 411300 not up"
[ "$(val city xfsync_link_up peer=411324 role=child)" = 1 ] || fail "city: link to 411324 not up"
[ "$(val zp xfsync_link_state peer=411300 role=parent state=up)" = 1 ] || fail "county: state up"
[ "$(val zp xfsync_link_state peer=411300 role=parent state=down)" = 0 ] || fail "county: state down"
out=$(val zp xfsync_link_envelopes_sent_total peer=411300 role=parent)
[ "$out" -ge 1 ] || fail "county: envelopes sent to the city $out"
in=$(val city xfsync_link_envelopes_received_total peer=411324 role=child)
[ "$in" -ge 1 ] || fail "city: envelopes received from the county $in"
[ "$(val zp xfsync_link_queue_envelopes peer=411300 role=parent)" = 0 ] || fail "county: queue not 0"
val zp xfsync_info office=411324 name="测试办公室 411324" version=0.1.0 >/dev/null \
    || fail "county: xfsync_info"
for st in registered rejected in_progress reported closed; do
    want=$(jq -r --arg s "$st" '.cases[$s]' "$T/zp.status.json")
    got=$(val zp xfsync_cases status="$st")
    [ "$got" = "$want" ] || fail "county: $st cases $got in metrics, $want in status"
done
want=$(jq -r '.cases.overdue' "$T/zp.status.json")
[ "$(val zp xfsync_cases_overdue)" = "$want" ] || fail "county: overdue $(val zp xfsync_cases_overdue), status $want"
commits=$(val zp xfsync_store_commit_duration_seconds_count)
[ "$commits" -gt 0 ] || fail "county: no commit timed"
[ "$(val zp xfsync_store_commit_duration_seconds_bucket le=+Inf)" = "$commits" ] \
    || fail "county: +Inf bucket is not the commit count"
[ "$(val zp xfsync_control_requests_total result=ok)" -gt 0 ] || fail "county: control requests"
[ "$(val zp xfsync_store_file_size_bytes)" -gt 0 ] || fail "county: store file size"
pass "values: links up, $out envelope(s) out at the county and $in in at the city, cases by status and $want overdue as status counts them, $commits commits timed"

# --- 2. the same over HTTP
code=$(curl -s --max-time 5 -D "$T/headers" -o "$T/http.prom" -w '%{http_code}' \
       "http://127.0.0.1:$port/metrics") || fail "curl /metrics"
[ "$code" = 200 ] || fail "GET /metrics: $code"
grep -qi '^Content-Type: text/plain; version=0.0.4; charset=utf-8' "$T/headers" \
    || fail "content type: $(cat "$T/headers")"
prom check "$T/http.prom" >/dev/null || fail "the HTTP exposition: $(prom check "$T/http.prom" 2>&1)"
diff <(prom families "$T/zp.prom") <(prom families "$T/http.prom") >/dev/null \
    || fail "HTTP and xfctl give different families"
[ "$(curl -s --max-time 5 -o /dev/null -w '%{http_code}' "http://127.0.0.1:$port/other")" = 404 ] \
    || fail "GET /other is not 404"
[ "$(curl -s --max-time 5 -o /dev/null -w '%{http_code}' -X POST -d x "http://127.0.0.1:$port/metrics")" = 405 ] \
    || fail "POST /metrics is not 405"
[ "$(curl -s --max-time 5 -o /dev/null -w '%{http_code}' -I "http://127.0.0.1:$port/metrics")" = 200 ] \
    || fail "HEAD /metrics is not 200"
pass "curl: 200 with text/plain; version=0.0.4, the same $(prom families "$T/http.prom" | wc -l) families; 404 for /other, 405 for POST"

# --- 3. slow and garbage clients hold up nothing, and are dropped
python3 - "$port" "$XFCTL" "$T/zp/control.sock" <<'PY' || fail "slow clients"
import socket, subprocess, sys, time
port, xfctl, sock = int(sys.argv[1]), sys.argv[2], sys.argv[3]
def conn():
    s = socket.create_connection(("127.0.0.1", port), timeout=10)
    return s
def closed_within(s, secs):
    s.settimeout(secs)
    try:
        return s.recv(100) == b""
    except ConnectionResetError:
        return True
    except socket.timeout:
        return False
def status_time():
    t = time.monotonic()
    subprocess.run([xfctl, "-s", sock, "status"], check=True, timeout=5, stdout=subprocess.DEVNULL)
    return time.monotonic() - t
big = conn()                                   # a request over 8 KiB: dropped, no answer
big.sendall(b"GET /metrics HTTP/1.1\r\nX-Filler: " + b"a" * 9000)
assert closed_within(big, 3), "a request over 8 KiB was not dropped"
t0 = time.monotonic()
slow = [conn() for _ in range(16)]             # every client slot, each request never finished
for s in slow:
    s.sendall(b"GET /metr")
garbage = conn()                               # waits in the backlog, then sends no request
garbage.sendall(b"\x00\xff\x01" * 50)
time.sleep(0.5)
worst = max(status_time() for _ in range(5))
assert worst < 1.0, f"xfctl status took {worst:.2f} s with every metrics slot held"
assert all(closed_within(s, 9) for s in slow), "slow clients were not dropped"
dropped = time.monotonic() - t0
assert 4.9 < dropped < 8.5, f"slow clients dropped after {dropped:.1f} s, not about 5"
assert closed_within(garbage, 8), "the garbage client was not dropped"
print(f"status ≤ {worst * 1000:.0f} ms with 16 slow clients; dropped after {dropped:.1f} s")
PY
code=$(curl -s --max-time 5 -o /dev/null -w '%{http_code}' "http://127.0.0.1:$port/metrics")
[ "$code" = 200 ] || fail "GET /metrics after the slow clients: $code"
link_up zp 411300 || fail "the link went down while the slow clients held the endpoint"
grep -q "metrics: a client of 127.0.0.1:$port took too long to send its request; dropped" \
    "$T/zp/xfsyncd.log" || fail "no log line for a dropped slow client"
pass "16 slow clients, garbage and a request over 8 KiB: status answered at once, the link stayed up, each dropped"

# --- 4. refusals: a port taken, a bad value, a changed address on reload
node_config other 411326 false
printf '\n[metrics]\nlisten = 127.0.0.1:%s\n' "$port" >> "$T/other/xfsyncd.conf"
expect_exit 1 timeout 20 "$XFSYNCD" -c "$T/other/xfsyncd.conf" --foreground
grep -q "cannot start: \[metrics\] listen 127.0.0.1:$port: cannot listen there: Address already in use" <<<"$ERR" \
    || fail "a taken port: $ERR"
[ ! -e "$T/other/control.sock" ] || fail "the refused node left a control socket"
sed -i "s/^listen = 127.0.0.1:$port\$/listen = localhost:$port/" "$T/other/xfsyncd.conf"
expect_exit 1 timeout 20 "$XFSYNCD" -c "$T/other/xfsyncd.conf" --foreground
grep -q "xfsyncd.conf:[0-9]*: listen must be HOST:PORT, e.g. 127.0.0.1:9411, not \"localhost:$port\": \"localhost\" is not a numeric IPv4 address" <<<"$ERR" \
    || fail "a bad listen value: $ERR"
pass "a taken port and a bad value refuse the start, naming the address"

port2=$(free_port)
sed -i "s/^listen = 127.0.0.1:$port\$/listen = 127.0.0.1:$port2/" "$T/zp/xfsyncd.conf"
kill -HUP "$(cat "$T/zp/pid")"
wait_for "the reload refused" 10 grep -q "reload refused.*\[metrics\] listen changed" "$T/zp/xfsyncd.log"
[ "$(curl -s --max-time 5 -o /dev/null -w '%{http_code}' "http://127.0.0.1:$port/metrics")" = 200 ] \
    || fail "the endpoint stopped after a refused reload"
pass "a reload that changes [metrics] listen is refused; the endpoint stays"

stop_node zp
curl -s --max-time 2 -o /dev/null "http://127.0.0.1:$port/metrics" && fail "the endpoint answers after the stop"
stop_node city
pass "stopped by pid; the endpoint is closed"
