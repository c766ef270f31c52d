# SPDX-License-Identifier: Apache-2.0
"""Issue 8: why an account is liquidatable (flags, margin mode, isolated margin), the liquidation
price of a spot balance, numbers printed on their grid, and the librisk-plans/2 document."""

import json
import os
import re
import sys
import unittest

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import support  # noqa: E402
from support import librisk, run_cli, TempBook  # noqa: E402
from librisk import book as libbook, grid as libgrid, liquidation  # noqa: E402

SAMPLES = ("demo.json", "binance_w1_w4.json", "venues_isolated.json", "aave_hf.json", "liquidation.json")

# A cross wallet far from its MM (health factor 1,295) and one isolated position under its own.
WHY = {
    "format": "librisk-book/1", "valuation_asset": "USDT",
    "assets": [{"symbol": "USDT", "price": 1, "decimals": 6},
               {"symbol": "BTC", "price": 50000, "decimals": 8, "weight_init": 0.9, "weight_maint": 0.95},
               {"symbol": "ETH", "price": 3000, "decimals": 8}],
    "instruments": [
        {"symbol": "ETHUSDT", "underlying": "ETH", "settle": "USDT", "lot_size": 0.01, "tick_size": 0.01,
         "mark": 3000, "margin": {"tiers": [{"notional_cap": None, "mmr": 0.01, "max_leverage": 50}]}},
        {"symbol": "BTCUSDT", "underlying": "BTC", "settle": "USDT", "lot_size": 0.001, "tick_size": 0.1,
         "mark": 49600, "margin": {"tiers": [{"notional_cap": None, "mmr": 0.005, "max_leverage": 100}]}}],
    "accounts": [
        {"id": 1, "balances": {"USDT": 38850},
         "positions": [{"instrument": "ETHUSDT", "qty": 1, "entry": 3000},
                       {"instrument": "BTCUSDT", "qty": 1, "entry": 50000, "margin_mode": "isolated",
                        "isolated_margin": 500}]},
        # 1 BTC of collateral against 30,000 USDT borrowed: HF 1 at 30,000 / 0.95 = 31,578.947...
        {"id": 2, "balances": {"BTC": 1, "USDT": -30000}}]}

# 0.1 + 0.2 contracts and a 50,000.3 mark: 0.30000000000000004 and 15,000.090000000004 before issue 8.
NOISE = {
    "format": "librisk-book/1", "valuation_asset": "USDT",
    "assets": [{"symbol": "USDT", "price": 1, "decimals": 6},
               {"symbol": "BTC", "price": 50000, "decimals": 8, "weight_init": 0.9, "weight_maint": 0.95}],
    "instruments": [{"symbol": "BTCUSDT", "underlying": "BTC", "settle": "USDT", "lot_size": 0.001,
                     "tick_size": 0.1, "mark": 50000.3,
                     "margin": {"tiers": [{"notional_cap": None, "mmr": 0.005, "max_leverage": 100}]}}],
    "accounts": [{"id": 1, "balances": {"USDT": 1000.1, "BTC": 0.1},
                  "positions": [{"instrument": "BTCUSDT", "qty": 0.1, "entry": 49999.7}]}]}


def _places(x):
    """Digits after the point in the shortest representation of x (what json writes)."""
    text = repr(float(x))
    if "e" in text:
        mant, exp = text.split("e")
        return max(0, (len(mant.split(".")[1]) if "." in mant else 0) - int(exp))
    return len(text.split(".")[1].rstrip("0")) if "." in text else 0


def _run_json(*args):
    r = run_cli(*args)
    if r.returncode != 0:
        raise AssertionError("exit %d: %s" % (r.returncode, r.stderr))
    return json.loads(r.stdout)


class TestGrid(unittest.TestCase):
    def test_step_decimals(self):
        for step, d in ((0.001, 3), (0.5, 1), (1, 0), (1.0, 0), (2.5e-05, 6), (1e-9, 9), (10, 0), (0.01, 2)):
            self.assertEqual(libgrid.step_decimals(step), d, step)

    def test_on_grid_gives_the_grid_value(self):
        self.assertEqual(repr(libgrid.on_grid(13.945300000000001, 4)), "13.9453")
        self.assertEqual(repr(libgrid.on_grid(-91942.19747400004, 6)), "-91942.197474")
        self.assertEqual(repr(libgrid.on_grid(0.1 + 0.2, 3)), "0.3")
        self.assertEqual(repr(libgrid.on_grid(-0.0, 2)), "0.0")
        self.assertIsNone(libgrid.on_grid(float("nan"), 2))
        self.assertIsNone(libgrid.on_grid(float("inf"), 2))


