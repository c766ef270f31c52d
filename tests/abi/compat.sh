#!/bin/sh
# SPDX-License-Identifier: Apache-2.0
# ABI compatibility with released versions: for each tests/abi/<version>.abi, every function it
# lists is still exported by the library, and every struct it lists is at least as large as it
# was (structs grow only by appending fields, behind a version bump; docs/abi-policy.md).
# usage: CC=cc tests/abi/compat.sh lib/librisk.so.X.Y.Z
set -eu
so=$1
CC=${CC:-cc}
here=$(dirname "$0")
tmp=$(mktemp -d "${TMPDIR:-/tmp}/librisk-compat.XXXXXX")
trap 'rm -rf "$tmp"' EXIT INT TERM
nm -D --defined-only "$so" | awk '$2 == "T" { sub(/@.*/, "", $3); print $3 }' | sort > "$tmp/now"
status=0
for abi in "$here"/*.abi; do
    release=$(basename "$abi" .abi)
    grep '^symbol ' "$abi" | cut -d' ' -f2 | sort > "$tmp/then"
    gone=$(comm -23 "$tmp/then" "$tmp/now")
    if [ -n "$gone" ]; then
        echo "compat: functions of $release no longer exported:" $gone >&2
        status=1
    fi
    {
        echo '#include <risk.h>'
        echo '#include <stdio.h>'
        echo 'int main(void) {'
        grep '^struct ' "$abi" | while read -r _ name _; do
            printf '    printf("%s %%zu\\n", sizeof(%s));\n' "$name" "$name"
        done
        echo '    return 0;'
        echo '}'
    } > "$tmp/sizes.c"
    "$CC" -std=c99 -Iinclude -o "$tmp/sizes" "$tmp/sizes.c"
    "$tmp/sizes" > "$tmp/sizes_now"
    grep '^struct ' "$abi" | while read -r _ name then_size; do
        now_size=$(awk -v n="$name" '$1 == n { print $2 }' "$tmp/sizes_now")
        if [ "$now_size" -lt "$then_size" ]; then
            echo "compat: $name shrank from $then_size to $now_size bytes since $release" >&2
            exit 1
        fi
    done || status=1
    [ "$status" -eq 0 ] && echo "compat: the ABI of $release holds ($(wc -l < "$tmp/then") functions," \
        "$(grep -c '^struct ' "$abi") structs)"
done
exit $status
