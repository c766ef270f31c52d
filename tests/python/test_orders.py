# SPDX-License-Identifier: Apache-2.0
"""Trading terms through the bindings (include/risk/trading.h): fees, fee-inclusive liquidation
prices, the maximum notional, and their book fields ("fees", "max_notional", "margin.bounded")."""

import copy
import json
import os
import sys
import unittest

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import support  # noqa: E402
from support import librisk, run_cli, TempBook  # noqa: E402
from librisk import book as libbook  # noqa: E402


def hummingbot_engine():
    """hummingbot's budget-checker fixture: COINALPHA at 2 HBOT, sizes on 0.01."""
    eng = librisk.Engine()
    eng.add_asset("HBOT", 1, decimals=6)
    eng.add_asset("COINALPHA", 2)
    eng.add_instrument("COINALPHA-HBOT", "COINALPHA", "HBOT", [(None, 0.005, 10)], lot_size=0.01,
                       tick_size=0.01, mark=2)
    return eng


class TestFees(unittest.TestCase):
    def test_defaults_round_trip_and_reset(self):
        with hummingbot_engine() as eng:
            self.assertEqual(eng.instrument_fees("COINALPHA-HBOT"),
                             {"maker_fee": 0.0, "taker_fee": 0.0, "liquidation_price_with_fee": False,
                              "max_notional": None})
            eng.set_instrument_fees("COINALPHA-HBOT", 0.0002, 0.0005, True, 1e6)
            self.assertEqual(eng.instrument_fees("COINALPHA-HBOT"),
                             {"maker_fee": 0.0002, "taker_fee": 0.0005, "liquidation_price_with_fee": True,
                              "max_notional": 1e6})
            self.assertEqual(eng.fill_fee("COINALPHA-HBOT", 10, 2), 0.01)
            self.assertEqual(eng.fill_fee("COINALPHA-HBOT", -10, 2, maker=True), 0.004)
            eng.set_instrument_fees("COINALPHA-HBOT")
            self.assertEqual(eng.instrument_fees("COINALPHA-HBOT")["taker_fee"], 0.0)

    def test_bad_input_is_refused_and_changes_nothing(self):
        with hummingbot_engine() as eng:
            eng.set_instrument_fees("COINALPHA-HBOT", 0.0002, 0.0005)
            before = eng.instrument_fees("COINALPHA-HBOT")
            for kw in ({"taker_fee": float("nan")}, {"taker_fee": -0.001}, {"maker_fee": -0.0001},
                       {"taker_fee": 0.5}, {"max_notional": -1.0}):
                with self.assertRaises(librisk.InvalidError) as cm:
                    eng.set_instrument_fees("COINALPHA-HBOT", **kw)
                self.assertIn("COINALPHA-HBOT", str(cm.exception))
                self.assertEqual(eng.instrument_fees("COINALPHA-HBOT"), before)
            with self.assertRaises(librisk.NotFoundError):
                eng.set_instrument_fees("NOPE", 0.0, 0.0)

    def test_max_order_reserves_the_fee_like_hummingbot(self):
        # hummingbot test_perpetual_budget_checker.py: balance 10, price 2, 1 % fee -> 4.95 ("5 * .99")
        with hummingbot_engine() as eng:
            acc = librisk.Account(eng, 1)
            acc.set_balance("HBOT", 10)
            acc.set_leverage("COINALPHA-HBOT", 1)
            self.assertEqual(acc.max_order_qty("COINALPHA-HBOT", "buy", price=2), 5.0)
            eng.set_instrument_fees("COINALPHA-HBOT", 0.01, 0.01)
            self.assertEqual(acc.max_order_qty("COINALPHA-HBOT", "buy", price=2), 4.95)
            s = acc.whatif("COINALPHA-HBOT", "buy", 4.95, price=2)
            self.assertAlmostEqual(s.equity, 10 - 0.099, places=9)
            self.assertAlmostEqual(s.available, 0.001, places=9)
            acc.close()

    def test_max_notional_refuses_with_limit_error(self):
        with hummingbot_engine() as eng:
            eng.set_instrument_fees("COINALPHA-HBOT", max_notional=100)
            acc = librisk.Account(eng, 1)
            acc.set_balance("HBOT", 1000)
            self.assertEqual(acc.max_order_qty("COINALPHA-HBOT", "buy"), 50.0)
            with self.assertRaises(librisk.LimitError) as cm:
                acc.open_position("COINALPHA-HBOT", 50.01, 2)
            self.assertEqual(cm.exception.code, 13)
            self.assertIn("COINALPHA-HBOT", str(cm.exception))
            self.assertEqual(acc.positions, [])
            pos = acc.open_position("COINALPHA-HBOT", 50, 2)
            with self.assertRaises(librisk.LimitError):
                pos.adjust(0.01, 2)
            pos.adjust(-1, 2)
            acc.close()