class TestEveryNumberOnItsGrid(unittest.TestCase):
    def assert_result_on_grid(self, doc, spec):
        g = libgrid.Grid(libbook.check(spec))
        v = g.valuation
        for acc in doc["accounts"]:
            for k in ("equity", "collateral_value", "unrealized_pnl", "initial_margin", "maintenance_margin",
                      "available"):
                self.assertLessEqual(_places(acc[k]), g.asset_decimals[v], (acc["id"], k, acc[k]))
            for b in acc["balances"]:
                self.assertLessEqual(_places(b["amount"]), g.asset_decimals[b["asset"]], b)
                if b["liquidation_price"] is not None:  # a price in the valuation asset: its decimals
                    self.assertLessEqual(_places(b["liquidation_price"]), g.asset_decimals[v], b)
            for p in acc["positions"]:
                ins = p["instrument"]
                self.assertLessEqual(_places(p["qty"]), g.lot_decimals[ins], p)
                for k in ("liquidation_price", "bankruptcy_price"):
                    if p[k] is not None:
                        self.assertLessEqual(_places(p[k]), g.tick_decimals[ins], (k, p))
                for k in ("notional", "unrealized_pnl", "initial_margin", "maintenance_margin", "isolated_margin"):
                    self.assertLessEqual(_places(p[k]), g.asset_decimals[g.settle[ins]], (k, p))

    def test_sample_books_evaluate_on_grid(self):
        for name in SAMPLES:
            with self.subTest(book=name):
                doc = _run_json("evaluate", support.book_path(name))
                self.assert_result_on_grid(doc, support.load_book(name))

    def test_whatif_fill_prints_whole_lots(self):
        with TempBook(NOISE) as path:
            out = _run_json("whatif", path, "--account", "1", "--instrument", "BTCUSDT", "--side", "buy",
                            "--qty", "0.2")
            before = _run_json("evaluate", path)
            r = run_cli("whatif", path, "--account", "1", "--instrument", "BTCUSDT", "--side", "buy", "--qty", "0.2",
                        "--compact")
        pos = out["positions"][0]
        self.assertEqual(pos["qty"], 0.3)  # not 0.30000000000000004
        self.assertEqual(pos["notional"], 15000.09)  # 0.3 x 50,000.3, not 15,000.090000000004
        self.assertIn('"qty": 0.3,', r.stdout)
        self.assertEqual(before["accounts"][0]["positions"][0]["notional"], 5000.03)  # not 5,000.030000000001
        self.assert_result_on_grid({"accounts": [out]}, NOISE)
        self.assert_result_on_grid(before, NOISE)

    def test_liquidate_on_grid(self):
        doc = _run_json("liquidate", support.book_path("liquidation.json"))
        g = libgrid.Grid(libbook.check(support.load_book("liquidation.json")))
        for p in doc["plans"]:
            for k in ("equity_before", "equity_after", "deficit", "uncovered"):
                self.assertLessEqual(_places(p[k]), 6, (k, p[k]))
            for sym, x in p["balances_after"].items():
                self.assertLessEqual(_places(x), g.asset_decimals[sym], (sym, x))
            for a in p["actions"]:
                if "qty" in a:
                    self.assertLessEqual(_places(a["qty"]), g.lot_decimals[a["instrument"]], a)
                    self.assertLessEqual(_places(a["price"]), g.tick_decimals[a["instrument"]], a)
                if a["type"] == "seize":
                    for k in ("amount", "bonus", "protocol_fee"):
                        self.assertLessEqual(_places(a[k]), g.asset_decimals[a["asset"]], (k, a))
                    self.assertLessEqual(_places(a["repay_amount"]), g.asset_decimals[a["repay_asset"]], a)

    def test_report_prints_lots_and_ticks(self):
        with TempBook(NOISE) as path:
            r = run_cli("report", path)
        self.assertEqual(r.returncode, 0, r.stderr)
        self.assertNotIn("0000000", r.stdout)
        row = next(line for line in r.stdout.splitlines() if line.strip().startswith("BTCUSDT ") and " long " in line)
        self.assertIn(" 0.100 ", row)  # qty with the lot's 3 decimals
        self.assertIn(" 5,000.03 ", row)  # notional at the settle asset's decimals, no noise


