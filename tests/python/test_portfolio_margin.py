# SPDX-License-Identifier: Apache-2.0
"""Portfolio margin through the bindings and the book (docs/portfolio-margin.md): the engine's
model, 'portfolio' accounts, W17 (Dederi futures scenario) and W19 (OKX aggregation) from
research/cex-anchors.md, the "portfolio_margin" book block and the evaluate output."""

import copy
import json
import math
import unittest

import support
from support import librisk

from librisk import book as bookmod, portfolio
from librisk.errors import InvalidError

NOW = "2026-01-01T00:00:00Z"

# W17 (https://wiki.dederi.io/RiskControlRules/portfolio_margin): 10 long ETH futures at F0 =
# 2,243.3 e^(0.08 x 20/365) = 2,253.2, index 2,243.3: P&L at -15 % is -3,380; contingency 134.6.
W17_PARAMS = {"price_range": 0.15, "price_steps": 5, "extended_moves": [], "delta_shock": 0.006,
              "roll_shock": 0.0, "im_multiplier": 1.0}
BOOK = {
    "format": "librisk-book/1", "valuation_asset": "USD", "time": NOW,
    "portfolio_margin": W17_PARAMS,
    "assets": [{"symbol": "USD", "price": 1, "decimals": 6}, {"symbol": "ETH", "price": 2243.3, "decimals": 8}],
    "instruments": [{"symbol": "ETH-21JAN26", "kind": "future", "expiry": "2026-01-21T00:00:00Z",
                     "underlying": "ETH", "settle": "USD", "contract_size": 1, "lot_size": 1, "tick_size": 0.1,
                     "mark": 2253.2, "margin": {"tiers": [{"notional_cap": 1e9, "mmr": 0.01, "max_leverage": 50}]}}],
    "accounts": [{"id": 1, "margin_mode": "portfolio", "balances": {"USD": 100000},
                  "positions": [{"instrument": "ETH-21JAN26", "qty": 10, "entry": 2253.2}]},
                 {"id": 2, "margin_mode": "cross", "balances": {"USD": 100000},
                  "positions": [{"instrument": "ETH-21JAN26", "qty": 10, "entry": 2253.2}]}],
}


