#!/usr/bin/env bash
# [trust]: a province → city → county tree enrolled with certificates and run with signed
# envelopes, every link admitted by certificate (no CURVE key of a peer in any config).
#   1. cert root at the province; cert request at the city and the county; each parent's
#      daemon issues its child's certificate (cert issue); `openssl x509` reads them.
#   2. A case escalated from the county straight to the province (two hops) arrives signed by
#      the county: applied there, nothing counted as forged, the county's chain verified.
#   3. A petitioner's identity is sealed: readable at the registering county and at the office
#      handling the case (the province, then the city it assigns to), never at a relay or a
#      supervisor, and absent from every data file (the relaying city's while it holds the
#      escalation in its queue).
#   4. An escalation altered by one byte in the relaying city's data file (its queue, edited
#      offline with mdb_dump/mdb_load) is refused at the province, logged, counted, audited.
#   5. A request naming an office that is not a configured child is refused; a node started
#      with another office's certificate, with one from another parent than its [parent], or
#      with none, stops at start saying so.
source "$(dirname "$0")/lib.sh"

child_cert () {     # PARENT CHILD CODE: the parent admits the child by its certificate
    sed -i "/^\[child $3\]/a certificate = $T/$2/node.crt" "$T/$1/xfsyncd.conf"
}

# --- 1. enrolment down the tree
trust_tree
[ -f "$T/prov/sign.key" ] && [ "$(stat -c %a "$T/prov/sign.key")" = 600 ] || fail "sign.key not made 0600"
start_node prov
expect_exit 1 ctl prov cert issue "$T/zp/node.csr" --out "$T/zp/node.crt"
grep -q "not a child of this office" <<<"$ERR" || fail "a stranger's request: $ERR"
ctl prov cert issue "$T/city/node.csr" --out "$T/city/node.crt" >/dev/null
openssl x509 -in "$T/city/node.crt" -noout -subject -nameopt utf8 | grep -q "CN=411300" \
    || fail "openssl does not read the city's certificate"
openssl x509 -in "$T/city/node.crt" -noout -ext subjectAltName | grep -q "urn:xfsync:curve:" \
    || fail "no CURVE key in the city's certificate"
child_cert prov city 411300
stop_node prov
start_node prov
start_node city
ctl city cert issue "$T/zp/node.csr" --out "$T/zp/node.crt" >/dev/null
[ "$(grep -c 'BEGIN CERTIFICATE' "$T/zp/node.crt")" = 2 ] || fail "the county's chain is not 2 certificates"
openssl verify -CAfile "$T/prov/node.crt" -untrusted "$T/zp/node.crt" "$T/zp/node.crt" >/dev/null \
    || fail "openssl does not verify the county's chain"
child_cert city zp 411324
stop_node city
start_node city
start_node zp
wait_for "city link up" 30 link_up city 410000
wait_for "county link up" 30 link_up zp 411300
pass "enrolled: root, requests, issued down the tree; links admitted by certificate"
ctlj zp cert show | jq -e '.enabled and .issuer == "411300" and .profile == "standard"' >/dev/null \
    || fail "cert show at the county"
"$XFCTL" --json cert show "$T/zp/node.crt" | jq -e '.chain | length == 2' >/dev/null \
    || fail "cert show FILE"

# --- 2. a signed envelope over two hops
id=$(ctl zp case register --channel letter --category accusation --summary "反映某乡干部违规问题")
ctl zp case escalate "$id" --to 410000 --note "直接报省" >/dev/null
arrived () { ctlj prov case show "$id" | jq -e '.owner == "410000"' >/dev/null; }
wait_for "the case at the province" 30 arrived
ctlj prov status | jq -e '.trust.forged == 0 and .trust.verified_signers >= 1' >/dev/null \
    || fail "province trust status: $(ctlj prov status | jq -c .trust)"
ctlj prov audit show --action apply.escalate | jq -e --arg id "$id" '.records | length == 1
    and .[0].case == $id and .[0].uid == -1 and .[0].role == "node"
    and (.[0].detail | startswith("from 411324"))' >/dev/null \
    || fail "the applied escalation is not in the province's audit log: $(ctlj prov audit show --limit 5 | jq -c .)"
pass "escalation signed by the county verified at the province, two hops away"

# --- 3. a petitioner's identity sealed: open at the registering office and the handler only
name="张秀英" phone=13837700000 idno=41132419800101123X
id2=$(ctl zp case register --channel visit --category appeal --summary "反映征地补偿问题" \
      --name "$name" --id-number $idno --phone $phone --address "镇平县城关镇")
ctlj zp case show "$id2" | jq -e --arg n "$name" '.identity == "open" and .petitioner.name == $n
    and .sealed_for == ["411324"]' >/dev/null || fail "at the county: $(ctlj zp case show "$id2" | jq -c '[.identity, .sealed_for, .petitioner]')"
ctlj city status | jq -e '.trust.offices_known >= 3' >/dev/null \
    || fail "the city learned no certificates: $(ctlj city status | jq -c .trust)"
