# SPDX-License-Identifier: Apache-2.0
"""VaR and ES (librisk.var, include/risk/var.h) against independent computations.

* numpy/scipy (Debian's python3-numpy and python3-scipy under /usr/bin/python3; the
  standard-library-only pass skips these with "numpy not installed", the second pass of
  `make check-python` runs them with no skip allowed): historical VaR against
  numpy.quantile(method="inverted_cdf") and ES against the integral of the empirical quantile
  function; FHS against a numpy recursion; delta-normal against scipy.stats.norm; delta-gamma
  cumulants against the eigen-decomposition of S^1/2 Gamma S^1/2 and its ES against
  scipy.integrate.quad of the Cornish-Fisher quantile; the Monte Carlo generator against an
  independent Python implementation of splitmix64, xoshiro256**, the polar method and
  Marsaglia-Tsang (bit for bit); the back-test statistics against scipy.stats.chi2.
* standard library: the back-test statistics of the committed sample series
  data/sample/btc_sample_1d.csv pinned, and the `var` command line.
"""

import array
import json
import math
import os
import unittest

import support
from librisk import var as lv
from librisk import vol as lvol
import librisk

try:
    import numpy
except ImportError:  # the standard-library-only pass
    numpy = None
if numpy is not None:
    import scipy.integrate
    import scipy.stats

SAMPLE = os.path.join(support.ROOT, "data", "sample", "btc_sample_1d.csv")
MASK = (1 << 64) - 1


def sample_returns():
    closes = []
    with open(SAMPLE) as f:
        next(f)
        for line in f:
            closes.append(float(line.split(",")[4]))
    return lvol.log_returns(closes)[1:]


# ---------------------------------------------------------------- an independent generator

class PyRng:
    """splitmix64-seeded xoshiro256**, (x >> 11) 2^-53 uniforms, polar normals, Marsaglia-Tsang."""

    def __init__(self, seed):
        x = seed
        self.s = []
        for _ in range(4):
            x = (x + 0x9E3779B97F4A7C15) & MASK
            z = x
            z = ((z ^ (z >> 30)) * 0xBF58476D1CE4E5B9) & MASK
            z = ((z ^ (z >> 27)) * 0x94D049BB133111EB) & MASK
            self.s.append(z ^ (z >> 31))
        self.spare = None

    @staticmethod
    def _rotl(x, k):
        return ((x << k) | (x >> (64 - k))) & MASK

    def next(self):
        s = self.s
        result = (self._rotl((s[1] * 5) & MASK, 7) * 9) & MASK
        t = (s[1] << 17) & MASK
        s[2] ^= s[0]
        s[3] ^= s[1]
        s[1] ^= s[2]
        s[0] ^= s[3]
        s[2] ^= t
        s[3] = self._rotl(s[3], 45)
        return result

    def uniform(self):
        return (self.next() >> 11) * 2.0 ** -53

    def normal(self):
        if self.spare is not None:
            z, self.spare = self.spare, None
            return z
        while True:
            u = 2.0 * self.uniform() - 1.0
            v = 2.0 * self.uniform() - 1.0
            s = u * u + v * v
            if 0.0 < s < 1.0:
                break
        m = math.sqrt(-2.0 * math.log(s) / s)
        self.spare = v * m
        return u * m

    def gamma(self, a):
        d = a - 1.0 / 3.0
        c = 1.0 / math.sqrt(9.0 * d)
        while True:
            while True:
                x = self.normal()
                v = 1.0 + c * x
                if v > 0.0:
                    break
            v = v * v * v
            u = self.uniform()
            if u < 1.0 - 0.0331 * (x * x) * (x * x):
                return d * v
            if math.log(u) < 0.5 * x * x + d * (1.0 - v + math.log(v)):
                return d * v


