# SPDX-License-Identifier: Apache-2.0
"""librisk.options: Black-76 prices, Greeks and implied vol through the bindings, buffers written in
place, the output mask, bad input, the struct mirrors, and the `options` subcommand."""

import array
import ctypes
import math
import os
import shutil
import subprocess
import tempfile
import unittest

import support
from support import librisk

from librisk import ffi, options

try:
    import numpy
except ImportError:  # numpy is optional: its test is skipped without it
    numpy = None


class TestPricing(unittest.TestCase):
    def test_quantlib_atm_check(self):
        # QuantLib BlackCalculator, F = K = 100, T = 1, vol 20%: 7.965567 and forward delta 0.539828
        r = options.black("call", 100.0, 100.0, 1.0, 0.2)
        self.assertAlmostEqual(r["price"][0], 7.965567, places=6)
        self.assertAlmostEqual(r["delta"][0], 0.539828, places=6)
        self.assertAlmostEqual(r["price"][0], 100 * math.erf(0.1 / math.sqrt(2)), delta=1e-13)
        self.assertEqual(tuple(r), options.GREEKS)

    def test_put_call_parity_and_coin_premium(self):
        c = options.black([options.CALL, options.PUT], 60000.0, 65000.0, 30 / 365, 0.55, rate=0.03)
        df = math.exp(-0.03 * 30 / 365)
        self.assertAlmostEqual(c["price"][0] - c["price"][1], df * (60000 - 65000), delta=1e-10)
        coin = options.black("call", 60000.0, 65000.0, 30 / 365, 0.55, premium="coin")
        spot = options.black("call", 60000.0, 65000.0, 30 / 365, 0.55)
        self.assertAlmostEqual(coin["price"][0], spot["price"][0] / 60000, delta=1e-16)
        # Deribit's premium-adjusted delta: Black delta minus the price in coin (docs/options.md)
        self.assertAlmostEqual(coin["delta"][0], spot["delta"][0] - coin["price"][0], delta=1e-15)
        self.assertAlmostEqual(coin["price"][0], 0.032026551765639253902, delta=1e-16)

    def test_buffers_are_written_in_place_and_mask(self):
        n = 4
        fwd = array.array("d", [100.0] * n)
        strike = array.array("d", [80.0, 95.0, 105.0, 130.0])
        price = array.array("d", [0.0] * n)
        r = options.black(array.array("i", [1, 1, -1, -1]), fwd, strike, 0.5, 0.7, greeks=("price", "vega"),
                          out={"price": price})
        self.assertIs(r["price"], price)
        self.assertEqual(set(r), {"price", "vega"})
        self.assertTrue(all(p > 0 for p in price))
        with self.assertRaises(librisk.BufferTooSmallError):
            options.black("call", fwd, strike, 0.5, 0.7, out={"price": array.array("d", [0.0])})

    @unittest.skipIf(numpy is None, "numpy not installed")
    def test_numpy_in_and_out(self):
        k = numpy.linspace(50.0, 150.0, 101)
        out = numpy.zeros(101)
        options.black(numpy.ones(101, dtype=numpy.int32), 100.0, k, 0.25, 0.5, greeks=("delta",),
                      out={"delta": out})
        self.assertTrue(numpy.all(numpy.diff(out) < 0))
        vols, st = options.implied_vol("call", 100.0, k, 0.25,
                                       options.black("call", 100.0, k, 0.25, 0.5, greeks=("price",))["price"])
        self.assertTrue(numpy.allclose(numpy.frombuffer(vols), 0.5, rtol=1e-12, atol=0))

    def test_implied_vol_round_trip_and_statuses(self):
        k = [90.0, 97.0, 100.0, 103.0, 110.0]  # well conditioned: time value not lost in the intrinsic
        for prem in ("spot", "coin"):
            p = options.black("put", 100.0, k, 7 / 365, 0.8, rate=0.05, premium=prem, greeks=("price",))["price"]
            vols, st = options.implied_vol("put", 100.0, k, 7 / 365, p, rate=0.05, premium=prem)
            for v in vols:
                self.assertAlmostEqual(v, 0.8, delta=1e-13)
            self.assertEqual(list(st), [options.IV_OK] * 5)
        vols, st = options.implied_vol("call", 110.0, 100.0, 1.0, [9.0, 110.0, 10.0])
        self.assertEqual(list(st), [options.IV_BELOW_INTRINSIC, options.IV_ABOVE_MAXIMUM, options.IV_OK])
        self.assertTrue(math.isnan(vols[0]) and math.isnan(vols[1]))
        self.assertEqual(vols[2], 0.0)

    def test_forwards(self):
        self.assertAlmostEqual(options.forward(2243.3, 0.08, 20 / 365)[0], 2253.2, delta=0.05)  # W17
        f = options.forward_from_future(50000.0, 51000.0, 0.25, [0.25, 0.125])
        self.assertEqual(f[0], 51000.0)
        self.assertAlmostEqual(f[1], 50000 * math.sqrt(51000 / 50000), delta=1e-9)

    def test_bad_input_raises_and_writes_nothing(self):
        out = array.array("d", [-1.0, -1.0])
        with self.assertRaises(librisk.InvalidError):
            options.black("call", [100.0, float("nan")], 100.0, 1.0, 0.2, greeks=("price",), out={"price": out})
        self.assertEqual(list(out), [-1.0, -1.0])
        for bad in ({"premium": "usd"}, {"vol": 0.0}, {"vol": -0.1}):
            kw = dict(vol=0.2)
            kw.update(bad)
            vol = kw.pop("vol")
            with self.assertRaises(librisk.InvalidError):
                options.black("call", 100.0, 100.0, 1.0, vol, **kw)
        with self.assertRaises(librisk.InvalidError):
            options.black("straddle", 100.0, 100.0, 1.0, 0.2)
        with self.assertRaises(librisk.InvalidError):
            options.black("call", [100.0, 100.0], [100.0, 100.0, 100.0], 1.0, 0.2)
        with self.assertRaises(librisk.InvalidError):
            options.implied_vol("call", 100.0, 100.0, 0.0, 5.0)


