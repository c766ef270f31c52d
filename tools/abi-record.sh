#!/bin/sh
# SPDX-License-Identifier: Apache-2.0
# Records a release's ABI for tests/abi/compat.sh (docs/abi-policy.md): every exported function
# of the built library and the size of every public struct of include/risk/*.h.
# usage: CC=cc tools/abi-record.sh lib/librisk.so.X.Y.Z COMMIT > tests/abi/X.Y.Z.abi
set -eu
so=$1
commit=$2
CC=${CC:-cc}
version=$(sed -n 's/^#define RISK_VERSION_STRING "\(.*\)"/\1/p' include/risk/version.h)
tmp=$(mktemp -d "${TMPDIR:-/tmp}/librisk-abi.XXXXXX")
trap 'rm -rf "$tmp"' EXIT INT TERM
structs=$(sed -n 's/^typedef struct \(risk_[a-z0-9_]*\) {.*/\1/p' include/risk/*.h | sort -u)
{
    echo '#include <risk.h>'
    echo '#include <stdio.h>'
    echo 'int main(void) {'
    for s in $structs; do
        printf '    printf("struct %s %%zu\\n", sizeof(%s));\n' "$s" "$s"
    done
    echo '    return 0;'
    echo '}'
} > "$tmp/sizes.c"
"$CC" -std=c99 -Iinclude -o "$tmp/sizes" "$tmp/sizes.c"
echo "# SPDX-License-Identifier: Apache-2.0"
echo "# The ABI of librisk $version (commit $commit): every exported function and the size of every"
echo "# public struct. Later 0.x releases keep all of them and grow structs only by appending"
echo "# (tests/abi/compat.sh; docs/abi-policy.md). Made by tools/abi-record.sh."
nm -D --defined-only "$so" | awk '$2 == "T" { sub(/@.*/, "", $3); print "symbol " $3 }' | sort
"$tmp/sizes"
