# SPDX-License-Identifier: Apache-2.0
"""Volatility bindings (librisk.vol) and the `vol` command: values against independent Python
computations, buffers written in place, streaming classes, GARCH fits, bad input, the CLI."""

import array
import csv
import io
import math
import os
import random
import shutil
import statistics
import sys
import tempfile
import unittest

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import support  # noqa: E402
import test_bindings  # noqa: E402  (its struct-layout check is reused below)
from support import librisk  # noqa: E402
from librisk import errors, ffi, vol  # noqa: E402

try:
    import numpy
except ImportError:  # numpy is optional: its test is skipped without it
    numpy = None

SAMPLE_DAILY = os.path.join(support.ROOT, "data", "sample", "btc_sample_1d.csv")


def walk(n, sigma, seed):
    """n closes of a random walk from 100 (fixed seed)."""
    rng = random.Random(seed)
    c = [100.0]
    for _ in range(n - 1):
        c.append(c[-1] * math.exp(rng.gauss(0.0, sigma)))
    return c


def bars(n, seed):
    """n OHLC bars (fixed seed), open = previous close."""
    rng = random.Random(seed)
    o, h, lo, c = [], [], [], []
    prev = 50.0
    for _ in range(n):
        op = prev * math.exp(rng.gauss(0, 0.002))
        cl = op * math.exp(rng.gauss(0, 0.02))
        o.append(op)
        c.append(cl)
        h.append(max(op, cl) * math.exp(0.01 * rng.random()))
        lo.append(min(op, cl) * math.exp(-0.01 * rng.random()))
        prev = cl
    return o, h, lo, c


def same(a, b):
    """Equal floats, NaN equal to NaN."""
    return (math.isnan(a) and math.isnan(b)) or a == b


@unittest.skipUnless(shutil.which(os.environ.get("CC", "cc")), "no C compiler")
class TestVolStructLayout(unittest.TestCase):
    """The vol.h mirrors have the C structs' sizes and offsets (the check of test_bindings)."""

    STRUCTS = {
        "risk_vol_ewma_state": ffi.RiskVolEwmaState, "risk_vol_realized_state": ffi.RiskVolRealizedState,
        "risk_vol_garch_state": ffi.RiskVolGarchState, "risk_vol_garch_options": ffi.RiskVolGarchOptions,
        "risk_vol_garch_result": ffi.RiskVolGarchResult, "risk_vol_range_state": ffi.RiskVolRangeState,
    }
    test_sizes_and_offsets_match_the_headers = \
        test_bindings.TestStructLayout.test_sizes_and_offsets_match_the_headers