no_identity () {   # NODE: the name, id number and phone appear nowhere in its data file
    ! grep -a -q -F -e "$name" -e "$phone" -e "$idno" "$T/$1/data/data.mdb"
}
stop_node prov     # the escalation waits at the city, the relay
ctl zp case escalate "$id2" --to 410000 --note "报省" >/dev/null
waiting () { ctlj city status | jq -e '[.links[] | select(.peer == "410000") | .queue] | .[0] >= 1' >/dev/null; }
wait_for "the escalation queued at the city" 30 waiting
for n in zp city; do no_identity $n || fail "the identity is readable in $n's data file"; done
grep -a -q -F "反映征地补偿问题" "$T/city/data/data.mdb" || fail "the grep cannot see the city's queue"
pass "identity sealed at rest: absent from the county's and the relaying city's data files"
start_node prov
arrived2 () { ctlj prov case show "$id2" | jq -e '.owner == "410000"' >/dev/null; }
wait_for "the sealed case at the province" 30 arrived2
ctlj prov case show "$id2" | jq -e --arg n "$name" '.identity == "open" and .petitioner.name == $n
    and .petitioner.phone == "'$phone'" and (.sealed_for | sort) == ["410000", "411324"]' >/dev/null \
    || fail "at the province: $(ctlj prov case show "$id2" | jq -c '[.identity, .sealed_for]')"
ctl prov case assign "$id2" --to 411300 --note "请南阳市办理" >/dev/null
at_city () { ctlj city case show "$id2" | jq -e '.owner == "411300"' >/dev/null; }
wait_for "the case assigned to the city" 30 at_city
ctlj city case show "$id2" | jq -e --arg n "$name" '.identity == "open" and .petitioner.name == $n' \
    >/dev/null || fail "the city handles the case and cannot read it: $(ctlj city case show "$id2" | jq -c '[.identity, .sealed_for]')"
sleep 0.5
ctlj prov case show "$id2" | jq -e '.identity == "sealed" and (.petitioner | not)
    and (.sealed_for | sort) == ["411300", "411324"]' >/dev/null \
    || fail "the province, now a supervisor, still reads it: $(ctlj prov case show "$id2" | jq -c '[.identity, .sealed_for, .petitioner]')"
for n in zp city prov; do no_identity $n || fail "the identity is readable in $n's data file"; done
pass "identity open at the handler (province, then city) and the county; sealed at the supervisor"

# --- 4. an envelope altered in the relay's data file: refused at the far end, two hops away
stop_node prov
forged=$(ctl zp case register --channel letter --category accusation --summary "反映村干部侵占集体资金")
ctl zp case escalate "$forged" --to 410000 --note "报省" >/dev/null
wait_for "the escalation queued at the city" 30 waiting
stop_node city
mdb_dump -s outbox "$T/city/data" > "$T/outbox.dump"
python3 - "$T/outbox.dump" <<'PY' || fail "altering the city's queue"
import sys
path = sys.argv[1]
lines = open(path).read().split("\n")
start = lines.index("HEADER=END") + 1
hits = 0
for i in range(start + 1, len(lines), 2):          # the values: one hex line each
    if not lines[i].startswith(" "):
        break
    raw = bytearray(bytes.fromhex(lines[i].strip()))
    at = raw.find("侵占".encode())
    if at >= 0:
        raw[at + 2] ^= 0x01                         # 侵 becomes another character of its block
        lines[i] = " " + raw.hex()
        hits += 1
assert hits == 1, hits
open(path, "w").write("\n".join(lines))
PY
mdb_load -s outbox -f "$T/outbox.dump" "$T/city/data" || fail "mdb_load"
start_node city
start_node prov
wait_for "the province refuses the altered escalation" 30 eval \
    "ctlj prov status | jq -e '.trust.forged == 1' >/dev/null"
expect_exit 1 ctl prov case show "$forged"
ctlj prov audit show --action apply.escalate | jq -e --arg id "$forged" '[.records[] | select(.case == $id
    and (.detail | contains("forged, refused")))] | length == 1' >/dev/null \
    || fail "the refusal is not in the province's audit log"
grep -q "its signature does not match its content or its signer 411324: it was altered on the way" \
    "$T/prov/xfsyncd.log" || fail "no log line at the province for the altered envelope"
pass "one byte altered in the relay's data file: refused, logged, counted and audited at the province"

# --- 5. a county certificate at the wrong parent: refused at its start
mkdir -p "$T/stray"
"$XFCTL" keygen "$T/stray" >/dev/null
sed "s#$T/zp/#$T/stray/#g; s#^code = 411324#code = 411325#" "$T/zp/xfsyncd.conf" > "$T/stray/xfsyncd.conf"
cp "$T/zp/node.crt" "$T/stray/node.crt"
cp "$T/zp/sign.key" "$T/stray/sign.key"
expect_exit 1 "$XFSYNCD" -c "$T/stray/xfsyncd.conf" --foreground
grep -q "it is the certificate of office 411324" <<<"$ERR" || fail "stray county: $ERR"
pass "a certificate of another office refused at start"
# the county's own files, but another parent named in [parent]; then no certificate at all
sed "s#^code = 411300#code = 411400#" "$T/zp/xfsyncd.conf" > "$T/stray/xfsyncd.conf"
sed -i "s#$T/zp/data#$T/stray/data2#; s#$T/zp/control.sock#$T/stray/control.sock#" "$T/stray/xfsyncd.conf"
expect_exit 1 "$XFSYNCD" -c "$T/stray/xfsyncd.conf" --foreground
grep -q "it was issued by 411300, and \[parent\] is 411400" <<<"$ERR" || fail "wrong parent: $ERR"
sed -i "s#^certificate = .*#certificate = $T/stray/absent.crt#" "$T/stray/xfsyncd.conf"
expect_exit 1 "$XFSYNCD" -c "$T/stray/xfsyncd.conf" --foreground
grep -q "cannot read the certificate $T/stray/absent.crt: No such file" <<<"$ERR" || fail "absent: $ERR"
pass "a certificate from another parent, and a missing one, refused at start"

for n in zp city prov; do stop_node $n; done
