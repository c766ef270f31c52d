# SPDX-License-Identifier: Apache-2.0
"""Builds librisk.so with the project's Makefile and bundles it into the wheel as
librisk/_native/librisk.so.MAJOR, which the loader prefers (bindings/python/librisk/ffi.py).
Metadata lives in pyproject.toml; this file only adds the native build step and reads the
version from include/risk/version.h, where it lives once."""
import os
import re
import shutil
import subprocess

from setuptools import setup
from setuptools.command.build_py import build_py
from setuptools.dist import Distribution

ROOT = os.path.dirname(os.path.abspath(__file__))


def version():
    text = open(os.path.join(ROOT, "include", "risk", "version.h"), encoding="utf-8").read()
    parts = [re.search(r"#define RISK_VERSION_%s (\d+)" % k, text).group(1) for k in ("MAJOR", "MINOR", "PATCH")]
    return ".".join(parts)


class BuildWithLibrary(build_py):
    """build_py, then `make` the shared library and copy it into the package."""

    def run(self):
        super().run()
        v = version()
        major = v.split(".")[0]
        subprocess.check_call([os.environ.get("MAKE", "make"), "-C", ROOT, "lib/librisk.so." + v])
        dest = os.path.join(self.build_lib, "librisk", "_native")
        os.makedirs(dest, exist_ok=True)
        shutil.copyfile(os.path.join(ROOT, "lib", "librisk.so." + v), os.path.join(dest, "librisk.so." + major))


class NativeDistribution(Distribution):
    """A platform wheel: it carries a compiled library."""

    def has_ext_modules(self):
        return True


setup(version=version(), cmdclass={"build_py": BuildWithLibrary}, distclass=NativeDistribution)