class TestArrays(unittest.TestCase):
    def test_ewma_hand_recursion(self):
        # s2 from 1e-4 with lambda 0.94 (worked by hand in tests/test_vol.c)
        r = [0.01, -0.02, 0.015, 0.03, -0.01]
        hand = [0.0001, 0.000118, 0.00012442, 0.0001709548, 0.000166697512]
        c = [100.0]
        for x in r:
            c.append(c[-1] * math.exp(x))
        out = vol.ewma(c, 0.94, 1e-4, 1.0)
        self.assertIsInstance(out, array.array)
        self.assertTrue(math.isnan(out[0]))
        for got, want in zip(out[1:], hand):
            self.assertAlmostEqual(got, math.sqrt(want), places=14)
        s = vol.Ewma(0.94, 1e-4)
        for x in r:
            s.update(x)
        self.assertAlmostEqual(s.variance, hand[-1], places=17)
        self.assertEqual(s.count, 5)

    def test_ewma_recursion_in_python(self):
        c = walk(500, 0.03, 1)
        out = vol.ewma(c, 0.97, 0.0, 365.0)
        s2 = None
        for t in range(1, len(c)):
            r = math.log(c[t] / c[t - 1])
            s2 = r * r if s2 is None else 0.97 * s2 + 0.03 * r * r
            self.assertAlmostEqual(out[t] / math.sqrt(s2 * 365.0), 1.0, places=12)

    def test_realized_against_statistics(self):
        c = walk(200, 0.02, 2)
        r = [math.log(c[t] / c[t - 1]) for t in range(1, len(c))]
        out = vol.realized(c, 20, 8760.0)
        for t in range(len(c)):
            if t < 20:
                self.assertTrue(math.isnan(out[t]))
            else:
                want = statistics.stdev(r[t - 20:t]) * math.sqrt(8760.0)
                self.assertAlmostEqual(out[t] / want, 1.0, places=10)

    def test_range_estimators_against_python(self):
        o, h, lo, c = bars(120, 3)
        w = 10
        k = 0.34 / (1.34 + (w + 1) / (w - 1))
        pk = [math.log(h[i] / lo[i]) ** 2 / (4 * math.log(2)) for i in range(120)]
        gk = [0.5 * math.log(h[i] / lo[i]) ** 2 - (2 * math.log(2) - 1) * math.log(c[i] / o[i]) ** 2
              for i in range(120)]
        rs = [math.log(h[i] / c[i]) * math.log(h[i] / o[i]) + math.log(lo[i] / c[i]) * math.log(lo[i] / o[i])
              for i in range(120)]
        got = {"pk": vol.parkinson(h, lo, w), "gk": vol.garman_klass(o, h, lo, c, w),
               "rs": vol.rogers_satchell(o, h, lo, c, w), "yz": vol.yang_zhang(o, h, lo, c, w)}
        for t in range(w, 120):
            for name, terms in (("pk", pk), ("gk", gk), ("rs", rs)):
                want = math.sqrt(statistics.fmean(terms[t - w + 1:t + 1]) * 365)
                self.assertAlmostEqual(got[name][t] / want, 1.0, places=10)
            on = [math.log(o[i] / c[i - 1]) for i in range(t - w + 1, t + 1)]
            oc = [math.log(c[i] / o[i]) for i in range(t - w + 1, t + 1)]
            yz = statistics.variance(on) + k * statistics.variance(oc) + (1 - k) * statistics.fmean(rs[t - w + 1:t + 1])
            self.assertAlmostEqual(got["yz"][t] / math.sqrt(yz * 365), 1.0, places=9)
        self.assertTrue(math.isnan(got["pk"][w - 2]) and not math.isnan(got["pk"][w - 1]))
        self.assertTrue(math.isnan(got["yz"][w - 1]) and not math.isnan(got["yz"][w]))

    def test_output_buffer_is_written_in_place(self):
        c = array.array("d", walk(50, 0.02, 4))
        out = array.array("d", [7.0] * 60)  # longer than needed: the tail is left alone
        got = vol.ewma(c, out=out)
        self.assertIs(got, out)
        self.assertTrue(all(same(a, b) for a, b in zip(out[:50], vol.ewma(list(c)))))
        self.assertEqual(list(out[50:]), [7.0] * 10)
        mv = memoryview(bytearray(8 * 50)).cast("d")
        self.assertIs(vol.realized(c, 5, out=mv), mv)
        self.assertEqual(list(mv[10:]), list(vol.realized(c, 5))[10:])
        # log returns in place over the closes themselves
        want = vol.log_returns(c)
        vol.log_returns(c, out=c)
        self.assertTrue(all(same(a, b) for a, b in zip(c, want)))

    def test_inputs_of_any_kind(self):
        c = walk(40, 0.02, 5)
        want = list(vol.ewma(array.array("d", c)))
        ro = memoryview(array.array("d", c).tobytes()).cast("d")  # read-only: converted once
        for form in (c, tuple(c), ro, array.array("f", c)):
            got = vol.ewma(form)
            if isinstance(form, array.array):  # float32 inputs round
                self.assertAlmostEqual(got[-1], want[-1], places=5)
            else:
                self.assertTrue(all(same(a, b) for a, b in zip(got, want)))

    @unittest.skipIf(numpy is None, "numpy not installed")
    def test_numpy_in_and_out(self):
        c = numpy.array(walk(100, 0.02, 6))
        out = numpy.zeros(100)
        self.assertIs(vol.ewma(c, out=out), out)
        self.assertTrue(numpy.isnan(out[0]))
        self.assertEqual(list(out[1:]), list(vol.ewma(list(c)))[1:])
        o, h, lo, cl = (numpy.array(x) for x in bars(50, 7))
        yz = numpy.empty(50)
        vol.yang_zhang(o, h, lo, cl, 5, out=yz)
        self.assertEqual(list(yz[5:]), list(vol.yang_zhang(list(o), list(h), list(lo), list(cl), 5))[5:])

    def test_bad_input_writes_nothing(self):
        c = walk(30, 0.02, 8)
        out = array.array("d", [-1.0] * 30)
        bad_c = list(c)
        bad_c[7] = 0.0
        cases = [
            lambda: vol.ewma(bad_c, out=out),
            lambda: vol.ewma(c, 1.0, out=out),
            lambda: vol.ewma(c, 0.94, -1.0, out=out),
            lambda: vol.ewma(c, 0.94, 0.0, 0.0, out=out),
            lambda: vol.ewma([1.0, float("nan"), 2.0], out=out),
            lambda: vol.realized(c, 1, out=out),
            lambda: vol.realized(c, 30, out=out),
            lambda: vol.parkinson(c, [x * 1.01 for x in c], 5, out=out),  # high < low
            lambda: vol.garman_klass([x * 1.02 for x in c], [x * 1.01 for x in c], c, c, 5, out=out),
            lambda: vol.garch(c, 1e-5, 0.5, 0.5, out=out),
            lambda: vol.ewma(c, out=memoryview(bytes(8 * 30)).cast("d")),  # read-only
            lambda: vol.ewma(c, out=array.array("f", [0.0] * 30)),  # not float64
            lambda: vol.garman_klass(c, c, c, c[:-1], 5, out=out),  # lengths differ
            lambda: vol.realized(c, 2.5, out=out),
            lambda: vol.ewma(["x"] * 30, out=out),
        ]
        for i, case in enumerate(cases):
            with self.subTest(case=i):
                with self.assertRaises(errors.InvalidError):
                    case()
                self.assertEqual(list(out), [-1.0] * 30)
        short = array.array("d", [-1.0] * 29)
        with self.assertRaises(errors.BufferTooSmallError) as cm:
            vol.ewma(c, out=short)
        self.assertEqual(cm.exception.needed, 30)
        self.assertEqual(list(short), [-1.0] * 29)


