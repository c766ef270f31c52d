# SPDX-License-Identifier: Apache-2.0
"""Interest-rate bindings (librisk.rates) and book support: struct layouts, the Aave factors
against an exact integer re-implementation of @aave/math-utils' ray arithmetic, Binance W9
through Python, a book with a rate model, bad input."""

import json
import math
import os
import random
import shutil
import sys
import tempfile
import unittest

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import support  # noqa: E402
import test_bindings  # noqa: E402  (its struct-layout check is reused below)
from support import librisk  # noqa: E402
from librisk import book, errors, ffi, rates  # noqa: E402

T0 = 1704115200  # 2024-01-01 13:20:00 UTC
YEAR = 31536000

# ---------------------------------------------------------------- Aave's ray arithmetic, exact
# aave-v3-core contracts/protocol/libraries/math/{WadRayMath,MathUtils}.sol (and @aave/math-utils,
# which follows them): ray = 1e27, rayMul rounds half up, integer divisions truncate.
RAY = 10 ** 27
HALF_RAY = RAY // 2


def ray_mul(a, b):
    return (a * b + HALF_RAY) // RAY


def linear_interest(rate_ray, dt):
    return RAY + rate_ray * dt // YEAR


def compounded_interest(rate_ray, dt):
    if dt == 0:
        return RAY
    m1 = dt - 1
    m2 = dt - 2 if dt > 2 else 0
    p2 = ray_mul(rate_ray, rate_ray) // (YEAR * YEAR)
    p3 = ray_mul(p2, rate_ray) // YEAR
    second = dt * m1 * p2 // 2
    third = dt * m1 * m2 * p3 // 6
    return RAY + rate_ray * dt // YEAR + second + third


@unittest.skipUnless(shutil.which(os.environ.get("CC", "cc")), "no C compiler")
class TestRatesStructLayout(unittest.TestCase):
    """The rates.h mirrors have the C structs' sizes and offsets (the check of test_bindings)."""

    STRUCTS = {"risk_rate_model": ffi.RiskRateModel, "risk_rates": ffi.RiskRates,
               "risk_rate_pool": ffi.RiskRatePool, "risk_rate_cost": ffi.RiskRateCost,
               "risk_funding_result": ffi.RiskFundingResult}
    test_sizes_and_offsets_match_the_headers = \
        test_bindings.TestStructLayout.test_sizes_and_offsets_match_the_headers


def flat_rate_engine(rate, accrual="aave"):
    """An engine whose USDC borrow and supply rates are both `rate` (Aave model, slopes 0,
    utilisation 1, reserve factor 0), for reading the accrual factors."""
    eng = librisk.Engine()
    eng.add_asset("USDC", 1, decimals=6)
    rates.set_rate_model(eng, "USDC", "aave", accrual, aave_optimal_usage=0.8, aave_base_variable=rate)
    rates.set_rate_pool(eng, "USDC", supply=1000, borrow=1000, updated_unix_s=T0)
    return eng


class TestAaveRayPrecision(unittest.TestCase):
    """Aave's linear supply and three-term borrow factors, in doubles, against the exact ray
    integers: the relative difference per accrual stays within 4e-16 (2 ulps)."""

    def test_factors_against_ray_integers(self):
        rng = random.Random(11)
        worst_b = worst_s = 0.0
        for _ in range(400):
            bps = rng.randint(1, 30000)  # 0.01 % .. 300 %
            dt = rng.choice([1, 2, 3, 12, 3600, 86400, rng.randint(1, YEAR)])
            rate = bps / 1e4
            with flat_rate_engine(rate) as eng:
                self.assertAlmostEqual(rates.rates(eng, "USDC")["borrow_annual"], rate, places=15)
                rates.accrue(eng, T0 + dt)
                pool = rates.rate_pool(eng, "USDC")
            rate_ray = bps * 10 ** 23
            want_b = compounded_interest(rate_ray, dt) / RAY  # float() of the exact quotient
            want_s = linear_interest(rate_ray, dt) / RAY
            worst_b = max(worst_b, abs(pool["borrow_index"] / want_b - 1))
            worst_s = max(worst_s, abs(pool["supply_index"] / want_s - 1))
        self.assertLess(worst_b, 4.5e-16)
        self.assertLess(worst_s, 4.5e-16)

    def test_indices_over_many_steps(self):
        # one year in hourly steps at 79 %: index = rayMul(factor, index) each step
        rate_ray = 7900 * 10 ** 23
        idx_b = idx_s = RAY
        with flat_rate_engine(0.79) as eng:
            for h in range(1, 8761):
                rates.accrue(eng, T0 + 3600 * h)
                idx_b = ray_mul(compounded_interest(rate_ray, 3600), idx_b)
                idx_s = ray_mul(linear_interest(rate_ray, 3600), idx_s)
            pool = rates.rate_pool(eng, "USDC")
        self.assertLess(abs(pool["borrow_index"] / (idx_b / RAY) - 1), 8760 * 2.3e-16)
        self.assertLess(abs(pool["supply_index"] / (idx_s / RAY) - 1), 8760 * 2.3e-16)


