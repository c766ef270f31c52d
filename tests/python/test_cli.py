# SPDX-License-Identifier: Apache-2.0
"""`python3 -m librisk`: the sample books, the result format, and every bad-input path."""

import copy
import json
import math
import os
import re
import subprocess
import sys
import unittest

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import support  # noqa: E402
from support import librisk, run_cli, TempBook  # noqa: E402
from librisk import book as libbook  # noqa: E402

ACCOUNT_KEYS = ["id", "state", "equity", "collateral_value", "unrealized_pnl", "initial_margin",
                "maintenance_margin", "available", "health_factor", "margin_ratio", "ltv", "ltv_buffer",
                "leverage", "balances", "positions"]
POSITION_KEYS = ["instrument", "side", "qty", "notional", "unrealized_pnl", "initial_margin",
                 "maintenance_margin", "liquidation_price", "bankruptcy_price", "margin_mode", "isolated_margin",
                 "liquidatable"]
POSITION_NUMBERS = ["qty", "notional", "unrealized_pnl", "initial_margin", "maintenance_margin", "liquidation_price",
                    "bankruptcy_price", "isolated_margin"]
BALANCE_KEYS = ["asset", "amount", "liquidation_price"]
# an option position's extra fields, after the others (docs/book-format.md, section 6)
OPTION_POSITION_KEYS = ["value", "delta", "gamma", "vega", "theta", "mark_vol", "underlying_price",
                        "liquidation_price_below", "liquidation_price_above"]
STATES = {"healthy", "margin_call", "liquidatable", "bankrupt"}


def _reject_constant(name):
    raise AssertionError("non-standard JSON constant %s in the output" % name)


def evaluate(path, *extra):
    r = run_cli("evaluate", path, *extra)
    if r.returncode != 0:
        raise AssertionError("exit %d: %s" % (r.returncode, r.stderr))
    return json.loads(r.stdout, parse_constant=_reject_constant), r


BASE = {
    "format": "librisk-book/1",
    "valuation_asset": "USDT",
    "margin_call_health": 1.2,
    "assets": [
        {"symbol": "USDT", "price": 1, "decimals": 6},
        {"symbol": "BTC", "price": 50000, "decimals": 8, "weight_init": 0.95, "weight_maint": 0.975,
         "liab_weight_init": 1.05, "liab_weight_maint": 1.02,
         "value_tiers": [{"up_to": 10, "ratio": 1}, {"up_to": None, "ratio": 0.9}]},
    ],
    "instruments": [
        {"symbol": "BTCUSDT", "kind": "perpetual", "underlying": "BTC", "settle": "USDT", "inverse": False,
         "contract_size": 1, "lot_size": 0.001, "tick_size": 0.1, "mark": 50000,
         "margin": {"mm_price": "mark", "tiers": [
             {"notional_cap": 50000, "mmr": 0.004, "max_leverage": 125},
             {"notional_cap": 250000, "mmr": 0.005, "max_leverage": 100},
             {"notional_cap": None, "mmr": 0.01, "max_leverage": 50}]}},
        {"symbol": "BTC-FUT", "kind": "future", "expiry": "2026-06-26T08:00:00Z", "underlying": "BTC",
         "settle": "USDT", "lot_size": 0.001, "tick_size": 0.1, "mark": 50500,
         "margin": {"tiers": [{"notional_cap": None, "mmr": 0.01, "max_leverage": 50, "cum": 0}]}},
        {"symbol": "BTCUSD", "underlying": "BTC", "settle": "BTC", "inverse": True, "contract_size": 100,
         "lot_size": 1, "tick_size": 0.5, "mark": 50000,
         "margin": {"tiers": [{"notional_cap": 5, "mmr": 0.004, "max_leverage": 125},
                              {"notional_cap": None, "mmr": 0.005, "max_leverage": 100}]}},
    ],
    "accounts": [
        {"id": 1, "margin_mode": "cross", "position_mode": "one-way", "balances": {"USDT": 10000, "BTC": 0.01},
         "leverage": {"BTCUSDT": 20},
         "positions": [{"instrument": "BTCUSDT", "qty": 0.5, "entry": 48000},
                       {"instrument": "BTC-FUT", "qty": -0.2, "entry": 51000}]},
        {"id": 2, "margin_mode": "isolated", "position_mode": "hedge", "balances": {"USDT": 5000},
         "positions": [{"instrument": "BTCUSDT", "side": "long", "qty": 0.1, "entry": 50000, "isolated_margin": 500},
                       {"instrument": "BTCUSDT", "side": "short", "qty": 0.1, "entry": 50000,
                        "margin_mode": "cross"}]},
    ],
}


def mutated(fn):
    doc = copy.deepcopy(BASE)
    fn(doc)
    return doc


def _set(path, value):
    """A mutation that sets doc[path...] = value."""
    def fn(doc):
        target = doc
        for key in path[:-1]:
            target = target[key]
        target[path[-1]] = value
    return fn


def _del(path):
    def fn(doc):
        target = doc
        for key in path[:-1]:
            target = target[key]
        del target[path[-1]]
    return fn


def _append(path, value):
    def fn(doc):
        target = doc
        for key in path:
            target = target[key]
        target.append(copy.deepcopy(value))
    return fn


BASE_TEXT = json.dumps(BASE, indent=1)

