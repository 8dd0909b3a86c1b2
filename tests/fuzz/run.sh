#!/usr/bin/env bash
# tests/fuzz/run.sh — builds the libFuzzer harnesses with clang (AddressSanitizer and UBSan, in
# build-fuzz/) and runs each for a bounded time from its committed corpus and regressions,
# new inputs going to a temporary directory. Prints one JSON document on stdout:
#   {"seconds":30,"harnesses":[{"name":"frame","executions":…,"exec_per_s":…,
#     "cov_start":…,"cov":…,"features":…,"corpus":…,"new_inputs":…,"crash":null},…]}
# and exits 1 when a harness crashed, naming the input it saved; copy that input into
# tests/fuzz/regressions/NAME/ once the bug is fixed, so that ctest replays it from then on.
#
# Usage: tests/fuzz/run.sh [--seconds N] [--only NAME] [--build-dir DIR] [--no-build] [--merge]
#   --seconds N   per harness (default 30)
#   --only NAME   one harness: frame envelope control config import cert
#   --merge       afterwards, merge what is new and adds coverage into the committed corpus
set -euo pipefail

root=$(cd "$(dirname "$0")/../.." && pwd)
build=$root/build-fuzz
seconds=30
only=""
do_build=1
merge=0
while [ $# -gt 0 ]; do
    case $1 in
        --seconds) seconds=${2:?--seconds needs a number}; shift ;;
        --only) only=${2:?--only needs a harness name}; shift ;;
        --build-dir) build=${2:?--build-dir needs a directory}; shift ;;
        --no-build) do_build=0 ;;
        --merge) merge=1 ;;
        -h|--help) sed -n '2,15p' "$0" | sed 's/^# \{0,1\}//'; exit 0 ;;
        *) echo "fuzz/run.sh: unknown argument \"$1\" (see --help)" >&2; exit 2 ;;
    esac
    shift
done
say () { echo "fuzz/run.sh: $*" >&2; }

command -v clang >/dev/null || { say "clang is missing (deploy/bootstrap.sh installs it)"; exit 1; }
if [ $do_build = 1 ]; then
    say "building the harnesses with clang in $build"
    CC=clang cmake -S "$root" -B "$build" -DXF_FUZZ=ON -DCMAKE_BUILD_TYPE=Debug >/dev/null
    cmake --build "$build" -j"$(nproc)" >/dev/null
fi

harnesses=(frame envelope control config import cert)
[ -n "$only" ] && harnesses=("$only")
work=$(mktemp -d /tmp/xffuzz.XXXXXX)
trap 'rm -rf "$work"' EXIT
export XF_TEST_TMP=$work/tmp
export ASAN_OPTIONS=${ASAN_OPTIONS:-detect_leaks=1}
status=0
results=()
for h in "${harnesses[@]}"; do
    bin=$build/tests/fuzz/fuzz_$h
    [ -x "$bin" ] || { say "no harness $bin"; exit 1; }
    corpus=$root/tests/fuzz/corpus/$h regressions=$root/tests/fuzz/regressions/$h
    mkdir -p "$work/$h" "$work/artifacts"
    dirs=("$work/$h" "$corpus")
    [ -d "$regressions" ] && dirs+=("$regressions")
    say "$h: ${seconds} s"
    log=$work/$h.log
    set +e
    "$bin" -max_total_time="$seconds" -print_final_stats=1 -timeout=10 -rss_limit_mb=2048 \
        -artifact_prefix="$work/artifacts/$h-" "${dirs[@]}" >"$log" 2>&1
    rc=$?
    set -e
    crash=null
    if [ $rc != 0 ]; then
        saved=$(ls "$work"/artifacts/"$h"-* 2>/dev/null | head -1)
        if [ -n "$saved" ]; then
            keep=$root/build-fuzz-crashes
            mkdir -p "$keep"
            cp "$saved" "$keep/"
            crash="\"$keep/$(basename "$saved")\""
        else
            crash="\"exit status $rc, no input saved (see the log below)\""
        fi
        say "$h crashed:"; grep -E "ERROR|SUMMARY|deadly|Test unit written" "$log" | head -8 >&2
        status=1
    fi
    stat () { sed -n "s/^stat::$1: *//p" "$log" | tail -1; }   # empty when it did not get there
    line () { grep -E "^#[0-9]+[[:space:]]+$1 " "$log" | tail -1 || true; }
    field () { sed -n "s/.* $1: \([0-9]*\).*/\1/p" <<<"$2"; }
    inited=$(line INITED) done_=$(line DONE)
    [ -n "$done_" ] || done_=$(grep -E "^#[0-9]+[[:space:]]" "$log" | tail -1 || true)
    new=$(find "$work/$h" -type f | wc -l)
    results+=("$(printf '{"name":"%s","executions":%s,"exec_per_s":%s,"cov_start":%s,"cov":%s,"features":%s,"corpus":%s,"new_inputs":%s,"crash":%s}' \
        "$h" "$(stat number_of_executed_units || true)" "$(stat average_exec_per_sec || true)" \
        "$(field cov "$inited")" "$(field cov "$done_")" "$(field ft "$done_")" \
        "$(field corp "$done_" | head -1)" "$new" "$crash" | sed 's/:,/:null,/g')")
    if [ $merge = 1 ] && [ $rc = 0 ]; then
        "$bin" -merge=1 "$corpus" "$work/$h" >/dev/null 2>&1 || say "$h: merge failed"
    fi
done
printf '{"seconds":%s,"harnesses":[%s]}\n' "$seconds" "$(IFS=,; echo "${results[*]}")"
exit $status
