# SPDX-License-Identifier: Apache-2.0
"""Liquidation from Python: policy, plans, apply, insurance fund, ADL ranking, and the `liquidate`
command. Published vectors: Drift D7, Aave, dYdX's fillable price (docs/liquidation.md)."""

import json
import math
import unittest

import support  # noqa: F401  (puts the bindings on sys.path)
from librisk import errors, liquidation
from librisk.core import Engine, Account


def drift_engine():
    eng = Engine()
    usdc = eng.add_asset("USDC", 1.0, decimals=6)
    sol = eng.add_asset("SOL", 100.0, decimals=9)
    perp = eng.add_instrument("SOL-PERP", sol, usdc, [{"notional_cap": math.inf, "mmr": 0.05, "max_leverage": 10}],
                              lot_size=1e-9, tick_size=0.001, mark=100.0)
    return eng, usdc, perp


class TestBindings(unittest.TestCase):
    def test_policy_round_trip_and_override(self):
        eng, usdc, perp = drift_engine()
        with eng:
            self.assertEqual(liquidation.policy(eng).buffer, 0.02)  # RISK_LIQUIDATION_POLICY_INIT
            liquidation.set_policy(eng, buffer=0.03, fee=0.01, price_model="penalty", exit_target="initial")
            p = liquidation.policy(eng)
            self.assertEqual((p.buffer, p.fee, p.price_model, p.exit_target), (0.03, 0.01, "penalty", "initial"))
            liquidation.set_policy(eng, instrument="SOL-PERP", fee=0.02)
            self.assertEqual(liquidation.policy(eng, "SOL-PERP").fee, 0.02)
            liquidation.set_policy(eng, None, instrument="SOL-PERP")
            self.assertEqual(liquidation.policy(eng, "SOL-PERP").fee, 0.01)
            with self.assertRaises(errors.InvalidError):
                liquidation.set_policy(eng, fee=-0.01)
            with self.assertRaises(errors.InvalidError):
                liquidation.set_policy(eng, buffer=-0.01)  # a target below the trigger
            self.assertEqual(liquidation.policy(eng).fee, 0.01)  # unchanged

    def test_drift_plan_apply_and_fund(self):
        eng, usdc, perp = drift_engine()
        with eng:
            liquidation.set_policy(eng, buffer=0.02, fee=0.01, insurance_fee=0.01)
            acc = Account(eng, 7)
            acc.basket.set_balance(usdc, 5.0)
            acc.open_position(perp, 2.0, 100.0)
            plan = liquidation.plan(acc)
            self.assertEqual(plan.outcome, "partial")
            self.assertEqual(len(plan.actions), 1)
            a = plan.actions[0]
            self.assertEqual((a["type"], a["instrument"], a["side"]), ("reduce", "SOL-PERP", "sell"))
            self.assertAlmostEqual(a["qty"], 1.8, places=12)
            self.assertAlmostEqual(a["price"] - a["fee"] / a["qty"], 99.0, places=9)  # the liquidator's price
            liquidation.apply_plan(acc, plan)
            s = acc.evaluate()
            self.assertEqual(s.health_factor, plan.health_after)
            self.assertAlmostEqual(s.equity, 1.40, places=9)
            self.assertAlmostEqual(liquidation.insurance_fund(eng, "USDC")["balance"], 1.8, places=12)
            self.assertEqual(liquidation.plan(acc).outcome, "none")
            with self.assertRaises(errors.StateError):  # the position is no longer there to reduce
                liquidation.apply_plan(acc, plan)
            acc.close()

    def test_deposit_and_adl_ranking(self):
        eng, usdc, perp = drift_engine()
        with eng:
            liquidation.deposit(eng, "USDC", 250.0)
            self.assertEqual(liquidation.insurance_fund(eng, usdc),
                             {"balance": 250.0, "deposits": 250.0, "contributions": 0.0, "draws": 0.0})
            with self.assertRaises(errors.InvalidError):
                liquidation.deposit(eng, "USDC", -1.0)
            accs = []
            for i, (qty, entry, wallet) in enumerate(((-1.0, 110.0, 0.0), (-2.0, 110.0, 500.0), (-1.0, 90.0, 50.0))):
                acc = Account(eng, 100 + i)
                if wallet:
                    acc.basket.set_balance(usdc, wallet)
                acc.open_position(perp, qty, entry)
                accs.append(acc)
            q = liquidation.adl_ranking(eng, "SOL-PERP", "short")
            self.assertEqual([e["account"] for e in q], [100, 101, 102])
            # 100: PnL 10 / 110, leverage 100 / 10: score 0.0909... x 10
            self.assertAlmostEqual(q[0]["score"], 10.0 / 110.0 * 10.0, places=12)
            self.assertEqual(liquidation.adl_ranking(eng, "SOL-PERP", "long"), [])
            with self.assertRaises(errors.InvalidError):
                liquidation.adl_ranking(eng, "SOL-PERP", "both")
            for acc in accs:
                acc.close()