# (case name, book content (dict or raw text), expected field path at the start of the stderr line)
BAD_INPUT = [
    # malformed JSON and the document's shape
    ("malformed JSON", '{"format": "librisk-book/1", "assets": [', "book"),
    ("trailing garbage", BASE_TEXT + " }", "book"),
    ("empty file", "", "book"),
    ("root not an object", "[1, 2]", "book"),
    ("duplicate key", BASE_TEXT.replace('"format": "librisk-book/1"',
                                        '"format": "librisk-book/1", "format": "librisk-book/1"', 1), "format"),
    ("wrong format tag", mutated(_set(["format"], "librisk-book/2")), "format"),
    ("format not a string", mutated(_set(["format"], 1)), "format"),
    ("missing format", mutated(_del(["format"])), "format"),
    ("missing assets", mutated(_del(["assets"])), "assets"),
    ("empty assets", mutated(_set(["assets"], [])), "assets"),
    ("unknown top-level field", mutated(_set(["description"], "x")), "description"),
    ("unknown asset field", mutated(_set(["assets", 1, "haircut"], 0.1)), "assets[1].haircut"),
    ("unknown instrument field", mutated(_set(["instruments", 0, "funding"], 0.0001)), "instruments[0].funding"),
    ("unknown margin field", mutated(_set(["instruments", 0, "margin", "model"], "tiered")),
     "instruments[0].margin.model"),
    ("unknown tier field", mutated(_set(["instruments", 0, "margin", "tiers", 1, "imr"], 0.01)),
     "instruments[0].margin.tiers[1].imr"),
    ("unknown value-tier field", mutated(_set(["assets", 1, "value_tiers", 0, "min"], 0)),
     "assets[1].value_tiers[0].min"),
    ("unknown account field", mutated(_set(["accounts", 0, "name"], "alice")), "accounts[0].name"),
    ("unknown position field", mutated(_set(["accounts", 0, "positions", 1, "leverage"], 5)),
     "accounts[0].positions[1].leverage"),
    ("missing asset price", mutated(_del(["assets", 1, "price"])), "assets[1].price"),
    ("missing instrument mark", mutated(_del(["instruments", 0, "mark"])), "instruments[0].mark"),
    ("missing tiers", mutated(_set(["instruments", 0, "margin"], {"mm_price": "mark"})),
     "instruments[0].margin.tiers"),
    ("empty tiers", mutated(_set(["instruments", 0, "margin", "tiers"], [])), "instruments[0].margin.tiers"),
    ("missing account id", mutated(_del(["accounts", 0, "id"])), "accounts[0].id"),
    ("missing position qty", mutated(_del(["accounts", 0, "positions", 0, "qty"])),
     "accounts[0].positions[0].qty"),
    # wrong types
    ("price as a string", mutated(_set(["assets", 1, "price"], "50000")), "assets[1].price"),
    ("price as a boolean", mutated(_set(["assets", 1, "price"], True)), "assets[1].price"),
    ("inverse as a number", mutated(_set(["instruments", 0, "inverse"], 0)), "instruments[0].inverse"),
    ("decimals not an integer", mutated(_set(["assets", 0, "decimals"], 6.5)), "assets[0].decimals"),
    ("decimals out of range", mutated(_set(["assets", 0, "decimals"], 19)), "assets[0].decimals"),
    ("id negative", mutated(_set(["accounts", 0, "id"], -1)), "accounts[0].id"),
    ("id too large", mutated(_set(["accounts", 0, "id"], 2 ** 64)), "accounts[0].id"),
    ("id as a string", mutated(_set(["accounts", 0, "id"], "1")), "accounts[0].id"),
    ("balances as a list", mutated(_set(["accounts", 0, "balances"], [["USDT", 1]])), "accounts[0].balances"),
    ("positions as an object", mutated(_set(["accounts", 0, "positions"], {})), "accounts[0].positions"),
    ("balance as null", mutated(_set(["accounts", 0, "balances", "USDT"], None)), "accounts[0].balances.USDT"),
    ("unknown kind", mutated(_set(["instruments", 0, "kind"], "swap")), "instruments[0].kind"),
    ("unknown mm_price", mutated(_set(["instruments", 0, "margin", "mm_price"], "index")),
     "instruments[0].margin.mm_price"),
    ("unknown margin mode", mutated(_set(["accounts", 0, "margin_mode"], "spread")),
     "accounts[0].margin_mode"),
    ("unknown position mode", mutated(_set(["accounts", 0, "position_mode"], "both")),
     "accounts[0].position_mode"),
    ("unknown side", mutated(_set(["accounts", 1, "positions", 0, "side"], "buy")),
     "accounts[1].positions[0].side"),
    # unknown symbols
    ("unknown valuation asset", mutated(_set(["valuation_asset"], "USD")), "valuation_asset"),
    ("unknown underlying", mutated(_set(["instruments", 0, "underlying"], "XBT")), "instruments[0].underlying"),
    ("unknown settle asset", mutated(_set(["instruments", 0, "settle"], "USDC")), "instruments[0].settle"),
    ("unknown balance asset", mutated(_set(["accounts", 0, "balances", "EUR"], 5)), "accounts[0].balances.EUR"),
    ("unknown leverage instrument", mutated(_set(["accounts", 0, "leverage", "ETHUSDT"], 5)),
     "accounts[0].leverage.ETHUSDT"),
    ("unknown position instrument", mutated(_set(["accounts", 0, "positions", 0, "instrument"], "ETHUSDT")),
     "accounts[0].positions[0].instrument"),
    # non-finite numbers
    ("NaN literal", BASE_TEXT.replace('"price": 50000', '"price": NaN', 1), "assets[1].price"),
    ("Infinity literal", BASE_TEXT.replace('"qty": 0.5', '"qty": Infinity', 1), "accounts[0].positions[0].qty"),
    ("-Infinity literal", BASE_TEXT.replace('"entry": 48000', '"entry": -Infinity', 1),
     "accounts[0].positions[0].entry"),
    ("overflowing number", BASE_TEXT.replace('"mark": 50500', '"mark": 1e999', 1), "instruments[1].mark"),
    ("NaN balance", BASE_TEXT.replace('"USDT": 10000', '"USDT": NaN', 1), "accounts[0].balances.USDT"),
    ("NaN as the format", BASE_TEXT.replace('"format": "librisk-book/1"', '"format": NaN', 1), "format"),
    # negative or zero sizes and prices
    ("negative price", mutated(_set(["assets", 1, "price"], -50000)), "assets[1].price"),
    ("zero price", mutated(_set(["assets", 1, "price"], 0)), "assets[1].price"),
    ("negative mark", mutated(_set(["instruments", 0, "mark"], -1)), "instruments[0].mark"),
    ("negative entry", mutated(_set(["accounts", 0, "positions", 0, "entry"], -48000)),
     "accounts[0].positions[0].entry"),
    ("negative lot size", mutated(_set(["instruments", 0, "lot_size"], -0.001)), "instruments[0].lot_size"),
    ("zero tick size", mutated(_set(["instruments", 0, "tick_size"], 0)), "instruments[0].tick_size"),
    ("zero contract size", mutated(_set(["instruments", 2, "contract_size"], 0)), "instruments[2].contract_size"),
    ("zero qty", mutated(_set(["accounts", 0, "positions", 0, "qty"], 0)), "accounts[0].positions[0].qty"),
    ("negative isolated margin", mutated(_set(["accounts", 1, "positions", 0, "isolated_margin"], -1)),
     "accounts[1].positions[0].isolated_margin"),
    # lots, leverage, tiers
    ("qty not whole lots", mutated(_set(["accounts", 0, "positions", 1, "qty"], -0.2005)),
     "accounts[0].positions[1].qty"),
    ("inverse qty not whole lots", mutated(_set(["accounts", 0, "positions"],
                                                [{"instrument": "BTCUSD", "qty": 1.5, "entry": 50000}])),
     "accounts[0].positions[0].qty"),
    ("leverage above max", mutated(_set(["accounts", 0, "leverage", "BTCUSDT"], 126)),
     "accounts[0].leverage.BTCUSDT"),
    ("leverage below one", mutated(_set(["accounts", 0, "leverage", "BTCUSDT"], 0.5)),
     "accounts[0].leverage.BTCUSDT"),
    ("tiers not increasing", mutated(_set(["instruments", 0, "margin", "tiers", 1, "notional_cap"], 40000)),
     "instruments[0].margin.tiers"),
    ("tier mmr out of range", mutated(_set(["instruments", 0, "margin", "tiers", 2, "mmr"], 1.0)),
     "instruments[0].margin.tiers"),
    ("tier leverage below one", mutated(_set(["instruments", 0, "margin", "tiers", 0, "max_leverage"], 0.5)),
     "instruments[0].margin.tiers"),
    ("negative cum", mutated(_set(["instruments", 1, "margin", "tiers", 0, "cum"], -5)),
     "instruments[1].margin.tiers"),
    ("unbounded tier not last", mutated(_set(["instruments", 0, "margin", "tiers", 0, "notional_cap"], None)),
     "instruments[0].margin.tiers[0].notional_cap"),
    ("value tiers not increasing", mutated(_set(["assets", 1, "value_tiers"],
                                                [{"up_to": 10, "ratio": 1}, {"up_to": 5, "ratio": 0.9}])),
     "assets[1].value_tiers"),
    ("value tier ratio above one", mutated(_set(["assets", 1, "value_tiers", 0, "ratio"], 1.5)),
     "assets[1].value_tiers"),
    ("unbounded value tier not last", mutated(_set(["assets", 1, "value_tiers", 0, "up_to"], None)),
     "assets[1].value_tiers[0].up_to"),
    # duplicates
    ("duplicate asset symbol", mutated(_append(["assets"], {"symbol": "BTC", "price": 1})), "assets[2].symbol"),
    ("duplicate instrument symbol", mutated(_append(["instruments"], BASE["instruments"][0])),
     "instruments[3].symbol"),
    ("duplicate account id", mutated(_append(["accounts"], {"id": 2})), "accounts[2].id"),
    ("duplicate position", mutated(_append(["accounts", 0, "positions"],
                                           {"instrument": "BTCUSDT", "qty": 0.1, "entry": 50000})),
     "accounts[0].positions[2]"),
    ("duplicate hedge leg", mutated(_append(["accounts", 1, "positions"],
                                            {"instrument": "BTCUSDT", "side": "short", "qty": 0.1, "entry": 50000,
                                             "margin_mode": "cross"})),
     "accounts[1].positions[2]"),
    # modes
    ("hedge leg without side", mutated(_del(["accounts", 1, "positions", 0, "side"])),
     "accounts[1].positions[0].side"),
    ("side in one-way mode", mutated(_set(["accounts", 0, "positions", 0, "side"], "long")),
     "accounts[0].positions[0].side"),
    ("negative hedge qty", mutated(_set(["accounts", 1, "positions", 1, "qty"], -0.1)),
     "accounts[1].positions[1]"),
    ("isolated without isolated_margin", mutated(_del(["accounts", 1, "positions", 0, "isolated_margin"])),
     "accounts[1].positions[0].isolated_margin"),
    ("isolated_margin under cross", mutated(_set(["accounts", 0, "positions", 0, "isolated_margin"], 100)),
     "accounts[0].positions[0].isolated_margin"),
    # futures
    ("future without expiry", mutated(_del(["instruments", 1, "expiry"])), "instruments[1].expiry"),
    ("perpetual with expiry", mutated(_set(["instruments", 0, "expiry"], "2026-06-26T08:00:00Z")),
     "instruments[0].expiry"),
    ("expiry not UTC", mutated(_set(["instruments", 1, "expiry"], "2026-06-26T08:00:00+08:00")),
     "instruments[1].expiry"),
    ("expiry without zone", mutated(_set(["instruments", 1, "expiry"], "2026-06-26T08:00:00")),
     "instruments[1].expiry"),
    ("expiry garbage", mutated(_set(["instruments", 1, "expiry"], "next friday")), "instruments[1].expiry"),
    ("expiry as a number", mutated(_set(["instruments", 1, "expiry"], 1782460800)), "instruments[1].expiry"),
    # checks the C library makes
    ("valuation asset not priced 1", mutated(_set(["valuation_asset"], "BTC")), "valuation_asset"),
    ("margin call health below one", mutated(_set(["margin_call_health"], 0.5)), "margin_call_health"),
    ("weights out of order", mutated(_set(["assets", 1, "weight_init"], 0.99)), "assets[1]"),
    ("weight above one", mutated(_set(["assets", 1, "weight_maint"], 1.5)), "assets[1]"),
    ("liability weight below one", mutated(_set(["assets", 1, "liab_weight_maint"], 0.9)), "assets[1]"),
    ("inverse not settled in its underlying", mutated(_set(["instruments", 2, "settle"], "USDT")),
     "instruments[2]"),
    ("linear settled in its underlying", mutated(_set(["instruments", 0, "settle"], "BTC")), "instruments[0]"),
]