class MonteCarloGenerator(unittest.TestCase):
    def test_normal_stream_bit_for_bit(self):
        x = lv.mc_scenarios([1.0], 1, 2001, seed=20261202)
        g = PyRng(20261202)
        for s in range(2001):
            self.assertEqual(x[s], g.normal(), s)

    def test_student_t_stream_bit_for_bit(self):
        nu, h, var1 = 5.0, 4.0, 0.0009
        x = lv.mc_scenarios([var1], 1, 1000, seed=7, distribution="t", dof=nu, horizon=h)
        g = PyRng(7)
        c = math.sqrt(var1)
        for s in range(1000):
            z = g.normal()
            scale = math.sqrt(h) * math.sqrt((nu - 2.0) / (2.0 * g.gamma(0.5 * nu)))
            self.assertEqual(x[s], scale * (c * z), s)

    def test_seed_reproducible(self):
        cov = [0.0004, 0.0001, 0.0001, 0.0009]
        a = lv.mc_scenarios(cov, 2, 500, seed=3)
        b = lv.mc_scenarios(cov, 2, 500, seed=3)
        c = lv.mc_scenarios(cov, 2, 500, seed=4)
        self.assertEqual(a.tobytes(), b.tobytes())
        self.assertNotEqual(a.tobytes(), c.tobytes())
        with self.assertRaises(librisk.InvalidError):
            lv.mc_scenarios(cov, 2, 10, seed=-1)

    @unittest.skipIf(numpy is None, "numpy not installed")
    def test_correlated_rows_are_cholesky_times_normals(self):
        cov = numpy.array([[0.0004, 0.00018, 0.0001], [0.00018, 0.0009, 0.0002], [0.0001, 0.0002, 0.0016]])
        x = numpy.frombuffer(lv.mc_scenarios(cov.ravel(), 3, 300, seed=11, horizon=2.0), dtype=float).reshape(300, 3)
        g = PyRng(11)
        z = numpy.array([[g.normal() for _ in range(3)] for _ in range(300)])
        want = math.sqrt(2.0) * z @ numpy.linalg.cholesky(cov).T
        numpy.testing.assert_allclose(x, want, rtol=1e-13, atol=1e-18)