class TestGarch(unittest.TestCase):
    @classmethod
    def setUpClass(cls):
        rng = random.Random(77)
        omega, alpha, beta = 2e-5, 0.08, 0.9
        s2, r = omega / (1 - alpha - beta), []
        for _ in range(3000):
            x = math.sqrt(s2) * rng.gauss(0.0, 1.0)
            r.append(x)
            s2 = omega + alpha * x * x + beta * s2
        cls.returns = r
        cls.close = [100.0]
        for x in r:
            cls.close.append(cls.close[-1] * math.exp(x))

    def test_fit_result_and_its_state(self):
        returns = list(vol.log_returns(self.close))[1:]
        fit = vol.garch_fit(returns)
        self.assertTrue(fit.converged)
        self.assertFalse(fit.variance_targeting)
        self.assertEqual(fit.n, 3000)
        for est, se, truth in ((fit.omega, fit.se_omega, 2e-5), (fit.alpha, fit.se_alpha, 0.08),
                               (fit.beta, fit.se_beta, 0.9)):
            self.assertLess(abs(est - truth), 3 * se)
        self.assertEqual(fit.log_likelihood, vol.garch_loglik(returns, fit.omega, fit.alpha, fit.beta))
        self.assertAlmostEqual(fit.half_life, math.log(2) / -math.log(fit.alpha + fit.beta), places=12)
        # the in-sample path ends at the fit's next-period variance; the state continues from it
        path = vol.garch(self.close, fit.omega, fit.alpha, fit.beta, periods_per_year=1.0)
        self.assertAlmostEqual(path[-1] ** 2 / fit.variance_next, 1.0, places=13)
        g = fit.state()
        self.assertEqual(g.variance, fit.variance_next)
        f1, c1 = g.forecast(1)
        self.assertEqual((f1, c1), (fit.variance_next, fit.variance_next))
        f_far, _ = g.forecast(10 ** 6)
        self.assertAlmostEqual(f_far / fit.long_run_variance, 1.0, places=12)
        g.update_price(self.close[-1])
        g.update_price(self.close[-1] * 1.05)
        self.assertAlmostEqual(g.variance, fit.omega + fit.alpha * math.log(1.05) ** 2 + fit.beta * fit.variance_next,
                               places=15)

    def test_variance_targeting(self):
        fit = vol.garch_fit(self.returns, variance_targeting=True)
        self.assertTrue(fit.variance_targeting)
        self.assertAlmostEqual(fit.long_run_variance / fit.sample_variance, 1.0, places=12)
        free = vol.garch_fit(self.returns)
        self.assertLessEqual(fit.log_likelihood, free.log_likelihood + 1e-9)

    def test_bad_fits(self):
        with self.assertRaises(errors.InvalidError):
            vol.garch_fit(self.returns[:9])
        with self.assertRaises(errors.InvalidError):
            vol.garch_fit([0.0] * 50)
        with self.assertRaises(errors.InvalidError):
            vol.garch_fit(self.returns, tolerance=0.0)
        with self.assertRaises(errors.InvalidError):
            vol.Garch(1e-5, 0.3, 0.7, 1e-4)

    def test_fit_is_always_a_valid_state(self):
        # issue 9 defect 7: these eleven returns gave alpha + beta == 1.0, refused by Garch()
        r = [0.021758753988779498, -0.015870051824427234, 0.02262094214214987, 0.021441782625132137,
             0.015887916398182472, -0.012210436175675335, 0.026704810334697744, 0.023753350392800455,
             -0.0068533265203485835, -0.0052047114703826182, 0.0013413099066081013]
        for targeting in (False, True):
            fit = vol.garch_fit(r, variance_targeting=targeting, tolerance=1e-300, max_iterations=10000)
            self.assertLessEqual(fit.persistence, 1.0 - 1e-6)
            self.assertTrue(math.isfinite(fit.long_run_variance))
            fit.state().update(0.01)
            vol.garch_loglik(r, fit.omega, fit.alpha, fit.beta)

    def test_prices_outside_the_domain_are_refused(self):
        # closes of {100, 5e-324, 100} gave infinite returns and a realised volatility of 0
        for closes in ([100.0, 5e-324, 100.0], [100.0, 1e300, 100.0]):
            with self.assertRaises(errors.InvalidError):
                vol.log_returns(closes)
            with self.assertRaises(errors.InvalidError):
                vol.ewma(closes)