class TestSampleBooks(unittest.TestCase):
    def check_shape(self, result):
        self.assertEqual(list(result), ["format", "accounts"])
        self.assertEqual(result["format"], "librisk-result/1")
        for acc in result["accounts"]:
            # books with a rate model add each account's interest (docs/book-format.md 3.2)
            self.assertEqual(list(acc), ACCOUNT_KEYS + (["interest"] if "interest" in acc else []))
            for c in acc.get("interest", []):
                self.assertEqual(list(c), ["asset", "rate_annual", "cost_annual", "cost_annual_value"])
            self.assertIn(acc["state"], STATES)
            self.assertIsInstance(acc["id"], int)
            for key in ACCOUNT_KEYS[2:-2]:
                v = acc[key]
                self.assertTrue(v is None or (isinstance(v, float) and math.isfinite(v)), (key, v))
            for bal in acc["balances"]:
                self.assertEqual(list(bal), BALANCE_KEYS)
                self.assertIsInstance(bal["amount"], float)
                lp = bal["liquidation_price"]
                self.assertTrue(lp is None or (isinstance(lp, float) and lp > 0), lp)
            for pos in acc["positions"]:
                self.assertIn(list(pos), (POSITION_KEYS, POSITION_KEYS + OPTION_POSITION_KEYS))
                self.assertIn(pos["side"], ("long", "short"))
                self.assertIn(pos["margin_mode"], ("cross", "isolated"))
                self.assertIsInstance(pos["liquidatable"], bool)
                if pos["margin_mode"] == "cross":
                    self.assertEqual(pos["isolated_margin"], 0.0)
                for key in POSITION_NUMBERS:
                    v = pos[key]
                    self.assertTrue(v is None or (isinstance(v, (int, float)) and math.isfinite(v)), (key, v))

    def test_base_book_is_valid(self):
        with TempBook(BASE) as path:
            result, _ = evaluate(path)
        self.check_shape(result)
        hedge = result["accounts"][1]["positions"]
        self.assertEqual([(p["side"], p["qty"]) for p in hedge], [("long", 0.1), ("short", 0.1)])
        one_way = result["accounts"][0]["positions"]
        self.assertEqual([(p["instrument"], p["side"], p["qty"]) for p in one_way],
                         [("BTCUSDT", "long", 0.5), ("BTC-FUT", "short", -0.2)])

    def test_demo_book(self):
        result, r = evaluate(support.book_path("demo.json"))
        self.check_shape(result)
        accounts = result["accounts"]
        self.assertTrue(4 <= len(accounts) <= 6)
        states = [a["state"] for a in accounts]
        self.assertIn("healthy", states)
        self.assertIn("margin_call", states)
        self.assertIn("liquidatable", states)
        by_id = {a["id"]: a for a in accounts}
        self.assertEqual(by_id[1005]["state"], "margin_call")
        self.assertEqual(by_id[1006]["state"], "liquidatable")
        hf = by_id[1005]["health_factor"]
        self.assertTrue(1 <= hf < 1.2, hf)
        self.assertLess(by_id[1006]["health_factor"], 1)
        hedge = by_id[1002]["positions"]
        self.assertEqual([p["side"] for p in hedge[:2]], ["long", "short"])
        self.assertTrue(all(p["qty"] > 0 for p in hedge))
        # Binance's rule: hedge legs of one instrument share one liquidation price under cross
        self.assertEqual(hedge[0]["liquidation_price"], hedge[1]["liquidation_price"])
        self.assertGreater(by_id[1004]["ltv"], 0)  # the borrowing account
        instruments = {p["instrument"] for a in accounts for p in a["positions"]}
        self.assertTrue({"BTCUSDT", "ETHUSDT", "BTCUSD", "ETHUSDT_260327"} <= instruments)
        self.assertTrue(r.stdout.endswith("\n"))
        self.assertEqual(r.stderr, "")

    def test_output_is_deterministic_and_thread_independent(self):
        _, r1 = evaluate(support.book_path("demo.json"))
        _, r2 = evaluate(support.book_path("demo.json"), "--threads", "2")
        self.assertEqual(r1.stdout, r2.stdout)
        _, r3 = evaluate(support.book_path("demo.json"), "--compact")
        self.assertEqual(r3.stdout.count("\n"), 1)
        self.assertEqual(json.loads(r3.stdout), json.loads(r1.stdout))

    def test_binance_w1_w4_liquidation_prices(self):
        # Binance USD-M FAQ https://www.binance.com/en/support/faq/b3c689c1f50a44cabb3a84e663b81d93,
        # numbers as reproduced in freqtrade tests/exchange/test_binance.py (research/cex-anchors.md W1-W4).
        # The venue displays to the nearest cent: the unrounded root must match to the cent; the
        # printed price is rounded to the 0.01 tick against the account (a long's up).
        published = {(1, "ETHUSDT"): 1153.26, (1, "BTCUSDT"): 26316.89,
                     (2, "ETHUSDT"): 1114.78, (2, "BTCUSDT"): 18778.73}
        result, _ = evaluate(support.book_path("binance_w1_w4.json"))
        self.check_shape(result)
        printed = {(a["id"], p["instrument"]): p for a in result["accounts"] for p in a["positions"]}
        with libbook.load(libbook.read(support.book_path("binance_w1_w4.json"))) as loaded:
            raw = {(acc.id, r.symbol): r for acc in loaded.accounts for r in acc.position_results()}
        for key, lp in published.items():
            r = raw[key]
            self.assertLess(abs(r.liquidation_price_raw - lp), 0.005, key)
            out = printed[key]["liquidation_price"]
            self.assertEqual(out, round(r.liquidation_price, 2))  # the C price, printed on the 0.01 tick
            self.assertLess(abs(out - r.liquidation_price), 1e-9)
            self.assertGreaterEqual(out, r.liquidation_price_raw)  # long: rounded up
            self.assertLess(out - r.liquidation_price_raw, 0.01 + 1e-9)
            self.assertAlmostEqual(round(out * 100), out * 100, places=6)  # on the tick
            self.assertIn(round(out - lp, 2), (0.0, 0.01))
        cross = result["accounts"][0]
        self.assertEqual(cross["state"], "healthy")
        # W3/W4: MM of the other position (TMM1) and unrealised PnL (UPNL1)
        self.assertAlmostEqual(printed[(1, "BTCUSDT")]["maintenance_margin"], 71200.81144, places=4)
        self.assertAlmostEqual(printed[(1, "ETHUSDT")]["maintenance_margin"], 356512.508, places=2)
        self.assertAlmostEqual(printed[(1, "BTCUSDT")]["unrealized_pnl"], -56354.57, places=2)
        self.assertAlmostEqual(printed[(1, "ETHUSDT")]["unrealized_pnl"], -448192.89, places=2)
        self.assertAlmostEqual(cross["equity"], 1535443.01 - 56354.56848 - 448192.88514, places=5)
        self.assertAlmostEqual(cross["maintenance_margin"], 71200.811444 + 356512.508122, places=5)

    def test_venue_isolated_examples(self):
        # Published isolated-margin examples (research/cex-anchors.md W11, W12; defi-anchors.md):
        #  1: Bybit USDT long 1 BTC at 20,000, 50x, MMR 0.5%, MM at entry -> 19,700
        #     https://testnet.bybit.com/en-US/help-center/s/article/Liquidation-Price-USDT-Contract
        #  2: the same short -> 20,300 (derived)
        #  3, 4: Bybit inverse 60,000 USD at 50,000, 10x, MMR 0.5%, MM at the liquidation price
        #     -> 45,681.82 long, 55,277.78 short
        #     https://testnet.bybit.com/ar-SA/help-center/article/Liquidation-Price-Calculation-under-Isolated-Mode-Unified-Trading-Account
        #  5: Hyperliquid isolated long 1 BTC at 50,000, 10x, MMR 5% -> 47,368.42
        #     https://hyperliquid.gitbook.io/hyperliquid-docs/trading/liquidations
        published = {1: 19700.00, 2: 20300.00, 3: 45681.82, 4: 55277.78, 5: 47368.42}
        result, _ = evaluate(support.book_path("venues_isolated.json"))
        self.check_shape(result)
        printed = {a["id"]: a["positions"][0] for a in result["accounts"]}
        with libbook.load(libbook.read(support.book_path("venues_isolated.json"))) as loaded:
            raw = {acc.id: acc.position_results()[0] for acc in loaded.accounts}
        for account_id, lp in published.items():
            with self.subTest(account=account_id):
                r = raw[account_id]
                self.assertLess(abs(r.liquidation_price_raw - lp), 0.005)
                out = printed[account_id]["liquidation_price"]
                self.assertEqual(out, round(r.liquidation_price, 2))
                self.assertLess(abs(out - r.liquidation_price), 1e-9)
                self.assertLess(abs(out - r.liquidation_price_raw), 0.01 + 1e-9)  # one 0.01 tick at most
                # against a long: up; against a short: down (a root within float noise of a tick
                # may land on that tick)
                if printed[account_id]["side"] == "long":
                    self.assertGreaterEqual(out, r.liquidation_price_raw - 1e-6)
                else:
                    self.assertLessEqual(out, r.liquidation_price_raw + 1e-6)
        self.assertAlmostEqual(printed[1]["maintenance_margin"], 100, places=6)  # 0.5% of the entry value
        self.assertAlmostEqual(printed[3]["initial_margin"], 0.12, places=8)  # 1.2 BTC / 10
        self.assertNotAlmostEqual(printed[5]["liquidation_price"], 47500, places=0)  # not the shortcut formula

    def test_aave_health_factors(self):
        # Aave v3 (research/defi-anchors.md A2): 1 WETH at 2,000 with LT 82.5% against 1,500 USDC
        # of debt: HF 1.10, available borrows 100; adding 1,000 USDC (LT 85%) against 2,000: HF 1.25.
        result, _ = evaluate(support.book_path("aave_hf.json"))
        self.check_shape(result)
        a, b = result["accounts"]
        self.assertAlmostEqual(a["health_factor"], 1.10, places=9)
        self.assertAlmostEqual(a["available"], 100, places=6)
        self.assertAlmostEqual(a["ltv"], 0.75, places=9)
        self.assertEqual(a["state"], "margin_call")  # 1 <= 1.10 < 1.2 (the default margin-call health)
        self.assertAlmostEqual(b["health_factor"], 1.25, places=9)
        self.assertEqual(b["state"], "healthy")
        self.assertEqual(a["positions"], [])
        self.assertEqual(a["leverage"], 0)

    def test_every_sample_book_evaluates(self):
        for name in sorted(os.listdir(support.BOOKS)):
            if name.endswith(".json"):
                with self.subTest(book=name):
                    result, _ = evaluate(support.book_path(name))
                    self.check_shape(result)

    def test_report(self):
        r = run_cli("report", support.book_path("demo.json"))
        self.assertEqual(r.returncode, 0, r.stderr)
        self.assertEqual(r.stderr, "")
        for text in ("Account 1001", "Account 1006", "LIQUIDATABLE", "MARGIN CALL", "BTCUSD", "liq. price",
                     "valuation asset: USDT"):
            self.assertIn(text, r.stdout)

    def test_report_bad_input(self):
        with TempBook(mutated(_set(["assets", 1, "price"], -1))) as path:
            r = run_cli("report", path)
        self.assertEqual((r.returncode, r.stdout), (2, ""))
        self.assertTrue(r.stderr.startswith("assets[1].price: "))

    def test_version_and_usage(self):
        r = run_cli("--version")
        self.assertEqual(r.returncode, 0, r.stderr)
        self.assertIn(librisk.version(), r.stdout)
        r = run_cli()
        self.assertEqual((r.returncode, r.stdout), (2, ""))
        r = run_cli("frobnicate", "x.json")
        self.assertEqual((r.returncode, r.stdout), (2, ""))


