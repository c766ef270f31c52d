# SPDX-License-Identifier: Apache-2.0
"""librisk.cascade and the ``cascade`` command (include/risk/cascade.h; docs/stress.md).

The two-account cascade is the one of tests/test_cascade.c, computed by hand there: BTC -2 %,
A sells 6 at 98, linear depth 3 moves the mark to 96.06, B sells 6 there, the mark ends at
94.16. The Cover 2 figures of examples/books/liquidation.json under SOL -10 % are computed by
hand below.
"""

import copy
import json
import os
import sys
import tempfile
import unittest

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import support  # noqa: E402
from support import run_cli, TempBook  # noqa: E402
from librisk import book as libbook, cascade as libcascade, stress as libstress  # noqa: E402

try:
    import matplotlib  # noqa: F401
    HAVE_MPL = True
except ImportError:
    HAVE_MPL = False

HAND = {
    "format": "librisk-book/1", "valuation_asset": "USDT",
    "assets": [{"symbol": "USDT", "price": 1, "decimals": 6}, {"symbol": "BTC", "price": 100, "decimals": 8}],
    "instruments": [{"symbol": "BTCUSDT", "underlying": "BTC", "settle": "USDT", "lot_size": 1, "tick_size": 0.01,
                     "mark": 100, "margin": {"tiers": [{"notional_cap": None, "mmr": 0.05, "max_leverage": 10}]}}],
    "liquidation": {"exit_target": "initial"},
    "accounts": [{"id": 1, "balances": {"USDT": 60}, "positions": [{"instrument": "BTCUSDT", "qty": 10, "entry": 100}]},
                 {"id": 2, "balances": {"USDT": 80}, "positions": [{"instrument": "BTCUSDT", "qty": 10, "entry": 100}]}],
}
LIQ = support.book_path("liquidation.json")


class TestCascade(unittest.TestCase):
    def test_two_accounts_by_hand(self):
        with libbook.load(copy.deepcopy(HAND)) as b:
            res = libcascade.cascade(b.engine, [{"BTC": -0.02}], {"BTCUSDT": libcascade.Impact("linear", depth=3.0)})
            self.assertEqual(res.totals["rounds"], 2)
            self.assertEqual([r["n_liquidated"] for r in res.rounds], [1, 1])
            self.assertAlmostEqual(res.rounds[0]["marks"]["BTCUSDT"], 98.0, places=9)
            self.assertAlmostEqual(res.rounds[1]["marks"]["BTCUSDT"], 96.06, places=9)
            self.assertEqual(res.rounds[0]["flow"]["BTCUSDT"], -6.0)
            self.assertAlmostEqual(res.final["marks"]["BTCUSDT"], 94.16, places=9)
            self.assertAlmostEqual(res.totals["market_volume"], 1164.36, places=9)
            amp = res.amplification()["BTC"]
            self.assertAlmostEqual(amp["exogenous_move"], -0.02, places=12)
            self.assertAlmostEqual(amp["total_move"], 0.98 * 2.718281828459045 ** -0.04 - 1.0, places=12)
            self.assertGreater(amp["amplification"], 1.0)
        with libbook.load(copy.deepcopy(HAND)) as b:  # on a copy: the same result, the engine unchanged
            imp = {"BTCUSDT": libcascade.Impact("linear", depth=3.0)}
            res = libcascade.cascade(b.engine, [{"BTC": -0.02}], imp, on_copy=True)
            self.assertAlmostEqual(res.final["marks"]["BTCUSDT"], 94.16, places=9)
            self.assertEqual(b.engine.mark("BTCUSDT"), 100.0)
            self.assertEqual([a.evaluate().equity for a in b.engine.accounts()], [60.0, 80.0])
        with libbook.load(copy.deepcopy(HAND)) as b:  # progress: every round, the records among them
            seen: list[tuple[dict, int]] = []
            res = libcascade.cascade(b.engine, [{"BTC": -0.02}], {"BTCUSDT": libcascade.Impact("linear", depth=3.0)},
                                     progress=lambda r, n: seen.append((r, n)))
            self.assertEqual([(r["step"], r["round"], r["n_liquidated"]) for r, _ in seen], [(0, 0, 1), (0, 1, 1),
                                                                                          (0, 2, 0)])
            self.assertEqual({n for _, n in seen}, {1})
            for (r, _), rec in zip(seen, res.rounds):
                self.assertEqual(r["market_volume"], rec["market_volume"])
                self.assertEqual(r["bad_debt"], rec["bad_debt"])

            def boom(r: dict, n: int) -> None:
                raise KeyboardInterrupt
            with self.assertRaises(KeyboardInterrupt):  # raised after the call, not lost in the C frame
                libcascade.cascade(b.engine, [{"BTC": -0.02}], progress=boom)
        with libbook.load(copy.deepcopy(HAND)) as b:  # without impact B stays healthy
            res = libcascade.cascade(b.engine, [{"BTC": -0.02}])
            self.assertEqual(res.totals["n_liquidated"], 1)
            self.assertIsNone(res.amplification()["BTC"]["impact_move"] or None)

    def test_bad_input(self):
        with libbook.load(copy.deepcopy(HAND)) as b:
            with self.assertRaises(ValueError):
                libcascade.cascade(b.engine, [{"BTC": -1.5}])
            with self.assertRaises(ValueError):
                libcascade.cascade(b.engine, [{"BTC": -0.1}], {"BTCUSDT": libcascade.Impact("sqrt", volume=0.0)})
            self.assertEqual(b.engine.mark("BTCUSDT"), 100.0)  # nothing changed
        with self.assertRaises(ValueError):
            libcascade.parse_impact(["BTCUSDT=cubic:1"])
        with self.assertRaises(ValueError):
            libcascade.parse_shock(["BTC"])

    def test_cover2_by_hand(self):
        # SOL -10 %: account 7 (5 USDC, 2 long at 100) -> 5 - 20 = -15; account 9 (14.99 USDC, 1
        # long at 110, mark 100) -> 14.99 - 20 = -5.01; account 10 (500 USDC) keeps 480.
        with libbook.load(support.load_book("liquidation.json")) as b:
            sset = libstress.ScenarioSet([libstress.Scenario("sol", {"SOL": -0.1})])
            c = libcascade.cover2(b.engine, sset)[0]
            self.assertEqual([t["id"] for t in c["top"]], [7, 9])
            self.assertAlmostEqual(c["cover1"], 15.0, places=9)
            self.assertAlmostEqual(c["cover2"], 20.01, places=9)
            self.assertAlmostEqual(c["emir"], 15.0, places=9)
            self.assertEqual(c["n_deficit"], 2)
            fs = libcascade.fund_survival(b.engine, ["SOL"], [0.05 ** 2], 200, 10.0, level=0.99, seed=7)
            self.assertEqual(fs["n"], 200)
            self.assertTrue(0.0 <= fs["survival"] <= 1.0)
            again = libcascade.fund_survival(b.engine, ["SOL"], [0.05 ** 2], 200, 10.0, level=0.99, seed=7)
            self.assertEqual(fs, again)


