# SPDX-License-Identifier: Apache-2.0
"""Options as instruments through the bindings and the book: W28 (Deribit standard margin),
marks from a mark volatility, Greeks and both-sided liquidation prices in position results,
settlement, the struct mirrors, and bad option fields in a book (docs/options.md, sections 6-8;
docs/book-format.md, 4.3)."""

import copy
import ctypes
import json
import math
import unittest

import support
from support import librisk

from librisk import ffi, book as bookmod, options
from librisk.errors import InvalidError, StateError

NOW = "2026-01-01T00:00:00Z"
EXPIRY = "2026-01-31T00:00:00Z"


def engine_with_btc():
    eng = librisk.Engine()
    eng.add_asset("USD", 1.0, 6)
    eng.add_asset("BTC", 50000.0, 8)
    eng.set_time(NOW)
    return eng


class TestOptionInstruments(unittest.TestCase):
    def test_w28_short_call(self):
        # research/cex-anchors.md W28: U 50,000, K 55,000, mark 0.01 BTC: IM 0.11, MM 0.085 BTC
        with engine_with_btc() as eng:
            c = eng.add_instrument("BTC-55000-C", "BTC", "BTC", None, kind="option", inverse=True, strike=55000,
                                   option_type="call", mark=0.01, expiry=EXPIRY, lot_size=0.1, tick_size=0.0001)
            with librisk.Account(eng, 1) as acc:
                acc.basket.set_balance("BTC", 1.0)
                acc.open_position(c, -1.0, 0.01)
                r = acc.position_results()[0]
                self.assertAlmostEqual(r.initial_margin, 0.11, delta=1e-12)
                self.assertAlmostEqual(r.maintenance_margin, 0.085, delta=1e-12)
                self.assertAlmostEqual(r.value, -0.01, delta=1e-15)
                self.assertLess(r.delta, 0.0)
                s = acc.evaluate()
                self.assertAlmostEqual(s.equity, 49500.0, delta=1e-6)
                self.assertAlmostEqual(s.maintenance_margin, 4250.0, delta=1e-6)
            info = eng.instrument_info(c)
            self.assertEqual((info["kind"], info["strike"], info["option_type"]), ("option", 55000.0, "call"))

    def test_mark_vol_prices_the_mark_and_follows_the_underlying(self):
        with engine_with_btc() as eng:
            c = eng.add_instrument("BTC-55000-C", "BTC", "BTC", None, kind="option", inverse=True, strike=55000,
                                   option_type="call", mark_vol=0.6, expiry=EXPIRY, tick_size=0.0001)
            T = 30 / 365
            want = options.black("call", 50000.0, 55000.0, T, 0.6, premium="coin")["price"][0]
            self.assertEqual(eng.mark(c), want)
            eng.set_price("BTC", 60000.0)
            want = options.black("call", 60000.0, 55000.0, T, 0.6, premium="coin")["price"][0]
            self.assertEqual(eng.mark(c), want)
            self.assertEqual(eng.mark_vol(c), 0.6)
            eng.set_mark(c, 0.1)
            iv = eng.mark_vol(c)
            self.assertAlmostEqual(options.black("call", 60000.0, 55000.0, T, iv, premium="coin")["price"][0], 0.1,
                                   delta=1e-14)

    def test_settlement_pays_the_intrinsic_value(self):
        with engine_with_btc() as eng:
            c = eng.add_instrument("BTC-50000-C", "BTC", "BTC", None, kind="option", inverse=True, strike=50000,
                                   option_type="call", mark=0.02, expiry=EXPIRY, lot_size=0.1, tick_size=0.0001)
            with librisk.Account(eng, 1) as acc:
                acc.basket.set_balance("BTC", 1.0)
                pos = acc.open_position(c, 2.0, 0.02)
                with self.assertRaises(StateError):
                    eng.settle_expired(c, 52000.0)  # not expired yet
                eng.set_time(EXPIRY)
                self.assertEqual(eng.settle_expired(c, 52000.0), 1)
                # 2 x (52,000 - 50,000) / 52,000 = 0.0769230769.. BTC, rounded down to 8 decimals
                self.assertAlmostEqual(acc.basket.balance("BTC"), 1.07692307, delta=1e-12)
                self.assertEqual(acc.position_results(), [])
                self.assertTrue(pos.closed)  # the view went with the settled handle

    def test_bad_option_fields_raise(self):
        with engine_with_btc() as eng:
            for kw in ({"strike": float("nan")}, {"strike": -1.0}, {"mark_vol": float("inf"), "mark": None},
                       {"expiry": "2025-12-01T00:00:00Z"}):
                args = {"strike": 55000, "option_type": "call", "mark": 0.01, "expiry": EXPIRY}
                args.update(kw)
                with self.assertRaises(InvalidError):
                    eng.add_instrument("BAD", "BTC", "BTC", None, kind="option", inverse=True, tick_size=0.0001,
                                       **args)
            with self.assertRaises(InvalidError):
                eng.add_instrument("BAD", "BTC", "BTC", None, kind="option", inverse=True, strike=55000,
                                   option_type="straddle", mark=0.01, expiry=EXPIRY)
            self.assertEqual(eng.instrument_count, 0)

    def test_structs_match_the_header(self):
        # version-2 layouts: the appended fields after the version-1 ones
        self.assertEqual(ffi.RiskInstrumentSpec.strike.offset, ffi.RiskInstrumentSpec.n_tiers.offset + 8)
        self.assertEqual(ffi.RiskPositionResult.delta.offset, ffi.RiskPositionResult.bankruptcy_price_raw.offset + 8)
        self.assertEqual(ctypes.sizeof(ffi.RiskPositionResult), 4 * 6 + 8 * 21)


