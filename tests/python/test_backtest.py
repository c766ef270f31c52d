# SPDX-License-Identifier: Apache-2.0
"""The margin back-test (librisk.backtest, `python3 -m librisk backtest`; docs/volatility.md section 4):
the Kupiec test, breach counting and the max-rise metric on hand-made data, the margin paths
against the formulas they implement, the command line and its bad input, and invariants on the
committed sample series (the real BTC series: tests/market/test_market_data.py)."""

import array
import calendar
import csv
import datetime
import math
import os
import random
import sys
import tempfile
import unittest

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import support  # noqa: E402
from support import run_cli  # noqa: E402
from librisk import backtest as bt  # noqa: E402
from librisk import vol  # noqa: E402

DAY = 86400
SAMPLE_DAILY = os.path.join(support.ROOT, "data", "sample", "btc_sample_1d.csv")


def day(text):
    return calendar.timegm((int(text[:4]), int(text[5:7]), int(text[8:10]), 0, 0, 0))


def synthetic_closes(n, seed=5, omega=4e-5, alpha=0.15, beta=0.8):
    """n closes whose log returns follow GARCH(1,1) (Gaussian shocks, fixed seed), with the shocks
    tripled for 10 bars in the middle: a calm and a stressed spell."""
    rng = random.Random(seed)
    s2, c, closes = omega / (1 - alpha - beta), 100.0, [100.0]
    for i in range(n - 1):
        r = math.sqrt(s2) * rng.gauss(0.0, 1.0)
        c *= math.exp(r * (3.0 if n // 2 <= i < n // 2 + 10 else 1.0))
        closes.append(c)
        s2 = omega + alpha * r * r + beta * s2  # the untripled return: the variance stays stationary
    return closes


class TempCsv:
    """A CSV file written from a header and rows; removed on exit."""

    def __init__(self, header, rows):
        self.header, self.rows, self.path = header, rows, None

    def __enter__(self):
        fd, self.path = tempfile.mkstemp(suffix=".csv", prefix="librisk-backtest-")
        with os.fdopen(fd, "w", newline="") as f:
            w = csv.writer(f)
            w.writerow(self.header)
            w.writerows(self.rows)
        return self.path

    def __exit__(self, *exc):
        os.unlink(self.path)
        return False


def daily_rows(closes, start="2020-01-01"):
    t0 = day(start)
    return [(bt._date(t0 + i * DAY), c, c, c, c) for i, c in enumerate(closes)]


class TestKupiec(unittest.TestCase):
    def test_kupiec_hand_computed(self):
        # n = 100 trials, x = 2 breaches, p = 1 - 0.99 = 0.01:
        # LR = -2 [98 ln 0.99 + 2 ln 0.01] + 2 [98 ln 0.98 + 2 ln 0.02]
        #    = 2 [98 ln(0.98 / 0.99) + 2 ln 2]
        #    = 2 [98 x (-0.0101523715) + 2 x 0.6931471806] = 2 [-0.9949324 + 1.3862944] = 0.7827239
        lr, p = bt.kupiec(100, 2, 0.99)
        self.assertAlmostEqual(lr, 0.7827239, delta=1e-7)
        # p = P(chi2_1 > 0.7827) = 2 (1 - Phi(sqrt(0.7827))) = 2 (1 - Phi(0.88472)) = 2 x 0.18815 = 0.3763
        self.assertAlmostEqual(p, 0.3763, delta=1e-4)
        # x = 0: LR = -2 n ln(1 - p) = 200 x 0.0100503359 = 2.0100672
        self.assertAlmostEqual(bt.kupiec(100, 0, 0.99)[0], 2.0100672, delta=1e-7)
        # x = n p exactly: the observed rate is the target, LR = 0, p = 1
        self.assertEqual(bt.kupiec(500, 5, 0.99), (0.0, 1.0))
        # x = n: LR = -2 n ln p (the second log-likelihood is 0)
        self.assertAlmostEqual(bt.kupiec(3, 3, 0.99)[0], -6 * math.log(0.01), delta=1e-12)

    def test_kupiec_p_value_at_chi_square_critical_values(self):
        # chi-square(1) table: 3.841459 at 5 %, 6.634897 at 1 %. Find breach counts whose LR
        # straddles them and check the p-value is on the right side; and the p-value function itself.
        for crit, alpha in ((3.841459, 0.05), (6.634897, 0.01)):
            self.assertAlmostEqual(math.erfc(math.sqrt(crit / 2)), alpha, delta=1e-6)
        for x in range(0, 40):
            lr, p = bt.kupiec(1000, x, 0.99)
            self.assertEqual(lr > 3.841459, p < 0.05, x)
        # more breaches than expected -> LR grows with x beyond n p
        lrs = [bt.kupiec(1000, x, 0.99)[0] for x in range(10, 40)]
        self.assertEqual(lrs, sorted(lrs))

    def test_kupiec_rejects_impossible_counts(self):
        for n, x in ((0, 0), (10, 11), (10, -1)):
            with self.assertRaises(ValueError):
                bt.kupiec(n, x)


class TestMetrics(unittest.TestCase):
    def test_breaches_on_a_tiny_csv(self):
        # Daily closes with 2020-01-07 missing, a time column that is not first, and extra columns.
        rows = [("x", "2020-01-01", 100.0), ("x", "2020-01-02", 110.0), ("x", "2020-01-03", 99.0),
                ("x", "2020-01-04", 99.0), ("x", "2020-01-05", 108.9), ("x", "2020-01-06", 98.01),
                ("x", "2020-01-08", 107.811)]
        with TempCsv(("pair", "Date", "Close"), rows) as path:
            s = bt.read_csv(path)
        self.assertEqual((s.bars, s.bar_seconds, s.periods_per_year), ("1d", DAY, 365.0))
        self.assertEqual(s.times[0], day("2020-01-01"))
        moves = bt.h_day_moves(s, 1)
        want = [0.10, -0.10, 0.0, 0.10, -0.10, None, None]  # 01-06 -> 01-07 and 01-08 -> 01-09 missing
        for got, exp in zip(moves, want):
            if exp is None:
                self.assertIsNone(got)
            else:
                self.assertAlmostEqual(got, exp, delta=1e-12)
        # 2-day moves: -1 %, -10 %, +10 %, -1 %, none (01-07 missing), +10 % (01-06 -> 01-08), none
        two = bt.h_day_moves(s, 2)
        self.assertAlmostEqual(two[0], -0.01, delta=1e-12)
        self.assertAlmostEqual(two[5], 0.10, delta=1e-12)
        self.assertIsNone(two[4])  # 01-05 -> 01-07 is missing
        margins = [0.05, 0.20, 0.05, 0.09, 0.11, 0.01, 0.01]
        # trials: the 5 known moves; breaches: 10 % > 5 % and 10 % > 9 % (|-10 %| > 11 % is not)
        self.assertEqual(bt.count_breaches(margins, moves), (5, 2))
        self.assertEqual(bt.count_breaches(margins, two), (5, 2))  # 10 % > 5 % at 01-03, 10 % > 1 % at 01-06
        self.assertEqual(bt.count_breaches([None, 0.0], [0.5, 0.5]), (1, 1))

    def test_max_rise(self):
        t = [i * DAY for i in range(6)]
        m = [0.05, 0.10, 0.20, 0.08, 0.10, 0.12]
        self.assertAlmostEqual(bt.max_rise(t, m, 1), 1.0, delta=1e-12)   # 0.05 -> 0.10, 0.10 -> 0.20
        self.assertAlmostEqual(bt.max_rise(t, m, 2), 3.0, delta=1e-12)   # 0.05 -> 0.20 within 2 days
        self.assertAlmostEqual(bt.max_rise(t, m, 30), 3.0, delta=1e-12)
        self.assertEqual(bt.max_rise(t, sorted(m, reverse=True), 30), 0.0)
        # the span is measured in time, not rows: with a gap of 3 days the 0.05 -> 0.20 pair is 4 days apart
        gap = [0, DAY, 4 * DAY, 5 * DAY]
        self.assertAlmostEqual(bt.max_rise(gap, [0.05, 0.1, 0.2, 0.1], 3), 1.0, delta=1e-12)
        self.assertAlmostEqual(bt.max_rise(gap, [0.05, 0.1, 0.2, 0.1], 4), 3.0, delta=1e-12)

    def test_time_columns_and_bar_frequency(self):
        closes = synthetic_closes(60)
        t0 = day("2021-03-01")
        cases = [
            # (header, row builder, bars, periods per year)
            (("time", "open", "high", "low", "close", "volume", "timestamp"),
             lambda i, c: ("%s 00:00:00" % bt._date(t0 + i * DAY), c, c, c, c, 1, (t0 + i * DAY) * 1000), "1d", 365.0),
            (("timestamp", "close"), lambda i, c: (t0 + i * 3600, c), "1h", 8760.0),
            (("timestamp", "close"), lambda i, c: (datetime.datetime.fromtimestamp(
                t0 + 7200 * i, datetime.timezone.utc).strftime("%Y-%m-%dT%H:%M:%SZ"), c), "2h", 4380.0),
        ]
        for header, row, bars, ppy in cases:
            with self.subTest(bars=bars):
                with TempCsv(header, [row(i, c) for i, c in enumerate(closes)]) as path:
                    s = bt.read_csv(path)
                self.assertEqual((s.bars, s.periods_per_year), (bars, ppy))
                self.assertEqual(s.times[0], t0)
                self.assertEqual(list(s.closes), closes)

    def test_daily_resampling_and_gaps(self):
        t0 = day("2022-01-01")
        hours = [t0 + 3600 * k for k in range(24 * 40)] + [t0 + 3600 * k for k in range(24 * 60, 24 * 70 + 5)]
        closes = [100.0 + k for k in range(len(hours))]
        s = bt.Series("x", "1h", 3600, tuple(hours), array.array("d", closes))
        d = bt.daily_closes(s)
        self.assertEqual((d.bars, d.bar_seconds), ("1h->1d", DAY))
        # 40 + 10 whole days; the 5 hours of day 70 are a partial day and dropped
        self.assertEqual(len(d.times), 50)
        self.assertEqual(d.times[:2], (t0, t0 + DAY))
        self.assertEqual(d.closes[0], closes[23])  # the close of the 23:00 bar
        parts = bt.split_at_gaps(d, 7)
        self.assertEqual([len(p.times) for p in parts], [40, 10])
        self.assertEqual([p.name for p in parts], ["x#1", "x#2"])
        self.assertEqual(bt.split_at_gaps(d, 30), [d])


class TestMarginPaths(unittest.TestCase):
    """The margins the engine gives against the formulas of docs/volatility.md, computed here."""

    @classmethod
    def setUpClass(cls):
        cls.closes = synthetic_closes(140)
        with TempCsv(("date", "open", "high", "low", "close"), daily_rows(cls.closes)) as path:
            cls.series = bt.read_csv(path)
        cls.config = bt.Config(calibration_days=60, refit_days=20)
        cls.paths = {h: bt.margin_paths(cls.series, h, cls.config) for h in (1, 3)}

    def test_ewma_margin_is_the_var_formula(self):
        z = 2.5758293035489  # Phi^-1(0.995): two-sided 99 %
        self.assertAlmostEqual(self.config.z(), z, delta=1e-12)
        for h in (1, 3):
            w, paths = self.paths[h]
            self.assertEqual(w, 60)
            s2, want = None, []
            for t in range(1, len(self.closes)):
                r = math.log(self.closes[t] / self.closes[t - 1])
                s2 = r * r if s2 is None else 0.94 * s2 + 0.06 * r * r
                if t >= w:
                    want.append(z * math.sqrt(s2 * 365 * h / 365))  # z sigma_annual sqrt(h / 365)
            self.assertEqual(len(paths["ewma"]), len(want))
            for got, exp in zip(paths["ewma"], want):
                self.assertAlmostEqual(got / exp, 1.0, delta=1e-12)

    def test_garch_margin_is_the_h_day_forecast(self):
        # First refit window (bars 60..79): parameters fitted on r_1..r_60, then the recursion
        # s2 <- omega + alpha r^2 + beta s2, and the h-day variance as the sum of the expected
        # variances of the next h returns, E[s2_(k+1)] = omega + (alpha + beta) E[s2_k], step by step.
        r = [math.log(b / a) for a, b in zip(self.closes, self.closes[1:])]
        fit = vol.garch_fit(r[:60])
        phi = fit.alpha + fit.beta
        self.assertTrue(fit.alpha > 0.05 and fit.beta > 0.05 and phi < 0.99, fit)  # an interior optimum

        def h_day_variance(s2, h):
            total = 0.0
            for _ in range(h):
                total += s2
                s2 = fit.omega + phi * s2
            return total

        for h in (1, 3):
            w, paths = self.paths[h]
            s2 = fit.variance_next
            for k in range(20):
                if k:
                    s2 = fit.omega + fit.alpha * r[w + k - 1] ** 2 + fit.beta * s2
                want = self.config.z() * math.sqrt(h_day_variance(s2, h))
                self.assertAlmostEqual(paths["garch"][k] / want, 1.0, delta=1e-12)

    def test_static_is_the_calibration_quantile(self):
        for h in (1, 3):
            w, paths = self.paths[h]
            moves = sorted(abs(self.closes[t + h] / self.closes[t] - 1) for t in range(0, w - h + 1))
            want = moves[math.ceil(0.99 * len(moves)) - 1]  # of 60 moves for h = 1: the largest
            self.assertEqual(set(paths["static"]), {want})
            if h == 1:
                self.assertEqual(want, moves[-1])

    def test_anti_procyclicality_variants(self):
        cap = self.config.max_daily_change
        for h in (1, 3):
            _, p = self.paths[h]
            for fam in ("ewma", "garch"):
                plain = p[fam]
                for a, b, f in zip(plain, p[fam + "+buffer"], p[fam + "+floor"]):
                    self.assertTrue(b >= a * (1 - 1e-12) and f >= a * (1 - 1e-12))
                    # the buffer is held (x 1.25) or released (x 1) whole
                    self.assertTrue(abs(b / a - 1.25) < 1e-9 or abs(b / a - 1) < 1e-9, b / a)
                capped = p[fam + "+cap"]
                for x, y in zip(capped, capped[1:]):
                    self.assertTrue((1 - cap) * x * (1 - 1e-12) <= y <= (1 + cap) * x * (1 + 1e-12), (x, y))
                # +apc rises under the cap too, through the buffer's release in the stressed spell
                # and its restoration after (a configuration call may lower a capped factor at
                # once, never raise it: docs/volatility.md 3.4); it may fall faster (the release)
                apc = p[fam + "+apc"]
                for x, y in zip(apc, apc[1:]):
                    self.assertLessEqual(y, (1 + cap) * x * (1 + 1e-12), (x, y))
            # the stressed spell releases some buffer and the calm restores it
            ratios = {round(b / a, 6) for a, b in zip(p["ewma"], p["ewma+buffer"])}
            self.assertEqual(ratios, {1.0, 1.25})


class TestCli(unittest.TestCase):
    def test_cli_on_a_tiny_csv(self):
        closes = synthetic_closes(150)
        with TempCsv(("date", "open", "high", "low", "close", "volume"),
                     [r + (1,) for r in daily_rows(closes, "2020-01-01")]) as path:
            fd, out = tempfile.mkstemp(suffix=".csv")
            os.close(fd)
            try:
                res = run_cli("backtest", "--horizon", "1", "--horizon", "3", "--calibration-days", "60",
                              "--out", out, path, "--quiet")
                self.assertEqual(res.returncode, 0, res.stderr)
                self.assertEqual(res.stderr, "")
                with open(out, newline="") as f:
                    rows = list(csv.reader(f))
            finally:
                os.unlink(out)
        self.assertEqual(tuple(rows[0]), bt.CSV_COLUMNS)
        body = [dict(zip(rows[0], r)) for r in rows[1:]]
        self.assertEqual([(int(r["horizon_days"]), r["model"]) for r in body],
                         [(h, m) for h in (1, 3) for m in bt.MODELS])
        name = os.path.splitext(os.path.basename(path))[0]
        for r in body:
            self.assertEqual((r["series"], r["bars"], float(r["periods_per_year"])), (name, "1d", 365.0))
            n, x = int(r["n"]), int(r["breaches"])
            self.assertEqual(n, 150 - 60 - int(r["horizon_days"]))  # evaluation bars with an h-day move
            self.assertAlmostEqual(float(r["breach_rate"]), x / n, delta=1e-10)  # 10 significant digits
            self.assertEqual(r["start"], "2020-03-01")
            self.assertTrue(0 <= float(r["kupiec_p"]) <= 1)
            self.assertEqual(r["margin_2020-03-12"] != "", True)  # inside the evaluation period
            self.assertEqual(r["margin_2021-05-19"], "")          # outside the data
        # the table names every model and the crash day the data cover
        for m in bt.MODELS:
            self.assertIn(" %s " % m, res.stdout)
        self.assertIn("2020-03-12", res.stdout)

    def test_cli_bad_input_exits_2_with_one_line(self):
        good = daily_rows(synthetic_closes(80))
        with TempCsv(("date", "close"), [(r[0], r[4]) for r in good]) as ok, \
                TempCsv(("date", "price"), [(r[0], r[4]) for r in good]) as no_close, \
                TempCsv(("date", "close"), [(r[0], r[4]) for r in good[:5]] + [(good[5][0], "0")]) as zero, \
                TempCsv(("a", "close"), [("x", r[4]) for r in good]) as no_time:
            cases = [
                (("backtest", "/nonexistent/prices.csv"), "/nonexistent/prices.csv"),
                (("backtest", no_close), "no column named close"),
                (("backtest", zero), "%s:7: column close: 0 is not a positive price" % zero),
                (("backtest", no_time), "no time column"),
                (("backtest", "--horizon", "0", ok), "--horizon"),
                (("backtest", "--horizon", "1.5", ok), "--horizon"),
                (("backtest", "--horizon", "week", ok), "--horizon"),
                (("backtest", "--coverage", "1.5", ok), "--coverage"),
                (("backtest", ok), "too short"),  # 80 days < the default 365-day calibration window
            ]
            for args, words in cases:
                with self.subTest(args=args[1:-1] or args[-1]):
                    res = run_cli(*args)
                    self.assertEqual(res.returncode, 2)
                    self.assertEqual(res.stdout, "")
                    self.assertEqual(len(res.stderr.splitlines()), 1, res.stderr)
                    self.assertIn(words, res.stderr)


class TestValidateFirstAndProgress(unittest.TestCase):
    """Issue 14: a long job checks every input before it computes anything, then reports its
    progress on stderr (a line per series when stderr is not a terminal, a bar when it is),
    silenced by --quiet; stdout is the same either way."""

    def test_bad_second_file_fails_before_any_work(self):
        bad = daily_rows(synthetic_closes(80))
        with TempCsv(("date", "price"), [(r[0], r[4]) for r in bad]) as no_close:
            for second, words in ((no_close, "%s: no column named close" % no_close),
                                  ("/nonexistent/second.csv", "/nonexistent/second.csv")):
                with self.subTest(second=second):
                    # the first file alone takes seconds (1,100 days, two horizons, 11 models)
                    res = run_cli("backtest", SAMPLE_DAILY, second)
                    self.assertEqual(res.returncode, 2)
                    self.assertEqual(res.stdout, "")
                    # one line naming the second file, and no progress line: nothing was computed
                    self.assertEqual(res.stderr.splitlines(), [res.stderr.strip()], res.stderr)
                    self.assertIn(words, res.stderr)
                    self.assertNotIn("backtest: 1/", res.stderr)
            # in the library: the progress callback is never called
            calls = []
            with self.assertRaises(bt.BacktestError):
                bt.run([SAMPLE_DAILY, no_close], progress=lambda *a: calls.append(a))
            self.assertEqual(calls, [])

    def test_a_whole_file_too_short_fails_before_any_work(self):
        short = daily_rows(synthetic_closes(80))
        with TempCsv(("date", "close"), [(r[0], r[4]) for r in short]) as path:
            res = run_cli("backtest", SAMPLE_DAILY, path)
        self.assertEqual(res.returncode, 2)
        self.assertEqual(len(res.stderr.splitlines()), 1, res.stderr)
        self.assertIn("too short", res.stderr)

    def test_progress_lines_on_stderr_quiet_and_stdout_unchanged(self):
        closes = synthetic_closes(150)
        rows = [r + (1,) for r in daily_rows(closes, "2020-01-01")]
        with TempCsv(("date", "open", "high", "low", "close", "volume"), rows) as a, \
                TempCsv(("date", "open", "high", "low", "close", "volume"), rows) as b:
            args = ("backtest", "--horizon", "1", "--calibration-days", "60", a, b)
            loud = run_cli(*args)
            quiet = run_cli(*(args + ("--quiet",)))
        self.assertEqual((loud.returncode, quiet.returncode), (0, 0), loud.stderr + quiet.stderr)
        self.assertEqual(loud.stdout, quiet.stdout)
        self.assertEqual(quiet.stderr, "")
        lines = loud.stderr.splitlines()
        names = [os.path.splitext(os.path.basename(p))[0] for p in (a, b)]
        self.assertEqual(len(lines), 3, loud.stderr)
        self.assertRegex(lines[0], r"^backtest: 1/2 %s \(\d+\.\d s\)$" % names[0])
        self.assertRegex(lines[1], r"^backtest: 2/2 %s \(\d+\.\d s\)$" % names[1])
        self.assertRegex(lines[2], r"^backtest: 2/2 done in \d+\.\d s$")
        self.assertNotIn("\r", loud.stderr)

    def test_terminal_bar_is_redrawn_in_place(self):
        import io
        from librisk.progress import Progress
        f = io.StringIO()
        p = Progress(f, "backtest", tty=True)
        p(0, 4, "a")
        p(2, 4, "c")
        p(4, 4, "done")
        text = f.getvalue()
        draws = text.split("\r")[1:]
        self.assertEqual(len(draws), 3)  # each step redraws the one line
        self.assertTrue(draws[0].startswith("backtest [%s] 0/4" % ("." * 30)))
        self.assertTrue(draws[1].startswith("backtest [%s%s] 2/4" % ("#" * 15, "." * 15)))
        self.assertTrue(draws[2].startswith("backtest [%s] 4/4" % ("#" * 30)))
        self.assertTrue(text.endswith("\n") and text.count("\n") == 1)
        q = io.StringIO()
        Progress(q, "backtest", quiet=True, tty=True)(1, 2, "x")
        self.assertEqual(q.getvalue(), "")


def assert_backtest_invariants(tc, results, notes, min_n, start, cap_lowers):
    """The back-test's invariants on a daily series (here on the committed sample; the real BTC
    series in tests/market): metrics in range, calibration without look-ahead (``start``), every
    anti-procyclicality variant at or above its plain model's margin, buffers and floors never
    adding breaches, the cap holding over 5 days and lowering the largest rise of the families in
    ``cap_lowers``, and a 3-day margin above a 1-day one."""
    tc.assertEqual(len(results), 2 * len(bt.MODELS))
    tc.assertEqual(notes, [])
    by = {(r.horizon_days, r.model): r for r in results}
    cap5 = (1 + bt.Config().max_daily_change) ** 5 - 1
    for r in results:
        tc.assertTrue(0.0 <= r.breach_rate <= 1.0 and 0.0 <= r.kupiec_p <= 1.0 and r.kupiec_lr >= 0.0)
        tc.assertGreater(r.n, min_n)
        tc.assertTrue(0.0 <= r.max_rise_5d <= r.max_rise_30d)
        tc.assertTrue(0.0 < r.avg_margin < 1.0)
        tc.assertEqual(r.start, start)
    for h in (1, 3):
        tc.assertEqual(by[h, "static"].max_rise_30d, 0.0)
        for fam in ("ewma", "garch"):
            plain = by[h, fam]
            for v in ("+buffer", "+floor", "+apc"):
                tc.assertGreaterEqual(by[h, fam + v].avg_margin, plain.avg_margin)
            for v in ("+buffer", "+floor"):
                tc.assertLessEqual(by[h, fam + v].breaches, plain.breaches)
            for v in ("+cap", "+apc"):  # the cap holds with the buffer released in stress
                tc.assertLessEqual(by[h, fam + v].max_rise_5d, cap5 + 1e-9)
            if fam in cap_lowers:
                tc.assertLess(by[h, fam + "+cap"].max_rise_5d, plain.max_rise_5d)
        tc.assertGreater(by[3, "ewma"].avg_margin, by[1, "ewma"].avg_margin)


class TestSampleSeries(unittest.TestCase):
    """Invariants of the back-test on the committed synthetic series (data/sample/, made by
    tools/sample_series.py: calm and stressed regimes and a -40 % crash), so they run in a plain
    clone; the real BTC series is the optional run in tests/market (`make check-market`)."""

    @classmethod
    def setUpClass(cls):
        cls.results, cls.notes = bt.run([SAMPLE_DAILY], (1, 3))

    def test_sample_invariants(self):
        assert_backtest_invariants(self, self.results, self.notes, min_n=700, start="2020-01-01",
                                   cap_lowers=("ewma",))  # 365 days after 2019-01-01: no look-ahead

    def test_sample_crash_day(self):
        r = next(x for x in self.results if x.model == "ewma" and x.horizon_days == 1)
        big = min(r.moves)
        self.assertAlmostEqual(big, 0.6 - 1, delta=5e-3)  # the -40 % day
        self.assertEqual(r.moves.index(big), r.times.index(day("2020-11-30")))  # the close before it
        before, after = r.times.index(day("2020-11-30")), r.times.index(day("2020-12-01"))
        self.assertGreater(r.margins[after] / r.margins[before], 2.0)  # plain EWMA jumps
        apc = next(x for x in self.results if x.model == "ewma+apc" and x.horizon_days == 1)
        self.assertLessEqual(apc.margins[after] / apc.margins[before], 1 + bt.Config().max_daily_change + 1e-12)


if __name__ == "__main__":
    unittest.main()
