# SPDX-License-Identifier: Apache-2.0
"""The ctypes bindings: loader, declarations, struct layouts, errors, lifecycles, batch calls."""

import array
import ctypes
import gc
import math
import os
import re
import shutil
import subprocess
import sys
import tempfile
import unittest

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import support  # noqa: E402
from support import librisk  # noqa: E402
from librisk import errors, ffi  # noqa: E402

try:
    import numpy
except ImportError:  # numpy is optional: its test is skipped without it
    numpy = None

BTC_TIERS = [  # Binance's historical BTCUSDT brackets (cex-anchors W5), cum derived by the library
    {"notional_cap": 50000, "mmr": 0.004, "max_leverage": 125},
    {"notional_cap": 250000, "mmr": 0.005, "max_leverage": 100},
    {"notional_cap": 1000000, "mmr": 0.01, "max_leverage": 50},
    {"notional_cap": 10000000, "mmr": 0.025, "max_leverage": 20},
    {"notional_cap": 20000000, "mmr": 0.05, "max_leverage": 10},
    {"notional_cap": 50000000, "mmr": 0.10, "max_leverage": 5},
    {"notional_cap": 100000000, "mmr": 0.125, "max_leverage": 4},
    {"notional_cap": 200000000, "mmr": 0.15, "max_leverage": 3},
    {"notional_cap": 300000000, "mmr": 0.25, "max_leverage": 2},
    {"notional_cap": None, "mmr": 0.50, "max_leverage": 1},
]


def make_engine(**kw):
    """USDT (valuation), BTC, ETH; BTCUSDT linear perp, BTCUSD inverse perp, ETHUSDT perp."""
    eng = librisk.Engine(**kw)
    eng.add_asset("USDT", 1, decimals=6)
    eng.add_asset("BTC", 50000, decimals=8, weight_init=0.95, weight_maint=0.975)
    eng.add_asset("ETH", 3000, decimals=8, weight_init=0.9, weight_maint=0.95)
    eng.set_valuation_asset("USDT")
    eng.add_instrument("BTCUSDT", "BTC", "USDT", BTC_TIERS, lot_size=0.001, tick_size=0.1, mark=50000)
    eng.add_instrument("BTCUSD", "BTC", "BTC", [(5, 0.004, 125), (10, 0.005, 100), (None, 0.01, 50)],
                       inverse=True, contract_size=100, lot_size=1, tick_size=0.5, mark=50000)
    eng.add_instrument("ETHUSDT", "ETH", "USDT", [(10000, 0.005, 100), (100000, 0.0065, 75), (None, 0.01, 50)],
                       lot_size=0.001, tick_size=0.01, mark=3000)
    return eng


