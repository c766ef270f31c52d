# SPDX-License-Identifier: Apache-2.0
"""What-if, max order size and resting orders through the bindings, and the `whatif` and
`max-order` subcommands on the sample books."""

import ctypes
import glob
import json
import math
import os
import shutil
import subprocess
import sys
import tempfile
import unittest

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import support  # noqa: E402
from support import librisk, run_cli  # noqa: E402
from librisk import book as libbook, errors, ffi, grid  # noqa: E402
from librisk.whatif import Order  # noqa: E402

TIERS = [(50000, 0.005, 100), (250000, 0.01, 50), (None, 0.025, 20)]


def engine():
    eng = librisk.Engine()
    eng.add_asset("USDT", 1, decimals=6)
    eng.add_asset("BTC", 50000, weight_init=0.9, weight_maint=0.95)
    eng.add_asset("SOL", 100, decimals=9)
    eng.add_instrument("BTCUSDT", "BTC", "USDT", TIERS, lot_size=0.001, tick_size=0.1, mark=50000)
    eng.add_instrument("SOL-PERP", "SOL", "USDT", [(None, 0.1, 5)], lot_size=0.001, tick_size=0.001, mark=100)
    return eng


def fill_for_real(acc, instrument, side, qty, price, leg=None):
    """The calls a what-if stands for (include/risk/whatif.h)."""
    sign = 1.0 if side == "buy" else -1.0
    try:
        pos = acc.find_position(instrument, leg)
    except librisk.NotFoundError:
        pos = acc.open_position(instrument, sign * qty if leg is None else qty, price, side=leg)
    else:
        pos.adjust(sign * qty, price)
        if pos.closed:
            return
    if pos.margin_mode == "isolated":
        for p, r in zip(acc.positions, acc.position_results()):
            if p is pos and r.initial_margin > r.isolated_margin:
                pos.set_isolated_margin(r.initial_margin)


class TestWhatIf(unittest.TestCase):
    def setUp(self):
        self.eng = engine()

    def tearDown(self):
        self.eng.close()

    def twins(self, margin_mode="cross", position_mode="one-way"):
        accs = []
        for i in (1, 2):
            acc = librisk.Account(self.eng, i, margin_mode, position_mode)
            acc.set_balance("USDT", 20000)
            acc.set_leverage("BTCUSDT", 25)
            leg = "long" if position_mode == "hedge" else None
            acc.open_position("BTCUSDT", 0.4, 49000, side=leg,
                              isolated_margin=300 if margin_mode == "isolated" else 0.0)
            accs.append(acc)
        return accs

    def test_whatif_equals_the_real_fill(self):
        for mode, pmode, side, qty, price, leg in [
                ("cross", "one-way", "sell", 1.0, 50100.0, None), ("cross", "one-way", "buy", 0.3, 0.0, None),
                ("cross", "one-way", "sell", 0.4, 0.0, None), ("isolated", "one-way", "buy", 0.5, 50000.0, None),
                ("cross", "hedge", "sell", 0.2, 0.0, "long"), ("isolated", "hedge", "sell", 0.6, 49900.0, "short")]:
            a, b = self.twins(mode, pmode)
            before = a.evaluate()
            got = a.whatif("BTCUSDT", side, qty, price, leg)
            self.assertEqual(a.evaluate(), before)  # unchanged
            fill_for_real(b, "BTCUSDT", side, qty, price or 50000.0, leg)
            self.assertEqual(got.as_dict(), dict(b.evaluate().as_dict(), id=1))
            a.close()
            b.close()

    def test_max_order_is_exact_to_one_lot(self):
        acc = librisk.Account(self.eng, 1)
        acc.set_balance("USDT", 3000.5)
        # tier 1 (2 %) binds: 0.02 x N <= 3,000.5 -> 3.000 BTC at the mark
        q = acc.max_order_qty("BTCUSDT", "buy")
        self.assertEqual(q, 3.0)
        self.assertAlmostEqual(acc.whatif("BTCUSDT", "buy", q).available, 0.5, places=9)
        self.assertLess(acc.whatif("BTCUSDT", "buy", 3001 * 0.001).available, 0)
        acc.set_leverage("BTCUSDT", 10)
        self.assertEqual(acc.max_order_qty("BTCUSDT", "sell", price=50000), 0.6)
        # far below the mark the gain outgrows every tier's IM
        self.assertEqual(acc.max_order_qty("BTCUSDT", "buy", price=40000), math.inf)
        acc.close()

    def test_resting_orders_drift_d5(self):
        # Drift D5 perp analogue (docs/whatif.md): USDC 10,000 and a bid of 500 SOL at 5x -> available 0
        acc = librisk.Account(self.eng, 1)
        acc.set_balance("USDT", 10000)
        s, fills = acc.orders_summary([Order("SOL-PERP", "buy", 500, 100.0)])
        self.assertEqual(fills, [True])
        self.assertAlmostEqual(s.initial_margin, 10000, places=9)
        self.assertAlmostEqual(s.available, 0, places=9)
        # the worse side per instrument: a bid of 1 against an ask of 3 (tuples and dicts accepted)
        s, fills = acc.orders_summary([("SOL-PERP", "buy", 100, 100.0), {"instrument": "SOL-PERP", "side": "sell",
                                                                           "qty": 300, "price": 99.0}])
        self.assertEqual(fills, [False, True])
        self.assertEqual(s, acc.whatif("SOL-PERP", "sell", 300, 99.0))
        s, fills = acc.orders_summary([])
        self.assertEqual((s, fills), (acc.evaluate(), []))
        acc.close()

    def test_bad_input_raises(self):
        acc = librisk.Account(self.eng, 1)
        acc.set_balance("USDT", 1000)
        with self.assertRaises(librisk.LotError):
            acc.whatif("BTCUSDT", "buy", 0.0005)
        with self.assertRaises(librisk.TickError):
            acc.whatif("BTCUSDT", "buy", 0.001, price=50000.05)
        with self.assertRaises(librisk.InvalidError):
            acc.whatif("BTCUSDT", "buy", -1)
        with self.assertRaises(librisk.InvalidError):
            acc.whatif("BTCUSDT", "hold", 1)
        with self.assertRaises(librisk.InvalidError):
            acc.max_order_qty("BTCUSDT", "buy", price=float("nan"))
        with self.assertRaises(librisk.StateError):
            acc.max_order_qty("BTCUSDT", "buy", leg="long")
        with self.assertRaises(librisk.NotFoundError):
            acc.whatif(99, "buy", 1)
        self.assertTrue(ffi.lib().risk_account_errmsg(acc._ptr))
        acc.close()