class TestStreaming(unittest.TestCase):
    def test_streams_match_arrays(self):
        c = walk(300, 0.025, 9)
        e, r = vol.Ewma(0.94), vol.Realized(12)
        ea, ra = vol.ewma(c, 0.94), vol.realized(c, 12)
        for t, price in enumerate(c):
            e.update_price(price)
            r.update_price(price)
            if t == 0:
                self.assertIsNone(e.variance)
                self.assertIsNone(e.vol_annual())
            else:
                self.assertEqual(e.vol_annual(), ea[t])
            self.assertTrue(same(r.vol_annual() if t >= 12 else math.nan, ra[t]))
        o, h, lo, cl = bars(200, 10)
        for method, fn in (("parkinson", lambda: vol.parkinson(h, lo, 8, 8760)),
                           ("garman-klass", lambda: vol.garman_klass(o, h, lo, cl, 8, 8760)),
                           ("rogers-satchell", lambda: vol.rogers_satchell(o, h, lo, cl, 8, 8760)),
                           ("yang-zhang", lambda: vol.yang_zhang(o, h, lo, cl, 8, 8760))):
            s, want = vol.Range(method, 8), fn()
            for t in range(200):
                s.update(o[t], h[t], lo[t], cl[t])
                got = s.vol_annual(8760)
                self.assertTrue(same(math.nan if got is None else got, want[t]), (method, t))

    def test_bad_updates_change_nothing(self):
        e = vol.Ewma(0.94, 1e-4)
        e.update(0.01)
        before = e.variance
        for bad in (float("nan"), float("inf")):
            with self.assertRaises(errors.InvalidError):
                e.update(bad)
        for bad in (0.0, -1.0, float("nan")):
            with self.assertRaises(errors.InvalidError):
                e.update_price(bad)
        self.assertEqual(e.variance, before)
        with self.assertRaises(errors.InvalidError):
            e.vol_annual(0.0)
        s = vol.Range("rogers-satchell", 3)
        with self.assertRaises(errors.InvalidError):
            s.update(100.0, 99.0, 101.0, 100.0)  # high < low
        self.assertEqual(s.count, 0)
        for bad in (lambda: vol.Ewma(0.0), lambda: vol.Realized(1), lambda: vol.Range("close", 5),
                    lambda: vol.Range("parkinson", 1)):
            with self.assertRaises(errors.InvalidError):
                bad()