def doge_book(**liquidation):
    """A DOGE long of 3,316 from 0.11 at 0.1 with 33.155 USDT: equity -0.005, nobody on the other
    side (docs/liquidation.md 5.4; the C test test_plan_backstop_takes_over_at_bankruptcy_price)."""
    return {"format": "librisk-book/1", "valuation_asset": "USDT",
            "assets": [{"symbol": "USDT", "price": 1, "decimals": 6}, {"symbol": "DOGE", "price": 0.1}],
            "instruments": [{"symbol": "DOGEUSDT", "underlying": "DOGE", "settle": "USDT", "lot_size": 1,
                             "tick_size": 0.00001, "mark": 0.1,
                             "margin": {"tiers": [{"notional_cap": 1e15, "mmr": 0.01, "max_leverage": 50}]}}],
            "liquidation": liquidation,
            "accounts": [{"id": 7, "balances": {"USDT": 33.155},
                          "positions": [{"instrument": "DOGEUSDT", "qty": 3316, "entry": 0.11}]},
                         {"id": 99, "balances": {"USDT": 1000}}]}


class TestCloseOuts(unittest.TestCase):
    def test_policy_deficit_and_backstop_fields(self):
        eng, usdc, perp = drift_engine()
        with eng:
            liquidation.set_policy(eng, deficit="socialize", backstop_account=42)
            p = liquidation.policy(eng)
            self.assertEqual((p.deficit, p.backstop_account), ("socialize", 42))
            liquidation.set_policy(eng, deficit="report")
            self.assertIsNone(liquidation.policy(eng).backstop_account)
            with self.assertRaises(errors.InvalidError):
                liquidation.set_policy(eng, deficit="spread")
            with self.assertRaises(errors.InvalidError):
                liquidation.set_policy(eng, backstop_account=-3)

    def test_close_out_ends_flat_without_a_counterparty(self):
        with support.TempBook(doge_book()) as path:
            r = support.run_cli("liquidate", path)
        self.assertEqual(r.returncode, 0, r.stderr)
        plan = json.loads(r.stdout)["plans"][0]
        self.assertEqual(plan["outcome"], "close_out")
        self.assertEqual(plan["trigger"], {"cross": True, "isolated": False, "bankrupt": True,
                                           "instrument": "DOGEUSDT"})
        self.assertEqual(plan["actions"], [{"type": "reduce", "instrument": "DOGEUSDT", "side": "sell", "qty": 3316,
                                            "price": 0.1, "fee": 0.0, "insurance_fee": 0.0}])
        self.assertEqual((plan["deficit"], plan["uncovered"], plan["fund_drawn"]), (0.005, 0.005, 0.0))
        self.assertEqual(plan["balances_after"], {"USDT": -0.005})

    def test_backstop_takes_the_position(self):
        with support.TempBook(doge_book(backstop_account=99)) as path:
            r = support.run_cli("liquidate", path)
        self.assertEqual(r.returncode, 0, r.stderr)
        plan = json.loads(r.stdout)["plans"][0]
        self.assertEqual(plan["actions"], [{"type": "backstop", "counterparty": 99, "instrument": "DOGEUSDT",
                                            "side": "sell", "qty": 3316, "price": 0.10001}])
        self.assertEqual(plan["uncovered"], 0.0)
        self.assertEqual(plan["balances_after"], {"USDT": 0.02816})  # 33.155 - 3,316 x 0.00999

    def test_socialized_deficit(self):
        book = doge_book(deficit="socialize")
        book["accounts"][1]["positions"] = [{"instrument": "DOGEUSDT", "qty": -10000, "entry": 0.12}]
        with support.TempBook(book) as path:
            r = support.run_cli("liquidate", path)
        self.assertEqual(r.returncode, 0, r.stderr)
        plan = json.loads(r.stdout)["plans"][0]
        self.assertEqual(plan["actions"][1], {"type": "socialize", "counterparty": 99, "instrument": "DOGEUSDT",
                                              "asset": "USDT", "amount": 0.005})
        self.assertEqual((plan["socialized"], plan["uncovered"]), (0.005, 0.0))


class TestLiquidateAll(unittest.TestCase):
    """liquidation.liquidate_all against plan + apply account by account on the sample book."""

    def test_matches_plan_and_apply_one_by_one(self):
        from librisk import book as book_mod
        doc = support.load_book("liquidation.json")
        loop = book_mod.load(json.loads(json.dumps(doc)))
        want = []
        for acc in loop.accounts:
            p = liquidation.plan(acc)
            if p.outcome == "none":
                continue
            liquidation.apply_plan(acc, p)
            want.append((p.as_dict(), {a: acc.basket.balance(a) for a in ("USDC", "WETH", "SOL")}))
        batch = book_mod.load(json.loads(json.dumps(doc)))
        by_id = {acc.id: acc for acc in batch.accounts}
        got = []

        def on_plan(p: liquidation.Plan) -> None:
            acc = by_id[p.account_id]
            got.append((p.as_dict(), {a: acc.basket.balance(a) for a in ("USDC", "WETH", "SOL")}))
        counts = liquidation.liquidate_all(batch.engine, on_plan)
        self.assertEqual([d["account"] for d, _ in want], [7, 8, 9])
        self.assertEqual(got, want)  # floats compared exactly
        self.assertEqual(counts["plans"], 3)
        self.assertEqual(counts["applied"], 3)
        self.assertEqual(counts["actions"], sum(len(d["actions"]) for d, _ in want))
        self.assertEqual(liquidation.liquidate_all(batch.engine)["plans"], 0)  # nothing left to do

    def test_callback_error_stops_the_batch(self):
        from librisk import book as book_mod
        batch = book_mod.load(support.load_book("liquidation.json"))
        seen = []

        def on_plan(p: liquidation.Plan) -> None:
            seen.append(p.account_id)
            raise ValueError("stop here")
        with self.assertRaises(ValueError):
            liquidation.liquidate_all(batch.engine, on_plan)
        self.assertEqual(seen, [7])  # the first plan was applied, the rest not made
        self.assertEqual(liquidation.plan(batch.accounts[[a.id for a in batch.accounts].index(7)]).outcome, "none")


