#!/usr/bin/env bash
# The man pages and the bash completion (deploy/man/*.scd, deploy/completion/xfctl) against
# the programs they describe:
#   1. each rendered page formats with `man --warnings` (and with every groff warning on)
#      without a warning, is not empty, has a NAME section and no line wider than 80 columns;
#   2. every command of `xfctl help`, and every option it shows, is in xfctl(1); every long
#      option of `xfsyncd --help` is in xfsyncd(8);
#   3. every configuration key lib/xf_conf.c accepts, taken from its key table, is described
#      in its section of xfsyncd.conf(5) (a new key without documentation fails here);
#   4. the completion, sourced with bash-completion and run through _xfctl with COMP_WORDS,
#      completes "xfctl ca" to case, "xfctl case " to the case commands, "--channel " to the
#      channels, and offers every command, subcommand, option and enumerated value of
#      `xfctl help`;
#   5. every script README.md and the benchmarks' READMEs show as a command (a line that
#      starts with tests/… or deploy/…) is in the tree and executable: a clean clone runs it
#      as written (checked first: it needs neither man nor bash-completion).
# The pages are the build's (${CMAKE_BINARY_DIR}/man, beside xfctl; XF_MAN_DIR overrides);
# when there are none, they are rendered here with deploy/docs.cmake, as the build does.
# XF_COMPLETION overrides the completion file, XF_BASH_COMPLETION bash-completion's main file.
# Exit 77 (skipped) without man-db, or when the man checks pass but bash-completion is not
# installed.
source "$(dirname "$0")/lib.sh"
SRC=$(cd "$(dirname "$0")/../.." && pwd)
PAGES=(xfctl.1 xfsyncd.8 xfsyncd.conf.5)
COMPLETION=${XF_COMPLETION:-$SRC/deploy/completion/xfctl}
BASH_COMPLETION=${XF_BASH_COMPLETION:-/usr/share/bash-completion/bash_completion}
export LC_ALL=C.UTF-8   # the pages hold Chinese: an ASCII device would warn about every character

# ---------------------------------------------------------------- the documented scripts
for doc in "$SRC/README.md" "$SRC"/tests/bench/*/README.md; do
    while read -r path; do
        [ -f "$SRC/$path" ] || fail "${doc#$SRC/} shows $path as a command: no such file"
        [ -x "$SRC/$path" ] || fail "${doc#$SRC/} shows $path as a command, but it is not" \
            "executable (git update-index --chmod=+x $path)"
    done < <(grep -oE '^ *(tests|deploy)/[A-Za-z0-9_./-]+\.(sh|py)' "$doc" | sed 's/^ *//' | sort -u)
done

if ! command -v man >/dev/null; then
    echo "SKIP: the man page checks need man and groff (apt-get install man-db)"
    exit 77
fi

# ---------------------------------------------------------------- the rendered pages
MAN=${XF_MAN_DIR:-$(dirname "$XFCTL")/man}
if [ -z "${XF_MAN_DIR:-}" ] && [ ! -f "$MAN/xfctl.1" ]; then
    command -v scdoc >/dev/null || fail "no rendered pages in $MAN and no scdoc (apt-get install scdoc)"
    MAN=$T/man
    mkdir -p "$MAN"
    for p in "${PAGES[@]}"; do
        cmake -DSCDOC="$(command -v scdoc)" -DSRC="$SRC/deploy/man/$p.scd" -DDST="$MAN/$p" \
            -P "$SRC/deploy/docs.cmake" || fail "rendering $p"
    done
    echo "note: no pages from the build (deploy/docs.cmake not included?); rendered them in $MAN"
fi
for p in "${PAGES[@]}"; do
    [ -f "$MAN/$p" ] || fail "$MAN/$p is missing"
    if [ -z "${XF_MAN_DIR:-}" ] && [ "$SRC/deploy/man/$p.scd" -nt "$MAN/$p" ]; then
        fail "$MAN/$p is older than deploy/man/$p.scd: build again (cmake --build)"
    fi
done