class TestWhyLiquidatable(unittest.TestCase):
    def test_flags_name_the_isolated_position(self):
        with TempBook(WHY) as path:
            doc = _run_json("evaluate", path)
            r = run_cli("report", path)
        acc = doc["accounts"][0]
        self.assertEqual(acc["state"], "liquidatable")
        self.assertAlmostEqual(acc["health_factor"], 1295.0, places=9)  # 38,850 / 30
        eth, btc = acc["positions"]
        self.assertEqual((eth["margin_mode"], eth["isolated_margin"], eth["liquidatable"]), ("cross", 0.0, False))
        self.assertEqual((btc["margin_mode"], btc["isolated_margin"], btc["liquidatable"]), ("isolated", 500.0, True))
        self.assertEqual(btc["maintenance_margin"], 248.0)  # 49,600 x 0.5 % > 500 - 400
        self.assertEqual(r.returncode, 0, r.stderr)
        self.assertIn("liquidatable: BTCUSDT long (isolated margin + PnL under its MM)", r.stdout)
        row = next(line for line in r.stdout.splitlines() if line.strip().startswith("BTCUSDT ") and " long " in line)
        self.assertTrue(row.rstrip().endswith("LIQUIDATABLE"), row)
        self.assertIn(" isolated ", row)
        self.assertIn(" 500.00 ", row)

    def test_python_results_carry_mode_margin_and_flag(self):
        with libbook.load(WHY) as loaded:
            acc = loaded.accounts[0]
            res = acc.position_results()
            pos = acc.positions
            self.assertEqual([(p.margin_mode, p.isolated_margin) for p in pos], [("cross", 0.0), ("isolated", 500.0)])
            self.assertEqual(repr(pos[1]), "<Position BTCUSDT both isolated qty=1.0 entry=50000.0 isolated_margin=500.0>")
            self.assertEqual(repr(pos[0]), "<Position ETHUSDT both cross qty=1.0 entry=3000.0>")
        self.assertEqual([(r.margin_mode, r.isolated_margin, r.liquidatable) for r in res],
                         [("cross", 0.0, False), ("isolated", 500.0, True)])
        self.assertEqual([r.as_dict()["liquidatable"] for r in res], [False, True])


