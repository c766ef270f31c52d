# SPDX-License-Identifier: Apache-2.0
"""`var BOOK.json`: VaR and ES of a book and its accounts by full revaluation under joint moves
from the market data (librisk.bookvar; docs/var.md section 8), against an independent
computation from the same CSV files."""

import csv
import json
import math
import os
import unittest

import support  # noqa: F401 (sys.path)
from support import run_cli, TempBook
from librisk import stress as libstress, var as libvar

DATA = libstress.default_data_dir()


def book(accounts):
    return {
        "format": "librisk-book/1", "valuation_asset": "USDT",
        "assets": [{"symbol": "USDT", "price": 1, "decimals": 6},
                   {"symbol": "BTC", "price": 30000, "decimals": 8},
                   {"symbol": "ETH", "price": 2000, "decimals": 8}],
        "instruments": [{"symbol": "BTCUSDT", "kind": "perpetual", "underlying": "BTC", "settle": "USDT",
                         "lot_size": 0.001, "tick_size": 0.1, "mark": 30000,
                         "margin": {"tiers": [{"notional_cap": None, "mmr": 0.005, "max_leverage": 100}]}},
                        {"symbol": "ETHUSDT", "kind": "perpetual", "underlying": "ETH", "settle": "USDT",
                         "lot_size": 0.001, "tick_size": 0.01, "mark": 2000,
                         "margin": {"tiers": [{"notional_cap": None, "mmr": 0.005, "max_leverage": 100}]}}],
        "accounts": accounts}


def closes(sym):
    """UTC daily closes (the 23:00 bar) read here, independently of the library."""
    out = {}
    with open(os.path.join(DATA, "binance_1h", "%sUSDT_1h.csv" % sym), newline="") as f:
        for row in csv.DictReader(f):
            if row["timestamp"][11:13] == "23":
                out[row["timestamp"][:10]] = float(row["close"])
    return out


LONG_BTC = {"id": 1, "balances": {"USDT": 100000},
            "positions": [{"instrument": "BTCUSDT", "qty": 2, "entry": 30000}]}
SHORT_BTC = {"id": 2, "balances": {"USDT": 100000},
             "positions": [{"instrument": "BTCUSDT", "qty": -2, "entry": 30000}]}
LONG_ETH = {"id": 3, "balances": {"USDT": 100000},
            "positions": [{"instrument": "ETHUSDT", "qty": 10, "entry": 2000}]}


def run(accounts, *args):
    with TempBook(book(accounts)) as path:
        r = run_cli("var", path, "--compact", *args)
    return r


class TestBookVar(unittest.TestCase):
    def test_hs_against_the_csv(self):
        """Historical simulation: the book's P&L per scenario is 2 BTC x 30,000 x (exp(r) - 1) +
        10 ETH x 2,000 x (exp(r') - 1) over the last 60 joint daily returns up to the as-of day;
        its VaR/ES from the same order statistics, to the quantum."""
        r = run([LONG_BTC, LONG_ETH], "--window", "60", "--as-of", "2022-06-30")
        self.assertEqual(r.returncode, 0, r.stderr)
        doc = json.loads(r.stdout)
        self.assertEqual((doc["format"], doc["method"], doc["scenarios"]), ("librisk-var-book/1", "hs", 60))
        self.assertEqual(doc["assets"], ["BTC", "ETH"])
        self.assertEqual(doc["to"], "2022-06-30")
        b, e = closes("BTC"), closes("ETH")
        days = sorted(d for d in b if d in e and d <= "2022-06-30")
        pnl, acc1 = [], []
        for d0, d1 in zip(days[-61:], days[-60:]):
            mb, me = math.expm1(math.log(b[d1] / b[d0])), math.expm1(math.log(e[d1] / e[d0]))
            acc1.append(2 * 30000 * mb)
            pnl.append(2 * 30000 * mb + 10 * 2000 * me)
        ref = libvar.historical(pnl, 0.99, 0.975)
        self.assertAlmostEqual(doc["book_var"]["var"], ref.var, delta=2e-6)
        self.assertAlmostEqual(doc["book_var"]["es"], ref.es, delta=2e-6)
        self.assertAlmostEqual(doc["book_var"]["worst_pnl"], min(pnl), delta=2e-6)
        self.assertAlmostEqual(doc["accounts"][0]["var"], libvar.historical(acc1, 0.99, 0.975).var, delta=2e-6)
        # every money figure on the USDT grid
        for x in (doc["book_var"]["var"], doc["book_var"]["es"], doc["accounts"][1]["es"]):
            self.assertEqual(round(x, 6), x)

    def test_hedged_book_has_no_var(self):
        """A long and a short of the same BTC: each account has a VaR, the book (their summed P&L
        vectors) none: the book figure comes from the merged vector, never from adding VaRs."""
        doc = json.loads(run([LONG_BTC, SHORT_BTC], "--window", "100").stdout)
        self.assertEqual(doc["assets"], ["BTC", "ETH"])
        self.assertLessEqual(doc["book_var"]["var"], 2e-6)  # each account's equity on the 1e-6 grid
        self.assertGreater(doc["accounts"][0]["var"], 1000.0)
        self.assertGreater(doc["accounts"][1]["var"], 1000.0)
        self.assertAlmostEqual(doc["book_var"]["sum_of_account_var"],
                               doc["accounts"][0]["var"] + doc["accounts"][1]["var"], delta=2e-6)

    def test_fhs_and_mc(self):
        """FHS: today's volatility per asset is risk_var_fhs_returns' over the window; MC: the
        same seed gives the same document, another seed another one, and the horizon scales the
        figure about as sqrt(h) (normal moves of variance h x the EWMA covariance)."""
        fhs = json.loads(run([LONG_BTC], "--method", "fhs", "--window", "250", "--as-of", "2023-06-30").stdout)
        b = closes("BTC")
        days = sorted(d for d in b if d <= "2023-06-30" and d in closes("ETH"))[-251:]
        rets = [math.log(b[d1] / b[d0]) for d0, d1 in zip(days, days[1:])]
        self.assertAlmostEqual(fhs["sigma_now"]["BTC"], libvar.fhs_returns(rets, "ewma", 0.94)[1], delta=1e-8)
        self.assertGreater(fhs["book_var"]["var"], 0.0)
        args = ("--method", "mc", "--scenarios", "2000", "--window", "250", "--as-of", "2023-06-30")
        one = run([LONG_BTC], *args, "--seed", "7")
        again = run([LONG_BTC], *args, "--seed", "7")
        other = run([LONG_BTC], *args, "--seed", "8")
        def body(r):
            d = json.loads(r.stdout)
            d.pop("book")  # the temporary file's name
            return d
        self.assertEqual(body(one), body(again))
        self.assertNotEqual(body(one)["book_var"], body(other)["book_var"])
        ten = json.loads(run([LONG_BTC], *args, "--seed", "7", "--horizon", "10").stdout)
        ratio = ten["book_var"]["var"] / body(one)["book_var"]["var"]
        self.assertTrue(2.9 < ratio < 3.4, ratio)  # sqrt(10) = 3.16 on log moves, less after exp

    def test_bad_input(self):
        for args in (("--method", "normal"), ("--window", "100000"), ("--as-of", "yesterday"),
                     ("--data", "/nonexistent"), ("--backtest",), ("--level", "1.5")):
            r = run([LONG_BTC], *args)
            self.assertEqual(r.returncode, 2, (args, r.stdout, r.stderr))
            self.assertEqual(r.stdout, "")
            self.assertEqual(len(r.stderr.strip().splitlines()), 1, r.stderr)


if __name__ == "__main__":
    unittest.main()
