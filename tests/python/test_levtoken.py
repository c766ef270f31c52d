# SPDX-License-Identifier: Apache-2.0
"""Leveraged tokens (librisk.levtoken, `python3 -m librisk levtoken`; docs/rates.md section 9):
the struct mirrors, the binding against exact compounding, its bad input, and the command on the
committed sample series: its figures, its grid, every input checked before any work, progress on
stderr, and the chart (matplotlib, run under Debian's python by `make check-python`)."""

import math
import os
import re
import shutil
import sys
import tempfile
import unittest

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import support  # noqa: E402
import test_bindings  # noqa: E402
from support import run_cli  # noqa: E402
from librisk import backtest as bt, errors, ffi, levtoken  # noqa: E402

SAMPLE = os.path.join(support.ROOT, "data", "sample", "btc_sample_1d.csv")

try:
    import matplotlib  # noqa: F401
    HAVE_MPL = True
except ImportError:
    HAVE_MPL = False


@unittest.skipUnless(shutil.which(os.environ.get("CC", "cc")), "no C compiler")
class TestLevtokenStructLayout(unittest.TestCase):
    STRUCTS = {"risk_levtoken_spec": ffi.RiskLevtokenSpec, "risk_levtoken_result": ffi.RiskLevtokenResult}
    test_sizes_and_offsets_match_the_headers = \
        test_bindings.TestStructLayout.test_sizes_and_offsets_match_the_headers


class TestSimulate(unittest.TestCase):
    def test_every_step_is_the_product_and_costs_add_up(self):
        closes = list(bt.read_csv(SAMPLE).closes[:300])
        sim = levtoken.simulate(closes, 2.0, rebalance_every=1)
        prod = 1.0
        for i in range(1, len(closes)):
            prod *= 1.0 + 2.0 * (closes[i] / closes[i - 1] - 1.0)
            self.assertAlmostEqual(sim.nav[i] / prod, 1.0, delta=1e-12)
        self.assertEqual(sim.n_rebalances, len(closes) - 1)
        self.assertIsNone(sim.wiped_out_at)
        self.assertEqual(list(sim.leverage[:1]), [2.0])
        # with costs: the C identity, NAV = nav0 + PnL - fees - borrowing - funding - trading
        funding = [0.0001] * len(closes)
        s = levtoken.simulate(closes, 3.0, band=(2.5, 3.5), fee_annual=0.0365, borrow_annual=0.05,
                              rebalance_cost=0.0005, funding=funding, nav0=100.0)
        self.assertAlmostEqual(100.0 + s.pnl - s.fees_paid - s.borrow_paid - s.funding_paid - s.rebalance_costs,
                               s.nav_final, delta=1e-9)
        self.assertAlmostEqual(s.rebalance_costs, 0.0005 * s.turnover, delta=1e-12)
        self.assertTrue(all(2.5 <= x <= 3.5 for x in s.leverage))

    def test_bad_input(self):
        for kwargs in ({"leverage": 0.0}, {"leverage": 25.0}, {"leverage": 3.0, "band": (3.5, 4.0)},
                       {"leverage": 3.0, "fee_annual": -0.1}, {"leverage": 3.0, "periods_per_year": 0.0},
                       {"leverage": 3.0, "rebalance_cost": 0.2}):
            with self.subTest(kwargs=kwargs):
                with self.assertRaises(errors.InvalidError):
                    levtoken.simulate([100.0, 101.0], **kwargs)
        with self.assertRaises(errors.InvalidError):
            levtoken.simulate([100.0, float("nan")], 2.0)
        with self.assertRaises(errors.InvalidError):
            levtoken.simulate([100.0, 101.0], 2.0, funding=[0.0])
        with self.assertRaises(errors.InvalidError):
            levtoken.simulate([100.0, 101.0], 2.0, rebalance_every=-1)
        with self.assertRaises(errors.InvalidError):
            levtoken.simulate([], 2.0)