class TestRatesApi(unittest.TestCase):
    def test_binance_w9(self):
        # https://binance.com/en/support/faq/binance-cross-margin-trading-guide-360041505471
        with librisk.Engine() as eng:
            eng.add_asset("USDC", 1, decimals=6)
            rates.set_rate_model(eng, "USDC", "flat", flat_borrow_hourly=0.00001)
            rates.accrue(eng, T0)
            with librisk.Basket(eng) as lender, librisk.Account(eng, 1) as acc:
                rates.pool_transfer(lender, "USDC", 100000)
                rates.pool_transfer(acc, "USDC", -1000)
                rates.accrue(eng, T0 + 55 * 60)
                self.assertAlmostEqual(-acc.basket.balance("USDC") - 1000, 0.02, delta=1.5e-7)
                costs = rates.rate_costs(acc, 3600)
                self.assertEqual([c["asset"] for c in costs], ["USDC"])
                self.assertAlmostEqual(costs[0]["rate_annual"], 0.0876, places=15)
                self.assertGreater(costs[0]["cost_horizon"], 0.0)
                self.assertAlmostEqual(rates.scaled_balance(acc, "USDC") * rates.rate_pool(eng, "USDC")["borrow_index"],
                                       acc.basket.balance("USDC"), places=9)

    def test_model_round_trip_and_vectors(self):
        a1 = dict(aave_optimal_usage=0.8, aave_slope1=0.04, aave_slope2=0.75, aave_stable_slope1=0.02,
                  aave_stable_slope2=0.75, aave_base_stable_offset=0.02, aave_excess_stable_offset=0.05,
                  aave_optimal_stable_ratio=0.2, reserve_factor=0.1)
        r = rates.rate_model_rates("aave", 1.0, **a1)
        self.assertAlmostEqual(r["borrow_annual"], 0.79, places=15)
        self.assertAlmostEqual(r["supply_annual"], 0.711, places=15)
        r = rates.rate_model_rates("aave", 1.0, stable_share=0.5, stable_rate_annual=0.1, **a1)
        self.assertAlmostEqual(r["stable_borrow_annual"], 0.84875, places=15)
        r = rates.rate_model_rates("comet", 0.9, comet_supply_kink=0.8, comet_supply_slope_low=0.04,
                                   comet_supply_slope_high=0.4, comet_borrow_kink=0.8, comet_borrow_base=0.01,
                                   comet_borrow_slope_low=0.05, comet_borrow_slope_high=0.3)
        self.assertAlmostEqual(r["supply_annual"], 0.072, places=12)
        self.assertAlmostEqual(r["borrow_annual"], 0.08, places=12)
        with librisk.Engine() as eng:
            eng.add_asset("DAI", 1, decimals=6)
            rates.set_rate_model(eng, "DAI", "aave", "continuous", **a1)
            m = rates.rate_model(eng, "DAI")
            self.assertEqual((m["kind"], m["accrual"]), ("aave", "continuous"))
            self.assertEqual(m["aave_slope2"], 0.75)

    def test_bad_input(self):
        with librisk.Engine() as eng:
            eng.add_asset("USDC", 1, decimals=6)
            with self.assertRaises(librisk.InvalidError) as cm:
                rates.set_rate_model(eng, "USDC", "aave", aave_optimal_usage=1.5)
            self.assertIn("aave_optimal_usage", cm.exception.message)
            with self.assertRaises(librisk.StateError):
                rates.rate_pool(eng, "USDC")
            with self.assertRaises(ValueError):
                rates.set_rate_model(eng, "USDC", "compound")
            with self.assertRaises(TypeError):
                rates.set_rate_model(eng, "USDC", "flat", hourly=1)
            rates.set_rate_model(eng, "USDC", "flat", flat_borrow_hourly=0.0001)
            rates.accrue(eng, T0)
            with self.assertRaises(librisk.InvalidError):
                rates.accrue(eng, T0 - 1)
            with librisk.Basket(eng) as b:
                with self.assertRaises(librisk.LimitError):
                    rates.pool_transfer(b, "USDC", -1)
                self.assertEqual(b.balance("USDC"), 0.0)