class TestBadInput(unittest.TestCase):
    def assert_bad(self, content, path_prefix, exact=None):
        with TempBook(content) as path:
            r = run_cli("evaluate", path)
        self.assertEqual(r.returncode, 2, "exit %d, stderr %r" % (r.returncode, r.stderr))
        self.assertEqual(r.stdout, "")
        self.assertTrue(r.stderr.endswith("\n"), repr(r.stderr))
        self.assertEqual(r.stderr.count("\n"), 1, repr(r.stderr))
        line = r.stderr.rstrip("\n")
        self.assertTrue(line.startswith(path_prefix), "%r does not start with %r" % (line, path_prefix))
        field, _, problem = line.partition(": ")
        self.assertTrue(problem.strip(), line)
        self.assertNotIn("Traceback", line)
        if exact is not None:
            self.assertEqual(line, exact)
        return line

    def test_every_bad_input_path(self):
        seen = set()
        for name, content, path in BAD_INPUT:
            self.assertNotIn(name, seen)
            seen.add(name)
            with self.subTest(case=name):
                self.assert_bad(content, path)

    def test_lot_message(self):
        self.assert_bad(mutated(_set(["accounts", 0, "positions", 1, "qty"], -0.2005)),
                        "accounts[0].positions[1].qty",
                        exact="accounts[0].positions[1].qty: not a whole number of lots (lot 0.001)")

    def test_messages_name_the_problem(self):
        line = self.assert_bad(BASE_TEXT.replace('"price": 50000', '"price": NaN', 1), "assets[1].price")
        self.assertIn("NaN", line)
        line = self.assert_bad(mutated(_set(["assets", 1, "price"], -50000)), "assets[1].price")
        self.assertIn("> 0", line)
        line = self.assert_bad(mutated(_set(["instruments", 0, "underlying"], "XBT")), "instruments[0].underlying")
        self.assertIn("unknown asset", line)
        self.assertIn("XBT", line)
        line = self.assert_bad(mutated(_set(["extra"], 1)), "extra")
        self.assertIn("unknown field", line)
        line = self.assert_bad(mutated(_append(["assets"], {"symbol": "BTC", "price": 1})), "assets[2].symbol")
        self.assertIn("duplicate", line)
        line = self.assert_bad('{"format": ', "book")
        self.assertIn("malformed JSON", line)
        self.assertIn("line 1", line)

    def test_missing_file(self):
        r = run_cli("evaluate", os.path.join(support.BOOKS, "no-such-book.json"))
        self.assertEqual((r.returncode, r.stdout), (2, ""))
        self.assertEqual(r.stderr.count("\n"), 1)
        self.assertTrue(r.stderr.startswith("book: "))

    def test_not_utf8(self):
        with TempBook("") as path:
            with open(path, "wb") as f:
                f.write(b'{"format": "\xff"}')
            r = run_cli("evaluate", path)
        self.assertEqual((r.returncode, r.stdout), (2, ""))
        self.assertTrue(r.stderr.startswith("book: "))

    def test_bad_threads(self):
        r = run_cli("evaluate", support.book_path("demo.json"), "--threads", "0")
        self.assertEqual((r.returncode, r.stdout), (2, ""))
        self.assertEqual(r.stderr.count("\n"), 1)


