# SPDX-License-Identifier: Apache-2.0
"""Volatility-scaled margin from Python: the Engine methods, the struct mirrors, the book's
"vol" and "vol_scaling" objects and their bad-input paths (docs/volatility.md sections 2-3,
docs/book-format.md)."""

import ctypes
import json
import math
import os
import sys
import unittest

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import support  # noqa: E402
import test_bindings  # noqa: E402  (its layout check, run here over the scaling structs)
from support import librisk, run_cli, TempBook  # noqa: E402
from librisk import ffi  # noqa: E402
from librisk import book as libbook  # noqa: E402

# Binance BTCUSDT brackets (W5, research/cex-anchors.md), first four tiers.
TIERS = [(50000, 0.004, 125), (250000, 0.005, 100), (1000000, 0.01, 50), (None, 0.025, 20)]


def make_engine(no_quantize=True):
    eng = librisk.Engine(no_quantize=no_quantize)
    eng.add_asset("USDT", 1, decimals=6)
    eng.add_asset("BTC", 50000)
    eng.add_asset("ETH", 3000)
    eng.add_instrument("BTCUSDT", "BTC", "USDT", TIERS, lot_size=0.001, tick_size=0.1, mark=50000)
    return eng


def base_mm(notional):
    """MM of the base schedule: N x mmr_t - cum_t with the cum recursion, written out."""
    caps = [50000.0, 250000.0, 1000000.0, math.inf]
    rates = [0.004, 0.005, 0.01, 0.025]
    cum = [0.0]
    for t in range(1, 4):
        cum.append(cum[-1] + caps[t - 1] * (rates[t] - rates[t - 1]))
    t = next(i for i, c in enumerate(caps) if notional <= c)
    return notional * rates[t] - cum[t]


