# SPDX-License-Identifier: Apache-2.0
"""Cumulative funding through Python (docs/rates.md 8.2): accrual, pending funding in the
summary, settlement, and a book with "funding" per instrument."""

import copy
import json
import os
import sys
import unittest

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import support  # noqa: E402,F401
from support import librisk  # noqa: E402
from librisk import book, rates  # noqa: E402

ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))


def _engine():
    eng = librisk.Engine()
    eng.add_asset("USDT", 1, decimals=6)
    eng.add_asset("BTC", 50000, decimals=8)
    eng.add_instrument("BTCUSDT", "BTC", "USDT", [(1e9, 0.005, 100)], lot_size=0.001, tick_size=0.1, mark=50000)
    return eng


class TestFundingIndex(unittest.TestCase):
    def test_accrue_pending_settle(self):
        """Long 0.5 at 50,000, 0.01 %: 2.5 USDT owed at once, equity unchanged by settling."""
        eng = _engine()
        acc = librisk.Account(eng, 1)
        acc.basket.set_balance("USDT", 10000)
        acc.open_position("BTCUSDT", 0.5, 50000)
        e0 = acc.evaluate().equity
        rates.accrue_funding(eng, "BTCUSDT", 0.0001, time_unix_s=3600)
        self.assertEqual(rates.funding_index(eng, "BTCUSDT"), {"long": 5.0, "short": 5.0, "time": 3600.0})
        self.assertAlmostEqual(rates.funding_pending(acc, "USDT"), -2.5, places=12)
        e1 = acc.evaluate().equity
        self.assertAlmostEqual(e1 - e0, -2.5, places=9)
        r = rates.settle_account_funding(acc)
        self.assertEqual(r["n_positions"], 1)
        self.assertAlmostEqual(r["paid"], 2.5, places=12)
        self.assertAlmostEqual(acc.basket.balance("USDT"), 9997.5, places=9)
        self.assertEqual(acc.evaluate().equity, e1)
        with self.assertRaises(librisk.InvalidError):
            rates.accrue_funding(eng, "BTCUSDT", 0.0001, time_unix_s=10)  # before 3600

    def test_book_funding_field(self):
        with open(os.path.join(ROOT, "examples", "books", "demo.json")) as f:
            doc = json.load(f)
        plain = book.evaluate(book.load(copy.deepcopy(doc)))
        sym = next(i["symbol"] for i in doc["instruments"] if i.get("kind", "perpetual") == "perpetual")
        ins = next(i for i in doc["instruments"] if i["symbol"] == sym)
        ins["funding"] = [{"rate": 0.0001, "time": 1}, {"rate": 0.0002, "rate_short": 0.0001, "time": 2}]
        res = book.evaluate(book.load(doc))
        moved = 0
        for a0, a1 in zip(plain["accounts"], res["accounts"]):
            self.assertIn("funding_pending", a1)
            fp = sum(x["amount"] for x in a1["funding_pending"])
            self.assertAlmostEqual(a1["equity"] - a0["equity"], fp, delta=2e-6)
            moved += fp != 0
        self.assertGreater(moved, 0)
        ins["funding"] = [{"rate": 2}]
        with self.assertRaises(book.BookError) as cm:
            book.load(doc)
        self.assertIn("funding[0]", cm.exception.path)


class TestUpnlWeight(unittest.TestCase):
    def test_d3(self):
        """defi-anchors.md D3: uPnL $22,699.05 with imf 0.001 -> Drift's 0.9559 (floor of 1e4 w)."""
        wi, wm = rates.upnl_weight(22699.05, 1.0, 1.0, 0.001)
        self.assertEqual(int(wi * 1e4), 9559)
        self.assertEqual(wm, 1.0)
        self.assertEqual(rates.upnl_weight(-1.0, 0.5, 0.8), (1.0, 1.0))

    def test_engine_and_book(self):
        eng = _engine()
        acc = librisk.Account(eng, 1)
        acc.basket.set_balance("USDT", 1000)
        acc.open_position("BTCUSDT", 1, 40000)  # PnL 10,000 at the mark
        s0 = acc.evaluate()
        rates.set_upnl_weight(eng, "BTCUSDT", 0.5, 0.8)
        self.assertEqual(rates.instrument_upnl_weight(eng, "BTCUSDT"),
                         {"weight_init": 0.5, "weight_maint": 0.8, "imf": 0.0})
        s1 = acc.evaluate()
        self.assertEqual(s1.equity, s0.equity)
        self.assertAlmostEqual(s0.collateral_init - s1.collateral_init, 5000.0, places=6)
        self.assertAlmostEqual(s0.collateral_maint - s1.collateral_maint, 2000.0, places=6)
        with self.assertRaises(librisk.InvalidError):
            rates.set_upnl_weight(eng, "BTCUSDT", 0.9, 0.8)
        with open(os.path.join(ROOT, "examples", "books", "demo.json")) as f:
            doc = json.load(f)
        ins = next(i for i in doc["instruments"] if i.get("kind", "perpetual") == "perpetual")
        ins["upnl_weight"] = {"init": 0.5, "maint": 2}
        with self.assertRaises(book.BookError) as cm:
            book.load(doc)
        self.assertIn("upnl_weight", cm.exception.path)
        ins["upnl_weight"] = {"init": 0.5, "maint": 0.9, "imf": 0.001}
        res = book.evaluate(book.load(doc))
        self.assertTrue(res["accounts"])


if __name__ == "__main__":
    unittest.main()
