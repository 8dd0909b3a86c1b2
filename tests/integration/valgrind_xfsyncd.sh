#!/usr/bin/env bash
# valgrind_xfsyncd.sh ARGS… — xfsyncd ($XFSYNCD_PLAIN) under memcheck, for valgrind_run.sh.
exec valgrind --quiet --error-exitcode=99 --leak-check=full --errors-for-leak-kinds=definite \
    --show-leak-kinds=definite "$XFSYNCD_PLAIN" "$@"