class TestCommand(unittest.TestCase):
    def test_figures_on_the_sample(self):
        res = run_cli("levtoken", "--leverage", "2", SAMPLE, "--quiet")
        self.assertEqual(res.returncode, 0, res.stderr)
        self.assertEqual(res.stderr, "")
        rows = dict(re.findall(r"^  (.+?) {2,}(.+)$", res.stdout, flags=re.M))
        series = bt.daily_closes(bt.read_csv(SAMPLE))
        sim = levtoken.simulate(series.closes, 2.0, rebalance_every=1)
        c = series.closes
        pct = lambda x: "{:+,.2f} %".format(100.0 * x)  # noqa: E731
        self.assertEqual(rows["underlying"], pct(c[-1] / c[0] - 1))
        self.assertEqual(rows["L x underlying (hold)"], pct(2 * (c[-1] / c[0] - 1)))
        self.assertEqual(rows["token (simulated)"], pct(sim.nav_final - 1))
        self.assertEqual(rows["final NAV"], "%.8f" % sim.nav_final)
        qv = sum(math.log(b / a) ** 2 for a, b in zip(c, c[1:]))
        self.assertTrue(rows["decay, closed form"].startswith(pct(math.exp(-(4 - 2) * qv / 2) - 1)))
        self.assertTrue(rows["rebalances"].startswith("{:,d},".format(len(c) - 1)))
        # every number printed on its grid: percentages 2 places, NAV units 8, turnover 2
        for name, text in rows.items():
            for num in re.findall(r"[-+]?[\d,]*\.\d+", text.split("(")[0]):
                places = len(num.split(".")[1])
                self.assertIn(places, (2, 8), (name, text))
        # the simulated decay follows the closed form over the realised variance (daily steps:
        # within a few percent of the NAV over three years at 2x)
        decay_sim = float(rows["decay, simulated"].split(" %")[0].replace(",", ""))
        decay_cf = float(rows["decay, closed form"].split(" %")[0].replace(",", ""))
        self.assertLess(abs(decay_sim - decay_cf), 5.0)

    def test_bad_second_input_fails_before_any_work(self):
        fd, bad = tempfile.mkstemp(suffix=".csv")
        with os.fdopen(fd, "w") as f:
            f.write("date,price\n2020-01-01,1\n2020-01-02,2\n")
        try:
            for second, words in ((bad, "%s: no column named close" % bad),
                                  ("/nonexistent/eth.csv", "/nonexistent/eth.csv")):
                with self.subTest(second=second):
                    res = run_cli("levtoken", "--leverage", "3", SAMPLE, second)
                    self.assertEqual(res.returncode, 2)
                    self.assertEqual(res.stdout, "")
                    self.assertEqual(res.stderr.splitlines(), [res.stderr.strip()])
                    self.assertIn(words, res.stderr)
        finally:
            os.unlink(bad)
        for args, words in ((("--leverage", "0"), "bad product"), (("--leverage", "x"), "--leverage"),
                            (("--leverage", "3", "--band", "4,5"), "bad product"),
                            (("--leverage", "3", "--band", "2"), "--band"),
                            (("--leverage", "3", "--every", "0"), "--every 0 needs a --band"),
                            (("--leverage", "3", "--every", "-2"), "--every")):
            with self.subTest(args=args):
                res = run_cli("levtoken", *(args + (SAMPLE,)))
                self.assertEqual((res.returncode, res.stdout), (2, ""))
                self.assertEqual(len(res.stderr.splitlines()), 1, res.stderr)
                self.assertIn(words, res.stderr)

    def test_progress_on_stderr_and_quiet(self):
        loud = run_cli("levtoken", "--leverage", "3", "--band", "2.5,3.5", SAMPLE, SAMPLE)
        quiet = run_cli("levtoken", "--leverage", "3", "--band", "2.5,3.5", SAMPLE, SAMPLE, "-q")
        self.assertEqual((loud.returncode, quiet.returncode), (0, 0), loud.stderr)
        self.assertEqual(loud.stdout, quiet.stdout)
        self.assertEqual(quiet.stderr, "")
        lines = loud.stderr.splitlines()
        self.assertEqual(len(lines), 3)
        self.assertRegex(lines[0], r"^levtoken: 1/2 btc_sample_1d \(\d+\.\d s\)$")
        self.assertRegex(lines[2], r"^levtoken: 2/2 done in \d+\.\d s$")

    @unittest.skipUnless(HAVE_MPL, "matplotlib not installed")
    def test_chart(self):
        fd, png = tempfile.mkstemp(suffix=".png")
        os.close(fd)
        try:
            res = run_cli("levtoken", "--leverage", "3", "--band", "2.5,3.5", SAMPLE, "--chart", png, "-q")
            self.assertEqual(res.returncode, 0, res.stderr)
            with open(png, "rb") as f:
                head = f.read(8)
            self.assertEqual(head, b"\x89PNG\r\n\x1a\n")
            self.assertGreater(os.path.getsize(png), 20000)
        finally:
            os.unlink(png)
        res = run_cli("levtoken", "--leverage", "3", SAMPLE, "--chart", "/nonexistent/dir/x.png")
        self.assertEqual(res.returncode, 2)
        self.assertIn("--chart", res.stderr)


if __name__ == "__main__":
    unittest.main()
