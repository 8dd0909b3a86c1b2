#!/usr/bin/env bash
# `xfctl config check FILE` says what xfsyncd would say at start, without starting it: a good
# configuration passes (with [trust], once the certificate is issued); a bad line is named
# FILE:LINE; a node key readable by others, a missing certificate and another office's
# certificate are each named, exit status 1.
source "$(dirname "$0")/lib.sh"

trust_tree
conf=$T/zp/xfsyncd.conf
expect_exit 1 "$XFCTL" config check "$conf"
grep -q "cannot read the certificate $T/zp/node.crt" <<<"$ERR" || fail "no certificate yet: $ERR"
start_node prov
ctl prov cert issue "$T/city/node.csr" --out "$T/city/node.crt" >/dev/null
start_node city
ctl city cert issue "$T/zp/node.csr" --out "$T/zp/node.crt" >/dev/null
out=$("$XFCTL" config check "$conf") || fail "a good configuration refused: $out"
grep -q "ok — office 411324" <<<"$out" || fail "config check: $out"
"$XFCTL" --json config check "$conf" | jq -e '.ok and .trust.issuer == "411300" and .parent == "411300"' \
    >/dev/null || fail "config check --json"
pass "a good configuration passes, with its certificate checked"

cp "$conf" "$T/bad.conf"
printf 'bogus line\n' >> "$T/bad.conf"
expect_exit 1 "$XFCTL" config check "$T/bad.conf"
grep -q "bad.conf:[0-9]*: expected" <<<"$ERR" || fail "a bad line: $ERR"
chmod 644 "$T/zp/node.key"
expect_exit 1 "$XFCTL" config check "$conf"
grep -q "readable by group or others (mode 644)" <<<"$ERR" || fail "the key's mode: $ERR"
chmod 600 "$T/zp/node.key"
sed "s#^certificate = $T/zp/node.crt#certificate = $T/city/node.crt#" "$conf" > "$T/other.conf"
expect_exit 1 "$XFCTL" config check "$T/other.conf"
grep -q "it is the certificate of office 411300" <<<"$ERR" || fail "another office's certificate: $ERR"
pass "a bad line, a key others can read and another office's certificate are named"
for n in city prov; do stop_node $n; done