class TestLiquidateCommand(unittest.TestCase):
    def test_sample_book(self):
        r = support.run_cli("liquidate", support.book_path("liquidation.json"))
        self.assertEqual(r.returncode, 0, r.stderr)
        doc = json.loads(r.stdout)
        self.assertEqual(doc["format"], "librisk-plans/2")
        plans = {p["account"]: p for p in doc["plans"]}
        self.assertEqual(sorted(plans), [7, 8, 9])  # 10 is healthy
        drift = plans[7]["actions"][0]
        self.assertEqual(drift, {"type": "reduce", "instrument": "SOL-PERP", "side": "sell", "qty": 1.8,
                                 "price": 100.0, "fee": 1.8, "insurance_fee": 1.8})
        self.assertAlmostEqual(plans[7]["health_after"], 1.4, places=9)
        seize = plans[8]["actions"][0]
        self.assertEqual(seize["type"], "seize")
        self.assertEqual((seize["asset"], seize["repay_asset"]), ("WETH", "USDC"))
        # minimal repayment to HF 1.02 (the 2 % buffer): (1,020 - 970) / (1.02 - 1.05 x 0.825)
        self.assertAlmostEqual(seize["repay_amount"], 50.0 / (1.02 - 1.05 * 0.825), delta=1e-4)
        self.assertGreaterEqual(plans[8]["health_after"], 1.02)
        self.assertAlmostEqual(seize["amount"], seize["repay_amount"] * 1.05 / 2000.0, delta=1e-8)
        # dYdX's fillable price: TNC 4.99 of TMMR 10 -> ABR 0.501 -> 100 - 0.501 x 0.1 x 10
        self.assertAlmostEqual(plans[9]["actions"][0]["price"], 99.499, places=9)

    def test_one_account_and_unknown_account(self):
        r = support.run_cli("liquidate", support.book_path("liquidation.json"), "--account", "9", "--compact")
        self.assertEqual(r.returncode, 0, r.stderr)
        self.assertEqual([p["account"] for p in json.loads(r.stdout)["plans"]], [9])
        r = support.run_cli("liquidate", support.book_path("liquidation.json"), "--account", "10")
        self.assertEqual(json.loads(r.stdout)["plans"], [])  # healthy: no plan
        r = support.run_cli("liquidate", support.book_path("liquidation.json"), "--account", "77")
        self.assertEqual(r.returncode, 2)
        self.assertEqual(r.stdout, "")
        self.assertEqual(r.stderr.strip(), "--account: no account 77 in the book")

    def test_bad_input(self):
        base = support.load_book("liquidation.json")
        cases = [
            (("liquidation", "fee"), -0.01, "liquidation.fee"),
            (("liquidation", "buffer"), -0.5, "liquidation.buffer"),
            (("liquidation", "exit_target"), "maintenance", "liquidation.exit_target"),
            (("liquidation", "price_model"), 3, "liquidation.price_model"),
            (("liquidation", "surprise"), 1, "liquidation"),
            (("insurance_fund", "USDC"), -5, "insurance_fund.USDC"),
            (("insurance_fund", "DOGE"), 5, "insurance_fund.DOGE"),
            (("instruments", 1, "liquidation", "close_factor"), 0, "instruments[1].liquidation.close_factor"),
            (("liquidation", "deficit"), "spread", "liquidation.deficit"),
            (("liquidation", "backstop_account"), -1, "liquidation.backstop_account"),
            (("instruments", 1, "liquidation", "deficit"), "report", "instruments[1].liquidation"),
        ]
        for path, value, where in cases:
            doc = json.loads(json.dumps(base))
            node = doc
            for k in path[:-1]:
                node = node[k]
            node[path[-1]] = value
            with support.TempBook(doc) as p:
                r = support.run_cli("liquidate", p)
            self.assertEqual(r.returncode, 2, (path, r.stdout))
            self.assertEqual(r.stdout, "")
            self.assertTrue(r.stderr.startswith(where), (path, r.stderr))
            self.assertEqual(len(r.stderr.strip().splitlines()), 1, r.stderr)


if __name__ == "__main__":
    unittest.main()