render () { MANWIDTH=${2:-80} man -l "$MAN/$1"; }   # PAGE [WIDTH]: the page as text

for p in "${PAGES[@]}"; do
    for w in "--warnings" "--warnings=w"; do
        out=$(MANWIDTH=80 man "$w" -l "$MAN/$p" 2>"$T/warn") || fail "man $w -l $p failed: $(cat "$T/warn")"
        [ ! -s "$T/warn" ] || fail "groff warns about $p (man $w):
$(cat "$T/warn")"
    done
    [ -n "$out" ] || fail "$p renders empty"
    grep -q '^NAME$' <<<"$out" || fail "$p has no NAME section"
    name=$(sed -n '/^NAME$/{n;p;q}' <<<"$out")
    [[ $name =~ ^\ +${p%.*}\ -\ . ]] || fail "$p: the NAME section is not \"${p%.*} - what it is\": $name"
    wide=$(python3 -c '
import sys, unicodedata
for n, line in enumerate(sys.stdin, 1):
    line = line.rstrip("\n")
    w = sum(2 if unicodedata.east_asian_width(c) in "WF" else 1 for c in line)
    if w > 80:
        print("line %d (%d columns): %s" % (n, w, line))
' <<<"$out")
    [ -z "$wide" ] || fail "$p has lines wider than 80 columns:
$wide"
done
pass "the pages format with no groff warning, a NAME section and 80 columns at most"

# ---------------------------------------------------------------- xfctl(1) against xfctl help
# One line per command of `xfctl help`: its words, a tab, the synopsis after the words.
"$XFCTL" help >"$T/help" || fail "xfctl help failed"
awk '
    function flush () { if (syn != "") print syn; syn = "" }
    /^  xfctl /    { flush(); syn = substr($0, 9); next }
    /^        +/   { if (syn != "") { sub(/^ +/, " "); syn = syn $0 }; next }
    { flush() }
    END { flush() }
' "$T/help" | while read -r line; do
    words=() rest=()
    read -ra toks <<<"$line"
    for t in "${toks[@]}"; do
        if [ ${#rest[@]} -eq 0 ] && [[ $t =~ ^[a-z][a-z-]*$ ]]; then words+=("$t"); else rest+=("$t"); fi
    done
    printf '%s\t%s\n' "${words[*]}" "${rest[*]}"
done >"$T/commands"
n_commands=$(wc -l <"$T/commands")
[ "$n_commands" -ge 30 ] || fail "read only $n_commands commands from xfctl help:
$(cat "$T/help")"
grep -q $'^case register\t--channel' "$T/commands" || fail "xfctl help was not understood: $(cat "$T/commands")"

render xfctl.1 1000 >"$T/xfctl.txt"
missing=()
while IFS=$'\t' read -r words rest; do
    grep -Eq "^ +xfctl $words( |\$)" "$T/xfctl.txt" || missing+=("command \"xfctl $words\" (no entry of its own)")
    for o in $(grep -Eo -- '--[a-z][a-z0-9-]*' <<<"$rest" | sort -u); do
        grep -Eq -- "(^|[^a-z0-9-])$o([^a-z0-9-]|\$)" "$T/xfctl.txt" || missing+=("option $o of xfctl $words")
    done
done <"$T/commands"
for o in -s --socket -c --config --json --version XFSYNC_SOCKET; do
    grep -Eq -- "(^|[^a-zA-Z0-9-])$o([^a-zA-Z0-9-]|\$)" "$T/xfctl.txt" || missing+=("global $o")
done
[ ${#missing[@]} -eq 0 ] || fail "xfctl(1) lacks what xfctl help lists: $(printf '\n  %s' "${missing[@]}")"
pass "xfctl(1) documents all $n_commands commands of xfctl help and their options"

render xfsyncd.8 1000 >"$T/xfsyncd.txt"
"$XFSYNCD" --help >"$T/xfsyncd.help" || fail "xfsyncd --help failed"
missing=()
for o in $(grep -Eo -- '--[a-z][a-z0-9-]*' "$T/xfsyncd.help" | sort -u); do
    grep -Eq -- "(^|[^a-z0-9-])$o([^a-z0-9-]|\$)" "$T/xfsyncd.txt" || missing+=("$o")
done
[ ${#missing[@]} -eq 0 ] || fail "xfsyncd(8) lacks options of xfsyncd --help: ${missing[*]}"
for s in SYNOPSIS OPTIONS SIGNALS FILES "EXIT STATUS" "SEE ALSO"; do
    grep -q "^$s\$" "$T/xfsyncd.txt" || fail "xfsyncd(8) has no $s section"
done
pass "xfsyncd(8) documents every option of xfsyncd --help"

# ---------------------------------------------------------------- xfsyncd.conf(5) against the parser
# The sections: enum sec and SEC_NAMES in lib/xf_conf.c, zipped; the keys: the KEYS table.
CONF_C=$SRC/lib/xf_conf.c
sed -n '/^enum sec {/,/};/p' "$CONF_C" | sed 's#/\*.*\*/##' | grep -Eo 'SEC_[A-Z0-9_]+' >"$T/sec.enum"
sed -n '/SEC_NAMES\[\] = {/,/};/p' "$CONF_C" | grep -Eo '"[a-z0-9_]*"' | tr -d '"' >"$T/sec.names"
[ "$(wc -l <"$T/sec.enum")" = "$(wc -l <"$T/sec.names")" ] ||
    fail "cannot pair enum sec with SEC_NAMES in $CONF_C"
declare -A SECTION
while read -r e && read -r n <&3; do SECTION[$e]=$n; done <"$T/sec.enum" 3<"$T/sec.names"
sed -n '/^static const keydef_t KEYS\[\] = {/,/^};/p' "$CONF_C" |
    grep -Eo '\{ *SEC_[A-Z0-9_]+, *"[a-z0-9_]+"' | tr -d '{" ' | tr ',' ' ' >"$T/keys"
n_keys=$(wc -l <"$T/keys")
[ "$n_keys" -ge 40 ] || fail "read only $n_keys keys from $CONF_C: the test no longer understands its key table"

render xfsyncd.conf.5 1000 >"$T/conf.txt"
# the page, one section at a time: "   [node]" or "   [child CODE]" starts one
section_text () {
    awk -v want="$1" '
        /^   \[[a-z0-9_]+( [A-Z]+)?\]$/ { s = $1; gsub(/[][]/, "", s); on = (s == want); next }
        /^[^ ]/ { on = 0 }
        on' "$T/conf.txt"
}
missing=()
sections=0
for e in "${!SECTION[@]}"; do
    s=${SECTION[$e]}
    [ -n "$s" ] || continue
    sections=$((sections + 1))
    section_text "$s" >"$T/sec.$s"
    [ -s "$T/sec.$s" ] || { missing+=("section [$s]"); continue; }
done
while read -r e k; do
    s=${SECTION[$e]:-}
    [ -n "$s" ] || fail "key $k belongs to $e, which has no name in SEC_NAMES"
    grep -Eq "^ {7}$k = " "$T/sec.$s" 2>/dev/null || missing+=("[$s] $k")
done <"$T/keys"
[ ${#missing[@]} -eq 0 ] || fail "xfsyncd.conf(5) does not describe what lib/xf_conf.c accepts:$(printf '\n  %s' "${missing[@]}")"
pass "xfsyncd.conf(5) describes all $n_keys keys of the $sections sections xf_conf.c accepts, each in its section"

# ---------------------------------------------------------------- the completion
[ -f "$COMPLETION" ] || fail "$COMPLETION is missing"
bash -n "$COMPLETION" || fail "$COMPLETION has a syntax error"
if [ ! -f "$BASH_COMPLETION" ]; then
    echo "SKIP: the completion checks need bash-completion (apt-get install bash-completion)"
    exit 77
fi
# complete LINE…: for each command line (the word being completed last, "" after a space),
# "LINE<TAB>what _xfctl offers" — one bash, as an interactive shell would have it.
complete_lines () {
    bash --norc --noprofile -c '
        source "$1" && source "$2" || exit 1
        while IFS= read -r line; do
            read -ra COMP_WORDS <<<"$line"
            [[ $line == *" " ]] && COMP_WORDS+=("")
            COMP_CWORD=$((${#COMP_WORDS[@]} - 1))
            COMP_LINE=$line COMP_POINT=${#line} COMPREPLY=()
            _xfctl xfctl "${COMP_WORDS[COMP_CWORD]}" "${COMP_WORDS[COMP_CWORD-1]}"
            printf "%s\t%s\n" "$line" "$(printf "%s\n" "${COMPREPLY[@]}" | sort | tr "\n" " ")"
        done' bash "$BASH_COMPLETION" "$COMPLETION"
}
offered () { awk -F'\t' -v l="$1" '$1 == l { print $2 }' "$T/completed"; }
expect () {   # LINE WORDS: exactly these words are offered
    local got want
    got=$(offered "$1")
    want=$(tr ' ' '\n' <<<"$2" | grep -v '^$' | sort | tr '\n' ' ')
    [ "$got" = "$want" ] || fail "completing \"$1\": offered \"$got\", expected \"$want\""
}
offers () {   # LINE WORD: WORD is among those offered
    [[ " $(offered "$1") " == *" $2 "* ]] || missing+=("\"$1\" does not offer $2")
}

# what xfctl help lists: the words of each level, each command's options, enumerated values
case_words=$(awk -F'\t' '$1 ~ /^case / { sub(/^case /, "", $1); print $1 }' "$T/commands" | tr '\n' ' ')
channels=$("$XFCTL" help case register | grep -Eo -- '--channel [a-z|]+' | head -1 | cut -d' ' -f2 | tr '|' ' ')
[ -n "$channels" ] || fail "no --channel values in xfctl help case register"
{
    printf '%s\n' "xfctl ca" "xfctl case " "xfctl case register --channel " "xfctl "
    while IFS=$'\t' read -r words rest; do
        read -ra w <<<"$words"
        [ ${#w[@]} -eq 2 ] && echo "xfctl ${w[0]} "
        echo "xfctl $words --"
        while read -r o v; do
            echo "xfctl $words $o "
        done < <(grep -Eo -- '--[a-z][a-z0-9-]* [a-z0-9_]+(\|[a-z0-9_]+)+' <<<"$rest" || true)
    done <"$T/commands"
} | sort -u >"$T/lines"
complete_lines <"$T/lines" >"$T/completed" || fail "sourcing $COMPLETION with bash-completion failed"
[ "$(wc -l <"$T/completed")" = "$(wc -l <"$T/lines")" ] || fail "the completion stopped early: $(tail -3 "$T/completed")"

expect "xfctl ca" "case"
expect "xfctl case " "$case_words"
expect "xfctl case register --channel " "$channels"
missing=()
while IFS=$'\t' read -r words rest; do
    read -ra w <<<"$words"
    offers "xfctl " "${w[0]}"
    [ ${#w[@]} -eq 2 ] && offers "xfctl ${w[0]} " "${w[1]}"
    for o in $(grep -Eo -- '--[a-z][a-z0-9-]*' <<<"$rest" | sort -u); do
        offers "xfctl $words --" "$o"
    done
    while read -r o v; do
        [ -n "$o" ] || continue
        got=$(offered "xfctl $words $o ")
        want=$(tr '|' '\n' <<<"$v" | sort | tr '\n' ' ')
        [ "$got" = "$want" ] || missing+=("\"xfctl $words $o \" offers \"$got\", not \"$want\"")
    done < <(grep -Eo -- '--[a-z][a-z0-9-]* [a-z0-9_]+(\|[a-z0-9_]+)+' <<<"$rest" || true)
done <"$T/commands"
[ ${#missing[@]} -eq 0 ] || fail "the completion lacks what xfctl help lists:$(printf '\n  %s' "${missing[@]}")"
pass "the completion offers every command, subcommand, option and enumerated value of xfctl help"