@unittest.skipIf(numpy is None, "numpy not installed")
class IndependentNumpyScipy(unittest.TestCase):
    def setUp(self):
        self.rng = numpy.random.default_rng(20261202)

    @staticmethod
    def es_integral(loss, beta):
        """(1/(1-beta)) x integral over (beta, 1) of the empirical quantile function."""
        srt = numpy.sort(loss)
        n = len(srt)
        total = 0.0
        for i in range(n):  # q(u) = srt[i] on (i/n, (i+1)/n]
            lo, hi = max(beta, i / n), (i + 1) / n
            if hi > lo:
                total += srt[i] * (hi - lo)
        return total / (1.0 - beta)

    def test_historical_against_numpy(self):
        for n in (250, 500, 777, 1000):
            pnl = self.rng.standard_t(3, n) * 1000.0
            loss = -pnl
            for a in (0.95, 0.975, 0.99):
                r = lv.historical(pnl, a, a)
                self.assertEqual(r.var, numpy.quantile(loss, a, method="inverted_cdf"), (n, a))
                self.assertAlmostEqual(r.es, self.es_integral(loss, a), delta=1e-9 * abs(r.es))
                self.assertGreaterEqual(r.es, r.var)
            self.assertAlmostEqual(r.mean, pnl.mean(), delta=1e-9 * numpy.abs(pnl).mean())
            self.assertAlmostEqual(r.stdev, pnl.std(), delta=1e-12 * pnl.std())

    def test_merge_is_the_ordered_sum(self):
        books = [self.rng.normal(size=300) * s for s in (1.0, 5.0, 0.3)]
        merged = numpy.frombuffer(lv.pnl_merge(books), dtype=float)
        self.assertTrue(numpy.array_equal(merged, (books[0] + books[1]) + books[2]))
        # the book's figure from the merged vector; ES is sub-additive, the sum of ES is not the book's
        es_sum = sum(lv.historical(b).es for b in books)
        self.assertLessEqual(lv.historical(merged).es, es_sum)

    def test_fhs_against_numpy_recursion(self):
        r = numpy.concatenate([self.rng.normal(0, 0.01, 400), self.rng.normal(0, 0.04, 100)])
        out, sigma = lv.fhs_returns(r)
        s2 = numpy.empty(len(r) + 1)
        s2[0] = numpy.mean(r * r)
        for t in range(len(r)):
            s2[t + 1] = 0.94 * s2[t] + 0.06 * r[t] * r[t]
        numpy.testing.assert_allclose(out, r * numpy.sqrt(s2[-1]) / numpy.sqrt(s2[:-1]), rtol=1e-13)
        self.assertAlmostEqual(sigma, math.sqrt(s2[-1]), delta=1e-15)
        fit = lvol.garch_fit(r)
        out, sigma = lv.fhs_returns(r, "garch", omega=fit.omega, alpha=fit.alpha, beta=fit.beta)
        s2[0] = numpy.mean(r * r)
        for t in range(len(r)):
            s2[t + 1] = fit.omega + fit.alpha * r[t] * r[t] + fit.beta * s2[t]
        numpy.testing.assert_allclose(out, r * numpy.sqrt(s2[-1]) / numpy.sqrt(s2[:-1]), rtol=1e-13)
        # GARCH's forecast after the sample is the fit's variance_next
        self.assertAlmostEqual(sigma ** 2, fit.variance_next, delta=1e-12 * fit.variance_next)

    def test_delta_normal_closed_form(self):
        delta = numpy.array([2e5, -5e4, 1e5])
        a = self.rng.normal(size=(3, 3)) * 0.01
        cov = a @ a.T
        for lev, es_lev, h in ((0.99, 0.975, 1.0), (0.95, 0.95, 10.0)):
            r = lv.delta_normal(delta, cov.ravel(), lev, es_lev, h)
            sigma = math.sqrt(h * delta @ cov @ delta)
            self.assertAlmostEqual(r.var, scipy.stats.norm.ppf(lev) * sigma, delta=1e-12 * sigma)
            self.assertAlmostEqual(r.es, sigma * scipy.stats.norm.pdf(scipy.stats.norm.ppf(es_lev)) / (1 - es_lev),
                                   delta=1e-12 * sigma)
            # ES as the tail mean of the loss (scipy's expectation over the tail)
            es = scipy.stats.norm.expect(lambda x: x, scale=sigma, lb=scipy.stats.norm.ppf(es_lev) * sigma,
                                         conditional=True)
            self.assertAlmostEqual(r.es, es, delta=1e-7 * sigma)
        for p in (1e-300, 1e-20, 1e-5, 0.02, 0.3, 0.5, 0.7, 0.975, 0.99, 1 - 1e-12):
            self.assertAlmostEqual(lv.norm_quantile(p), scipy.stats.norm.ppf(p),
                                   delta=2e-15 * max(1.0, abs(scipy.stats.norm.ppf(p))))

    def test_delta_gamma_against_eigen_decomposition(self):
        k = 3
        delta = numpy.array([1e5, -3e4, 2e4])
        g = self.rng.normal(size=(k, k)) * 1e5
        gamma = (g + g.T) / 2
        a = self.rng.normal(size=(k, k)) * 0.01
        cov = a @ a.T
        h = 2.0
        r = lv.delta_gamma(delta, gamma.ravel(), cov.ravel(), 0.99, 0.975, h)
        # P&L = sum_i (b_i y_i + lambda_i y_i^2 / 2), y ~ N(0, I), from S = h cov = C C'
        c = numpy.linalg.cholesky(h * cov)
        lam, q = numpy.linalg.eigh(c.T @ gamma @ c)
        b = q.T @ (c.T @ delta)
        k1 = lam.sum() / 2
        k2 = (lam ** 2).sum() / 2 + (b ** 2).sum()
        k3 = (lam ** 3).sum() + 3 * (b ** 2 * lam).sum()
        k4 = 3 * (lam ** 4).sum() + 12 * (b ** 2 * lam ** 2).sum()
        self.assertAlmostEqual(r.mean, k1, delta=1e-10 * abs(k1))
        self.assertAlmostEqual(r.stdev, math.sqrt(k2), delta=1e-10 * math.sqrt(k2))
        s, e = -k3 / k2 ** 1.5, k4 / k2 ** 2  # of the loss

        def q_cf(u):
            z = scipy.stats.norm.ppf(u)
            return -k1 + math.sqrt(k2) * (z + (z * z - 1) * s / 6 + (z ** 3 - 3 * z) * e / 24
                                          - (2 * z ** 3 - 5 * z) * s * s / 36)
        self.assertAlmostEqual(r.var, q_cf(0.99), delta=1e-9 * math.sqrt(k2))
        es, _ = scipy.integrate.quad(q_cf, 0.975, 1.0, epsabs=1e-12, epsrel=1e-12, limit=200)
        self.assertAlmostEqual(r.es, es / 0.025, delta=1e-7 * math.sqrt(k2))

    def test_delta_gamma_close_to_monte_carlo_for_mild_gamma(self):
        delta = numpy.array([1e6])
        gamma = numpy.array([2e6])  # mild: skewness of the P&L about 0.1
        cov = numpy.array([0.0004])
        r = lv.delta_gamma(delta, gamma, cov, 0.99, 0.975)
        x = lv.mc_scenarios(cov, 1, 400000, seed=5)
        pnl = lv.pnl_delta_gamma(x, delta, gamma)
        m = lv.historical(pnl, 0.99, 0.975)
        self.assertAlmostEqual(r.var, m.var, delta=0.01 * m.var)
        self.assertAlmostEqual(r.es, m.es, delta=0.01 * m.es)

    def test_ewma_cov_against_numpy(self):
        x = self.rng.normal(0, 0.02, size=(300, 4))
        s = numpy.outer(x[0], x[0])
        for t in range(1, 300):
            s = 0.97 * s + 0.03 * numpy.outer(x[t], x[t])
        got = numpy.frombuffer(lv.ewma_cov(x.ravel(), 4, 0.97), dtype=float).reshape(4, 4)
        numpy.testing.assert_allclose(got, s, rtol=1e-12)

    def test_backtest_against_scipy_chi2(self):
        for rate in (0.01, 0.03):
            n = 1000
            pnl = -self.rng.uniform(size=n)
            var = numpy.where(self.rng.uniform(size=n) < rate, 0.0, 2.0)  # breach where var = 0
            var[:5] = numpy.nan
            bt = lv.backtest(pnl, var, 0.99)
            hit = (-pnl > var)[5:]
            x, m = int(hit.sum()), len(hit)
            self.assertEqual((bt.n, bt.breaches), (m, x))
            p = 0.01
            lr = -2 * ((m - x) * math.log(1 - p) + x * math.log(p)) + 2 * (
                (m - x) * math.log(1 - x / m) + x * math.log(x / m))
            self.assertAlmostEqual(bt.lr_pof, lr, delta=1e-9 * max(1, lr))
            self.assertAlmostEqual(bt.p_pof, scipy.stats.chi2.sf(lr, 1), delta=1e-12)
            prev, cur = hit[:-1], hit[1:]
            n00 = int((~prev & ~cur).sum()); n01 = int((~prev & cur).sum())
            n10 = int((prev & ~cur).sum()); n11 = int((prev & cur).sum())
            self.assertEqual((bt.n00, bt.n01, bt.n10, bt.n11), (n00, n01, n10, n11))
            p01, p11, pi = n01 / (n00 + n01), n11 / (n10 + n11), (n01 + n11) / (m - 1)

            def xl(a, b):
                return 0.0 if a == 0 else a * math.log(b)
            li = -2 * (xl(n00 + n10, 1 - pi) + xl(n01 + n11, pi)) + 2 * (
                xl(n00, 1 - p01) + xl(n01, p01) + xl(n10, 1 - p11) + xl(n11, p11))
            self.assertAlmostEqual(bt.lr_ind, li, delta=1e-9 * max(1, li))
            self.assertAlmostEqual(bt.p_ind, scipy.stats.chi2.sf(li, 1), delta=1e-12)
            self.assertAlmostEqual(bt.p_cc, scipy.stats.chi2.sf(lr + li, 2), delta=1e-12)

    def test_sample_rolling_hs_against_numpy(self):
        r = numpy.array(sample_returns())
        w = 500
        v = numpy.frombuffer(lv.rolling_var(r, w, "hs"), dtype=float)
        loss = -numpy.array([math.expm1(x) for x in r])  # the library's P&L: math.expm1
        for t in range(w, len(r), 37):
            self.assertEqual(v[t], numpy.quantile(loss[t - w:t], 0.99, method="inverted_cdf"))
        self.assertEqual(lv.backtest(-loss, v).breaches, int((loss[w:] > v[w:]).sum()))


