# SPDX-License-Identifier: Apache-2.0
"""risk_text_rows (include/risk/bulk.h) through librisk.bulkbook.number_texts: numbers on a grid
of d decimals are written as Python's repr(round(x, d)) and other numbers as repr(x), over
random values of every shape (whole numbers of quanta, their neighbours, exact ties, random
magnitudes and random bit patterns); NaN and infinities as null, -0.0 as 0.0."""

import ctypes
import math
import os
import random
import shutil
import struct
import subprocess
import tempfile
import unittest

import support
from librisk import bulkbook, ffi


def want_grid(x, d):
    if not math.isfinite(x):
        return "null"
    return repr(round(x, d) + 0.0)


def want_shortest(x):
    return repr(x + 0.0) if math.isfinite(x) else "null"


class TestNumberTexts(unittest.TestCase):

    def setUp(self):
        self.rnd = random.Random(13)

    def bits(self, n):
        return [struct.unpack("<d", struct.pack("<Q", self.rnd.getrandbits(64)))[0] for _ in range(n)]

    def magnitudes(self, n, lo=-10, hi=22):
        return [self.rnd.uniform(-1, 1) * 10 ** self.rnd.uniform(lo, hi) for _ in range(n)]

    def check(self, values, decimals=None):
        got = bulkbook.number_texts(values, decimals)
        want = [want_shortest(x) for x in values] if decimals is None else [want_grid(x, decimals) for x in values]
        bad = [(x, g, w) for x, g, w in zip(values, got, want) if g != w]
        self.assertEqual(len(got), len(values))
        self.assertEqual(bad[:5], [], "%d of %d differ" % (len(bad), len(values)))

    def test_grid_values(self):
        rnd = self.rnd
        for d in list(range(0, 13)) + [15, 18, 22]:
            with self.subTest(decimals=d):
                quanta = [rnd.randint(-10 ** rnd.randint(0, 17), 10 ** rnd.randint(0, 17)) for _ in range(20000)]
                values = [q / 10 ** d for q in quanta]                              # on the grid
                values += [x * (1 + rnd.uniform(-1e-12, 1e-12)) for x in values[:10000]]  # just off it
                values += [(q + rnd.choice((0.5, -0.5, 0.25, 0.49999999))) / 10 ** d for q in quanta[:10000]]  # ties
                values += [0.1 * q for q in quanta[:5000]]                          # sums off the grid
                values += self.magnitudes(10000) + self.bits(2000)
                values += [0.0, -0.0, math.nan, math.inf, -math.inf, 5e-324, 1e-5, 1e-4, 1e15, 1e16, 2.0 ** 52,
                           2.0 ** 53 + 2, 0.125, 2.675, -2.5, 1.7976931348623157e308]
                self.check(values, d)

    def test_shortest_values(self):
        values = self.magnitudes(50000, -30, 30) + self.bits(50000)
        values += [self.rnd.uniform(0.0, 100.0) for _ in range(20000)]             # ratios
        values += [self.rnd.randint(1, 10 ** 6) / self.rnd.randint(1, 10 ** 6) for _ in range(20000)]
        values += [0.0, -0.0, math.nan, math.inf, -math.inf, 5e-324, 2.2250738585072014e-308, 1e-5, 1e-4,
                   0.1 + 0.2, 1e15, 1e16, 9007199254740993.0, 1.7976931348623157e308]
        values += [2.0 ** k for k in range(-1074, 1024, 7)] + [10.0 ** k for k in range(-300, 300, 3)]
        self.check(values)


class TestStreamedBlocks(unittest.TestCase):
    """The streamed evaluation (written by risk_text_rows) equals the ordinary document when
    blocks hold no position at all, hedge accounts included (empty column views)."""

    def test_blocks_without_positions(self):
        import json
        import test_scale as ts
        doc = ts.generated(12, 3)
        doc["accounts"][2]["positions"] = []
        doc["accounts"][3]["positions"] = []
        doc["accounts"][3]["position_mode"] = "hedge"
        for a in doc["accounts"][4:]:
            if a["id"] % 2:
                del a["positions"]
        raw = json.dumps(doc).encode()
        saved = bulkbook.BLOCK_ACCOUNTS
        try:
            for size in (1, 2, 5):
                bulkbook.BLOCK_ACCOUNTS = size
                with self.subTest(block=size):
                    for compact in (False, True):
                        self.assertEqual(ts.streamed(raw, compact), ts.ordinary(raw, compact))
                    lines = ts.streamed(raw, ndjson=True).splitlines()
                    self.assertEqual([json.loads(x) for x in lines], json.loads(ts.ordinary(raw))["accounts"])
        finally:
            bulkbook.BLOCK_ACCOUNTS = saved


@unittest.skipUnless(shutil.which(os.environ.get("CC", "cc")), "no C compiler")
class TestTextColumnLayout(unittest.TestCase):
    """ffi.RiskTextColumn has risk_text_column's size and offsets, and the constants match."""

    def test_layout_and_constants(self):
        lines = ["#include <stdio.h>", "#include <stddef.h>", "#include \"risk.h\"", "int main(void) {",
                 'printf("%zu\\n", sizeof(risk_text_column));']
        expected = [ctypes.sizeof(ffi.RiskTextColumn)]
        for fname, _ in ffi.RiskTextColumn._fields_:
            lines.append('printf("%%zu\\n", offsetof(risk_text_column, %s));' % fname)
            expected.append(getattr(ffi.RiskTextColumn, fname).offset)
        for name in ("RISK_TEXT_COLUMN_VERSION", "RISK_TEXT_GRID", "RISK_TEXT_SHORTEST", "RISK_TEXT_UINT",
                     "RISK_TEXT_LABEL", "RISK_TEXT_LIST", "RISK_TEXT_NUMBER_MAX"):
            lines.append('printf("%%d\\n", (int)%s);' % name)
        expected += [ffi.TEXT_COLUMN_VERSION, ffi.TEXT_GRID, ffi.TEXT_SHORTEST, ffi.TEXT_UINT, ffi.TEXT_LABEL,
                     ffi.TEXT_LIST, ffi.TEXT_NUMBER_MAX]
        lines += ["return 0;", "}"]
        with tempfile.TemporaryDirectory() as d:
            src, exe = os.path.join(d, "layout.c"), os.path.join(d, "layout")
            with open(src, "w") as f:
                f.write("\n".join(lines))
            cc = os.environ.get("CC", "cc")
            subprocess.check_call([cc, "-std=c11", "-I", os.path.join(support.ROOT, "include"), src, "-o", exe])
            out = subprocess.check_output([exe], universal_newlines=True).split()
        self.assertEqual([int(x) for x in out], expected)


if __name__ == "__main__":
    unittest.main()