class TestCli(unittest.TestCase):
    ROWS = [  # timestamp, open, high, low, close
        ("2024-01-01", 100.0, 102.0, 99.0, 101.0), ("2024-01-02", 101.0, 104.0, 100.5, 103.5),
        ("2024-01-03", 103.5, 103.9, 98.0, 99.0), ("2024-01-04", 99.0, 101.0, 97.5, 100.0),
        ("2024-01-05", 100.0, 100.2, 95.0, 96.0), ("2024-01-06", 96.0, 99.5, 95.5, 99.0),
        ("2024-01-07", 99.0, 103.0, 98.5, 102.5), ("2024-01-08", 102.5, 106.0, 102.0, 105.0),
    ]

    def write(self, text):
        fd, path = tempfile.mkstemp(suffix=".csv", prefix="librisk-vol-")
        with os.fdopen(fd, "w") as f:
            f.write(text)
        self.addCleanup(os.unlink, path)
        return path

    def table(self, header="timestamp,open,high,low,close,volume", rows=None):
        lines = [header]
        for row in rows or self.ROWS:
            lines.append(",".join(str(x) for x in row) + ",1000")
        return self.write("\n".join(lines) + "\n")

    def run_vol(self, *args):
        return support.run_cli("vol", *args)

    def parse(self, stdout):
        rows = list(csv.reader(io.StringIO(stdout)))
        return rows[0], rows[1:]

    def test_ewma_and_realized_values(self):
        path = self.table()
        closes = [r[4] for r in self.ROWS]
        r = self.run_vol("--method", "ewma", "--lambda", "0.9", path)
        self.assertEqual(r.returncode, 0, r.stderr)
        self.assertEqual(r.stderr, "")
        header, rows = self.parse(r.stdout)
        self.assertEqual(header, ["timestamp", "vol_annual"])
        self.assertEqual([row[0] for row in rows], [row[0] for row in self.ROWS])
        self.assertEqual(rows[0][1], "")
        s2 = None
        for t in range(1, len(closes)):
            x = math.log(closes[t] / closes[t - 1])
            s2 = x * x if s2 is None else 0.9 * s2 + 0.1 * x * x
            self.assertAlmostEqual(float(rows[t][1]), math.sqrt(365 * s2), places=12)
        r = self.run_vol("--method", "realized", "--window", "3", "--periods-per-year", "8760", path)
        self.assertEqual(r.returncode, 0, r.stderr)
        _, rows = self.parse(r.stdout)
        ret = [math.log(closes[t] / closes[t - 1]) for t in range(1, len(closes))]
        self.assertEqual([row[1] for row in rows[:3]], ["", "", ""])
        for t in range(3, len(closes)):
            self.assertAlmostEqual(float(rows[t][1]), statistics.stdev(ret[t - 3:t]) * math.sqrt(8760), places=12)

    def test_every_method_runs(self):
        short = self.table()
        rows16 = [("d%02d" % i,) + row[1:] for i, row in enumerate(self.ROWS * 2)]
        long = self.table(rows=rows16)  # the garch fit needs 11 rows
        for method in vol.METHODS:
            rows, path = (rows16, long) if method == "garch" else (self.ROWS, short)
            with self.subTest(method=method):
                r = self.run_vol("--method", method, "--window", "4", "--periods-per-year", "365", path)
                self.assertEqual(r.returncode, 0, r.stderr)
                header, out = self.parse(r.stdout)
                self.assertEqual(header, ["timestamp", "vol_annual"])
                self.assertEqual(len(out), len(rows))
                values = [float(v) for _, v in out if v]
                self.assertTrue(values and all(0.0 <= v < 10.0 for v in values))
                first = {"ewma": 1, "garch": 1, "realized": 4, "yang-zhang": 4}.get(method, 3)
                self.assertEqual(sum(1 for _, v in out if not v), first)

    def test_bar_length_from_the_times(self):
        """Issue 14: hourly rows were annualised with 365 periods a year without a word. The bar
        length now comes from the median spacing of the times (as backtest reads them), or must
        be given."""
        daily = self.table()
        hourly = self.table(rows=[("2024-01-01T%02d:00:00Z" % i,) + row[1:] for i, row in enumerate(self.ROWS)])
        for path, periods in ((daily, "365"), (hourly, "8760")):
            auto = self.run_vol("--method", "ewma", path)
            given = self.run_vol("--method", "ewma", "--periods-per-year", periods, path)
            self.assertEqual(auto.returncode, 0, auto.stderr)
            self.assertEqual(auto.stdout, given.stdout)
        # hourly: sqrt(8760 / 365) = 4.9 times the daily annualisation of the same closes
        d, h = (self.parse(self.run_vol("--method", "ewma", p).stdout)[1] for p in (daily, hourly))
        self.assertAlmostEqual(float(h[1][1]) / float(d[1][1]), math.sqrt(24.0), places=12)
        bare = self.write("close\n100\n101\n99\n")
        r = self.run_vol("--method", "ewma", bare)
        self.assertEqual(r.returncode, 2)
        self.assertIn("no time column to tell the bar length from: give --periods-per-year", r.stderr)

    def test_no_carried_column(self):
        path = self.write("close,open\n100,100\n101,100\n99,100\n")
        r = self.run_vol("--method", "ewma", "--periods-per-year", "365", path)
        self.assertEqual(r.returncode, 0, r.stderr)
        self.assertEqual(r.stdout.splitlines()[0], "vol_annual")
        self.assertEqual(r.stdout.splitlines()[1], "")
        self.assertEqual(len(r.stdout.splitlines()), 4)

    def test_bad_input_exits_2_with_one_line(self):
        good = self.table()
        rows = [list(r) for r in self.ROWS]
        rows[3][4] = "abc"
        non_numeric = self.table(rows=rows)
        rows = [list(r) for r in self.ROWS]
        rows[2][4] = "-5"
        negative = self.table(rows=rows)
        rows = [list(r) for r in self.ROWS]
        rows[2][2] = 90.0  # high below low
        crossed = self.table(rows=rows)
        cases = [
            ("no column named close", ["--method", "ewma", self.write("time,price\n1,2\n")]),
            ("no column named high", ["--method", "parkinson", self.write("time,close\n1,2\n")]),
            ("not a number", ["--method", "ewma", non_numeric]),
            ("not a positive price", ["--method", "realized", "--window", "2", negative]),
            ("within [low, high]", ["--method", "garman-klass", "--window", "2", crossed]),
            ("high is below low", ["--method", "parkinson", "--window", "2", crossed]),
            ("--lambda", ["--method", "ewma", "--lambda", "1.5", good]),
            ("--window", ["--method", "realized", "--window", "1", good]),
            ("--window", ["--method", "yang-zhang", "--window", "8", good]),
            ("--periods-per-year", ["--method", "ewma", "--periods-per-year", "0", good]),
            ("garch", ["--method", "garch", good]),
            ("invalid choice", ["--method", "vega", good]),
            ("No such file", ["--method", "ewma", good + ".missing"]),
        ]
        for needle, args in cases:
            with self.subTest(args=args):
                r = self.run_vol(*args)
                self.assertEqual(r.returncode, 2, r.stderr)
                self.assertEqual(r.stdout, "")
                self.assertIn(needle, r.stderr)
                if needle != "invalid choice":  # argparse prints its usage line too
                    self.assertEqual(len(r.stderr.strip().splitlines()), 1, r.stderr)

    def test_closes_outside_the_price_domain_exit_2(self):
        """A close outside [1e-12, 1e12] (the library's price domain) is bad input for every CSV command,
        named with its line: `var` and `levtoken` let the library's InvalidError escape as a traceback
        (fuzz_cli.py seed 11, case 497: fuzz/corpus/cli/close-above-price-domain.csv)."""
        for close in ("010577713225022066", "1e13", "1e-13"):
            rows = [list(r) for r in self.ROWS]
            rows[2][4] = close
            path = self.table(rows=rows)
            for args in (("vol", "--method", "ewma"), ("var", "--method", "mc", "--window", "3", "--backtest"),
                         ("levtoken", "--leverage", "0.5", "--band=0.4,0.6"), ("backtest",)):
                with self.subTest(close=close, command=args[0]):
                    r = support.run_cli(*(args + (path,)))
                    self.assertEqual(r.returncode, 2, r.stderr)
                    self.assertEqual(r.stdout, "")
                    self.assertEqual(len(r.stderr.strip().splitlines()), 1, r.stderr)
                    self.assertIn("%s:4: column close: %s is outside the price domain" % (path, close), r.stderr)

    def test_sample_daily_file(self):
        """The committed synthetic series (data/sample/); the real one is in tests/market."""
        with open(SAMPLE_DAILY, newline="") as f:
            data = list(csv.DictReader(f))
        closes = [float(row["close"]) for row in data]
        for method in ("ewma", "yang-zhang", "garch"):
            with self.subTest(method=method):
                r = self.run_vol("--method", method, SAMPLE_DAILY)
                self.assertEqual(r.returncode, 0, r.stderr)
                header, rows = self.parse(r.stdout)
                self.assertEqual(header, ["timestamp", "vol_annual"])
                self.assertEqual([row[0] for row in rows], [row["timestamp"] for row in data])
                values = [float(v) for _, v in rows if v]
                # daily volatility of 2 % or 5 % (38 % or 96 % a year) and one -40 % day: every
                # estimate finite and positive, the median between the regimes, the crash below 10x
                self.assertTrue(all(0.0 < v < 10.0 for v in values), (min(values), max(values)))
                self.assertTrue(0.3 < statistics.median(values) < 1.0, statistics.median(values))
                if method == "ewma":
                    self.assertAlmostEqual(float(rows[1][1]), abs(math.log(closes[1] / closes[0])) * math.sqrt(365),
                                           places=12)


if __name__ == "__main__":
    unittest.main()
