#!/usr/bin/env bash
# 镇平县委组织部 2012–2013 (seed 004): the published table reproduced by replaying its 65
# petitions through the real workflow — the county 411324 and a township office below it
# (411324100, where grassroots matters are transferred), their clocks moved through the two
# years — then `stats --period 2012-01-01..2013-12-31` at the county must give exactly the
# published counts and the exact shares (the seed rounds them to 30% / 60% / 10%).
source "$(dirname "$0")/lib.sh"

node_config zp 411324
node_config town 411324100
link_nodes town zp
start_node zp
start_node town
wait_for "township linked" 30 link_up town 411324
# the team's shared copy when it is beside the repository, else the one kept in the tree
table=$(dirname "$0")/data/zhenping-2012-2013.json
shared=$(dirname "$0")/../../../shared/data/zhenping-2012-2013.json
if [ -f "$shared" ]; then
    cmp -s "$shared" "$table" || fail "tests/integration/data/zhenping-2012-2013.json differs from $shared"
fi
python3 "$(dirname "$0")/zhenping.py" "$T/zp/control.sock" 411324100 "$T/town/control.sock" \
    "$table" || fail "the replay"
ctl zp stats --period 2012-01-01..2013-12-31 > "$T/table.txt"
grep -Eq '^shares\.by_category\.accusation +27\.69%' "$T/table.txt" \
    || fail "the table does not show the exact accusation share: $(grep shares "$T/table.txt")"
pass "the published table reproduced"
stop_node town
stop_node zp
pass "stopped cleanly"
