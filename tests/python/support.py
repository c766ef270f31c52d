# SPDX-License-Identifier: Apache-2.0
"""Shared helpers for the Python suites: paths, the import of the bindings, a CLI runner.

The suites run from any directory with `python3 -m unittest discover -s tests/python` (the
Makefile's `check` does this after `make`); they need the built library in lib/ (or
$LIBRISK_LIBRARY) and nothing but the standard library.
"""

import json
import os
import subprocess
import sys
import tempfile

ROOT = os.path.normpath(os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", ".."))
BINDINGS = os.path.join(ROOT, "bindings", "python")
BOOKS = os.path.join(ROOT, "examples", "books")

if BINDINGS not in sys.path:
    sys.path.insert(0, BINDINGS)

import librisk  # noqa: E402  (after the path set-up)


def book_path(name):
    """Path of a sample book under examples/books/."""
    return os.path.join(BOOKS, name)


def load_book(name):
    """A sample book as parsed JSON."""
    with open(book_path(name)) as f:
        return json.load(f)


def cli_env():
    env = dict(os.environ)
    env["PYTHONPATH"] = BINDINGS + (os.pathsep + env["PYTHONPATH"] if env.get("PYTHONPATH") else "")
    return env


def run_cli(*args, input_text=None, env=None):
    """Runs `python3 -m librisk ARGS` from the repository root; returns CompletedProcess (text)."""
    return subprocess.run([sys.executable, "-m", "librisk"] + list(args), cwd=ROOT, env=env or cli_env(),
                          input=input_text, stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                          universal_newlines=True, timeout=120)


class TempBook:
    """Writes a book (a dict, or raw text) to a temporary file; use as a context manager."""

    def __init__(self, content):
        self.content = content
        self.path = None

    def __enter__(self):
        fd, self.path = tempfile.mkstemp(suffix=".json", prefix="librisk-book-")
        with os.fdopen(fd, "w") as f:
            if isinstance(self.content, str):
                f.write(self.content)
            else:
                json.dump(self.content, f)
        return self.path

    def __exit__(self, *exc):
        os.unlink(self.path)
        return False
