#!/usr/bin/env bash
# tests/run.sh — install what is missing, build with AddressSanitizer and UBSan, run every test.
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

export ASAN_OPTIONS=${ASAN_OPTIONS:-detect_leaks=1:abort_on_error=1}
export UBSAN_OPTIONS=${UBSAN_OPTIONS:-print_stacktrace=1:halt_on_error=1}
cd "$build"
ctest --output-on-failure -j"$(nproc)" "$@"