class TestEngine(unittest.TestCase):
    def setUp(self):
        self.eng = make_engine()

    def tearDown(self):
        self.eng.close()

    def test_off_by_default(self):
        f = self.eng.instrument_factor("BTCUSDT")
        self.assertEqual((f.mode, f.factor, f.target, f.vol_annual, f.reference_vol_annual),
                         ("off", 1.0, 1.0, None, None))
        self.assertEqual(self.eng.instrument_scaling("BTCUSDT")["mode"], "off")
        before = self.eng.instrument_tiers("BTCUSDT")
        self.eng.set_asset_vol("BTC", 1.5, 0)
        self.assertEqual(self.eng.instrument_tiers("BTCUSDT"), before)
        self.assertEqual(self.eng.instrument_base_tiers("BTCUSDT"), before)

    def test_mm_scales_by_the_factor(self):
        self.eng.set_instrument_scaling("BTCUSDT", reference_vol_annual=0.5, min_factor=0.1, max_factor=10)
        for vol in (0.25, 0.5, 0.9, 2.0):
            self.eng.set_asset_vol("BTC", vol, 0)
            f = self.eng.instrument_factor("BTCUSDT")
            self.assertAlmostEqual(f.factor, vol / 0.5, delta=1e-14)
            self.assertAlmostEqual(f.vol_annual, vol, delta=1e-15)
            for n in (1000.0, 50000.0, 50000.01, 700000.0, 5e6):
                im, mm, _ = self.eng.instrument_margin("BTCUSDT", n)
                self.assertAlmostEqual(mm / (f.factor * base_mm(n)), 1.0, delta=1e-12)
        base = self.eng.instrument_base_tiers("BTCUSDT")
        self.assertEqual([t.mmr for t in base], [0.004, 0.005, 0.01, 0.025])
        self.eng.set_instrument_scaling("BTCUSDT", mode="off")
        self.assertEqual(self.eng.instrument_tiers("BTCUSDT"), base)

    def test_scaling_parameters_round_trip(self):
        self.eng.set_instrument_scaling("BTCUSDT", mode="var", z=3.0, horizon_days=2, min_factor=0.2,
                                        buffer=0.3, stress_weight=0.25, max_daily_change=0.1, vol_floor=True)
        got = self.eng.instrument_scaling("BTCUSDT")
        self.assertEqual(got, {"mode": "var", "reference_vol_annual": 0.0, "min_factor": 0.2, "max_factor": 4.0,
                               "z": 3.0, "horizon_days": 2.0, "days_per_year": 365.0, "buffer": 0.3,
                               "stress_weight": 0.25, "max_daily_change": 0.1, "vol_floor": True})
        # VaR: reference = mmr_1 / (z sqrt(h / D))
        ref = self.eng.instrument_factor("BTCUSDT").reference_vol_annual
        self.assertAlmostEqual(ref, 0.004 / (3.0 * math.sqrt(2 / 365)), delta=1e-16)

    def test_fed_returns_follow_the_ewma_recursion(self):
        self.eng.set_asset_vol_params("ETH", lambda_=0.9, periods_per_year=365)
        returns = [0.03, -0.01, 0.02, -0.05, 0.004]
        s2, highest = None, 0.0
        for i, r in enumerate(returns):
            self.eng.feed_asset_return("ETH", r, 86400 * i)
            s2 = r * r if s2 is None else 0.9 * s2 + (1 - 0.9) * r * r
            highest = max(highest, math.sqrt(s2 * 365))
            st = self.eng.asset_vol("ETH")
            self.assertAlmostEqual(st.live_vol_annual / math.sqrt(s2 * 365), 1.0, delta=1e-15)
        st = self.eng.asset_vol("ETH")
        self.assertEqual((st.n_returns, st.last_time_s, st.lambda_), (5, 4 * 86400, 0.9))
        self.assertAlmostEqual(st.floor_vol_annual, math.sqrt(sum(r * r for r in returns) / 5 * 365), delta=1e-15)
        self.assertAlmostEqual(st.stressed_vol_annual / highest, 1.0, delta=1e-15)  # the highest observed
        self.assertGreater(highest, st.live_vol_annual)
        self.assertFalse(st.stressed_set or st.floor_set)
        self.assertIsNone(self.eng.asset_vol("USDT").live_vol_annual)

    def test_prices_prime_then_feed(self):
        self.eng.feed_asset_price("BTC", 50000, 10)
        self.assertIsNone(self.eng.asset_vol("BTC").live_vol_annual)
        self.eng.feed_asset_price("BTC", 51000, 20)
        r = math.log(51000 / 50000)
        self.assertAlmostEqual(self.eng.asset_vol("BTC").live_vol_annual, abs(r) * math.sqrt(365), delta=1e-15)

    def test_anti_procyclicality_from_python(self):
        self.eng.set_instrument_scaling("BTCUSDT", reference_vol_annual=0.5, min_factor=0.5, max_factor=3,
                                        stress_weight=0.5, vol_floor=True, buffer=0.5)
        self.eng.set_asset_stressed_vol("BTC", 1.0)
        self.eng.set_asset_floor_vol("BTC", 0.9)
        self.eng.set_asset_vol("BTC", 0.4, 0)
        f = self.eng.instrument_factor("BTCUSDT")
        self.assertEqual(f.vol_annual, 0.9)  # weighted 0.7, floored at 0.9
        self.assertAlmostEqual(f.factor, 2.7, delta=1e-15)  # 1.8 x 1.5
        self.eng.set_asset_buffer_release("BTC", 1.0)
        self.assertAlmostEqual(self.eng.instrument_factor("BTCUSDT").factor, 1.8, delta=1e-15)
        st = self.eng.asset_vol("BTC")
        self.assertTrue(st.stressed_set and st.floor_set)
        self.assertEqual(st.buffer_release, 1.0)

    def test_rate_cap_from_python(self):
        self.eng.set_instrument_scaling("BTCUSDT", reference_vol_annual=0.5, min_factor=0.5, max_factor=3,
                                        max_daily_change=0.1)
        self.eng.set_asset_vol("BTC", 0.5, 0)
        self.eng.set_asset_vol("BTC", 1.5, 86400 // 2)
        f = self.eng.instrument_factor("BTCUSDT")
        self.assertAlmostEqual(f.target, 3.0, delta=1e-14)
        self.assertAlmostEqual(f.factor, 1.05, delta=1e-14)  # half a day at 10 % a day

    def test_errors_name_the_problem_and_change_nothing(self):
        self.eng.set_instrument_scaling("BTCUSDT", reference_vol_annual=0.5)
        self.eng.set_asset_vol("BTC", 0.8, 100)
        tiers, factor, vol = (self.eng.instrument_tiers("BTCUSDT"), self.eng.instrument_factor("BTCUSDT"),
                              self.eng.asset_vol("BTC"))
        bad = [
            (librisk.InvalidError, lambda: self.eng.set_asset_vol("BTC", math.nan, 200), "vol_annual"),
            (librisk.InvalidError, lambda: self.eng.set_asset_vol("BTC", -0.1, 200), "vol_annual"),
            (librisk.InvalidError, lambda: self.eng.set_asset_vol("BTC", 0.5, 99), "before the last update"),
            (librisk.InvalidError, lambda: self.eng.feed_asset_return("BTC", math.inf, 200), "log_return"),
            (librisk.InvalidError, lambda: self.eng.feed_asset_price("BTC", 0, 200), "price"),
            (librisk.InvalidError, lambda: self.eng.set_instrument_scaling("BTCUSDT", reference_vol_annual=0),
             "reference_vol_annual"),
            (librisk.InvalidError, lambda: self.eng.set_instrument_scaling(
                "BTCUSDT", reference_vol_annual=0.5, min_factor=2, max_factor=1), "min_factor"),
            (librisk.InvalidError, lambda: self.eng.set_instrument_scaling(
                "BTCUSDT", reference_vol_annual=0.5, buffer=0.2), "buffer"),
            (librisk.InvalidError, lambda: self.eng.set_instrument_scaling(
                "BTCUSDT", reference_vol_annual=0.5, stress_weight=0.1), "stress_weight"),
            (librisk.InvalidError, lambda: self.eng.set_instrument_scaling("BTCUSDT", mode="vega"), "mode"),
            (librisk.InvalidError, lambda: self.eng.set_asset_vol_params("BTC", lambda_=1.0), "lambda"),
            (librisk.InvalidError, lambda: self.eng.set_asset_buffer_release("BTC", 1.5), "fraction"),
            (librisk.NotFoundError, lambda: self.eng.set_asset_vol(9, 0.5, 200), "unknown asset"),
            (librisk.NotFoundError, lambda: self.eng.instrument_factor(7), "unknown instrument"),
        ]
        for cls, call, words in bad:
            with self.subTest(words=words):
                with self.assertRaises(cls) as cm:
                    call()
                self.assertIn(words, str(cm.exception))
                self.assertEqual(self.eng.instrument_tiers("BTCUSDT"), tiers)
                self.assertEqual(self.eng.instrument_factor("BTCUSDT"), factor)
                self.assertEqual(self.eng.asset_vol("BTC"), vol)

    def test_account_follows_the_factor(self):
        acc = self.eng.new_account(1)
        acc.set_balance("USDT", 100000)
        acc.open_position("BTCUSDT", 10, 50000)  # 500k: tier 2
        mm0 = acc.evaluate().maintenance_margin
        self.assertAlmostEqual(mm0, base_mm(500000.0), delta=1e-9)
        self.eng.set_instrument_scaling("BTCUSDT", reference_vol_annual=0.6, max_factor=10)
        self.eng.set_asset_vol("BTC", 1.5, 0)
        f = self.eng.instrument_factor("BTCUSDT").factor
        self.assertAlmostEqual(acc.evaluate().maintenance_margin / (f * mm0), 1.0, delta=1e-12)
        acc.close()


class TestStructLayout(test_bindings.TestStructLayout):
    """The mirrors of include/risk/margin.h's scaling structs have the C sizes and offsets (the
    check of test_bindings over these structs)."""

    STRUCTS = {"risk_margin_scaling": ffi.RiskMarginScaling, "risk_asset_vol_params": ffi.RiskAssetVolParams,
               "risk_asset_vol_state": ffi.RiskAssetVolState, "risk_margin_factor": ffi.RiskMarginFactor}

    def test_initialisers_match_the_macros(self):
        # The library reports RISK_MARGIN_SCALING_INIT for an unscaled instrument and the
        # defaults of RISK_ASSET_VOL_PARAMS_INIT for an asset without volatility state.
        with make_engine() as eng:
            got = ffi.RiskMarginScaling()
            ffi.lib().risk_engine_instrument_scaling(eng._ptr, 0, ctypes.byref(got))
            self.assertEqual(bytes(got), bytes(ffi.RiskMarginScaling.init()))
            st = eng.asset_vol("BTC")
            params = ffi.RiskAssetVolParams.init()
            self.assertEqual((st.lambda_, st.periods_per_year, params.seed_vol_annual),
                             (getattr(params, "lambda"), params.periods_per_year, 0.0))
        self.assertEqual(ffi.RiskAssetVolState.init().version, ffi.ASSET_VOL_STATE_VERSION)
        self.assertEqual(ffi.RiskMarginFactor.init().version, ffi.MARGIN_FACTOR_VERSION)


BOOK = {
    "format": "librisk-book/1",
    "assets": [
        {"symbol": "USDT", "price": 1, "decimals": 6},
        {"symbol": "BTC", "price": 50000,
         "vol": {"annual": 0.9, "lambda": 0.94, "periods_per_year": 365, "stressed": 1.2, "floor": 0.7}},
    ],
    "instruments": [
        {"symbol": "BTCUSDT", "underlying": "BTC", "settle": "USDT", "mark": 50000, "lot_size": 0.001,
         "tick_size": 0.1,
         "margin": {"tiers": [{"notional_cap": 50000, "mmr": 0.004, "max_leverage": 125},
                              {"notional_cap": None, "mmr": 0.005, "max_leverage": 100}]},
         "vol_scaling": {"mode": "tiers", "reference": 0.6, "min_factor": 1, "max_factor": 4, "buffer": 0.25}},
    ],
    "accounts": [{"id": 1, "balances": {"USDT": 10000},
                  "positions": [{"instrument": "BTCUSDT", "qty": 1, "entry": 50000}]}],
}


def mutated(path, value):
    doc = json.loads(json.dumps(BOOK))
    obj = doc
    for k in path[:-1]:
        obj = obj[k]
    if value is _DELETE:
        del obj[path[-1]]
    else:
        obj[path[-1]] = value
    return doc


_DELETE = object()


class TestBook(unittest.TestCase):
    def evaluate(self, doc):
        with TempBook(doc) as path:
            r = run_cli("evaluate", path)
        self.assertEqual(r.returncode, 0, r.stderr)
        return json.loads(r.stdout)

    def test_vol_and_scaling_load(self):
        out = self.evaluate(BOOK)
        pos = out["accounts"][0]["positions"][0]
        # factor = 0.9 / 0.6 x 1.25 = 1.875; MM = 50,000 x 0.004 x 1.875, IM = 50,000 / 125 x 1.875
        self.assertAlmostEqual(pos["maintenance_margin"], 375.0, delta=1e-6)
        self.assertAlmostEqual(pos["initial_margin"], 750.0, delta=1e-6)
        plain = mutated(["instruments", 0, "vol_scaling"], _DELETE)
        pos = self.evaluate(plain)["accounts"][0]["positions"][0]
        self.assertAlmostEqual(pos["maintenance_margin"], 200.0, delta=1e-6)
        with libbook.load(BOOK) as b:
            st = b.engine.asset_vol("BTC")
            self.assertEqual((st.stressed_vol_annual, st.floor_vol_annual), (1.2, 0.7))
            self.assertAlmostEqual(st.live_vol_annual, 0.9, delta=1e-15)
            self.assertEqual(b.engine.instrument_scaling("BTCUSDT")["buffer"], 0.25)

    def test_var_mode_and_options(self):
        doc = mutated(["instruments", 0, "vol_scaling"],
                      {"mode": "var", "z": 2.326, "horizon_days": 3, "days_per_year": 365, "min_factor": 0.01,
                       "max_factor": 100, "stress_weight": 0.25, "vol_floor": True, "max_daily_change": 0.5})
        doc["instruments"][0]["margin"]["tiers"] = [{"notional_cap": None, "mmr": 0.01, "max_leverage": 50}]
        pos = self.evaluate(doc)["accounts"][0]["positions"][0]
        vol = 0.25 * 1.2 + 0.75 * 0.9  # weighted 0.975, above the 0.7 floor
        rate = 2.326 * vol * math.sqrt(3 / 365)
        self.assertAlmostEqual(pos["maintenance_margin"], 50000 * rate, delta=2e-6)  # quantized up to 1e-6 USDT

    def test_bad_input_exits_2_naming_the_field(self):
        cases = [
            (["assets", 1, "vol", "alpha"], 0.1, "assets[1].vol.alpha: unknown field"),
            (["assets", 1, "vol"], [0.6], "assets[1].vol: expected an object"),
            (["assets", 1, "vol", "lambda"], 1.5, "assets[1].vol.lambda: "),
            (["assets", 1, "vol", "periods_per_year"], 0, "assets[1].vol.periods_per_year: "),
            (["assets", 1, "vol", "seed"], -1, "assets[1].vol.seed: "),
            (["assets", 1, "vol", "annual"], -0.5, "assets[1].vol.annual: "),
            (["assets", 1, "vol", "annual"], "high", "assets[1].vol.annual: expected a number"),
            (["assets", 1, "vol", "stressed"], -1, "assets[1].vol.stressed: "),
            (["assets", 1, "vol", "floor"], -1, "assets[1].vol.floor: "),
            (["assets", 1, "vol", "buffer_release"], 2, "assets[1].vol.buffer_release: "),
            (["instruments", 0, "vol_scaling", "gamma"], 1, "instruments[0].vol_scaling.gamma: unknown field"),
            (["instruments", 0, "vol_scaling", "mode"], "vega", "instruments[0].vol_scaling.mode: must be"),
            (["instruments", 0, "vol_scaling", "reference"], _DELETE, "instruments[0].vol_scaling.reference: "),
            (["instruments", 0, "vol_scaling", "reference"], 0, "instruments[0].vol_scaling.reference: "),
            (["instruments", 0, "vol_scaling", "buffer"], 0.2, "instruments[0].vol_scaling.buffer: "),
            (["instruments", 0, "vol_scaling", "stress_weight"], 1.2, "instruments[0].vol_scaling.stress_weight: "),
            (["instruments", 0, "vol_scaling", "max_daily_change"], -1,
             "instruments[0].vol_scaling.max_daily_change: "),
            (["instruments", 0, "vol_scaling", "vol_floor"], 1, "instruments[0].vol_scaling.vol_floor: expected"),
            (["instruments", 0, "vol_scaling", "min_factor"], 5, "instruments[0].vol_scaling: "),
            (["instruments", 0, "vol_scaling", "z"], 0, "instruments[0].vol_scaling"),
        ]
        for path, value, prefix in cases:
            with self.subTest(path=path, value=value):
                doc = mutated(path, value)
                if path[-1] == "z":
                    doc["instruments"][0]["vol_scaling"]["mode"] = "var"
                with TempBook(doc) as p:
                    r = run_cli("evaluate", p)
                self.assertEqual(r.returncode, 2, r.stderr)
                self.assertEqual(r.stdout, "")
                self.assertEqual(r.stderr.count("\n"), 1, r.stderr)
                self.assertTrue(r.stderr.startswith(prefix), r.stderr)
        # NaN in the vol object is named too
        text = json.dumps(BOOK).replace('"annual": 0.9', '"annual": NaN')
        with TempBook(text) as p:
            r = run_cli("evaluate", p)
        self.assertEqual(r.returncode, 2)
        self.assertTrue(r.stderr.startswith("assets[1].vol.annual: NaN"), r.stderr)


if __name__ == "__main__":
    unittest.main()
