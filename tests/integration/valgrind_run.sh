#!/usr/bin/env bash
# valgrind_run.sh SCRIPT — runs an integration scenario with every xfsyncd under valgrind's
# memcheck: the build without sanitizers ($XFSYNCD_PLAIN, which tests/run.sh sets), any error
# (an invalid read or write, a use of uninitialized memory, a definite leak at exit) making
# that xfsyncd exit with status 99, which the scenario's stop_node reports. Skipped (77)
# without valgrind or a plain build.
set -euo pipefail
[ -x "${XFSYNCD_PLAIN:-}" ] || { echo "skipped: no XFSYNCD_PLAIN (a build without sanitizers)"; exit 77; }
command -v valgrind >/dev/null || { echo "skipped: no valgrind"; exit 77; }
export XFSYNCD
XFSYNCD=$(cd "$(dirname "$0")" && pwd)/valgrind_xfsyncd.sh
exec bash "$1"