class TestFunding(unittest.TestCase):
    def test_binance_rate_and_settlement(self):
        self.assertAlmostEqual(rates.funding_rate_binance(0.0003), 0.0001, places=18)
        self.assertAlmostEqual(rates.funding_rate_binance(0.001), 0.0005, places=18)
        self.assertEqual(rates.funding_rate_binance(0.01, cap=0.003), 0.003)
        # Drift D8: oracle TWAP 49, tier B: the largest spread 49 / 33 a day, hourly / 24
        self.assertAlmostEqual(rates.funding_rate_drift(100, 49, max_divergence_divisor=33) * 49 * 24, 49 / 33,
                               places=12)
        with self.assertRaises(librisk.InvalidError):
            rates.funding_rate_drift(100, 0)
        with librisk.Engine() as eng:
            eng.add_asset("USDT", 1, decimals=6)
            eng.add_asset("BTC", 50000)
            eng.add_instrument("BTCUSDT", "BTC", "USDT", [(1e9, 0.005, 100)], lot_size=0.001, tick_size=0.1,
                               mark=50000)
            with librisk.Account(eng, 1) as a, librisk.Account(eng, 2) as b:
                a.basket.set_balance("USDT", 1000)
                b.basket.set_balance("USDT", 1000)
                a.open_position("BTCUSDT", 0.5, 50000)
                b.open_position("BTCUSDT", -0.5, 50000)
                r = rates.settle_funding(eng, "BTCUSDT", 0.0001)
                self.assertEqual(r["n_positions"], 2)
                self.assertAlmostEqual(r["paid"], 2.5, places=9)
                self.assertAlmostEqual(r["received"], 2.5, places=9)
                self.assertAlmostEqual(a.basket.balance("USDT"), 997.5, places=9)
                self.assertAlmostEqual(b.basket.balance("USDT"), 1002.5, places=9)
                with self.assertRaises(librisk.InvalidError):
                    rates.settle_funding(eng, "BTCUSDT", float("nan"))


