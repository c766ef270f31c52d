# SPDX-License-Identifier: Apache-2.0
"""Size-scaled weights through Python: the struct layout, Drift D2 and Mango M1 case 10 through
the bindings, a book with "size_scaling", and bad input naming the field."""

import os
import shutil
import sys
import unittest

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import support  # noqa: E402,F401
import test_bindings  # noqa: E402  (its struct-layout check is reused below)
from support import librisk  # noqa: E402
from librisk import book, ffi  # noqa: E402


@unittest.skipUnless(shutil.which(os.environ.get("CC", "cc")), "no C compiler")
class TestSizeStructLayout(unittest.TestCase):
    STRUCTS = {"risk_size_scaling": ffi.RiskSizeScaling}
    test_sizes_and_offsets_match_the_headers = \
        test_bindings.TestStructLayout.test_sizes_and_offsets_match_the_headers


class TestSizeScaling(unittest.TestCase):
    def test_drift_d2_deposit_scaling(self):
        """IAW 0.9, start $500,000, SOL $25: 40,000 SOL deposited venue-wide gives 0.45."""
        eng = librisk.Engine()
        eng.add_asset("USDC", 1, decimals=6)
        eng.add_asset("SOL", 25, decimals=9, weight_init=0.9, weight_maint=0.95)
        eng.set_asset_size_scaling("SOL", deposit_scale_start=500000, venue_deposits=40000)
        self.assertAlmostEqual(eng.asset_weights("SOL", 10)[0], 0.45, places=15)
        self.assertEqual(eng.asset_weights("SOL", 10)[1], 0.95)
        self.assertEqual(eng.asset_size_scaling("SOL")["venue_deposits"], 40000)
        eng.set_asset_size_scaling("SOL")  # all zero: off
        self.assertEqual(eng.asset_weights("SOL", 10), (0.9, 0.95))
        with self.assertRaises(librisk.InvalidError):
            eng.set_asset_size_scaling("SOL", imf=float("nan"))

    def test_book_mango_case_10(self):
        """Mango test_health1 case 10 from a book: init health 296.666666 (quantized down)."""
        def asset(sym, price, w_init, w_maint, start, venue):
            return {"symbol": sym, "price": price, "decimals": 6, "weight_init": w_init, "weight_maint": w_maint,
                    "liab_weight_init": 2 - w_init, "liab_weight_maint": 2 - w_maint,
                    "size_scaling": {"deposit_scale_start": start, "venue_deposits": venue}}
        doc = {"format": "librisk-book/1", "valuation_asset": "T1",
               "assets": [asset("T1", 1, 0.8, 0.9, 1000, 100), asset("T2", 5, 0.5, 0.7, 5000, 1500),
                          asset("T3", 10, 0.5, 0.7, 10000, 10000)],
               "instruments": [],
               "accounts": [{"id": 1, "balances": {"T1": 100, "T2": 100, "T3": 100}}]}
        b = book.load(doc)
        s = b.accounts[0].evaluate()
        self.assertAlmostEqual(s.collateral_init, 296.666666, places=9)

    def test_book_size_premium_ftx_w26(self):
        """FTX W26 from a book: 1,000,000 MNGO at 0.05 under imf 0.00025 (base share 0) needs
        0.00025 x 1,000 = 25 % of the notional."""
        doc = {"format": "librisk-book/1", "valuation_asset": "USD",
               "assets": [{"symbol": "USD", "price": 1, "decimals": 6}, {"symbol": "MNGO", "price": 0.05}],
               "instruments": [{"symbol": "MNGO-PERP", "underlying": "MNGO", "settle": "USD", "lot_size": 1,
                                "tick_size": 0.00001, "mark": 0.05,
                                "margin": {"tiers": [{"notional_cap": None, "mmr": 0.03, "max_leverage": 20}]},
                                "size_premium": {"imf": 0.00025, "base_share": 0}}],
               "accounts": [{"id": 1, "balances": {"USD": 1e6},
                             "positions": [{"instrument": "MNGO-PERP", "qty": 1e6, "entry": 0.05}]}]}
        b = book.load(doc)
        self.assertEqual(b.engine.instrument_size_premium("MNGO-PERP"), (0.00025, 0.0))
        self.assertAlmostEqual(b.accounts[0].evaluate().initial_margin, 12500.0, places=6)
        doc["instruments"][0]["size_premium"] = {"imf": 0.00025, "base_share": 2}
        with self.assertRaises(book.BookError) as cm:
            book.load(doc)
        self.assertIn("instruments[0].size_premium.base_share", str(cm.exception))

    def test_book_bad_field_names_it(self):
        doc = {"format": "librisk-book/1", "assets": [{"symbol": "USDT", "price": 1,
                                                       "size_scaling": {"imf": 2}}],
               "instruments": [], "accounts": []}
        with self.assertRaises(book.BookError) as cm:
            book.load(doc)
        self.assertIn("assets[0].size_scaling.imf", str(cm.exception))
        doc["assets"][0]["size_scaling"] = {"imff": 0.1}
        with self.assertRaises(book.BookError) as cm:
            book.load(doc)
        self.assertIn("assets[0].size_scaling.imff", str(cm.exception))


if __name__ == "__main__":
    unittest.main()