class TestBookModule(unittest.TestCase):
    """The same checks in process (libbook.load raises BookError with .path and .problem)."""

    def test_in_process_errors(self):
        for name, content, path in BAD_INPUT:
            with self.subTest(case=name):
                with self.assertRaises(libbook.BookError) as cm:
                    doc = libbook.parse(content if isinstance(content, str) else json.dumps(content))
                    libbook.load(doc).close()
                self.assertTrue(cm.exception.path.startswith(path.split("[")[0].split(".")[0]), cm.exception.path)
                self.assertTrue(str(cm.exception).startswith(path))

    def test_load_and_evaluate(self):
        with libbook.load(copy.deepcopy(BASE)) as loaded:
            self.assertEqual([a.id for a in loaded.accounts], [1, 2])
            result = libbook.evaluate(loaded)
            self.assertEqual(result["format"], libbook.RESULT_FORMAT)
            self.assertEqual(loaded.engine.find_instrument("BTC-FUT"), 1)


class TestNoTraceback(unittest.TestCase):
    """Issue 9 defect 8: inputs that gave a traceback, a silently cut symbol or a "healthy"
    account with null equity. Each is bad input now: exit 2, one line naming the field."""

    def bad(self, content, path, problem):
        text = content if isinstance(content, str) else json.dumps(content)
        with TempBook(text) as book:
            r = run_cli("evaluate", book)
        self.assertEqual((r.returncode, r.stdout), (2, ""), r.stderr)
        self.assertEqual(r.stderr.count("\n"), 1, r.stderr)
        self.assertNotIn("Traceback", r.stderr)
        self.assertTrue(r.stderr.startswith(path + ": "), r.stderr)
        self.assertIn(problem, r.stderr)
        return r.stderr

    def test_lone_surrogate_in_a_symbol(self):
        # was: UnicodeEncodeError ('utf-8' codec can't encode character '\ud800')
        self.bad(mutated(lambda d: d["assets"][1].update(symbol="B\ud800")), "assets[1].symbol",
                 "lone surrogate (\\ud800) at index 1")
        self.bad(mutated(lambda d: d["accounts"][0]["balances"].update({"\udc80": 1})),
                 'accounts[0].balances["\\udc80"]', "lone surrogate")

    def test_nul_in_a_symbol(self):
        # was: "BT\u0000C" registered as "BT" in C, exit 0
        def nul(d):
            d["assets"][1]["symbol"] = "BT\u0000C"
            for ins in d["instruments"]:
                ins["underlying"] = "BT\u0000C"
            d["accounts"][0]["balances"] = {"USDT": 10000}
        self.bad(mutated(nul), "assets[1].symbol", "NUL character")
        self.bad(mutated(lambda d: d["accounts"][0]["positions"][0].update(instrument="BTCUSDT\u0000x")),
                 "accounts[0].positions[0].instrument", "NUL character")

    def test_integer_of_400_digits(self):
        # was: OverflowError (int too large to convert to float)
        text = json.dumps(BASE).replace('"price": 50000', '"price": ' + "7" * 400, 1)
        err = self.bad(text, "assets[1].price", "out of range")
        self.assertLess(len(err), 200)  # the number is abbreviated

    def test_number_of_100000_digits(self):
        # was: ValueError (Exceeds the limit (4300 digits) for integer string conversion)
        text = json.dumps(BASE).replace('"id": 2', '"id": ' + "3" * 100000, 1)
        err = self.bad(text, "accounts[1].id", "100000 characters")
        self.assertLess(len(err), 200)
        text = json.dumps(BASE).replace('"mark": 50000', '"mark": ' + "3" * 100000 + ".5", 1)
        self.bad(text, "instruments[0].mark", "not a finite number")

    def test_key_of_100000_characters(self):
        # was: a 100,000-character error line (the key quoted whole), which also stalled the CLI
        # fuzzer's `| head` run: the program blocked writing to a full stderr pipe
        text = json.dumps(BASE).replace('"mark": 50000', '"%s": 50000' % ("1" * 100000), 1)
        with TempBook(text) as book:
            r = run_cli("evaluate", book)
        self.assertEqual((r.returncode, r.stdout), (2, ""), r.stderr[:200])
        line = r.stderr[:-1]
        self.assertEqual((len(line), r.stderr[-1:]), (1000, "\n"))  # one line of 1,000 characters
        whole = "instruments[0]." + "1" * 100000 + ": unknown field"
        m = re.search(r"\.\.\. \((\d+) characters left out\) \.\.\.", line)
        self.assertIsNotNone(m, line[:200])
        head, tail = line[:m.start()], line[m.end():]
        self.assertEqual(len(head) + int(m.group(1)) + len(tail), len(whole))  # the count is exact
        self.assertTrue(whole.startswith(head) and whole.endswith(tail))

    def test_balance_out_of_range(self):
        # was: exit 0 with "equity": null and state "healthy"
        self.bad(mutated(lambda d: d["accounts"][0]["balances"].update(BTC=1e308)), "accounts[0].balances.BTC",
                 "out of range")
        # the bound: 2^53 quanta of the asset (USDT: 6 decimals)
        ok = mutated(lambda d: d["accounts"][0]["balances"].update(USDT=2 ** 53 / 1e6))
        with TempBook(ok) as book:
            self.assertEqual(run_cli("evaluate", book).returncode, 0)
        self.bad(mutated(lambda d: d["accounts"][0]["balances"].update(USDT=2 ** 53 / 1e6 * 1.001)),
                 "accounts[0].balances.USDT", "2^53 quanta")

    def test_prices_sizes_and_quantities_out_of_range(self):
        self.bad(mutated(lambda d: d["assets"][1].update(price=1e13)), "assets[1].price", "[1e-12, 1e12]")
        self.bad(mutated(lambda d: d["instruments"][0].update(mark=1e-13)), "instruments[0].mark", "out of range")
        self.bad(mutated(lambda d: d["instruments"][0].update(lot_size=1e13)), "instruments[0].lot_size",
                 "out of range")
        self.bad(mutated(lambda d: d["accounts"][0]["positions"][0].update(entry=1e300)),
                 "accounts[0].positions[0].entry", "out of range")
        self.bad(mutated(lambda d: d["accounts"][0]["positions"][0].update(qty=1e16)),
                 "accounts[0].positions[0].qty", "2^53 lots")
        self.bad(mutated(lambda d: d["accounts"][1]["positions"][0].update(isolated_margin=1e300)),
                 "accounts[1].positions[0].isolated_margin", "out of range")

    def test_output_piped_to_head(self):
        # was: BrokenPipeError traceback; now a quiet exit with 141 (128 + SIGPIPE). The output
        # (about 1.5 MB) must not fit in the pipe's buffer.
        def many(d):
            d["accounts"] = [dict(copy.deepcopy(d["accounts"][i % 2]), id=i + 1) for i in range(3000)]
        with TempBook(mutated(many)) as book:
            cmd = [sys.executable, "-m", "librisk", "evaluate", book]
            p = subprocess.Popen(cmd, cwd=support.ROOT, env=support.cli_env(), stdout=subprocess.PIPE,
                                 stderr=subprocess.PIPE)
            p.stdout.read(1)
            p.stdout.close()
            err = p.stderr.read()
            p.stderr.close()
            self.assertEqual(p.wait(timeout=120), 141)
        self.assertEqual(err, b"")

    def test_command_line_arguments_that_cannot_reach_c(self):
        r = run_cli("whatif", support.book_path("demo.json"), "--account", "1", "--instrument", "BTC\udcffUSDT",
                    "--side", "buy", "--qty", "1")
        self.assertEqual((r.returncode, r.stdout), (2, ""))
        self.assertEqual(r.stderr, "--instrument: not valid UTF-8\n")