class TestLoader(unittest.TestCase):
    def test_version_matches_major(self):
        self.assertRegex(librisk.version(), r"^\d+\.\d+\.\d+$")
        self.assertEqual(librisk.version_number() // 10000, ffi.VERSION_MAJOR)
        major, minor, patch = (int(x) for x in librisk.version().split("."))
        self.assertEqual(librisk.version_number(), major * 10000 + minor * 100 + patch)

    def test_library_path_is_a_file(self):
        self.assertTrue(os.path.exists(ffi.library_path()))

    def test_env_variable_wins_and_bad_path_fails(self):
        code = "import librisk; print(librisk.ffi.library_path()); librisk.Engine().close()"
        env = support.cli_env()
        env["LIBRISK_LIBRARY"] = os.path.realpath(ffi.library_path())
        r = subprocess.run([sys.executable, "-c", code], env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                           universal_newlines=True)
        self.assertEqual(r.returncode, 0, r.stderr)
        self.assertEqual(r.stdout.strip(), env["LIBRISK_LIBRARY"])
        env["LIBRISK_LIBRARY"] = os.path.join(tempfile.gettempdir(), "no-such-librisk.so")
        r = subprocess.run([sys.executable, "-c", code], env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                           universal_newlines=True)
        self.assertNotEqual(r.returncode, 0)
        self.assertIn("LibraryError", r.stderr)

    def test_cli_reports_missing_library(self):
        env = support.cli_env()
        env["LIBRISK_LIBRARY"] = os.path.join(tempfile.gettempdir(), "no-such-librisk.so")
        r = support.run_cli("evaluate", support.book_path("demo.json"), env=env)
        self.assertEqual(r.returncode, 1)
        self.assertEqual(r.stdout, "")
        self.assertIn("librisk", r.stderr)

    def test_every_header_function_is_declared_once(self):
        names = set()
        inc = os.path.join(support.ROOT, "include", "risk")
        for fn in os.listdir(inc):
            if fn.endswith(".h"):
                with open(os.path.join(inc, fn)) as f:
                    text = f.read()
                names.update(re.findall(r"RISK_API[^;(]*?\b(risk_\w+)\s*\(", text))
        self.assertTrue(names)
        self.assertEqual(names, set(ffi.FUNCTION_NAMES))
        L = ffi.lib()
        for name in ffi.FUNCTION_NAMES:
            fn = getattr(L, name)
            self.assertIsNotNone(fn.argtypes, name)


@unittest.skipUnless(shutil.which(os.environ.get("CC", "cc")), "no C compiler")
class TestStructLayout(unittest.TestCase):
    """Every ctypes mirror has the C struct's size and field offsets."""

    STRUCTS = {
        "risk_allocator": ffi.RiskAllocator, "risk_engine_options": ffi.RiskEngineOptions,
        "risk_value_tier": ffi.RiskValueTier, "risk_asset_spec": ffi.RiskAssetSpec,
        "risk_margin_tier": ffi.RiskMarginTier, "risk_instrument_spec": ffi.RiskInstrumentSpec,
        "risk_basket_summary": ffi.RiskBasketSummary, "risk_account_summary": ffi.RiskAccountSummary,
        "risk_position_spec": ffi.RiskPositionSpec, "risk_position_result": ffi.RiskPositionResult,
        "risk_liquidation_policy": ffi.RiskLiquidationPolicy, "risk_liquidation_action": ffi.RiskLiquidationAction,
        "risk_liquidation_plan": ffi.RiskLiquidationPlan, "risk_insurance_fund": ffi.RiskInsuranceFund,
        "risk_adl_entry": ffi.RiskAdlEntry,
        "risk_order": ffi.RiskOrder, "risk_instrument_fees": ffi.RiskInstrumentFees,
        "risk_position_columns": ffi.RiskPositionColumns, "risk_summary_columns": ffi.RiskSummaryColumns,
        "risk_position_result_columns": ffi.RiskPositionResultColumns,
        "risk_impact": ffi.RiskImpact, "risk_cascade_options": ffi.RiskCascadeOptions,
        "risk_cascade_round": ffi.RiskCascadeRound, "risk_cover2": ffi.RiskCover2,
        "risk_fund_survival": ffi.RiskFundSurvival,
    }

    def test_sizes_and_offsets_match_the_headers(self):
        lines = ["#include <stdio.h>", "#include <stddef.h>", "#include \"risk.h\"", "int main(void) {"]
        expected = []
        for cname, py in self.STRUCTS.items():
            lines.append('printf("%%zu\\n", sizeof(%s));' % cname)
            expected.append(ctypes.sizeof(py))
            for fname, _ in py._fields_:
                lines.append('printf("%%zu\\n", offsetof(%s, %s));' % (cname, fname))
                expected.append(getattr(py, fname).offset)
        lines += ["return 0;", "}"]
        with tempfile.TemporaryDirectory() as d:
            src, exe = os.path.join(d, "layout.c"), os.path.join(d, "layout")
            with open(src, "w") as f:
                f.write("\n".join(lines))
            cc = os.environ.get("CC", "cc")
            subprocess.check_call([cc, "-std=c11", "-I", os.path.join(support.ROOT, "include"), src, "-o", exe])
            out = subprocess.check_output([exe], universal_newlines=True).split()
        self.assertEqual([int(x) for x in out], expected)

    def test_initialisers_match_the_macros(self):
        self.assertEqual(ffi.RiskAssetSpec.init().decimals, 8)
        self.assertEqual(ffi.RiskInstrumentSpec.init().underlying, ffi.ID_NONE)
        self.assertEqual(ffi.RiskEngineOptions.init().margin_call_health, 1.2)
        self.assertEqual(ffi.RiskPositionSpec.init().instrument, ffi.ID_NONE)


class TestErrors(unittest.TestCase):
    def test_classes_match_the_library_names(self):
        L = ffi.lib()
        for code, cls in errors.CODES.items():
            self.assertEqual(L.errname(code), cls.name)
            self.assertTrue(issubclass(cls, librisk.RiskError))
            exc = errors.from_code(code, "m")
            self.assertIsInstance(exc, cls)
            self.assertEqual((exc.code, exc.name, exc.message), (code, cls.name, "m"))
        self.assertEqual(L.errname(0), "RISK_OK")
        unknown = errors.from_code(777, "x")
        self.assertIs(type(unknown), librisk.RiskError)
        self.assertEqual(unknown.code, 777)

    def test_engine_errors_carry_the_engine_message(self):
        with make_engine() as eng:
            with self.assertRaises(librisk.DuplicateError) as cm:
                eng.add_asset("BTC", 1)
            self.assertEqual(cm.exception.code, 4)
            self.assertEqual(cm.exception.name, "RISK_EDUPLICATE")
            self.assertTrue(cm.exception.message)
            self.assertEqual(cm.exception.message, ffi.lib().risk_engine_errmsg(eng._ptr).decode())
            with self.assertRaises(librisk.InvalidError) as cm:
                eng.add_asset("DOGE", -1)
            self.assertEqual(cm.exception.message, ffi.lib().risk_engine_errmsg(eng._ptr).decode())
            self.assertIsInstance(cm.exception, ValueError)
            with self.assertRaises(librisk.InvalidError):
                eng.set_price("BTC", float("nan"))
            with self.assertRaises(librisk.InvalidError):
                eng.set_price("USDT", 2)  # the valuation asset stays at 1
            with self.assertRaises(librisk.NotFoundError) as cm:
                eng.find_asset("NOPE")
            self.assertTrue(cm.exception.message)
            with self.assertRaises(librisk.NotFoundError):
                eng.set_mark(99, 1.0)
            with self.assertRaises(librisk.TiersError):
                eng.add_instrument("BAD", "BTC", "USDT", [(1000, 0.01, 50), (500, 0.02, 25), (None, 0.05, 10)],
                                   mark=1)
            with self.assertRaises(librisk.TiersError):
                eng.add_asset("BAD", 1, value_tiers=[(10, 0.9), (5, 0.8)])
            with self.assertRaises(librisk.InvalidError):
                eng.set_margin_call_health(0.5)
            with self.assertRaises(librisk.InvalidError):
                eng.instrument_margin("BTCUSDT", -1)
            with self.assertRaises(librisk.LeverageError):
                eng.instrument_margin("BTCUSDT", 1000, leverage=500)
            with self.assertRaises(librisk.InvalidError):  # inverse must settle in its underlying
                eng.add_instrument("ETHUSD", "ETH", "USDT", [(None, 0.01, 50)], inverse=True, mark=3000)
            with self.assertRaises(librisk.InvalidError):  # a linear one must not
                eng.add_instrument("ETHETH", "ETH", "ETH", [(None, 0.01, 50)], mark=3000)

    def test_failed_call_changes_nothing(self):
        with make_engine() as eng:
            with self.assertRaises(librisk.InvalidError):
                eng.set_prices({"BTC": 60000, "ETH": -5})
            self.assertEqual(eng.price("BTC"), 50000)
            with self.assertRaises(librisk.NotFoundError):
                eng.set_marks([0, 77], [1.0, 2.0])
            self.assertEqual(eng.mark(0), 50000)

    def test_account_and_position_errors_carry_the_account_message(self):
        with make_engine() as eng, librisk.Account(eng, 1) as acc:
            with self.assertRaises(librisk.LotError) as cm:
                acc.open_position("BTCUSDT", 0.0005, 50000)
            self.assertEqual(cm.exception.message, ffi.lib().risk_account_errmsg(acc._ptr).decode())
            self.assertTrue(cm.exception.message)
            with self.assertRaises(librisk.LeverageError) as cm:
                acc.set_leverage("BTCUSDT", 126)
            self.assertEqual(cm.exception.message, ffi.lib().risk_account_errmsg(acc._ptr).decode())
            with self.assertRaises(librisk.InvalidError):
                acc.set_leverage("BTCUSDT", 0.5)
            with self.assertRaises(librisk.StateError):
                acc.open_position("BTCUSDT", 1, 50000, side="long")  # one-way needs no side
            with self.assertRaises(librisk.InvalidError):
                acc.open_position("BTCUSDT", 1, 50000, isolated_margin=10)  # cross with margin
            pos = acc.open_position("BTCUSDT", 1, 50000)
            with self.assertRaises(librisk.DuplicateError):
                acc.open_position("BTCUSDT", 1, 50000)
            with self.assertRaises(librisk.TickError) as cm:
                pos.adjust(0.001, 50000.05)
            self.assertEqual(cm.exception.message, ffi.lib().risk_account_errmsg(acc._ptr).decode())
            with self.assertRaises(librisk.LotError):
                pos.adjust(0.0001, 50000)
            with self.assertRaises(librisk.StateError):
                pos.set_isolated_margin(100)  # cross position
            with self.assertRaises(librisk.InvalidError):
                pos.close(-1)
            self.assertEqual(pos.qty, 1)
            with self.assertRaises(librisk.NotFoundError):
                acc.basket.set_balance(42, 1.0)
            with self.assertRaises(librisk.InvalidError) as cm:
                acc.basket.set_balance("USDT", float("inf"))
            self.assertEqual(cm.exception.message, ffi.lib().risk_basket_errmsg(acc.basket._ptr).decode())

    def test_hedge_mode_needs_a_side(self):
        with make_engine() as eng, librisk.Account(eng, 7, position_mode="hedge") as acc:
            with self.assertRaises(librisk.StateError):
                acc.open_position("BTCUSDT", 1, 50000)
            with self.assertRaises(librisk.StateError):
                acc.open_position("BTCUSDT", -1, 50000, side="short")
            long_leg = acc.open_position("BTCUSDT", 1, 50000, side="long")
            short_leg = acc.open_position("BTCUSDT", 0.5, 51000, side="short")
            self.assertEqual((long_leg.leg, short_leg.leg), ("long", "short"))
            self.assertEqual((long_leg.side, short_leg.side), ("long", "short"))
            with self.assertRaises(librisk.StateError):
                long_leg.adjust(-2, 50000)  # a hedge leg may not cross zero
            with self.assertRaises(librisk.DuplicateError):
                acc.open_position("BTCUSDT", 1, 50000, side="long")
            self.assertIs(acc.find_position("BTCUSDT", "short"), short_leg)

    def test_version_error_from_a_raw_struct(self):
        with make_engine() as eng, librisk.Account(eng, 1) as acc:
            s = ffi.RiskAccountSummary()
            s.version = 99
            with self.assertRaises(librisk.VersionError):
                ffi.lib().risk_account_evaluate(acc._ptr, ctypes.byref(s))

    def test_null_handles(self):
        L = ffi.lib()
        with self.assertRaises(librisk.NullError) as cm:
            L.risk_engine_add_asset(None, None, None)
        self.assertEqual(cm.exception.message, L.strerror(1))
        with self.assertRaises(librisk.NullError):
            L.risk_account_evaluate(None, None)
        with self.assertRaises(librisk.NullError):
            L.risk_basket_evaluate(None, None)
        with self.assertRaises(librisk.NullError):
            L.risk_position_close(None, 1.0)
        with self.assertRaises(librisk.NullError):
            L.risk_engine_new(None, None)
        self.assertEqual(L.risk_engine_errmsg(None), b"")

    def test_python_side_argument_errors(self):
        with make_engine() as eng:
            with self.assertRaises(librisk.InvalidError):
                librisk.Account(eng, 1, margin_mode="spread")
            with self.assertRaises(librisk.InvalidError):
                eng.add_instrument("X", "BTC", "USDT", [(None, 0.01, 10)], kind="option", mark=1)
            with self.assertRaises(librisk.InvalidError):
                eng.add_instrument("X", "BTC", "USDT", [(None, 0.01, 10)], kind="future", mark=1,
                                   expiry="2026-01-01T00:00:00+02:00")
        with self.assertRaises(librisk.InvalidError):
            librisk.Engine(margin_call_health=0.9)


class TestEngine(unittest.TestCase):
    def test_registry_and_market_data(self):
        with make_engine() as eng:
            self.assertEqual(eng.find_asset("USDT"), 0)
            self.assertEqual(eng.find_asset("ETH"), 2)
            self.assertEqual(eng.find_instrument("BTCUSD"), 1)
            self.assertEqual(eng.valuation_asset, 0)
            self.assertEqual(eng.asset_symbol(1), "BTC")
            self.assertEqual(eng.instrument_symbol(2), "ETHUSDT")
            eng.set_price("BTC", 51000)
            self.assertEqual(eng.price("BTC"), 51000)
            eng.set_prices({"BTC": 52000, "ETH": 3100})
            self.assertEqual((eng.price(1), eng.price(2)), (52000, 3100))
            ids, prices = array.array("I", [1, 2]), array.array("d", [53000, 3200])
            eng.set_prices(ids, prices)
            self.assertEqual((eng.price(1), eng.price(2)), (53000, 3200))
            eng.set_prices([], [])
            eng.set_mark("BTCUSDT", 53010)
            eng.set_marks({"BTCUSD": 53020, "ETHUSDT": 3201})
            self.assertEqual((eng.mark(0), eng.mark(1), eng.mark(2)), (53010, 53020, 3201))
            eng.set_margin_call_health(1.5)
            self.assertGreater(eng.memory_bytes, 0)
            self.assertEqual(eng.account_count, 0)

    def test_dated_future_expiry_forms(self):
        with make_engine() as eng:
            a = eng.add_instrument("BTC-Q1", "BTC", "USDT", [(None, 0.01, 50)], kind="future", mark=50500,
                                   expiry="2026-03-27T08:00:00Z", lot_size=0.001, tick_size=0.1)
            b = eng.add_instrument("BTC-Q2", "BTC", "USDT", [(None, 0.01, 50)], kind="future", mark=51000,
                                   expiry=1782547200)
            self.assertEqual((a, b), (3, 4))
            with self.assertRaises(librisk.InvalidError):  # a future needs an expiry
                eng.add_instrument("BTC-Q3", "BTC", "USDT", [(None, 0.01, 50)], kind="future", mark=51000)

    def test_cum_is_derived_as_binance_publishes(self):
        # Binance BTCUSDT cum table (research/cex-anchors.md W5,
        # https://gist.github.com/highfestiva/b71e76f51eed84d56c1be8ebbcc286b5)
        published = [0, 50, 1300, 16300, 266300, 1266300, 2516300, 5016300, 25016300, 100016300]
        with make_engine() as eng:
            tiers = eng.instrument_tiers("BTCUSDT")
            self.assertEqual(len(tiers), len(published))
            for tier, cum in zip(tiers, published):
                self.assertAlmostEqual(tier.cum, cum, delta=1e-6)
                self.assertFalse(tier.cum_given)
            self.assertTrue(math.isinf(tiers[-1].notional_cap) or tiers[-1].notional_cap > 3e8)
            im, mm, tier = eng.instrument_margin("BTCUSDT", 3500032.45776)
            self.assertEqual(tier, 3)
            self.assertAlmostEqual(mm, 3500032.45776 * 0.025 - 16300, delta=1e-6)
            self.assertAlmostEqual(im, 3500032.45776 / 20, delta=1e-6)
            im, mm, tier = eng.instrument_margin("BTCUSDT", 40000, leverage=10)
            self.assertEqual((tier, im), (0, 4000))
            eng.add_instrument("PUB", "BTC", "USDT", [(1000, 0.01, 50, 0), (None, 0.02, 25, 7)], mark=1)
            given = eng.instrument_tiers("PUB")
            self.assertEqual((given[1].cum, given[1].cum_given), (7, True))

    def test_find_account_returns_the_owner(self):
        with make_engine() as eng:
            acc = librisk.Account(eng, 42)
            self.assertIs(eng.find_account(42), acc)
            with self.assertRaises(librisk.NotFoundError):
                eng.find_account(43)
            acc.close()
            with self.assertRaises(librisk.NotFoundError):
                eng.find_account(42)

    def test_evaluate_all_matches_single_evaluations(self):
        with make_engine() as eng:
            accs = []
            for i in range(5):
                acc = librisk.Account(eng, 100 + i)
                acc.basket.set_balance("USDT", 1000 + 100 * i)
                acc.open_position("BTCUSDT", 0.1 * (i + 1) * (-1) ** i, 49000)
                accs.append(acc)
            all1 = eng.evaluate_all()
            all2 = eng.evaluate_all(threads=2)
            self.assertEqual(all1, all2)
            self.assertEqual([s.id for s in all1], [100, 101, 102, 103, 104])
            for acc, s in zip(accs, all1):
                self.assertEqual(acc.evaluate(), s)
            out = (ffi.RiskAccountSummary * 8)()
            self.assertEqual(eng.evaluate_all(out=out), all1)
            with self.assertRaises(librisk.BufferTooSmallError) as cm:
                eng.evaluate_all(out=(ffi.RiskAccountSummary * 2)())
            self.assertEqual(cm.exception.needed, 5)
            accs[1].close()
            self.assertEqual([s.id for s in eng.evaluate_all()], [100, 102, 103, 104])

    def test_sweep_image_gives_the_same_summaries(self):
        # 21 accounts (three tiles, the last partial), one with 10 positions (evaluated on its
        # own); a fill and a closed account between sweeps mark their tiles
        with make_engine() as plain, make_engine(sweep_image=True) as tiled:
            books = []
            for eng in (plain, tiled):
                syms = ["BTCUSDT", "BTCUSD", "ETHUSDT"]
                for k in range(8):
                    syms.append(f"ETH{k}USDT")
                    eng.add_instrument(syms[-1], "ETH", "USDT", [(None, 0.01, 50)], lot_size=0.001,
                                       tick_size=0.01, mark=3000 + k)
                accs = []
                for i in range(21):
                    acc = librisk.Account(eng, 200 + i)
                    acc.basket.set_balance("USDT", 500 + 37 * i)
                    for k in range(10 if i == 4 else 1 + i % 3):
                        sym = syms[k]
                        qty = (0.01 if sym != "BTCUSD" else 1) * (k + 1) * (-1) ** (i + k)
                        acc.open_position(sym, qty, 48000 if sym.startswith("BTC") else 2900)
                    accs.append(acc)
                books.append(accs)
            self.assertEqual(tiled.evaluate_all(), plain.evaluate_all())
            for accs in books:
                accs[9].basket.add_balance("USDT", -400)
                accs[17].close()
            self.assertEqual(tiled.evaluate_all(threads=2), plain.evaluate_all(threads=2))
            self.assertEqual([s.id for s in tiled.evaluate_all()], [s.id for s in plain.evaluate_all()])
            for acc in accs:
                acc.close()
            self.assertEqual(eng.evaluate_all(), [])


class TestBasket(unittest.TestCase):
    def test_balances_outside_the_domain_are_refused(self):
        # issue 9 defect 5: a balance of 1e308 gave equity inf and state "healthy"
        eng = librisk.Engine()
        eng.add_asset("USDT", 1, decimals=6)
        basket = librisk.Basket(eng)
        with self.assertRaises(librisk.InvalidError) as cm:
            basket.set_balance("USDT", 1e308)
        self.assertIn("1e+308", cm.exception.message)
        self.assertIn("9007199254.740992", cm.exception.message)
        basket.set_balance("USDT", 9007199254.740992)  # 2^53 quanta: the edge is accepted
        with self.assertRaises(librisk.InvalidError):
            basket.add_balance("USDT", 1)
        self.assertEqual(basket.balance("USDT"), 9007199254.740992)
        basket.close()
        eng.close()

    def test_standalone_basket_aave_health_factor(self):
        # Aave v3 (research/defi-anchors.md A2): 1 WETH at 2,000, LT 82.5%, 1,500 USDC debt -> HF 1.10
        eng = librisk.Engine()
        eng.add_asset("USDC", 1, decimals=6, weight_init=0.77, weight_maint=0.85)
        eng.add_asset("WETH", 2000, decimals=18, weight_init=0.80, weight_maint=0.825)
        eng.add_asset("DAI", 1, decimals=18)
        basket = librisk.Basket(eng)
        basket.set_balance("WETH", 1)
        basket.set_balance("USDC", -1000)
        basket.add_balance("USDC", -500)
        self.assertEqual(basket.balance("USDC"), -1500)
        self.assertEqual(basket.balance("DAI"), 0)
        s = basket.evaluate()
        self.assertAlmostEqual(s.health_factor, 1.10, places=9)
        self.assertAlmostEqual(s.ltv, 0.75, places=9)
        self.assertEqual(s.n_assets, 2)
        self.assertAlmostEqual(s.collateral_maint, 1650, places=5)
        eng.close()  # the basket keeps the C engine alive
        basket.set_balance("USDC", 1000)
        basket.set_balance(2, -2000)  # DAI by id: symbols need the open engine or its cache
        self.assertAlmostEqual(basket.evaluate().health_factor, 1.25, places=9)
        basket.close()
        basket.close()
        self.assertTrue(basket.closed)
        with self.assertRaises(librisk.NullError):
            basket.evaluate()


class TestLifecycle(unittest.TestCase):
    def test_position_views(self):
        with make_engine() as eng, librisk.Account(eng, 1) as acc:
            acc.basket.set_balance("USDT", 10000)
            pos = acc.open_position("BTCUSDT", 0.5, 48000)
            self.assertEqual((pos.instrument, pos.symbol, pos.side, pos.leg), (0, "BTCUSDT", "long", "both"))
            self.assertEqual((pos.qty, pos.entry, pos.isolated_margin, pos.margin_mode), (0.5, 48000, 0, "cross"))
            self.assertIs(pos.account, acc)
            self.assertEqual(acc.positions, [pos])
            self.assertIs(acc.positions[0], pos)
            pos.adjust(0.5, 50000)  # increase: entry moves to the size-weighted average
            self.assertAlmostEqual(pos.entry, 49000, places=6)
            self.assertAlmostEqual(pos.qty, 1.0, places=12)
            pos.adjust(-0.25, 51000)  # reduce: realise (51000 - 49000) x 0.25 = 500 into the basket
            self.assertAlmostEqual(acc.basket.balance("USDT"), 10500, places=6)
            pos.adjust(-0.75, 50000)  # to zero: the position closes
            self.assertTrue(pos.closed)
            with self.assertRaises(librisk.NullError):
                pos.qty
            self.assertEqual(acc.positions, [])
            short = acc.open_position("ETHUSDT", -2, 3000)
            self.assertEqual(short.side, "short")
            self.assertAlmostEqual(acc.basket.balance("USDT"), 11250, places=6)  # + (50000 - 49000) x 0.75
            short.close(2900)  # realises +200
            self.assertTrue(short.closed)
            self.assertAlmostEqual(acc.basket.balance("USDT"), 11450, places=6)
            with self.assertRaises(librisk.NullError):
                short.close(2900)

    def test_one_way_flip_and_isolated_margin(self):
        with make_engine() as eng, librisk.Account(eng, 1, margin_mode="isolated") as acc:
            acc.basket.set_balance("USDT", 1000)
            pos = acc.open_position("BTCUSDT", 0.1, 50000, isolated_margin=300)
            self.assertEqual((pos.margin_mode, pos.isolated_margin), ("isolated", 300))
            self.assertEqual(acc.basket.balance("USDT"), 1000)  # a loaded margin is not taken from the wallet
            pos.set_isolated_margin(500)  # +200 moves from the basket
            self.assertEqual(pos.isolated_margin, 500)
            self.assertAlmostEqual(acc.basket.balance("USDT"), 800, places=6)
            s = acc.evaluate()
            self.assertAlmostEqual(s.isolated_margin, 500, places=6)
            cross = acc.open_position("ETHUSDT", 1, 3000, margin_mode="cross")
            self.assertEqual(cross.margin_mode, "cross")
            pos.adjust(-0.3, 50000)  # one-way flips through zero
            self.assertFalse(pos.closed)
            self.assertAlmostEqual(pos.qty, -0.2, places=12)
            self.assertEqual(pos.side, "short")

    def test_account_close_invalidates_views(self):
        eng = make_engine()
        acc = librisk.Account(eng, 5)
        basket = acc.basket
        basket.set_balance("USDT", 100)
        pos = acc.open_position("ETHUSDT", 0.01, 3000)
        acc.close()
        self.assertTrue(acc.closed and pos.closed and basket.closed)
        for call in (lambda: pos.qty, lambda: basket.balance("USDT"), acc.evaluate, lambda: acc.positions):
            with self.assertRaises(librisk.NullError):
                call()
        acc.close()  # idempotent
        self.assertEqual(eng.account_count, 0)
        eng.close()
        eng.close()
        with self.assertRaises(librisk.NullError):
            eng.add_asset("X", 1)

    def test_engine_closed_before_account_is_safe(self):
        eng = make_engine()
        acc = librisk.Account(eng, 9)
        acc.basket.set_balance("USDT", 5000)
        acc.open_position("BTCUSDT", 0.2, 50000)
        eng.close()
        self.assertTrue(eng.closed)
        # the account keeps the C engine alive; symbols resolve through the Python-side cache
        pos = acc.open_position("ETHUSDT", -1, 3000)
        self.assertEqual(acc.evaluate().n_positions, 2)
        self.assertEqual(len(acc.position_results()), 2)
        pos.close(3000)
        acc.close()

    def test_garbage_collection_in_any_order(self):
        for order in ("engine-first", "account-first"):
            eng = make_engine()
            acc = librisk.Account(eng, 1)
            pos = acc.open_position("BTCUSDT", 0.1, 50000)
            basket = librisk.Basket(eng)
            basket.set_balance("BTC", 1)
            if order == "engine-first":
                eng.close()
            del eng, acc, pos, basket
            gc.collect()

    def test_exit_with_live_handles(self):
        code = ("import librisk\n"
                "e = librisk.Engine(); e.add_asset('USDT', 1, decimals=6); e.add_asset('BTC', 5e4)\n"
                "e.add_instrument('BTCUSDT', 'BTC', 'USDT', [(None, 0.01, 50)], lot_size=0.001, mark=5e4)\n"
                "a = librisk.Account(e, 1); p = a.open_position('BTCUSDT', 1, 5e4); b = librisk.Basket(e)\n"
                "e.close()\n"
                "print('ok')\n")
        r = subprocess.run([sys.executable, "-c", code], env=support.cli_env(), stdout=subprocess.PIPE,
                           stderr=subprocess.PIPE, universal_newlines=True)
        self.assertEqual((r.returncode, r.stdout.strip(), r.stderr), (0, "ok", ""))

    def test_account_results(self):
        with make_engine() as eng, librisk.Account(eng, 1) as acc:
            acc.basket.set_balance("USDT", 1000)
            acc.set_leverage("BTCUSDT", 10)
            self.assertEqual(acc.leverage("BTCUSDT"), 10)
            self.assertEqual(acc.leverage("ETHUSDT"), 0)
            acc.open_position("BTCUSDT", 0.1, 50000)
            acc.open_position("BTCUSD", -10, 50000)
            self.assertEqual((acc.id, acc.margin_mode, acc.position_mode), (1, "cross", "one-way"))
            s = acc.evaluate()
            self.assertEqual(s.state, "healthy")
            self.assertEqual(s.n_positions, 2)
            # BTCUSDT 5,000 / 10 + BTCUSD 0.02 BTC / 125 (tier max) at 50,000 USDT per BTC
            self.assertAlmostEqual(s.initial_margin, 500 + 0.02 / 125 * 50000, places=5)
            d = s.as_dict()
            for name in [f for f, _ in ffi.RiskAccountSummary._fields_ if f != "version"]:
                self.assertIn(name, d)
            results = acc.position_results()
            self.assertEqual([r.symbol for r in results], ["BTCUSDT", "BTCUSD"])
            lin, inv = results
            self.assertAlmostEqual(lin.notional, 5000, places=6)
            self.assertAlmostEqual(lin.initial_margin, 500, places=6)
            self.assertAlmostEqual(lin.maintenance_margin, 20, places=6)
            self.assertAlmostEqual(inv.notional, 10 * 100 / 50000, places=12)
            self.assertEqual((inv.side, inv.leg, inv.qty), ("short", "both", -10))
            self.assertIsNotNone(lin.liquidation_price)
            self.assertLess(lin.liquidation_price, 50000)


class TestZeroCopyBatch(unittest.TestCase):
    N = 7

    def _book(self, eng):
        accs = []
        for i in range(self.N):
            acc = librisk.Account(eng, 1000 + i)
            acc.basket.set_balance("USDT", 500 + 250 * i)
            if i % 3 != 2:
                acc.open_position("BTCUSDT", 0.05 * (i + 1), 52000)
            accs.append(acc)
        return accs

    def test_array_buffers_are_written_in_place(self):
        with make_engine() as eng:
            accs = self._book(eng)
            cols = {name: array.array("d", [math.nan] * (self.N + 3)) for name in librisk.SUMMARY_COLUMNS}
            addrs = {name: a.buffer_info()[0] for name, a in cols.items()}
            ids = array.array("Q", [0] * self.N)
            state = array.array("I", [99] * self.N)
            ids_addr = ids.buffer_info()[0]
            n = eng.evaluate_all_into(cols, ids=ids, state=state)
            self.assertEqual(n, self.N)
            summaries = [acc.evaluate() for acc in accs]
            for name, a in cols.items():
                self.assertEqual(a.buffer_info()[0], addrs[name])  # same buffer, not replaced
                raw = ctypes.string_at(addrs[name], 8 * self.N)  # read the buffer's own memory
                written = array.array("d")
                written.frombytes(raw)
                for i, s in enumerate(summaries):
                    expected = getattr(s, name)
                    got = written[i]
                    if math.isnan(expected):
                        self.assertTrue(math.isnan(got))
                    else:
                        self.assertEqual(got, expected, name)
                for extra in a[self.N:]:
                    self.assertTrue(math.isnan(extra))  # beyond the count: untouched
            self.assertEqual(ids.buffer_info()[0], ids_addr)
            self.assertEqual(list(ids), [1000 + i for i in range(self.N)])
            self.assertEqual([["healthy", "margin_call", "liquidatable", "bankrupt"][x] for x in state],
                             [s.state for s in summaries])

    def test_memoryview_of_bytearray(self):
        with make_engine() as eng:
            self._book(eng)
            raw = bytearray(8 * self.N)
            mv = memoryview(raw).cast("d")
            eng.evaluate_all_into({"equity": mv})
            back = array.array("d")
            back.frombytes(bytes(raw))
            self.assertEqual(list(back), [s.equity for s in eng.evaluate_all()])

    def test_bad_buffers(self):
        with make_engine() as eng:
            self._book(eng)
            with self.assertRaises(librisk.BufferTooSmallError) as cm:
                eng.evaluate_all_into({"equity": array.array("d", [0.0] * (self.N - 1))})
            self.assertEqual(cm.exception.needed, self.N)
            with self.assertRaises(librisk.InvalidError):
                eng.evaluate_all_into({"equity": array.array("f", [0.0] * self.N)})
            with self.assertRaises(librisk.InvalidError):
                eng.evaluate_all_into({"equity": bytes(8 * self.N)})  # read-only
            with self.assertRaises(librisk.InvalidError):
                eng.evaluate_all_into({"equity": [0.0] * self.N})  # no buffer protocol
            with self.assertRaises(librisk.InvalidError):
                eng.evaluate_all_into({"state": array.array("d", [0.0] * self.N)})  # not a float column
            with self.assertRaises(librisk.InvalidError):
                eng.evaluate_all_into({}, ids=array.array("d", [0.0] * self.N))
            strided = memoryview(array.array("d", [0.0] * (2 * self.N)))[::2]
            with self.assertRaises(librisk.InvalidError):
                eng.evaluate_all_into({"equity": strided})

    def test_empty_engine(self):
        with make_engine() as eng:
            self.assertEqual(eng.evaluate_all_into({"equity": array.array("d")}), 0)

    @unittest.skipIf(numpy is None, "numpy not installed")
    def test_numpy_arrays(self):
        with make_engine() as eng:
            self._book(eng)
            eq = numpy.full(self.N, numpy.nan)
            hf = numpy.zeros(self.N + 1)
            ids = numpy.zeros(self.N, dtype=numpy.uint64)
            st = numpy.zeros(self.N, dtype=numpy.uint32)
            ptr = eq.ctypes.data
            eng.evaluate_all_into({"equity": eq, "health_factor": hf}, ids=ids, state=st)
            self.assertEqual(eq.ctypes.data, ptr)
            summaries = eng.evaluate_all()
            self.assertEqual(list(eq), [s.equity for s in summaries])
            self.assertEqual(list(hf[:self.N]), [s.health_factor for s in summaries])
            self.assertEqual(list(ids), [s.id for s in summaries])
            eng.set_prices(numpy.array([1], dtype=numpy.uint32), numpy.array([51000.0]))
            self.assertEqual(eng.price("BTC"), 51000)


if __name__ == "__main__":
    unittest.main()
