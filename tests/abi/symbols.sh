#!/bin/sh
# SPDX-License-Identifier: Apache-2.0
# Symbol test.
#  - the shared library's soname is the expected one;
#  - every symbol the shared library exports (nm -D --defined-only) starts with risk_ and not
#    risk__ (internal names shared between files), apart from the linker's own (_init, _fini,
#    _edata, _end, __bss_start) and the version-script node (LIBRISK_*);
#  - every function declared RISK_API in the public headers is exported, and nothing else is;
#  - every global symbol the static library defines starts with risk_ (risk__ allowed there).
# usage: tests/abi/symbols.sh lib/librisk.so.X.Y.Z lib/librisk.a SONAME
set -u
so=$1
ar_lib=$2
want_soname=$3
out=build/abi/symbols
mkdir -p "$out"
fail=0
err() { echo "symbols: $*" >&2; fail=1; }

# 1. soname
soname=$(LC_ALL=C readelf -d "$so" | sed -n 's/.*(SONAME).*\[\(.*\)\].*/\1/p')
[ "$soname" = "$want_soname" ] || err "$so has soname '$soname', want '$want_soname'"

# 2. exports of the shared library
nm -D --defined-only "$so" | awk '{ print $NF }' | sed 's/@.*//' | sort -u > "$out/exported.txt"
[ -s "$out/exported.txt" ] || err "$so exports nothing"
grep -v -E '^(risk_[A-Za-z0-9_]*|_init|_fini|_edata|_end|__bss_start|LIBRISK_[A-Za-z0-9_.]*)$' \
    "$out/exported.txt" > "$out/foreign.txt"
if [ -s "$out/foreign.txt" ]; then
    err "$so exports symbols without the risk_ prefix:"; sed 's/^/    /' "$out/foreign.txt" >&2
fi
grep -E '^risk__' "$out/exported.txt" > "$out/internal.txt"
if [ -s "$out/internal.txt" ]; then
    err "$so exports internal risk__ symbols:"; sed 's/^/    /' "$out/internal.txt" >&2
fi

# 3. exported == declared with RISK_API in the headers
# Preprocess the umbrella header (RISK_API becomes the visibility attribute), cut at ';', keep
# the declarations that carry the attribute, and take the declared name: the identifier before
# the parameter list (functions) or at the end (data).
printf '#include "risk.h"\n' | ${CC:-cc} -E -P -Iinclude -x c - | tr '\n' ' ' | tr ';' '\n' \
    | grep 'visibility *( *"default" *)' \
    | sed -n -e 's/.*[^A-Za-z0-9_]\(risk_[A-Za-z0-9_]*\) *(.*/\1/p' \
             -e 's/.*[^A-Za-z0-9_]\(risk_[A-Za-z0-9_]*\) *\(\[[^]]*\] *\)*$/\1/p' \
    | sort -u > "$out/declared.txt"
[ -s "$out/declared.txt" ] || err "found no RISK_API declaration in include/risk.h"
grep -E '^risk_' "$out/exported.txt" | grep -v -E '^risk__' > "$out/exported_api.txt"
comm -23 "$out/declared.txt" "$out/exported_api.txt" > "$out/missing.txt"
comm -13 "$out/declared.txt" "$out/exported_api.txt" > "$out/undeclared.txt"
if [ -s "$out/missing.txt" ]; then
    err "declared RISK_API in include/ but not exported by $so (not implemented?):"
    sed 's/^/    /' "$out/missing.txt" >&2
fi
if [ -s "$out/undeclared.txt" ]; then
    err "exported by $so but not declared RISK_API in include/:"
    sed 's/^/    /' "$out/undeclared.txt" >&2
fi

# 4. the static library's global definitions
nm -g --defined-only "$ar_lib" 2>/dev/null | awk 'NF >= 3 { print $NF }' | sort -u > "$out/static.txt"
[ -s "$out/static.txt" ] || err "$ar_lib defines no global symbol"
grep -v -E '^risk_' "$out/static.txt" > "$out/static_foreign.txt"
if [ -s "$out/static_foreign.txt" ]; then
    err "$ar_lib defines globals without the risk_ prefix (make them static or name them risk__*):"
    sed 's/^/    /' "$out/static_foreign.txt" >&2
fi

n=$(wc -l < "$out/exported_api.txt")
if [ $fail -eq 0 ]; then
    echo "symbols: ok ($n exported risk_ functions and data, soname $soname)"
fi
exit $fail