# Back-test of the rolling one-day 99 % VaR (500-day window, long one unit) over the committed
# sample series; values as `python3 -m librisk var data/sample/btc_sample_1d.csv --backtest`
# prints them (docs/var.md section 6).
PINNED = {
    "hs": dict(breaches=8, n00=582, n01=8, n10=8, n11=0, lr_pof=0.616423, lr_ind=0.216956, lr_cc=0.833378),
    "fhs": dict(breaches=6, n00=586, n01=6, n10=6, n11=0, lr_pof=1.68538e-05, lr_ind=0.121624, lr_cc=0.121641),
    "normal": dict(breaches=8, n00=583, n01=7, n10=7, n11=1, lr_pof=0.616423, lr_ind=2.89497, lr_cc=3.51139),
    "mc": dict(breaches=10, n00=580, n01=8, n10=8, n11=2, lr_pof=2.25705, lr_ind=6.99667, lr_cc=9.25373),
    "fhs-garch": dict(breaches=5, n00=588, n01=5, n10=5, n11=0, lr_pof=0.175117, lr_ind=0.084318, lr_cc=0.259435),
}


class SampleBacktest(unittest.TestCase):
    @classmethod
    def setUpClass(cls):
        cls.r = sample_returns()
        cls.pnl = array.array("d", (math.expm1(x) for x in cls.r))

    def test_pinned_statistics(self):
        for method, want in PINNED.items():
            if method == "fhs-garch":  # GARCH(1,1) fitted on every window
                v = lv.rolling_var(self.r, 500, "fhs", filter_model="garch")
            else:
                v = lv.rolling_var(self.r, 500, method)
            bt = lv.backtest(self.pnl, v, 0.99)
            self.assertEqual(bt.n, 599, method)
            for key, value in want.items():
                if isinstance(value, int):
                    self.assertEqual(getattr(bt, key), value, (method, key))
                else:
                    self.assertAlmostEqual(getattr(bt, key), value, delta=1e-5 * value, msg=(method, key))
            self.assertAlmostEqual(bt.p_cc, math.exp(-bt.lr_cc / 2), delta=1e-15)
            self.assertTrue(0.0 <= bt.p_pof <= 1.0 and 0.0 <= bt.p_ind <= 1.0)

    def test_es_not_below_var_for_every_method(self):
        for method in lv.METHODS:
            res, _ = lv.series_var(self.r[-500:], method, 0.975, 0.975)
            self.assertGreaterEqual(res.es, res.var, method)