class TestFundingBacktest(unittest.TestCase):
    """python3 -m librisk funding: settlements by the C library over a funding history."""

    def write(self, d, name, text):
        path = os.path.join(d, name)
        with open(path, "w") as f:
            f.write(text)
        return path

    def test_linear_and_inverse_by_hand(self):
        from librisk import funding
        with tempfile.TemporaryDirectory() as d:
            fpath = self.write(d, "f.csv", "timestamp,funding_rate\n2024-01-01 00:00:00.000,0.0001\n"
                                          "2024-01-01 08:00:00.000,-0.0002\n2024-01-01 16:00:00.003,0.0003\n")
            ppath = self.write(d, "p.csv", "timestamp,open,high,low,close,volume\n2023-12-31,1,1,1,50000,1\n")
            doc, series = funding.backtest(funding.read_funding(fpath, "binance"), "binance", 1.0,
                                           funding.read_prices(ppath))
            # 1 BTC at 50,000: pays 5, receives 10, pays 15
            self.assertEqual(doc["settlements"], 3)
            self.assertAlmostEqual(doc["funding_paid"], 10.0, places=6)
            self.assertEqual([round(c, 6) for _, c in series], [5.0, -5.0, 10.0])
            self.assertEqual(doc["mean_rate"], 6.666666667e-05)  # (1 - 2 + 3) / 3 x 1e-4, 10 significant digits
            dpath = self.write(d, "d.csv", "time_dt,timestamp,prev_index_price,interest_8h,interest_1h,index_price\n"
                                           "x,1704067200000,,0,0.0001,50000\nx,1704070800000,,0,0.0001,40000\n")
            doc, _ = funding.backtest(funding.read_funding(dpath, "deribit"), "deribit", 1000.0)
            # 1,000 x 10 USD: 0.2 BTC then 0.25 BTC, x 0.0001
            self.assertAlmostEqual(doc["funding_paid"], 0.00002 + 0.000025, places=8)
            self.assertAlmostEqual(doc["funding_paid_usd"], 2.0, places=2)
            r = support.run_cli("funding", "--venue", "binance", fpath, "--prices", ppath, "--qty", "-2",
                                "--chart", os.path.join(d, "c.svg"), "--compact")
            self.assertEqual(r.returncode, 0, r.stderr)
            self.assertAlmostEqual(json.loads(r.stdout)["funding_paid"], -20.0, places=6)
            with open(os.path.join(d, "c.svg")) as f:
                svg = f.read()
            self.assertTrue(svg.startswith("<svg") and "<polyline" in svg)
            r = support.run_cli("funding", "--venue", "binance", fpath, "--qty", "1")  # no prices
            self.assertEqual(r.returncode, 2)
            self.assertIn("--prices", r.stderr)
            bad = self.write(d, "bad.csv", "timestamp,funding_rate\n2024-01-01,abc\n")
            r = support.run_cli("funding", "--venue", "binance", bad, "--prices", ppath, "--qty", "1")
            self.assertEqual(r.returncode, 2)
            self.assertIn("bad.csv:2", r.stderr)

    def test_unreadable_histories_exit_2(self):
        """Found by the CLI fuzzer once it covered funding (fuzz_cli.py seed 21): bytes that are not
        UTF-8 and a time of 89,211 digits escaped as tracebacks; a time beyond year 9999 could not
        be printed back."""
        with tempfile.TemporaryDirectory() as d:
            ppath = self.write(d, "p.csv", "timestamp,close\n2023-12-31,50000\n")
            cases = [(b"timestamp,funding_rate\n2024-01-01 00:00:00,0.0\xff01\n", "f.csv: not UTF-8 text"),
                     (b"timestamp,funding_rate\n" + b"1" * 89211 + b",0.0001\n", "f.csv:2: '1111111111"),
                     (b"timestamp,funding_rate\n99999999999999999,0.0001\n", "is not a time"),
                     (b"timestamp,funding_rate\n10000-01-01,0.0001\n", "is not a time")]
            for data, needle in cases:
                with self.subTest(needle=needle):
                    fpath = os.path.join(d, "f.csv")
                    with open(fpath, "wb") as f:
                        f.write(data)
                    r = support.run_cli("funding", "--venue", "binance", fpath, "--prices", ppath, "--qty", "1")
                    self.assertEqual((r.returncode, r.stdout), (2, ""), r.stderr)
                    self.assertEqual(len(r.stderr.strip().splitlines()), 1, r.stderr)
                    self.assertNotIn("Traceback", r.stderr)
                    self.assertIn(needle, r.stderr)
                    self.assertLess(len(r.stderr), 300)

    def test_prices_outside_the_domain_exit_2(self):
        """A close or an index price outside [1e-12, 1e12] is bad input, named with its line, as in the
        other CSV commands: before, a close of 1e300 reached the library, which settled -1e296 into the
        balance and the command printed it (exit 0)."""
        with tempfile.TemporaryDirectory() as d:
            fpath = self.write(d, "f.csv", "timestamp,funding_rate\n2024-01-01 00:00:00,0.0001\n")
            for price in ("1e300", "1e13", "1e-13", "5e-324"):
                with self.subTest(price=price):
                    ppath = self.write(d, "p.csv", "timestamp,close\n2023-12-31,%s\n" % price)
                    r = support.run_cli("funding", "--venue", "binance", fpath, "--prices", ppath, "--qty", "1")
                    self.assertEqual((r.returncode, r.stdout), (2, ""), r.stderr)
                    self.assertEqual(len(r.stderr.strip().splitlines()), 1, r.stderr)
                    self.assertIn("p.csv:2: column close: %s is outside the price domain" % price, r.stderr)
                    dpath = self.write(d, "d.csv", "time_dt,timestamp,prev_index_price,interest_8h,interest_1h,"
                                                   "index_price\nx,1704067200000,,0,0.0001,%s\n" % price)
                    r = support.run_cli("funding", "--venue", "deribit", dpath, "--qty", "1")
                    self.assertEqual((r.returncode, r.stdout), (2, ""), r.stderr)
                    self.assertIn("d.csv:2: column index_price: %s is outside the price domain" % price, r.stderr)
            # the domain's edge is taken, and a balance that stays 0 prints as 0.0, not -0.0
            ppath = self.write(d, "p.csv", "timestamp,close\n2023-12-31,1e-12\n")
            r = support.run_cli("funding", "--venue", "binance", fpath, "--prices", ppath, "--qty", "1", "--compact")
            self.assertEqual(r.returncode, 0, r.stderr)
            doc = json.loads(r.stdout)
            self.assertEqual((doc["funding_paid"], doc["max_cumulative"]), (1e-6, 1e-6))  # 1e-16 paid, rounded up
            fpath = self.write(d, "f.csv", "timestamp,funding_rate\n2024-01-01 00:00:00,-0.0001\n")
            r = support.run_cli("funding", "--venue", "binance", fpath, "--prices", ppath, "--qty", "1", "--compact")
            self.assertEqual(r.returncode, 0, r.stderr)
            doc = json.loads(r.stdout)  # 1e-16 received, rounded down to nothing
            self.assertEqual((doc["funding_paid"], doc["max_cumulative"], doc["min_cumulative"]), (0.0, 0.0, 0.0))
            self.assertEqual([math.copysign(1.0, doc[k]) for k in ("funding_paid", "max_cumulative", "min_cumulative")],
                             [1.0, 1.0, 1.0])  # not -0.0



