#!/usr/bin/env bash
# tests/run.sh — install what is missing, build with AddressSanitizer and UBSan, run every test,
# then fuzz every parser for XF_FUZZ_SECONDS (default 30) each (tests/fuzz/run.sh).
# Exit status is non-zero on any failure. Used by .ci/run and by developers alike.
set -euo pipefail
root=$(cd "$(dirname "$0")/.." && pwd)
build=${XF_BUILD_DIR:-$root/build-test}

"$root/deploy/bootstrap.sh"

# The optimized build the demo and a real install use: the optimizer finds warnings (-Werror)
# that a Debug build does not.
cmake -S "$root" -B "$build-release" -DCMAKE_BUILD_TYPE=Release -DXF_TESTS=OFF >/dev/null
cmake --build "$build-release" -j"$(nproc)" >/dev/null

cmake -S "$root" -B "$build" -DXF_SANITIZE=ON -DCMAKE_BUILD_TYPE=Debug >/dev/null
cmake --build "$build" -j"$(nproc)" >/dev/null

export XFSYNCD_PLAIN=$build-release/xfsyncd   # for libfiu, which does not mix with ASan
export ASAN_OPTIONS=${ASAN_OPTIONS:-detect_leaks=1:abort_on_error=1}
export UBSAN_OPTIONS=${UBSAN_OPTIONS:-print_stacktrace=1:halt_on_error=1}
cd "$build"
ctest --output-on-failure -j"$(nproc)" "$@"

# Every parser that takes outside bytes, fuzzed for a bounded time (libFuzzer, clang, ASan and
# UBSan); its figures go to stderr as JSON. XF_FUZZ_SECONDS=0 skips it.
fuzz_seconds=${XF_FUZZ_SECONDS:-30}
if [ "$fuzz_seconds" != 0 ]; then
    "$root/tests/fuzz/run.sh" --seconds "$fuzz_seconds" --build-dir "$build-fuzz" >&2
fi