class VarCommand(unittest.TestCase):
    def test_json_and_backtest(self):
        p = support.run_cli("var", SAMPLE, "--compact", "--backtest")
        self.assertEqual(p.returncode, 0, p.stderr)
        doc = json.loads(p.stdout)
        self.assertEqual(doc["format"], "librisk-var/1")
        self.assertEqual(doc["var"], 0.1013041)
        self.assertEqual(doc["es"], 0.12297694)
        self.assertEqual(doc["backtest"]["breaches"], 8)
        self.assertEqual(doc["backtest"]["kupiec_lr"], 0.616423)
        # the back-test's progress on stderr: a line per 10 % of the windows, then the end;
        # nothing with --quiet, and the same document either way
        lines = p.stderr.splitlines()
        self.assertTrue(10 <= len(lines) <= 12, p.stderr)
        self.assertTrue(lines[0].startswith("var backtest: 1/%d window 1 of " % doc["backtest"]["n"]), lines[0])
        self.assertIn("done in", lines[-1])
        q = support.run_cli("var", SAMPLE, "--compact", "--backtest", "--quiet")
        self.assertEqual((q.returncode, q.stdout, q.stderr), (0, p.stdout, ""))

    def test_methods_and_horizon(self):
        for method in ("fhs", "normal", "mc"):
            p = support.run_cli("var", SAMPLE, "--method", method, "--horizon", "10", "--level", "0.95")
            self.assertEqual(p.returncode, 0, p.stderr)
            doc = json.loads(p.stdout)
            self.assertGreater(doc["es"], 0)
        p = support.run_cli("var", SAMPLE, "--method", "fhs", "--filter", "garch")
        self.assertEqual(p.returncode, 0, p.stderr)
        doc = json.loads(p.stdout)
        self.assertEqual(doc["filter"], "garch")
        self.assertGreaterEqual(doc["es"], doc["var"])
        # sqrt-time for the parametric method
        one = json.loads(support.run_cli("var", SAMPLE, "--method", "normal").stdout)
        ten = json.loads(support.run_cli("var", SAMPLE, "--method", "normal", "--horizon", "10").stdout)
        self.assertAlmostEqual(ten["var"], one["var"] * math.sqrt(10), delta=1e-7)

    def test_bad_input(self):
        for args in (("--level", "1.5"), ("--window", "5000"), ("--horizon", "5", "--backtest"), ("--dof", "2"),
                     ("--scenarios", "10")):
            p = support.run_cli("var", SAMPLE, *args)
            self.assertEqual(p.returncode, 2, args)
            self.assertEqual(p.stdout, "")
            self.assertTrue(p.stderr.strip(), args)
        p = support.run_cli("var", "/nonexistent.csv")
        self.assertEqual(p.returncode, 2)


if __name__ == "__main__":
    unittest.main()