class TestRatesBook(unittest.TestCase):
    BOOK = {
        "format": "librisk-book/1",
        "valuation_asset": "USDT",
        "assets": [
            {"symbol": "USDT", "price": 1, "decimals": 6,
             "rate_model": {"kind": "aave", "aave_optimal_usage": 0.8, "aave_slope1": 0.04, "aave_slope2": 0.75,
                            "reserve_factor": 0.1},
             "rate_pool": {"supply": 1000000, "borrow": 800000, "borrow_index": 1.05, "supply_index": 1.02,
                           "updated_unix_s": T0}},
            {"symbol": "BTC", "price": 50000, "decimals": 8, "weight_init": 0.9, "weight_maint": 0.95},
        ],
        "instruments": [],
        "accounts": [{"id": 1, "margin_mode": "cross", "position_mode": "one-way",
                      "balances": {"USDT": -20000, "BTC": 1}}],
    }

    def test_book_with_a_rate_model(self):
        with tempfile.TemporaryDirectory() as d:
            path = os.path.join(d, "book.json")
            with open(path, "w") as f:
                json.dump(self.BOOK, f)
            out = book.evaluate_file(path)
        acc = out["accounts"][0]
        self.assertEqual([b["amount"] for b in acc["balances"] if b["asset"] == "USDT"], [-20000])
        (usdt,) = acc["interest"]
        self.assertEqual(usdt["asset"], "USDT")
        self.assertAlmostEqual(usdt["rate_annual"], 0.04, places=15)  # U 80 %
        self.assertAlmostEqual(usdt["cost_annual"], 800.0, places=9)

    def test_book_bad_rate_model(self):
        doc = json.loads(json.dumps(self.BOOK))
        doc["assets"][0]["rate_model"]["aave_optimal_usage"] = 2
        with self.assertRaises(book.BookError) as cm:
            book.load(doc).close()
        self.assertIn("assets[0].rate_model", str(cm.exception))
        doc = json.loads(json.dumps(self.BOOK))
        doc["assets"][0]["rate_model"]["kind"] = "compound"
        with self.assertRaises(book.BookError) as cm:
            book.load(doc).close()
        self.assertIn("assets[0].rate_model.kind", str(cm.exception))
        doc = json.loads(json.dumps(self.BOOK))
        del doc["assets"][0]["rate_model"]
        with self.assertRaises(book.BookError) as cm:
            book.load(doc).close()
        self.assertIn("assets[0].rate_pool", str(cm.exception))


if __name__ == "__main__":
    unittest.main()
