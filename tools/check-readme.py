#!/usr/bin/env python3
# SPDX-License-Identifier: Apache-2.0
"""Keeps the README's examples from rotting.

The C example (between <!-- c-example --> and <!-- /c-example -->) must be exactly the
program in examples/quickstart.c, which `make check` builds and runs, and its output shown
(between <!-- c-output --> and <!-- /c-output -->) must be what the built program prints. The Python example
(between <!-- python-example --> and <!-- /python-example -->) is run as it stands, from the
repository root, with the bindings on PYTHONPATH.

usage: check-readme.py README.md examples/quickstart.c build/examples/quickstart
"""
import os
import re
import subprocess
import sys


def block(text, marker, lang):
    m = re.search(r"<!-- %s -->(.*?)<!-- /%s -->" % (marker, marker), text, re.S)
    if not m:
        sys.exit("readme: no <!-- %s --> ... <!-- /%s --> section" % (marker, marker))
    code = re.search(r"^```%s[ \t]*\n(.*?)^```[ \t]*$" % lang, m.group(1), re.S | re.M)
    if not code:
        sys.exit("readme: the %s section has no ```%s code block" % (marker, lang))
    return code.group(1)


def main():
    readme_path, quickstart_path = sys.argv[1], sys.argv[2]
    with open(readme_path, encoding="utf-8") as f:
        readme = f.read()
    with open(quickstart_path, encoding="utf-8") as f:
        quickstart = f.read()

    c_code = block(readme, "c-example", "c")
    if c_code != quickstart:
        import difflib
        sys.stderr.writelines(difflib.unified_diff(
            quickstart.splitlines(True), c_code.splitlines(True), quickstart_path, readme_path + " (c-example)"))
        sys.exit("readme: the C example differs from %s (copy the file into the README)" % quickstart_path)
    print("readme: C example matches %s" % quickstart_path)

    shown = block(readme, "c-output", "text")
    r = subprocess.run([sys.argv[3]], stdout=subprocess.PIPE, universal_newlines=True, timeout=60,
                       env=dict(os.environ, LD_LIBRARY_PATH="lib"))
    if r.returncode != 0 or r.stdout != shown:
        sys.stderr.write("README shows:\n%sthe program printed (exit %d):\n%s" % (shown, r.returncode, r.stdout))
        sys.exit("readme: the C example's output in the README is not what %s prints" % sys.argv[3])
    print("readme: C example output matches")

    py_code = block(readme, "python-example", "python")
    r = subprocess.run([sys.executable, "-c", py_code], stdout=subprocess.PIPE, stderr=subprocess.STDOUT,
                       universal_newlines=True, timeout=120)
    sys.stdout.write("".join("    " + line + "\n" for line in r.stdout.splitlines()))
    if r.returncode != 0:
        sys.exit("readme: the Python example failed (exit %d)" % r.returncode)
    print("readme: Python example ran")


if __name__ == "__main__":
    main()
