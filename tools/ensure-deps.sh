#!/bin/sh
# SPDX-License-Identifier: Apache-2.0
# Makes sure the tools `make check` needs are present: cmocka (headers and library),
# doxygen, pkg-config, a C++ compiler, clang with its sanitizer and libFuzzer runtimes
# (libclang-rt-14-dev, for the fuzz harnesses), valgrind when RISK_EXTRA=1 (make check-extra),
# mypy (make check-types), and Debian's numpy, scipy and distributed (Dask) for /usr/bin/python3 (the bindings'
# zero-copy numpy test runs under it; the bindings themselves need no numpy). As root it installs the missing ones with
# apt-get; otherwise it prints the exact command to run and fails.
set -eu

missing=""
[ -f /usr/include/cmocka.h ] || missing="$missing libcmocka-dev"
command -v "${DOXYGEN:-doxygen}" >/dev/null 2>&1 || missing="$missing doxygen"
command -v "${PKG_CONFIG:-pkg-config}" >/dev/null 2>&1 || missing="$missing pkg-config"
command -v "${CXX:-g++}" >/dev/null 2>&1 || missing="$missing g++"
/usr/bin/python3 -c 'import numpy' >/dev/null 2>&1 || missing="$missing python3-numpy"
# the package test builds a wheel offline and installs it into a venv (tests/python/test_package.py)
/usr/bin/python3 -c 'import pip' >/dev/null 2>&1 || missing="$missing python3-pip"
/usr/bin/python3 -c 'import setuptools' >/dev/null 2>&1 || missing="$missing python3-setuptools"
/usr/bin/python3 -c 'import wheel' >/dev/null 2>&1 || missing="$missing python3-wheel"
# the DataFrame test of the results (tests/python/test_repr.py) runs under Debian's python
/usr/bin/python3 -c 'import pandas' >/dev/null 2>&1 || missing="$missing python3-pandas"
# the VaR/ES suite checks the library against scipy.stats and scipy.integrate (tests/python/test_var.py),
# the optimiser against scipy's HiGHS LP solver (tests/python/test_optimise.py)
/usr/bin/python3 -c 'import scipy.stats, scipy.integrate, scipy.optimize' >/dev/null 2>&1 || missing="$missing python3-scipy"
# the chart of `librisk levtoken --chart` (tests/python/test_levtoken.py) runs under Debian's python
/usr/bin/python3 -c 'import matplotlib' >/dev/null 2>&1 || missing="$missing python3-matplotlib"
# the Dask shard driver (tests/python/test_dask.py, `stress --shards`) runs under Debian's python
/usr/bin/python3 -c 'import distributed' >/dev/null 2>&1 || missing="$missing python3-distributed"
# `make check-types` type-checks the Python package
command -v "${MYPY:-mypy}" >/dev/null 2>&1 || missing="$missing mypy"
fuzz_cc=${FUZZ_CC:-clang}
if command -v "$fuzz_cc" >/dev/null 2>&1; then
    # the libFuzzer runtime comes with libclang-rt-N-dev, not with clang itself
    ls "$("$fuzz_cc" -print-resource-dir 2>/dev/null)"/lib/linux/libclang_rt.fuzzer-*.a >/dev/null 2>&1 ||
        missing="$missing libclang-rt-14-dev"
else
    missing="$missing clang libclang-rt-14-dev"
fi
if [ "${RISK_EXTRA:-0}" = 1 ]; then
    command -v valgrind >/dev/null 2>&1 || missing="$missing valgrind"
fi

if [ -z "$missing" ]; then
    exit 0
fi

# Always ask for the full set, so that the command is the same whatever is missing.
pkgs="libcmocka-dev doxygen pkg-config g++ python3-numpy python3-pip python3-setuptools python3-wheel python3-pandas python3-scipy python3-matplotlib python3-distributed mypy clang libclang-rt-14-dev"
if [ "${RISK_EXTRA:-0}" = 1 ]; then
    pkgs="$pkgs valgrind"
fi
cmd="apt-get update && apt-get install -y $pkgs"

if [ "$(id -u)" -ne 0 ]; then
    echo "ensure-deps: missing:$missing" >&2
    echo "ensure-deps: run as root:  sudo sh -c '$cmd'" >&2
    exit 1
fi

if ! command -v apt-get >/dev/null 2>&1; then
    echo "ensure-deps: missing:$missing, and apt-get is not available; install them by hand" >&2
    exit 1
fi

echo "ensure-deps: installing:$missing (apt-get, noninteractive)"
export DEBIAN_FRONTEND=noninteractive
log=$(mktemp)
# a fresh cloud machine runs unattended upgrades at boot: wait for the dpkg lock (up to 10
# minutes) instead of failing on it
lock="-o DPkg::Lock::Timeout=600"
if ! { apt-get $lock update -qq && apt-get $lock install -y -qq --no-install-recommends $pkgs; } >"$log" 2>&1; then
    cat "$log" >&2
    rm -f "$log"
    echo "ensure-deps: apt-get failed" >&2
    exit 1
fi
rm -f "$log"
echo "ensure-deps: done"