class TestBook(unittest.TestCase):
    def test_sample_book_pins_bybit_w13(self):
        doc = json.loads(run_cli("evaluate", support.book_path("fees_limits.json")).stdout)
        p = doc["accounts"][0]["positions"][0]
        self.assertEqual(p["liquidation_price"], 5739.5)  # Bybit W13, published
        with libbook.load(libbook.read(support.book_path("fees_limits.json"))) as loaded:
            r = loaded.accounts[0].position_results()[0]
            self.assertAlmostEqual(r.liquidation_price_raw, 10007.5 / 1.74375, delta=1e-9)
            self.assertAlmostEqual(r.bankruptcy_price_raw, 10007.5 / 1.75, delta=1e-9)  # 5,718.57
            self.assertEqual(loaded.engine.instrument_fees("BTCUSDT")["max_notional"], 1e6)

    def test_book_fields_and_bad_input(self):
        doc = support.load_book("fees_limits.json")
        bad = [
            (("fees", {"taker": -1}), "instruments[0].fees.taker"),
            (("fees", {"maker": "0.1"}), "instruments[0].fees.maker"),
            (("fees", {"tacker": 0.1}), "instruments[0].fees.tacker"),
            (("fees", {"liquidation_price_with_fee": 1}), "instruments[0].fees.liquidation_price_with_fee"),
            (("max_notional", 0), "instruments[0].max_notional"),
        ]
        for (key, value), path in bad:
            d = copy.deepcopy(doc)
            d["instruments"][0][key] = value
            with TempBook(d) as f:
                r = run_cli("evaluate", f)
            self.assertEqual(r.returncode, 2, r.stderr)
            self.assertTrue(r.stderr.startswith(path), r.stderr)
        # a bounded schedule and max_notional together; a bounded schedule without a last cap
        d = copy.deepcopy(doc)
        d["instruments"][1]["max_notional"] = 5e5
        with TempBook(d) as f:
            r = run_cli("evaluate", f)
        self.assertEqual(r.returncode, 2)
        self.assertIn("bounded", r.stderr)
        d = copy.deepcopy(doc)
        d["instruments"][1]["margin"]["tiers"][-1]["notional_cap"] = None
        with TempBook(d) as f:
            self.assertEqual(run_cli("evaluate", f).returncode, 2)
        # a position above the limit is bad input naming the position
        d = copy.deepcopy(doc)
        d["accounts"][1]["positions"][0]["qty"] = 125.1
        with TempBook(d) as f:
            r = run_cli("evaluate", f)
        self.assertEqual(r.returncode, 2)
        self.assertIn("accounts[1]", r.stderr)
        self.assertIn("1000800", r.stderr)

    def test_cli_whatif_and_max_order_with_fees(self):
        path = support.book_path("fees_limits.json")
        r = run_cli("max-order", path, "--account", "2", "--instrument", "BTCUSDT", "--side", "buy")
        self.assertEqual(json.loads(r.stdout), {"qty": 25.0})  # (1,000,000 - 800,000) / 8,000
        r = run_cli("whatif", path, "--account", "2", "--instrument", "BTCUSDT", "--side", "buy", "--qty", "25.001")
        self.assertEqual(r.returncode, 2)
        self.assertIn("BTCUSDT", r.stderr)
        r = run_cli("whatif", path, "--account", "2", "--instrument", "BTCUSDT", "--side", "buy", "--qty", "10")
        self.assertEqual(r.returncode, 0, r.stderr)
        entry = json.loads(r.stdout)
        # the fee (0.05 % of 80,000 = 40 USDT) leaves the wallet; the positions shown carry it too
        self.assertAlmostEqual(entry["equity"], 100000 - 40, places=6)
        with libbook.load(libbook.read(path)) as loaded:
            acc = loaded.accounts[1]
            self.assertEqual(acc.whatif("BTCUSDT", "buy", 10).as_dict()["equity"], entry["equity"])


if __name__ == "__main__":
    unittest.main()
