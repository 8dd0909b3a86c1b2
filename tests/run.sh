#!/usr/bin/env bash
# tests/run.sh — install what is missing, build with AddressSanitizer and UBSan, run every test.
# Exit status is non-zero on any failure. Used by .ci/run and by developers alike.
set -euo pipefail
root=$(cd "$(dirname "$0")/.." && pwd)
build=${XF_BUILD_DIR:-$root/build-test}

"$root/deploy/bootstrap.sh"

cmake -S "$root" -B "$build" -DXF_SANITIZE=ON -DCMAKE_BUILD_TYPE=Debug >/dev/null
cmake --build "$build" -j"$(nproc)" 2>&1 | grep -Ev '^\[ *[0-9]+%\]' || true
# the grep above hides progress lines; make the build's own status decide
cmake --build "$build" -j"$(nproc)" >/dev/null

export ASAN_OPTIONS=${ASAN_OPTIONS:-detect_leaks=1:abort_on_error=1}
export UBSAN_OPTIONS=${UBSAN_OPTIONS:-print_stacktrace=1:halt_on_error=1}
cd "$build"
ctest --output-on-failure -j"$(nproc)" "$@"
