#!/bin/sh
# SPDX-License-Identifier: Apache-2.0
# Runs test programs one after the other, all of them, and fails if any failed.
# usage: tools/run-suites.sh LABEL PROGRAM...
set -u
label=$1
shift
if [ $# -eq 0 ]; then
    echo "$label: no tests/test_*.c suites found" >&2
    exit 1
fi
passed=0
failed=""
for t in "$@"; do
    echo "--> $t"
    if "./$t"; then
        passed=$((passed + 1))
    else
        echo "--> $t FAILED (exit $?)"
        failed="$failed ${t##*/}"
    fi
done
nfailed=$(echo $failed | wc -w)
echo "$label suites: $passed passed, $nfailed failed${failed:+ (}${failed# }${failed:+)}"
[ -z "$failed" ]
