#!/usr/bin/env bash
# Certificates over time, in a province → city → county tree with [trust] and no [child]
# certificate lines: each parent admits its child by the certificate it issued (kept in its
# store), without a restart.
#   1. Key rotation: the county's escalations wait in its queue while the city is down; the
#      county gets new keys and a new certificate from the restarted city; once it connects
#      with them nothing queued is lost, and it still reads the identity it sealed to its old
#      key ([trust] retired_keys).
#   2. Revocation: the city revokes the county's old certificate; a connection with the old key
#      is refused at the handshake with a log line saying so; the signed revocation travels in
#      the hellos to the province and the county, which refuse what that certificate signs.
#   3. A child whose certificate another office issued (the province, not its parent) is
#      refused at the handshake, naming the issuer.
#   4. A child whose certificate has expired by the parent's clock is refused at the handshake.
source "$(dirname "$0")/lib.sh"

trust_tree_up
pass "children admitted by the certificates their parents issued, no restart"

# --- 1. rotation with messages queued
name="李建国" phone=13937700011
a=$(ctl zp case register --channel visit --category appeal --summary "反映土地承包问题" \
    --name "$name" --phone $phone)
stop_node city
ids=("$a")
for i in 1 2; do
    ids+=("$(ctl zp case register --channel letter --category appeal --summary "反映问题 $i")")
done
for id in "${ids[@]}"; do ctl zp case escalate "$id" --to 410000 --note "报省" >/dev/null; done
queued=$(ctlj zp status | jq '[.links[] | select(.peer == "411300") | .queue][0]')
[ "$queued" -ge 3 ] || fail "only $queued envelope(s) queued at the county"
old_serial=$(openssl x509 -in "$T/zp/node.crt" -noout -serial | sed 's/serial=//')
stop_node zp
mkdir -p "$T/old"
mv "$T/zp/node.key" "$T/old/node.key"
mv "$T/zp/sign.key" "$T/old/sign.key"
mv "$T/zp/node.crt" "$T/old/node.crt"
rm -f "$T/zp/node.csr"
"$XFCTL" keygen "$T/zp" >/dev/null
ctl zp cert request "$T/zp" --code 411324 --name "中共镇平县委组织部" >/dev/null
sed -i "/^\[trust\]/a retired_keys = $T/old/node.key" "$T/zp/xfsyncd.conf"
start_node city
ctl city cert issue "$T/zp/node.csr" --out "$T/zp/node.crt" >/dev/null
start_node zp
wait_for "the county's link with its new key" 30 link_up zp 411300
at_prov () { for id in "${ids[@]}"; do ctlj prov case show "$id" | jq -e '.owner == "410000"' >/dev/null || return 1; done; }
wait_for "the three queued escalations at the province" 30 at_prov
ctlj zp case show "$a" | jq -e --arg n "$name" '.identity == "open" and .petitioner.name == $n' >/dev/null \
    || fail "the county cannot read what it sealed to its old key: $(ctlj zp case show "$a" | jq -c '[.identity, .sealed_for]')"
ctlj prov case show "$a" | jq -e --arg n "$name" '.petitioner.name == $n' >/dev/null \
    || fail "the province cannot read the identity"
ctlj city cert show | jq -e '[.issued[] | select(.code == "411324")] | length == 2' >/dev/null \
    || fail "the city does not list both certificates of the county: $(ctlj city cert show | jq -c .issued)"
pass "keys rotated: 3 queued escalations delivered, the old sealed identity still opens"
stop_node zp   # a retired key that is not there: refused at start, saying which
sed -i "s#^retired_keys = .*#retired_keys = $T/old/node.key, $T/old/absent.key#" "$T/zp/xfsyncd.conf"
expect_exit 1 "$XFSYNCD" -c "$T/zp/xfsyncd.conf" --foreground
grep -q "\[trust\] retired_keys: key $T/old/absent.key: No such file" <<<"$ERR" || fail "a missing retired key: $ERR"
sed -i "s#^retired_keys = .*#retired_keys = $T/old/node.key#" "$T/zp/xfsyncd.conf"
start_node zp
wait_for "the county's link again" 30 link_up zp 411300