class TestStdinAndCommandList(unittest.TestCase):
    """Issue 14: `-` reads standard input; with no command, every command is named."""

    def test_dash_reads_a_book_or_a_snapshot_from_stdin(self):
        path = support.book_path("demo.json")
        with open(path, encoding="utf-8") as f:
            text = f.read()
        direct = support.run_cli("evaluate", path)
        piped = support.run_cli("evaluate", "-", input_text=text)
        self.assertEqual(piped.returncode, 0, piped.stderr)
        self.assertEqual(piped.stdout, direct.stdout)
        bad = support.run_cli("evaluate", "-", input_text="{")
        self.assertEqual(bad.returncode, 2)
        self.assertTrue(bad.stderr.startswith("book: malformed JSON"), bad.stderr)

    def test_vol_reads_stdin(self):
        csv_text = "timestamp,close\n2024-01-01,100\n2024-01-02,101\n2024-01-03,99\n"
        r = support.run_cli("vol", "--method", "ewma", "-", input_text=csv_text)
        self.assertEqual(r.returncode, 0, r.stderr)
        self.assertEqual(r.stdout.splitlines()[0], "timestamp,vol_annual")

    def test_no_command_names_every_command(self):
        r = support.run_cli()
        self.assertEqual(r.returncode, 2)
        last = r.stderr.strip().splitlines()[-1]
        for name in ("evaluate", "report", "liquidate", "whatif", "max-order", "vol", "backtest", "snapshot",
                     "options", "funding", "optimise"):
            self.assertIn(name, last)


if __name__ == "__main__":
    unittest.main()
