#!/usr/bin/env python3
# SPDX-License-Identifier: Apache-2.0
"""Runs Python test suites and fails on any skipped test, unless its reason matches --allow-skip
(an optional package the bindings do not need, e.g. numpy in the standard-library-only pass,
whose tests then run in the Debian-python pass with nothing allowed). `make check` must never
pass with a test quietly skipped for a missing tool or file.

usage: run-python-tests.py [--allow-skip REGEX] DIR [MODULE ...]
  DIR: the suite's directory (put first on sys.path); MODULEs: test modules to run (default: all
  test_*.py in DIR)."""
import argparse
import os
import re
import sys
import unittest


def main(argv=None):
    ap = argparse.ArgumentParser()
    ap.add_argument("--allow-skip", metavar="REGEX", help="skip reasons that are allowed")
    ap.add_argument("dir")
    ap.add_argument("modules", nargs="*")
    args = ap.parse_args(argv)
    here = os.path.abspath(args.dir)
    sys.path.insert(0, here)
    os.chdir(here)
    loader = unittest.TestLoader()
    suite = (loader.loadTestsFromNames(args.modules) if args.modules
             else loader.discover(here, pattern="test_*.py", top_level_dir=here))
    result = unittest.TextTestRunner(verbosity=1).run(suite)
    allowed = re.compile(args.allow_skip) if args.allow_skip else None
    bad = [(t, why) for t, why in result.skipped if not (allowed and allowed.search(why))]
    for t, why in bad:
        print("skipped, which `make check` does not allow: %s (%s)" % (t.id(), why), file=sys.stderr)
    if result.skipped:
        print("python: %d skipped (%d allowed: %s)" % (len(result.skipped), len(result.skipped) - len(bad),
                                                       args.allow_skip or "none"))
    return 0 if result.wasSuccessful() and not bad else 1


if __name__ == "__main__":
    sys.exit(main())
