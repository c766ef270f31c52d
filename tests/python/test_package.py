# SPDX-License-Identifier: Apache-2.0
"""The Python package as a user installs it (issue 14): `pip wheel` builds librisk.so and bundles
it, the wheel installs into a fresh virtual environment, and from outside the tree the `librisk`
command evaluates a book and `import librisk` loads the bundled library. Runs under Debian's
/usr/bin/python3 with python3-pip, python3-setuptools and python3-wheel, offline
(--no-build-isolation, --no-index), which `make check` installs (tools/ensure-deps.sh)."""

import json
import os
import shutil
import subprocess
import sys
import tempfile
import unittest

import support  # noqa: F401  (puts the bindings on sys.path)

ROOT = os.path.normpath(os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", ".."))
SYSTEM_PYTHON = "/usr/bin/python3"


def clean_env():
    """The environment without anything that points Python or the loader at the tree."""
    env = dict(os.environ)
    for k in ("PYTHONPATH", "LIBRISK_LIBRARY", "PYTHONHOME"):
        env.pop(k, None)
    return env


class TestPackage(unittest.TestCase):
    @classmethod
    def setUpClass(cls):
        cls.tmp = tempfile.mkdtemp(prefix="librisk-package-")
        env = clean_env()
        build = subprocess.run([SYSTEM_PYTHON, "-m", "pip", "wheel", "--no-build-isolation", "--no-deps",
                                "--no-index", "-q", "-w", os.path.join(cls.tmp, "dist"), ROOT],
                               env=env, capture_output=True, text=True)
        if build.returncode != 0:
            raise AssertionError("pip wheel failed:\n" + build.stdout + build.stderr)
        wheels = [f for f in os.listdir(os.path.join(cls.tmp, "dist")) if f.endswith(".whl")]
        assert len(wheels) == 1, wheels
        cls.wheel = os.path.join(cls.tmp, "dist", wheels[0])
        venv = os.path.join(cls.tmp, "venv")
        subprocess.run([SYSTEM_PYTHON, "-m", "venv", "--system-site-packages", "--without-pip", venv],
                       check=True, env=env)
        cls.python = os.path.join(venv, "bin", "python")
        cls.command = os.path.join(venv, "bin", "librisk")
        inst = subprocess.run([cls.python, "-m", "pip", "install", "--no-deps", "--no-index", "-q", cls.wheel],
                              env=env, capture_output=True, text=True)
        if inst.returncode != 0:
            raise AssertionError("pip install failed:\n" + inst.stdout + inst.stderr)

    @classmethod
    def tearDownClass(cls):
        shutil.rmtree(cls.tmp, ignore_errors=True)

    def run_outside(self, *args):
        return subprocess.run(list(args), cwd=self.tmp, env=clean_env(), capture_output=True, text=True)

    def test_wheel_bundles_the_library(self):
        import zipfile
        names = zipfile.ZipFile(self.wheel).namelist()
        self.assertIn("librisk/_native/librisk.so.0", names)
        self.assertIn("librisk/py.typed", names)
        self.assertTrue(any(n.endswith("entry_points.txt") for n in names))

    def test_command_evaluates_a_book_from_outside_the_tree(self):
        r = self.run_outside(self.command, "evaluate", os.path.join(ROOT, "examples", "books", "demo.json"))
        self.assertEqual(r.returncode, 0, r.stderr)
        doc = json.loads(r.stdout)
        self.assertEqual(doc["format"], "librisk-result/1")
        self.assertGreater(len(doc["accounts"]), 0)
        direct = subprocess.run([sys.executable, "-m", "librisk", "evaluate",
                                 os.path.join(ROOT, "examples", "books", "demo.json")],
                                cwd=os.path.join(ROOT, "bindings", "python"), capture_output=True, text=True)
        self.assertEqual(json.loads(direct.stdout), doc)  # the installed command equals python3 -m librisk

    def test_import_loads_the_bundled_library(self):
        code = ("import librisk, librisk.ffi as f; f.lib(); "
                "print(librisk.__file__); print(f.library_path()); print(librisk.version())")
        r = self.run_outside(self.python, "-c", code)
        self.assertEqual(r.returncode, 0, r.stderr)
        module, library, version = r.stdout.split()
        venv = os.path.join(self.tmp, "venv")
        self.assertTrue(module.startswith(venv), module)
        self.assertEqual(library, os.path.join(os.path.dirname(module), "_native", "librisk.so.0"))
        with open(os.path.join(ROOT, "include", "risk", "version.h")) as f:
            self.assertEqual(version, f.read().split('RISK_VERSION_STRING "')[1].split('"')[0])


if __name__ == "__main__":
    unittest.main()