class TestCli(unittest.TestCase):
    def test_cascade_document(self):
        r = run_cli("cascade", LIQ, "--shock", "SOL=-0.1", "--impact", "SOL-PERP=linear:0.5", "--compact")
        self.assertEqual(r.returncode, 0, r.stderr)
        doc = json.loads(r.stdout)
        self.assertEqual(doc["format"], "librisk-cascade/1")
        self.assertEqual(doc["cover2"]["scenarios"][0]["cover2"], 20.01)
        self.assertEqual(doc["cover2"]["insurance_fund"], 1000.0)
        self.assertTrue(doc["cover2"]["covered"])
        self.assertEqual(doc["start_marks"]["SOL-PERP"], 100.0)
        for r0 in doc["rounds"]:
            for v in r0["marks"].values():  # on the tick 0.001
                self.assertEqual(round(v, 3), v)
        self.assertLess(doc["final_marks"]["SOL-PERP"], 90.0)  # impact beyond the exogenous -10 %
        self.assertGreater(doc["amplification"]["SOL"]["amplification"], 1.0)
        # progress on stderr: a line per round that liquidated, then the end; none with --quiet
        lines = r.stderr.splitlines()
        liquidating = [r0 for r0 in doc["rounds"] if r0["n_liquidated"]]
        self.assertEqual(len(lines), len(liquidating) + 1, r.stderr)
        self.assertIn("step 1 round 0: %d liquidated" % liquidating[0]["n_liquidated"], lines[0])
        self.assertTrue(lines[-1].startswith("cascade: ") and "done in" in lines[-1], lines[-1])
        q = run_cli("cascade", LIQ, "--shock", "SOL=-0.1", "--impact", "SOL-PERP=linear:0.5", "--compact", "--quiet")
        self.assertEqual((q.returncode, q.stdout, q.stderr), (0, r.stdout, ""))

    def test_report(self):
        with tempfile.TemporaryDirectory() as d:
            r = run_cli("cascade", LIQ, "--shock", "SOL=-0.1", "--impact", "SOL-PERP=linear:0.5", "--report", d)
            self.assertEqual(r.returncode, 0, r.stderr)
            with open(os.path.join(d, "index.html")) as f:
                page = f.read()
            self.assertIn("Cover 2", page)
            if HAVE_MPL:
                self.assertTrue(os.path.getsize(os.path.join(d, "price_path.png")) > 0)
                self.assertTrue(os.path.getsize(os.path.join(d, "volume.png")) > 0)
            else:
                self.assertIn("matplotlib not installed", page)

    def test_bad_input(self):
        for args in (["--shock", "SOL"], ["--shock", "SOL=-2"], ["--shock", "XYZ=-0.1"],
                     ["--shock", "SOL=-0.1", "--impact", "SOL-PERP=sqrt:1"], ["--shock", "SOL=-0.1", "--rounds", "0"]):
            r = run_cli("cascade", LIQ, *args)
            self.assertNotEqual(r.returncode, 0, args)
            self.assertTrue(r.stderr.strip(), args)


if __name__ == "__main__":
    unittest.main()
