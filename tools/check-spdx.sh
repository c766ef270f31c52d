#!/bin/sh
# SPDX-License-Identifier: Apache-2.0
# Every source file names its licence: an SPDX-License-Identifier line within its first five
# lines (C, C++, Python, shell, make, linker and pkg-config templates, man pages, build and
# Doxygen configuration). Data (JSON books, CSV), Markdown and images carry none. Lists the
# files that lack it and fails. Works in a git checkout and in an unpacked tarball.
set -eu
cd "$(dirname "$0")/.."
if git rev-parse --is-inside-work-tree >/dev/null 2>&1; then
    files=$(git ls-files --cached --others --exclude-standard)
else
    files=$(find . -type f ! -path './build/*' ! -path './lib/*' ! -path './.git/*' | sed 's|^\./||')
fi
missing=""
for f in $files; do
    case "$f" in
        *.c|*.h|*.hpp|*.cpp|*.py|*.sh|*.in|*.map|*.toml|*.1|*.3|Makefile|*/Makefile|.ci/run|docs/Doxyfile*) ;;
        *) continue ;;
    esac
    [ -f "$f" ] || continue
    head -n 5 "$f" | grep -q 'SPDX-License-Identifier: Apache-2.0' || missing="$missing $f"
done
if [ -n "$missing" ]; then
    echo "spdx: no 'SPDX-License-Identifier: Apache-2.0' in the first 5 lines of:" >&2
    for f in $missing; do echo "  $f" >&2; done
    exit 1
fi
echo "spdx: every source file names its licence"