class TestSpotLiquidationPrice(unittest.TestCase):
    def test_collateral_against_debt(self):
        with libbook.load(WHY) as loaded:
            acc = loaded.accounts[1]
            self.assertAlmostEqual(acc.spot_liquidation_price("BTC"), 30000 / 0.95, delta=1e-9)
            self.assertIsNone(acc.spot_liquidation_price("USDT"))  # the valuation asset
            self.assertIsNone(loaded.accounts[0].spot_liquidation_price("BTC"))  # only an isolated position on BTC
            with self.assertRaises(librisk.errors.NotFoundError):
                acc.spot_liquidation_price("DOGE")
        with TempBook(WHY) as path:
            doc = _run_json("evaluate", path)
            r = run_cli("report", path)
        bal = {b["asset"]: b for b in doc["accounts"][1]["balances"]}
        # 30,000 / 0.95 = 31,578.947368421...: on USDT's 6 decimals, up for collateral (issue 14)
        self.assertEqual(bal["BTC"]["liquidation_price"], 31578.947369)
        self.assertEqual(bal["BTC"]["amount"], 1.0)
        self.assertEqual((bal["USDT"]["amount"], bal["USDT"]["liquidation_price"]), (-30000.0, None))
        self.assertIn("BTC 1 (liq. price 31,578.947369)", r.stdout)

    def test_printed_spot_price_is_rounded_against_the_account(self):
        # every balance of every sample book: the printed price is the C root on the valuation
        # asset's decimals, up for a positive balance, down for a debt, less than a quantum away
        for name in SAMPLES:
            doc = _run_json("evaluate", support.book_path(name))
            spec = libbook.check(support.load_book(name))
            q = 10.0 ** -libgrid.Grid(spec).asset_decimals[libgrid.Grid(spec).valuation]
            with libbook.load(libbook.read(support.book_path(name))) as loaded:
                accs = {a.id: a for a in loaded.accounts}
                for acc in doc["accounts"]:
                    for b in acc["balances"]:
                        raw = accs[acc["id"]].spot_liquidation_price(b["asset"])
                        out = b["liquidation_price"]
                        with self.subTest(book=name, account=acc["id"], asset=b["asset"]):
                            if raw is None:
                                self.assertIsNone(out)
                                continue
                            if b["amount"] > 0:
                                self.assertTrue(raw <= out < raw + q * (1 + 1e-9), (raw, out))
                            else:
                                self.assertTrue(raw - q * (1 + 1e-9) < out <= raw, (raw, out))

    def test_directed_rounding(self):
        self.assertEqual(libgrid.on_grid_directed(1174.4668345927798, 6, True), 1174.466835)
        self.assertEqual(libgrid.on_grid_directed(1174.4668345927798, 6, False), 1174.466834)
        self.assertEqual(libgrid.on_grid_directed(0.1 + 0.2, 1, True), 0.4)  # 0.30000000000000004 is above 0.3
        self.assertEqual(libgrid.on_grid_directed(0.3, 1, True), 0.3)
        self.assertEqual(libgrid.on_grid_directed(-2.55, 1, True), -2.5)
        self.assertIsNone(libgrid.on_grid_directed(float("nan"), 2, True))

    def test_spot_price_matches_the_cross_positions_move(self):
        # demo account 1001: 0.1 BTC and a cross BTCUSDT long: the BTC price and the BTCUSDT mark
        # move together, so the spot price is within one tick below the position's (rounded up).
        doc = _run_json("evaluate", support.book_path("demo.json"))
        acc = next(a for a in doc["accounts"] if a["id"] == 1001)
        spot = next(b for b in acc["balances"] if b["asset"] == "BTC")["liquidation_price"]
        lp = next(p for p in acc["positions"] if p["instrument"] == "BTCUSDT")["liquidation_price"]
        self.assertLessEqual(spot, lp)
        self.assertLess(lp - spot, 0.1 + 1e-9)