@unittest.skipUnless(shutil.which(os.environ.get("CC", "cc")), "no C compiler")
class TestOrderLayout(unittest.TestCase):
    def test_risk_order_matches_the_header(self):
        fields = [f for f, _ in ffi.RiskOrder._fields_]
        lines = ["#include <stdio.h>", "#include <stddef.h>", "#include \"risk.h\"", "int main(void) {",
                 'printf("%zu\\n", sizeof(risk_order));']
        lines += ['printf("%%zu\\n", offsetof(risk_order, %s));' % f for f in fields]
        lines += ["risk_order o = RISK_ORDER_INIT;", 'printf("%u %u %u %u\\n", o.version, o.instrument, o.side, o.leg);',
                  "return 0;", "}"]
        with tempfile.TemporaryDirectory() as d:
            src, exe = os.path.join(d, "o.c"), os.path.join(d, "o")
            with open(src, "w") as f:
                f.write("\n".join(lines))
            subprocess.check_call([os.environ.get("CC", "cc"), "-std=c11", "-I",
                                   os.path.join(support.ROOT, "include"), src, "-o", exe])
            out = [int(x) for x in subprocess.check_output([exe], universal_newlines=True).split()]
        init = ffi.RiskOrder.init()
        self.assertEqual(out, [ctypes.sizeof(ffi.RiskOrder)] + [getattr(ffi.RiskOrder, f).offset for f in fields]
                         + [init.version, init.instrument, init.side, init.leg])


def _books():
    return sorted(glob.glob(os.path.join(support.BOOKS, "*.json")))