@unittest.skipUnless(shutil.which(os.environ.get("CC", "cc")), "no C compiler")
class TestStructLayout(unittest.TestCase):
    def test_option_structs_match_the_header(self):
        structs = {"risk_option_batch": ffi.RiskOptionBatch, "risk_option_greeks": ffi.RiskOptionGreeks}
        lines = ["#include <stdio.h>", "#include <stddef.h>", "#include \"risk.h\"", "int main(void) {"]
        expected = []
        for cname, py in structs.items():
            lines.append('printf("%%zu\\n", sizeof(%s));' % cname)
            expected.append(ctypes.sizeof(py))
            for fname, _ in py._fields_:
                lines.append('printf("%%zu\\n", offsetof(%s, %s));' % (cname, fname))
                expected.append(getattr(py, fname).offset)
        lines.append('printf("%d %d %d %d\\n", RISK_OPTION_CALL, RISK_OPTION_PUT, RISK_OPTION_IV_BELOW_INTRINSIC, '
                     'RISK_OPTION_IV_ABOVE_MAXIMUM);')
        expected += [ffi.OPTION_CALL, ffi.OPTION_PUT, ffi.OPTION_IV_BELOW_INTRINSIC, ffi.OPTION_IV_ABOVE_MAXIMUM]
        lines += ["return 0;", "}"]
        with tempfile.TemporaryDirectory() as d:
            src, exe = os.path.join(d, "layout.c"), os.path.join(d, "layout")
            with open(src, "w") as f:
                f.write("\n".join(lines))
            subprocess.check_call([os.environ.get("CC", "cc"), "-std=c11", "-I",
                                   os.path.join(support.ROOT, "include"), src, "-o", exe])
            out = subprocess.check_output([exe], universal_newlines=True).split()
        self.assertEqual([int(x) for x in out], expected)


class TestCli(unittest.TestCase):
    CSV = ("type,forward,strike,years,vol,rate,price,premium\n"
           "call,60000,65000,0.0821917808219178,0.55,0,,coin\n"
           "put,60000,55000,0.25,0.6,0.05,3500,spot\n"
           "call,100,100,1,,0,7.965567455405804,spot\n"
           "call,100,90,1,0.2,0,5,\n")

    def test_prices_greeks_and_implied_vol_from_stdin(self):
        r = support.run_cli("options", "-", input_text=self.CSV)
        self.assertEqual(r.returncode, 0, r.stderr)
        rows = [line.split(",") for line in r.stdout.strip().splitlines()]
        head = rows[0]
        self.assertEqual(head[:7], ["type", "forward", "strike", "years", "vol", "rate", "premium"])
        self.assertEqual(head[7:15], list(options.GREEKS))
        self.assertEqual(head[15:], ["market_price", "implied_vol", "iv_status"])
        rec = [dict(zip(head, row)) for row in rows[1:]]
        self.assertAlmostEqual(float(rec[0]["price"]), 0.032026551765639253902, delta=1e-16)
        self.assertEqual(rec[0]["implied_vol"], "")
        self.assertEqual(rec[1]["iv_status"], "ok")
        self.assertAlmostEqual(float(rec[2]["implied_vol"]), 0.2, delta=1e-14)
        self.assertAlmostEqual(float(rec[2]["vol"]), 0.2, delta=1e-14)  # Greeks at the implied vol
        self.assertEqual(rec[3]["iv_status"], "below_intrinsic")

    def test_bad_rows_exit_2(self):
        for text in ("type,forward,strike,years,vol\nswap,1,1,1,0.2\n", "type,forward,strike,years,vol\ncall,-1,1,1,0.2\n",
                     "type,forward,strike\ncall,1,1\n", "type,forward,strike,years,vol,premium\ncall,1,1,1,0.2,usd\n"):
            r = support.run_cli("options", "-", input_text=text)
            self.assertEqual(r.returncode, 2, text)
            self.assertEqual(r.stdout, "")
            self.assertEqual(len(r.stderr.strip().splitlines()), 1, r.stderr)


if __name__ == "__main__":
    unittest.main()