class TestPortfolioMargin(unittest.TestCase):
    def test_engine_params_round_trip_and_defaults(self):
        with librisk.Engine() as eng:
            p = eng.portfolio_margin_params()
            self.assertEqual(p["model"], "risk_matrix")
            self.assertEqual(p["extended_moves"], [-0.66, -0.33, 0.5, 1.0, 2.0, 3.0, 4.0, 5.0])
            self.assertEqual(len(portfolio.grid()), 35)
            eng.set_portfolio_margin({"model": "span", "price_steps": 3, "vol_same": False,
                                      "vol_mode": "absolute", "extended_moves": [0.1, -0.1],
                                      "extended_weight": 0.35, "extended_vol_up": False})
            p = eng.portfolio_margin_params()
            self.assertEqual((p["model"], p["vol_mode"], p["extended_weight"]), ("span", "absolute", 0.35))
            self.assertEqual(len(portfolio.grid(p)), 16)
            with self.assertRaises(InvalidError):
                eng.set_portfolio_margin({"price_range": float("nan")})
            with self.assertRaises(InvalidError):
                eng.set_portfolio_margin({"im_multiplier": 0.5})
            with self.assertRaises(ValueError):
                eng.set_portfolio_margin({"no_such_field": 1})
            self.assertEqual(eng.portfolio_margin_params()["model"], "span")  # unchanged

    def test_w19_okx_aggregation(self):
        # https://aws.okx.com/it/help/okx-to-enhance-new-features-in-portfolio-margin-mode
        self.assertEqual(portfolio.okx_mmr([0, 0, 0, 0, 0, 0, 3020.87]), 3020.87)
        self.assertEqual(portfolio.okx_mmr([0, 0, 0, 8053.32, 0, 0, 3020.17]), 8053.32)
        with self.assertRaises(InvalidError):
            portfolio.okx_mmr([0, 0, 0])
        with self.assertRaises(InvalidError):
            portfolio.okx_mmr([0, 0, -1, 0, 0, 0, 0])

    def test_w17_portfolio_account(self):
        with librisk.Engine() as eng:
            eng.add_asset("USD", 1.0, 6)
            eng.add_asset("ETH", 2243.3, 8)
            eng.set_time(NOW)
            f = eng.add_instrument("ETH-21JAN26", "ETH", "USD", [(1e9, 0.01, 50)], kind="future",
                                   expiry="2026-01-21T00:00:00Z", tick_size=0.1, mark=2253.2)
            eng.set_portfolio_margin(W17_PARAMS)
            with librisk.Account(eng, 1, "portfolio") as acc:
                self.assertEqual(acc.margin_mode, "portfolio")
                acc.basket.set_balance("USD", 100000.0)
                acc.open_position(f, 10.0, 2253.2)
                pm = acc.portfolio_margin()
                self.assertEqual(pm.worst_unit, "ETH")
                self.assertAlmostEqual(pm.worst_loss, 3380.0, delta=0.5)
                self.assertAlmostEqual(pm.worst_price_move, -0.15, delta=1e-15)
                self.assertAlmostEqual(pm.units[0].addons, 134.6, delta=0.05)
                s = acc.evaluate()
                self.assertEqual(s.maintenance_margin, pm.maintenance_margin)
                self.assertEqual(s.initial_margin, pm.initial_margin)
                # the same model passed in, not the engine's: SPAN-like without add-ons
                other = acc.portfolio_margin({"model": "span", "price_range": 0.15, "price_steps": 3,
                                              "vol_same": False, "extended_moves": []})
                self.assertAlmostEqual(other.maintenance_margin, 3380.0, delta=0.5)
                # the engine-wide batch: the same numbers
                allm = portfolio.engine_margins(eng)
                self.assertEqual(list(allm), [1])
                self.assertEqual(allm[1].maintenance_margin, pm.maintenance_margin)
                self.assertEqual(allm[1].worst_loss, pm.worst_loss)

    def test_book_block_and_evaluate_output(self):
        res = bookmod.evaluate(bookmod.load(copy.deepcopy(BOOK)))
        pf, cr = res["accounts"]
        self.assertIn("portfolio_margin", pf)
        self.assertNotIn("portfolio_margin", cr)
        w = pf["portfolio_margin"]
        self.assertEqual(w["model"], "risk_matrix")
        self.assertEqual(w["worst_scenario"]["underlying"], "ETH")
        self.assertAlmostEqual(w["worst_scenario"]["price_move"], -0.15, delta=1e-15)
        self.assertAlmostEqual(w["worst_loss"], 3379.8, delta=1e-6)
        self.assertAlmostEqual(pf["maintenance_margin"], 3379.8 + 134.598, delta=1e-6)
        self.assertAlmostEqual(cr["maintenance_margin"], 225.32, delta=1e-6)  # 1 % of the notional
        json.dumps(res)  # every value is JSON

    def test_book_bad_portfolio_fields(self):
        cases = [({"price_range": -1}, "portfolio_margin.price_range"),
                 ({"model": "cme"}, "portfolio_margin.model"),
                 ({"price_steps": 0}, "portfolio_margin.price_steps"),
                 ({"vol_same": 1}, "portfolio_margin.vol_same"),
                 ({"extended_moves": [0.1] * 17}, "portfolio_margin.extended_moves"),
                 ({"im_multiplier": 0.5}, "portfolio_margin.im_multiplier"),
                 ({"unknown": 1}, "portfolio_margin")]
        for block, field in cases:
            doc = copy.deepcopy(BOOK)
            doc["portfolio_margin"] = block
            with self.assertRaises(bookmod.BookError) as cm:
                with bookmod.load(doc):
                    pass
            self.assertTrue(str(cm.exception).startswith(field), (block, str(cm.exception)))
        doc = copy.deepcopy(BOOK)
        doc["accounts"][0]["positions"][0]["margin_mode"] = "isolated"
        doc["accounts"][0]["positions"][0]["isolated_margin"] = 100
        with self.assertRaises(bookmod.BookError):
            with bookmod.load(doc):
                pass


if __name__ == "__main__":
    unittest.main()
