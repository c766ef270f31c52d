#!/bin/sh
# SPDX-License-Identifier: Apache-2.0
# Install test.
#  1. make install PREFIX=<tmp>/prefix: compile and link a program with
#     `pkg-config --cflags --libs librisk`, run it with LD_LIBRARY_PATH, check it prints the
#     version; link it statically too (`pkg-config --static`, -Wl,-Bstatic -lrisk) and run that.
#  2. make install DESTDIR=<tmp>/stage PREFIX=/usr: the files land under the stage, and the .pc
#     works through PKG_CONFIG_SYSROOT_DIR.
#     The C++ wrapper risk.hpp and the man pages librisk(1) and librisk(3) are installed too.
#  3. make uninstall with the same variables removes every installed file.
# usage: MAKE=make CC=cc PKG_CONFIG=pkg-config tests/abi/install.sh VERSION
set -eu
version=$1
MAKE=${MAKE:-make}
CC=${CC:-cc}
PKG_CONFIG=${PKG_CONFIG:-pkg-config}
tmp=$(mktemp -d "${TMPDIR:-/tmp}/librisk-install.XXXXXX")
trap 'rm -rf "$tmp"' EXIT INT TERM

cat > "$tmp/hello.c" <<'EOC'
#include <risk.h>
#include <stdio.h>
#include <string.h>

int main(void)
{
    risk_engine *engine = NULL;
    if (risk_version_number() / 10000 != RISK_VERSION_MAJOR
        || strcmp(risk_version_string(), RISK_VERSION_STRING) != 0) {
        fprintf(stderr, "header %s, library %s\n", RISK_VERSION_STRING, risk_version_string());
        return 1;
    }
    if (risk_engine_new(&engine, NULL) != RISK_OK) {
        fprintf(stderr, "risk_engine_new failed\n");
        return 1;
    }
    risk_engine_free(engine);
    printf("%s\n", risk_version_string());
    return 0;
}
EOC

mk() { "$MAKE" --no-print-directory -s "$@"; }
fail() { echo "install: $*" >&2; exit 1; }

# ---- 1. PREFIX install
prefix="$tmp/prefix"
mk install PREFIX="$prefix" LIBDIR="$prefix/lib" INCLUDEDIR="$prefix/include" \
    PKGCONFIGDIR="$prefix/lib/pkgconfig" DESTDIR= >/dev/null
export PKG_CONFIG_PATH="$prefix/lib/pkgconfig"
unset PKG_CONFIG_SYSROOT_DIR PKG_CONFIG_LIBDIR 2>/dev/null || true
got=$("$PKG_CONFIG" --modversion librisk) || fail "pkg-config cannot find librisk.pc"
[ "$got" = "$version" ] || fail "pkg-config --modversion says '$got', want '$version'"
flags=$("$PKG_CONFIG" --cflags --libs librisk)
# shellcheck disable=SC2086
"$CC" -std=c99 -Wall -Wextra -pedantic -Werror -o "$tmp/hello" "$tmp/hello.c" $flags \
    || fail "cannot build against the installed library with: $flags"
got=$(LD_LIBRARY_PATH="$prefix/lib" "$tmp/hello") || fail "the program failed"
[ "$got" = "$version" ] || fail "the program printed '$got', want '$version'"
LC_ALL=C readelf -d "$tmp/hello" | grep -q "NEEDED.*librisk.so.${version%%.*}\]" \
    || fail "the program does not need librisk.so.${version%%.*}"

static_libs=$("$PKG_CONFIG" --static --libs librisk | sed 's/-lrisk/-Wl,-Bstatic -lrisk -Wl,-Bdynamic/')
# shellcheck disable=SC2086
"$CC" -std=c99 -Wall -Wextra -pedantic -Werror -o "$tmp/hello_static" "$tmp/hello.c" \
    $("$PKG_CONFIG" --cflags librisk) $static_libs || fail "cannot link librisk.a with: $static_libs"
if LC_ALL=C readelf -d "$tmp/hello_static" | grep -q 'NEEDED.*librisk'; then
    fail "the static link still needs librisk.so"
fi
got=$("$tmp/hello_static") || fail "the statically linked program failed"
[ "$got" = "$version" ] || fail "the static program printed '$got', want '$version'"

mk uninstall PREFIX="$prefix" LIBDIR="$prefix/lib" INCLUDEDIR="$prefix/include" \
    PKGCONFIGDIR="$prefix/lib/pkgconfig" DESTDIR= >/dev/null
left=$(find "$prefix" ! -type d)
[ -z "$left" ] || fail "uninstall left: $left"

# ---- 2. DESTDIR install (packaging)
stage="$tmp/stage"
mk install DESTDIR="$stage" PREFIX=/usr LIBDIR=/usr/lib INCLUDEDIR=/usr/include \
    PKGCONFIGDIR=/usr/lib/pkgconfig >/dev/null
major=${version%%.*}
for f in "usr/lib/librisk.so.$version" "usr/lib/librisk.so.$major" usr/lib/librisk.so \
         usr/lib/librisk.a usr/include/risk.h usr/include/risk.hpp usr/include/risk/version.h \
         usr/lib/pkgconfig/librisk.pc usr/share/man/man1/librisk.1 usr/share/man/man3/librisk.3; do
    [ -e "$stage/$f" ] || fail "DESTDIR install is missing /$f"
done
# `man librisk` and `man 3 librisk` read these pages: their headers name the page and section
grep -q '^\.TH LIBRISK 1 ' "$stage/usr/share/man/man1/librisk.1" || fail "librisk.1 is not a section 1 page"
grep -q '^\.TH LIBRISK 3 ' "$stage/usr/share/man/man3/librisk.3" || fail "librisk.3 is not a section 3 page"
[ "$(readlink "$stage/usr/lib/librisk.so")" = "librisk.so.$major" ] || fail "librisk.so does not link to librisk.so.$major"
[ "$(readlink "$stage/usr/lib/librisk.so.$major")" = "librisk.so.$version" ] || fail "librisk.so.$major does not link to librisk.so.$version"
for h in include/risk/*.h; do
    cmp -s "$h" "$stage/usr/$h" || fail "installed $h differs"
done
grep -q '^prefix=/usr$' "$stage/usr/lib/pkgconfig/librisk.pc" || fail "librisk.pc: prefix is not /usr"
grep -q "$stage" "$stage/usr/lib/pkgconfig/librisk.pc" && fail "librisk.pc mentions the DESTDIR"
PKG_CONFIG_PATH="$stage/usr/lib/pkgconfig" PKG_CONFIG_SYSROOT_DIR="$stage" \
    "$PKG_CONFIG" --cflags --libs librisk > "$tmp/flags"
flags=$(cat "$tmp/flags")
# shellcheck disable=SC2086
"$CC" -std=c99 -Wall -Wextra -pedantic -Werror -o "$tmp/hello2" "$tmp/hello.c" $flags \
    || fail "cannot build against the DESTDIR install with: $flags"
got=$(LD_LIBRARY_PATH="$stage/usr/lib" "$tmp/hello2") || fail "the program failed (DESTDIR)"
[ "$got" = "$version" ] || fail "the program printed '$got', want '$version' (DESTDIR)"
mk uninstall DESTDIR="$stage" PREFIX=/usr LIBDIR=/usr/lib INCLUDEDIR=/usr/include \
    PKGCONFIGDIR=/usr/lib/pkgconfig >/dev/null
left=$(find "$stage" ! -type d)
[ -z "$left" ] || fail "uninstall left: $left"

echo "install: ok (PREFIX and DESTDIR installs, pkg-config shared and static links, uninstall)"
