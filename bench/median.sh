#!/bin/sh
# SPDX-License-Identifier: Apache-2.0
# median.sh - run a benchmark several times and print the median, min and max of every
# "result KEY VALUE" line it prints (the figures in docs/performance.md are made this way).
#
#   make bench                                  # builds build/bench/bench_evaluate
#   sh bench/median.sh 5 build/bench/bench_evaluate [ARGS...]
#
# Each run's full output is kept in ${MEDIAN_LOG_DIR:-/tmp}/bench-run-N.txt, with the load
# average before the run on its first line (this is a shared 2-vCPU VM: busy neighbours skew it).
set -eu
runs=$1
shift
logdir=${MEDIAN_LOG_DIR:-/tmp}
all=$(mktemp)
i=1
while [ "$i" -le "$runs" ]; do
    log="$logdir/bench-run-$i.txt"
    { echo "loadavg $(cut -d' ' -f1-3 /proc/loadavg 2>/dev/null || echo '?')"; "$@"; } >"$log" 2>&1 || {
        echo "median.sh: run $i failed, see $log" >&2
        exit 1
    }
    grep '^result ' "$log" | sed "s/^result /$i /" >>"$all"
    i=$((i + 1))
done
# per key: sort values, print median (mean of the two middle ones for even counts), min, max
awk '{print $2, $3}' "$all" | sort -k1,1 -k2,2g | awk '
    function flush() {
        if (n == 0) return
        med = (n % 2) ? v[(n + 1) / 2] : (v[n / 2] + v[n / 2 + 1]) / 2
        printf "%-40s median %-14.6g min %-14.6g max %-14.6g (n=%d)\n", key, med, v[1], v[n], n
        n = 0
    }
    $1 != key { flush(); key = $1 }
    { v[++n] = $2 }
    END { flush() }'
rm -f "$all"