# --- 2. revocation of the old certificate
expect_exit 1 ctl city cert revoke --serial 00 --reason "x"
grep -q "no certificate of a child of this office has serial 00" <<<"$ERR" || fail "unknown serial: $ERR"
ctl city cert revoke --serial "$old_serial" --reason "密钥轮换，旧证书作废" >/dev/null
ctlj city cert show | jq -e --arg s "$old_serial" '[.issued[] | select((.serial | ascii_upcase) == ($s | ascii_upcase))][0].revoked' \
    >/dev/null || fail "cert show does not mark the old certificate revoked"
port=$(cat "$T/city/port")
timeout 5 "$XF_IT_PEER" "tcp://127.0.0.1:$port" "$T/city/node.pub" "$T/old/node.key" 411324 411326 \
    >/dev/null 2>&1 && fail "a connection with the revoked certificate's key was admitted"
grep -q "refused a connection from .*: child 411324: certificate .* refused: the certificate .* of 411324 was revoked" \
    "$T/city/xfsyncd.log" || fail "no log line for the revoked certificate: $(tail -3 "$T/city/xfsyncd.log")"
link_up zp 411300 || wait_for "the county still linked with its new key" 20 link_up zp 411300
knows_revocation () { ctlj "$1" status | jq -e '.trust.revoked == 1' >/dev/null; }
wait_for "the province to learn the revocation" 20 knows_revocation prov
wait_for "the county to learn the revocation" 20 knows_revocation zp
ctlj prov cert show | jq -e --arg s "$old_serial" '.revoked | length == 1 and .[0].issuer == "411300"
    and .[0].code == "411324" and (.[0].serial | ascii_upcase) == ($s | ascii_upcase)' >/dev/null \
    || fail "the province's list of revocations: $(ctlj prov cert show | jq -c .revoked)"
grep -q "revoked by 411300 (密钥轮换，旧证书作废), learned from link 411300" "$T/prov/xfsyncd.log" \
    || fail "the province does not log the revocation it learned"
pass "the old certificate revoked: its key refused at the handshake, logged; the revocation reaches the province and the county"

# --- 3. a certificate from another parent
node_config xc 411326 false
printf '\n[child 411326]\nname = 淅川\n' >> "$T/prov/xfsyncd.conf"
stop_node prov
start_node prov
ctl xc cert request "$T/xc" --code 411326 --name "中共淅川县委组织部" >/dev/null
ctl prov cert issue "$T/xc/node.csr" --out "$T/xc/node.crt" >/dev/null   # the province, not the city
printf '\n[child 411326]\nname = 淅川\ncertificate = %s\n' "$T/xc/node.crt" >> "$T/city/xfsyncd.conf"
stop_node city
start_node city
timeout 5 "$XF_IT_PEER" "tcp://127.0.0.1:$port" "$T/city/node.pub" "$T/xc/node.key" 411326 411324 \
    >/dev/null 2>&1 && fail "a child certified by the province was admitted by the city"
grep -q "child 411326: certificate .* refused: the certificate of 411326 was issued by 410000, not by this office (411300)" \
    "$T/city/xfsyncd.log" || fail "no log line for the certificate from another parent: $(tail -3 "$T/city/xfsyncd.log")"
pass "a child with a certificate from another parent refused at the handshake"

# --- 4. an expired certificate: the county's next keys get one valid for a day, the city's
# clock moves on (its current key stays admitted by the certificate of part 1: a key is admitted
# while any certificate issued for it is good)
stop_node zp
mkdir -p "$T/old2"
mv "$T/zp/node.key" "$T/zp/sign.key" "$T/zp/node.csr" "$T/old2/"
"$XFCTL" keygen "$T/zp" >/dev/null
ctl zp cert request "$T/zp" --code 411324 --name "中共镇平县委组织部" >/dev/null
ctl city cert issue "$T/zp/node.csr" --days 1 --out "$T/zp/node.crt" >/dev/null
stop_node city
sed -i 's/^clock_control = false/clock_control = true/' "$T/city/xfsyncd.conf"
start_node city
ctl city clock set "$(TZ=Asia/Shanghai date -d '+3 days' +%Y-%m-%dT%H:%M:%S)" >/dev/null
start_node zp
expired () { grep -q "child 411324: certificate .* refused: certificate of 411324: certificate has expired" "$T/city/xfsyncd.log"; }
wait_for "the city refusing the expired certificate" 20 expired
link_up zp 411300 && fail "the county linked with an expired certificate"
pass "an expired certificate refused at the handshake, logged"

for n in zp city prov; do stop_node $n; done