class TestOptionBook(unittest.TestCase):
    def test_sample_book(self):
        doc = support.load_book("options_deribit.json")
        with bookmod.load(doc) as b:
            out = bookmod.evaluate(b)
        acc = {a["id"]: a for a in out["accounts"]}
        p = acc[1]["positions"][0]
        self.assertEqual((p["initial_margin"], p["maintenance_margin"]), (0.11, 0.085))   # W28
        self.assertEqual(acc[3]["positions"][0]["maintenance_margin"], 8500.0)          # W28 in USDC, x2
        strangle = acc[2]["positions"]
        self.assertIsNotNone(strangle[0]["liquidation_price_below"])
        self.assertIsNotNone(strangle[0]["liquidation_price_above"])
        self.assertEqual(strangle[0]["liquidation_price_below"], strangle[1]["liquidation_price_below"])
        self.assertEqual(acc[4]["positions"], [])                                       # settled
        self.assertEqual(acc[4]["balances"][0]["amount"], 1.07692307)
        # prices of the underlying on its tick (0.5)
        for x in (strangle[0]["liquidation_price_below"], strangle[0]["liquidation_price_above"]):
            self.assertEqual(x * 2, math.floor(x * 2))

    def test_bad_option_books_name_the_field(self):
        base = support.load_book("options_deribit.json")
        cases = [
            (lambda d: d.pop("time"), "instruments[0].kind"),
            (lambda d: d["instruments"][1].update(margin={"tiers": []}), "instruments[1].margin"),
            (lambda d: d["instruments"][1].update(mark_vol=0.5), "instruments[1].mark"),
            (lambda d: d["instruments"][1].update(strike="x"), "instruments[1].strike"),
            (lambda d: d["instruments"][1].update(option_type="both"), "instruments[1].option_type"),
            (lambda d: d["instruments"][1].update(settlement_price=50000), "instruments[1].settlement_price"),
            (lambda d: d["instruments"][1].pop("expiry"), "instruments[1]"),
        ]
        for mutate, field in cases:
            d = copy.deepcopy(base)
            mutate(d)
            with support.TempBook(d) as path:
                r = support.run_cli("evaluate", path)
            self.assertEqual(r.returncode, 2, (field, r.stdout[:200], r.stderr))
            self.assertIn(field, r.stderr, field)


if __name__ == "__main__":
    unittest.main()