class TestPlans2(unittest.TestCase):
    def test_fields_of_a_partial_plan(self):
        doc = _run_json("liquidate", support.book_path("liquidation.json"))
        self.assertEqual(doc["format"], "librisk-plans/2")
        keys = [k for k, _ in liquidation.PLAN_FIELDS]
        self.assertEqual(keys, ["account", "outcome", "health_before", "health_after", "equity_before", "equity_after",
                                "deficit", "uncovered", "fund_drawn", "socialized", "trigger", "balances_after",
                                "actions"])
        plans = {p["account"]: p for p in doc["plans"]}
        for p in plans.values():
            self.assertEqual(list(p), keys)
        # Drift D6 (account 7): 5 USDC, 2 SOL long at 100; 1.8 closed with 1 % + 1 % fees
        p7 = plans[7]
        self.assertEqual((p7["equity_before"], p7["deficit"], p7["uncovered"]), (5.0, 0.0, 0.0))
        self.assertEqual(p7["trigger"], {"cross": True, "isolated": False, "bankrupt": False, "instrument": "SOL-PERP"})
        self.assertEqual(p7["balances_after"], {"USDC": 1.4})  # 5 - 1.8 - 1.8
        self.assertEqual(p7["equity_after"], 1.4)
        # the plan header agrees with the account evaluated after the plan
        with libbook.load(libbook.read(support.book_path("liquidation.json"))) as loaded:
            for acc in loaded.accounts:
                p = liquidation.plan(acc)
                if p.outcome == "none":
                    continue
                liquidation.apply_plan(acc, p)
                self.assertEqual(plans[acc.id]["equity_after"], round(acc.evaluate().equity, 6))
                self.assertEqual(plans[acc.id]["balances_after"],
                                 {sym: round(acc.basket.balance(sym), d) for sym, d in
                                  (("USDC", 6), ("SOL", 9), ("WETH", 8)) if sym in plans[acc.id]["balances_after"]})

    def test_close_out_deficit_and_uncovered(self):
        doc = support.load_book("liquidation.json")
        # 11: 50 USDC, SOL long 10 at 110, mark 100: equity -50; bankruptcy price 110 - 50 / 10 = 105.
        # 12: 50 USDC, SOL short 10 at 90: the only opposite position, it takes 11's long at 105 by
        #     ADL (realising 10 x (90 - 105) = -150: USDC -100), then draws the fund's 30: 70 uncovered.
        doc["accounts"] = [
            {"id": 11, "balances": {"USDC": 50}, "positions": [{"instrument": "SOL-PERP", "qty": 10, "entry": 110}]},
            {"id": 12, "balances": {"USDC": 50}, "positions": [{"instrument": "SOL-PERP", "qty": -10, "entry": 90}]}]
        doc["insurance_fund"] = {"USDC": 30}
        with TempBook(doc) as path:
            out = _run_json("liquidate", path)
        p11, p12 = out["plans"]
        self.assertEqual((p11["outcome"], p11["equity_before"], p11["deficit"], p11["uncovered"]),
                         ("close_out", -50.0, 50.0, 0.0))
        self.assertEqual(p11["actions"], [{"type": "adl", "counterparty": 12, "instrument": "SOL-PERP",
                                           "side": "sell", "qty": 10.0, "price": 105.0}])
        self.assertEqual((p11["equity_after"], p11["balances_after"]), (0.0, {"USDC": 0.0}))
        self.assertEqual((p12["outcome"], p12["equity_before"], p12["deficit"], p12["uncovered"]),
                         ("close_out", -100.0, 100.0, 70.0))
        self.assertEqual(p12["actions"], [{"type": "insurance", "asset": "USDC", "amount": -30.0}])
        self.assertEqual((p12["equity_after"], p12["balances_after"]), (-70.0, {"USDC": -70.0}))


class TestAdlMerge(unittest.TestCase):
    def _book(self, accounts):
        doc = support.load_book("liquidation.json")
        doc["accounts"] = accounts
        return libbook.load(doc)

    def test_three_shards_equal_one_engine(self):
        accounts = []
        for i in range(30):
            qty = (1 + i % 7) * (1 if i % 3 else -1)
            entry = 80 + (i * 13) % 40
            pos = {"instrument": "SOL-PERP", "qty": qty, "entry": entry}
            if i % 4 == 3:
                pos.update(margin_mode="isolated", isolated_margin=50 + i)
            if i % 10 == 5:  # a tie group: same wallet and position
                pos = {"instrument": "SOL-PERP", "qty": 2, "entry": 90}
            accounts.append({"id": 700 + (i * 17) % 97, "balances": {"USDC": 100 + 10 * (i % 5) if i % 10 != 5 else 100},
                             "positions": [pos]})
        with self._book(accounts) as whole:
            want = {side: liquidation.adl_ranking(whole.engine, "SOL-PERP", side) for side in ("long", "short")}
        shards = [self._book([a for j, a in enumerate(accounts) if j % 5 % 3 == s]) for s in range(3)]
        try:
            for side in ("long", "short"):
                queues = [liquidation.adl_ranking(b.engine, "SOL-PERP", side) for b in shards]
                self.assertTrue(all(queues))
                got = liquidation.adl_merge(*queues)
                self.assertEqual(got, want[side])
                self.assertEqual({e["side"] for e in got}, {side})
                self.assertEqual(liquidation.adl_merge(*reversed(queues)), want[side])
            ties = [e["account"] for e in want["long"] if e["qty"] == 2 and e["pnl_pct"] == 10 / 90]
            self.assertEqual(ties, sorted(ties))
            self.assertGreaterEqual(len(ties), 3)
            with self.assertRaises(librisk.errors.InvalidError):  # a position in two queues
                liquidation.adl_merge(queues[0], queues[0])
            with self.assertRaises(librisk.errors.InvalidError):  # out of order
                liquidation.adl_merge(list(reversed(queues[0])))
            self.assertEqual(liquidation.adl_merge(), [])
        finally:
            for b in shards:
                b.close()


if __name__ == "__main__":
    unittest.main()