class TestCli(unittest.TestCase):
    def run_ok(self, *args):
        r = run_cli(*args)
        self.assertEqual(r.returncode, 0, r.stderr)
        return json.loads(r.stdout)

    def test_max_order_on_every_book_agrees_with_the_bindings(self):
        for path in _books():
            with libbook.load(libbook.read(path)) as loaded:
                spec = loaded.spec
                for acc, a in zip(loaded.accounts, spec["accounts"]):
                    for ins in spec["instruments"]:
                        for side in ("buy", "sell"):
                            legs = ["long", "short"] if a["position_mode"] == "hedge" else [None]
                            for leg in legs:
                                if ins.get("settlement_price") is not None:  # settled: trades no more
                                    with self.assertRaises(errors.StateError):
                                        acc.max_order_qty(ins["symbol"], side, leg=leg)
                                    continue
                                q = acc.max_order_qty(ins["symbol"], side, leg=leg)
                                if math.isinf(q):
                                    continue
                                lots = round(q / ins["lot_size"])
                                self.assertEqual(q, lots * ins["lot_size"])
                                if q > 0:
                                    s = acc.whatif(ins["symbol"], side, q, leg=leg)
                                    self.assertGreaterEqual(s.available, min(0.0, acc.evaluate().available))
            if not spec["instruments"] or not spec["accounts"]:
                continue  # a lending book (aave_hf.json) has nothing to order
            a0, ins0 = spec["accounts"][0], spec["instruments"][0]
            if ins0.get("settlement_price") is not None:
                continue  # refused, above
            leg = ["--leg", "long"] if a0["position_mode"] == "hedge" else []
            out = self.run_ok("max-order", path, "--account", str(a0["id"]), "--instrument", ins0["symbol"],
                              "--side", "buy", *leg)
            self.assertEqual(list(out), ["qty"])
            with libbook.load(libbook.read(path)) as loaded:
                want = loaded.accounts[0].max_order_qty(ins0["symbol"], "buy", leg=leg[1] if leg else None)
            # the command prints whole lots on the lot's decimals (lots x lot_size may carry noise)
            on_lot = grid.on_grid(want, grid.step_decimals(ins0["lot_size"])) if math.isfinite(want) else None
            self.assertEqual(out["qty"], on_lot)

    def test_whatif_prints_the_evaluate_shape_after_the_fill(self):
        checked = 0
        for path in _books():
            doc = libbook.read(path)
            with libbook.load(doc) as loaded:
                if not loaded.spec["instruments"] or not loaded.spec["accounts"]:
                    continue
                a0, ins0 = loaded.spec["accounts"][0], loaded.spec["instruments"][0]
                leg = "long" if a0["position_mode"] == "hedge" else None
                qty = 10 * ins0["lot_size"]
                want = loaded.accounts[0].whatif(ins0["symbol"], "buy", qty, leg=leg)
                before = libbook.evaluate(loaded)["accounts"][0]
            checked += 1
            args = ["whatif", path, "--account", str(a0["id"]), "--instrument", ins0["symbol"], "--side", "buy",
                    "--qty", repr(qty)] + (["--leg", leg] if leg else [])
            out = self.run_ok(*args)
            self.assertEqual(list(out), list(before))  # the keys of one account of `evaluate`
            # money in the valuation asset's decimals (6 for the USDT of every sample book)
            self.assertEqual(out["available"], round(want.available, 6))
            self.assertEqual(out["equity"], round(want.equity, 6))
            self.assertEqual(out["state"], want.state)
            held = {(p["instrument"], p["side"]): p["qty"] for p in out["positions"]}
            self.assertTrue(any(k[0] == ins0["symbol"] for k in held))
        self.assertGreaterEqual(checked, 3)

    def test_bad_input_exits_2_with_one_line(self):
        path = support.book_path("demo.json")
        base = ["--account", "1001", "--instrument", "BTCUSDT", "--side", "buy"]
        for args in (["whatif", path] + base + ["--qty", "0.0005"],        # not whole lots
                     ["whatif", path] + base + ["--qty", "0.1", "--price", "65000.05"],  # off the tick
                     ["whatif", path] + base + ["--qty", "-1"],
                     ["whatif", path] + base,                              # --qty missing
                     ["max-order", path, "--account", "7", "--instrument", "BTCUSDT", "--side", "buy"],
                     ["max-order", path, "--account", "1001", "--instrument", "NOPE", "--side", "buy"],
                     ["max-order", path, "--account", "1001", "--instrument", "BTCUSDT", "--side", "hold"],
                     ["max-order", path] + base + ["--leg", "long"],       # one-way account
                     ["max-order", path] + base + ["--price", "nan"]):
            r = run_cli(*args)
            self.assertEqual(r.returncode, 2, args)
            self.assertEqual(r.stdout, "")
            self.assertTrue(r.stderr.strip())
            if "--side" in args and "hold" not in args and "--qty" in args or "NOPE" in args:
                self.assertEqual(len(r.stderr.strip().splitlines()), 1, r.stderr)


class TestOptionMaxOrder(unittest.TestCase):
    def test_options_book(self):
        # docs/whatif.md "Options": account 1 holds 1 BTC and is short one 55,000 call (W28's):
        # available 44,000 USD, each contract more needs 0.11 BTC = 5,500 USD of IM -> 8.0
        path = support.book_path("options_deribit.json")
        r = run_cli("max-order", path, "--account", "1", "--instrument", "BTC-31JAN26-55000-C", "--side", "sell")
        self.assertEqual(r.returncode, 0, r.stderr)
        self.assertEqual(json.loads(r.stdout), {"qty": 8.0})
        for qty, sign in (("8", 1), ("8.1", -1)):
            w = run_cli("whatif", path, "--account", "1", "--instrument", "BTC-31JAN26-55000-C", "--side", "sell",
                        "--qty", qty)
            self.assertEqual(w.returncode, 0, w.stderr)
            avail = json.loads(w.stdout)["available"]
            self.assertTrue(avail >= 0 if sign > 0 else avail < 0, (qty, avail))


if __name__ == "__main__":
    unittest.main()
