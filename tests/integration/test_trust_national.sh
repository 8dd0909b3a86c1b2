#!/usr/bin/env bash
# [trust] profile = national (国密) end to end: a province → city → county tree enrolled with SM2
# certificates (signer ID 1234567812345678) that openssl reads and verifies; an escalation with
# a petitioner's identity signed by the county (SM2 over SM3) and verified at the province two
# hops away; the identity sealed with SM2 + SM4-CTR + HMAC-SM3, open at the county and the
# province, absent from the relaying city's data file; the audit log chained with SM3.
source "$(dirname "$0")/lib.sh"

trust_tree_up national
openssl x509 -in "$T/zp/node.crt" -noout -text | grep -q "Signature Algorithm: SM2-with-SM3" \
    || fail "the county's certificate is not signed with SM2-with-SM3"
openssl x509 -in "$T/zp/node.crt" -noout -text | grep -q "ASN1 OID: SM2" \
    || fail "the county's key is not an SM2 key"
ctlj zp cert show | jq -e '.profile == "national" and .issuer == "411300"' >/dev/null \
    || fail "cert show at the county: $(ctlj zp cert show | jq -c '{profile, issuer}')"
pass "enrolled with SM2 certificates"

name="赵淑芬" phone=13837701234
id=$(ctl zp case register --channel visit --category appeal --summary "反映养老保险待遇问题" \
     --name "$name" --phone $phone)
ctl zp case escalate "$id" --to 410000 --note "报省" >/dev/null
arrived () { ctlj prov case show "$id" | jq -e '.owner == "410000"' >/dev/null; }
wait_for "the case at the province" 30 arrived
ctlj prov case show "$id" | jq -e --arg n "$name" '.identity == "open" and .petitioner.name == $n' \
    >/dev/null || fail "the province cannot read the identity"
ctlj zp case show "$id" | jq -e --arg n "$name" '.petitioner.name == $n' >/dev/null \
    || fail "the county cannot read the identity"
ctlj prov status | jq -e '.trust.profile == "national" and .trust.forged == 0
    and .trust.verified_signers >= 1' >/dev/null || fail "province: $(ctlj prov status | jq -c .trust)"
for n in prov city zp; do
    ! grep -a -q -F -e "$name" -e "$phone" "$T/$n/data/data.mdb" || fail "the identity is in $n's data file"
done
pass "SM2-signed escalation verified two hops away; the SM4-sealed identity open where entitled only"

ctlj prov audit verify | jq -e '.holds and .hash == "SM3" and .records >= 2' >/dev/null \
    || fail "the province's SM3 audit chain: $(ctlj prov audit verify 2>&1)"
pass "audit chain with SM3 holds"

for n in zp city prov; do stop_node $n; done
