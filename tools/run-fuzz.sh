#!/bin/sh
# SPDX-License-Identifier: Apache-2.0
# Runs the fuzz harnesses (docs/fuzzing.md).
# usage: tools/run-fuzz.sh check|fuzz SECONDS NAME...
#   check: replay every committed input of fuzz/corpus/NAME/ once (and the CLI fuzzer's
#          corpus and seeded cases); when SECONDS is not empty, then fuzz each for SECONDS too.
#   fuzz:  fuzz each harness, then the CLI fuzzer, for SECONDS each.
# Fuzzing starts from the committed corpus and writes what it finds new to build/fuzz/corpus/NAME
# (never to fuzz/corpus); a crash or broken invariant leaves its input in build/fuzz/artifacts/.
set -u
mode=$1
seconds=$2
shift 2
py=${PYTHON:-python3}
failed=""
passed=0
nfailed=0
mkdir -p build/fuzz/artifacts

step() { # NAME COMMAND...
    name=$1
    shift
    echo "--> $name"
    if "$@"; then
        passed=$((passed + 1))
    else
        echo "--> $name FAILED (exit $?)"
        failed="$failed, $name"
        nfailed=$((nfailed + 1))
    fi
}

libfuzzer() { # NAME ARGS...
    n=$1
    shift
    mkdir -p "build/fuzz/corpus/$n"
    "./build/fuzz/fuzz_$n" -artifact_prefix="build/fuzz/artifacts/$n-" -timeout=20 -rss_limit_mb=2048 \
        -print_final_stats=1 "$@" >"build/fuzz/$n.log" 2>&1
    rc=$?
    # the summary lines, or the whole report when it failed
    if [ $rc -eq 0 ]; then
        grep -E '^(Done|INFO: seed corpus|stat::number_of_executed_units|stat::new_units_added|#[0-9]+ *DONE)' \
            "build/fuzz/$n.log" | sed 's/^/    /'
    else
        tail -n 60 "build/fuzz/$n.log"
    fi
    return $rc
}

if [ "$mode" = check ]; then
    for n in "$@"; do
        step "replay fuzz/corpus/$n" libfuzzer "$n" -runs=0 "fuzz/corpus/$n"
    done
    step "replay fuzz/corpus/cli" env PYTHONPATH=bindings/python "$py" fuzz/fuzz_cli.py --replay
fi
if [ "$mode" = fuzz ] || [ -n "$seconds" ]; then
    for n in "$@"; do
        step "fuzz $n for ${seconds}s" libfuzzer "$n" -max_total_time="$seconds" \
            "build/fuzz/corpus/$n" "fuzz/corpus/$n"
    done
    step "fuzz cli for ${seconds}s" env PYTHONPATH=bindings/python "$py" fuzz/fuzz_cli.py --seconds "$seconds"
fi
echo "fuzz: $passed passed, $nfailed failed${failed:+ (}${failed#, }${failed:+)}"
[ -z "$failed" ]
