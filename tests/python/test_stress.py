# SPDX-License-Identifier: Apache-2.0
"""Scenario revaluation and stress tests through the bindings (librisk.stress), the scenario
sets (user JSON, hypothetical, historical on the market data) and the `stress` subcommand."""

import array
import copy
import json
import os
import struct
import sys
import unittest

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import support  # noqa: E402
from support import librisk, run_cli, TempBook  # noqa: E402
from librisk import book as libbook, stress as libstress  # noqa: E402

DEMO = support.book_path("demo.json")


def bits(x):
    return struct.pack("<d", x)


def load_demo(accounts=None):
    doc = support.load_book("demo.json")
    if accounts is not None:
        doc["accounts"] = [a for i, a in enumerate(doc["accounts"]) if i in accounts]
    return libbook.load(doc)


MOVES = [{"BTC": 0.0, "ETH": 0.0}, {"BTC": -0.3, "ETH": -0.35}, {"BTC": 0.25}, {"USDC": -0.08},
         {"BTC": -0.55, "ETH": 0.1, "USDC": 0.01}]


class TestScenarioPnl(unittest.TestCase):
    def test_bit_identical_to_moving_prices(self):
        """P&L and summaries equal evaluation after set_price/set_mark of p x (1 + m), bit for bit."""
        with load_demo() as b:
            eng = b.engine
            scen = [libstress.Scenario("s%d" % i, m) for i, m in enumerate(MOVES)]
            got = [acc.scenario_pnl(scen, summaries=True) for acc in b.accounts]
            base = {s.id: s for s in eng.evaluate_all()}
            prices = {a["symbol"]: eng.price(a["symbol"]) for a in b.spec["assets"]}
            marks = {i["symbol"]: eng.mark(i["symbol"]) for i in b.spec["instruments"]}
            under = {i["symbol"]: i["underlying"] for i in b.spec["instruments"]}
            for s, m in enumerate(MOVES):
                for sym, p in prices.items():
                    eng.set_price(sym, p * (1.0 + m.get(sym, 0.0)))
                for sym, mk in marks.items():
                    eng.set_mark(sym, mk * (1.0 + m.get(under[sym], 0.0)))
                now = {x.id: x for x in eng.evaluate_all()}
                for acc, (pnl, sums) in zip(b.accounts, got):
                    self.assertEqual(bits(pnl[s]), bits(now[acc.id].equity - base[acc.id].equity))
                    self.assertEqual(sums[s], now[acc.id])
                for sym, p in prices.items():
                    eng.set_price(sym, p)
                for sym, mk in marks.items():
                    eng.set_mark(sym, mk)
            for pnl, _ in got:
                self.assertEqual(bits(pnl[0]), bits(0.0))  # the zero scenario
            self.assertTrue(any(pnl[1] < 0 for pnl, _ in got))

    def test_into_a_float64_buffer_and_weights(self):
        with load_demo() as b:
            acc = b.accounts[0]
            scen = [{"name": "a", "moves": {"BTC": -0.1}}, {"name": "b", "moves": {"BTC": -0.1}, "weight": 0.25}]
            out = array.array("d", [7.0] * 3)
            self.assertIs(acc.scenario_pnl(scen, out=out), out)
            self.assertEqual(out[1], 0.25 * out[0])
            self.assertEqual(out[2], 7.0)
            with self.assertRaises(librisk.BufferTooSmallError):
                acc.scenario_pnl(scen, out=array.array("d", [0.0]))

    def test_bad_scenarios_raise_and_change_nothing(self):
        with load_demo() as b:
            acc = b.accounts[0]
            before = acc.evaluate()
            with self.assertRaises(librisk.InvalidError) as cm:
                acc.scenario_pnl([{"name": "x", "moves": {"BTC": -1.0}}])
            self.assertIn("scenario 0", str(cm.exception))
            with self.assertRaises(librisk.InvalidError):
                acc.scenario_pnl([{"name": "x", "moves": {"USDT": 0.1}}])  # the valuation asset
            with self.assertRaises(libstress.ScenarioError):
                acc.scenario_pnl([{"name": "x", "moves": {"NOPE": 0.1}}])
            self.assertEqual(acc.evaluate(), before)


class TestStress(unittest.TestCase):
    def scenarios(self):
        return libstress.ScenarioSet([libstress.Scenario("s%d" % i, m) for i, m in enumerate(MOVES)])

    def test_engine_equals_accounts_any_threads(self):
        with load_demo() as b:
            sset = self.scenarios()
            one = b.engine.stress(sset, threads=1)
            two = b.engine.stress(sset, threads=2)
            self.assertEqual(one.book, two.book)
            self.assertEqual(one.ids, [a["id"] for a in b.spec["accounts"]])
            for k, acc in enumerate(b.accounts):
                pnl, sums = acc.scenario_pnl(sset, summaries=True)
                self.assertEqual([bits(x) for x in one.pnl[k]], [bits(x) for x in pnl])
                self.assertEqual(one.equity[k], [s.equity for s in sums])
                self.assertEqual(one.state[k], [s.state for s in sums])
            for s in range(len(sset)):
                self.assertEqual(one.book[s]["n_bankrupt"], sum(st[s] == "bankrupt" for st in one.state))
                self.assertAlmostEqual(one.book[s]["pnl"], sum(p[s] for p in one.pnl), places=5)

    def test_shards_merge_to_one_engine(self):
        sset = self.scenarios()
        with load_demo() as whole:
            want = whole.engine.stress(sset, per_account=False).book
            want_x = libstress.exposures(whole.engine, 3)
        for k in (2, 3):
            merged = merged_x = None
            for shard in range(k):
                with load_demo([i for i in range(6) if i % k == shard]) as part:
                    r = part.engine.stress(sset, per_account=False)
                    x = libstress.exposures(part.engine, 3, raw=True)
                    if merged is None:
                        merged, merged_x = r, x
                    else:
                        merged.merge(r)
                        libstress.merge_exposures(merged_x, x, 3)
                    eng = part.engine
                    got_x = [libstress._exposure_dict(eng, merged_x[u]) for u in range(len(merged_x))
                             if merged_x[u].n_accounts]
            self.assertEqual(merged.book, want)
            self.assertEqual(got_x, want_x)

    def test_exposures(self):
        with load_demo() as b:
            ex = {x["asset"]: x for x in b.engine.exposures(top_k=2)}
            self.assertEqual(set(ex), {"BTC", "ETH"})
            for x in ex.values():
                self.assertAlmostEqual(x["net"], x["long"] - x["short"], places=6)
                self.assertLessEqual(len(x["top"]), 2)
                self.assertTrue(0.0 < x["top_share"] <= 1.0)


class TestScenarioSets(unittest.TestCase):
    def test_load_scenarios(self):
        s = libstress.load_scenarios({"format": "librisk-scenarios/1", "vol_mode": "absolute",
                                      "vol_term_power_short": 0.3,
                                      "scenarios": [{"name": "a", "moves": {"BTC": -0.2}, "vol": {"BTC": 0.1}},
                                                    {"moves": {"ETH": 0.1}, "weight": 0.5}]})
        self.assertEqual(len(s), 2)
        self.assertEqual(s.vol_mode, "absolute")
        self.assertEqual(s.scenarios[1].weight, 0.5)
        for bad in ({"scenarios": []}, {"scenarios": [{"moves": {"BTC": "x"}}]}, {"format": "other/1"},
                    {"scenarios": [{"moves": {}}], "extra": 1}, {"scenarios": [{"moves": {}, "vol_mode": 1}]},
                    {"scenarios": [{"moves": {}}], "vol_mode": "sideways"}):
            with self.assertRaises(libstress.ScenarioError):
                libstress.load_scenarios(bad)

    def test_hypothetical(self):
        with load_demo() as b:
            s = libstress.hypothetical(b.engine, ["crypto=-0.3", "asset=BTC:-0.5", "depeg=USDC:0.9", "vol=1.5"])
            self.assertEqual(s.scenarios[0].moves, {"BTC": -0.3, "ETH": -0.3})  # not USDT, not USDC
            self.assertEqual(s.scenarios[1].moves, {"BTC": -0.5})
            usdc = b.engine.price("USDC")
            self.assertEqual(s.scenarios[2].moves, {"USDC": 0.9 / usdc - 1.0})
            self.assertEqual(s.scenarios[3].vol, {"BTC": 0.5, "ETH": 0.5})
            for bad in ("crypto", "asset=NOPE:-0.1", "vol=x", "melt=1"):
                with self.assertRaises(libstress.ScenarioError):
                    libstress.hypothetical(b.engine, [bad])

    def test_historical_2020_03_black_thursday(self):
        """The worst 1-day BTC move of March 2020 on Binance daily closes is 2020-03-11 -> 03-12,
        7,934.52 -> 4,800.00 (-39.5 %; the data README: largest daily |log r| 0.503 on 2020-03-12);
        ETH moves over the same day by its own closes."""
        s = libstress.historical("2020-03")
        self.assertEqual([x.info["horizon_days"] for x in s], [1, 3, 10])
        one = s.scenarios[0]
        self.assertEqual((one.info["from"], one.info["to"]), ("2020-03-11 00:00", "2020-03-12 00:00"))
        self.assertEqual(one.moves["BTC"], 4800.0 / 7934.52 - 1.0)
        self.assertAlmostEqual(abs(__import__("math").log(1.0 + one.moves["BTC"])), 0.503, places=3)
        self.assertLess(one.moves["ETH"], -0.3)
        for x in s:
            self.assertLess(x.moves["BTC"], 0.0)

    def test_historical_hourly_episodes(self):
        for ep in ("2021-05", "2022-05", "2022-11"):
            s = libstress.historical(ep)
            self.assertEqual(len(s), 3)
            for x in s:
                self.assertLess(x.moves["BTC"], -0.05)
                self.assertGreaterEqual(len(x.moves), 7)  # the hourly set: BTC, ETH, SOL, BNB, XRP, DOGE, AVAX, ...
        ftx = libstress.historical("2022-11").scenarios[0]
        self.assertLess(ftx.moves["FTT"], -0.5)
        with self.assertRaises(libstress.ScenarioError):
            libstress.historical("1929-10")


class TestStressCli(unittest.TestCase):
    def test_hypothetical_and_historical(self):
        r = run_cli("stress", DEMO, "--hypothetical", "crypto=-0.3", "--historical", "2022-11", "--threads", "2")
        self.assertEqual(r.returncode, 0, r.stderr)
        doc = json.loads(r.stdout)
        self.assertEqual(doc["format"], "librisk-stress/1")
        self.assertEqual(len(doc["scenarios"]), 4)
        self.assertEqual(len(doc["accounts"]), 6)
        crash = doc["scenarios"][0]
        self.assertLess(crash["pnl"], 0.0)
        self.assertEqual(crash["loss"], round(crash["loss"], 6))  # on the USDT grid
        self.assertEqual(crash["n_bankrupt"], len(crash["new_bankrupt"]) + sum(
            1 for a in doc["accounts"] if a["state"][0] == "bankrupt" and a["id"] not in crash["new_bankrupt"]))
        self.assertIn("BTC", {x["asset"] for x in doc["exposures"]})
        self.assertEqual(r.stderr, "")  # a small run: no progress

    def test_progress_of_long_runs(self):
        """From PROGRESS_MIN_WORK accounts x scenarios on: the stress run, the document and the end
        on stderr; none with --quiet; the same document either way."""
        import argparse
        import contextlib
        import io
        args = argparse.Namespace(scenarios=None, hypothetical=["crypto=-0.3", "crypto=0.1"], historical=None,
                                  data=None, top_k=5, no_accounts=False, threads=1, var=False, report=None,
                                  quiet=False, level=0.99, es_level=0.975)
        docs, errs = [], []
        old = libstress.PROGRESS_MIN_WORK
        libstress.PROGRESS_MIN_WORK = 12  # 6 accounts x 2 scenarios
        try:
            for quiet in (False, True):
                args.quiet = quiet
                err = io.StringIO()
                with libbook.load(libbook.read(DEMO)) as b, contextlib.redirect_stderr(err):
                    docs.append(libstress.stress_document(b, args))
                errs.append(err.getvalue())
        finally:
            libstress.PROGRESS_MIN_WORK = old
        lines = errs[0].splitlines()
        self.assertEqual(len(lines), 3, errs[0])
        self.assertEqual(lines[0].split(" (")[0], "stress: 1/2 6 accounts x 2 scenarios")
        self.assertEqual(lines[1].split(" (")[0], "stress: 2/2 document")
        self.assertIn("done in", lines[2])
        self.assertEqual(errs[1], "")
        self.assertEqual(docs[0], docs[1])

    def test_user_file(self):
        sc = {"format": "librisk-scenarios/1", "scenarios": [{"name": "btc-20", "moves": {"BTC": -0.2}}]}
        with TempBook(sc) as path:
            r = run_cli("stress", DEMO, "--scenarios", path, "--no-accounts", "--compact")
        self.assertEqual(r.returncode, 0, r.stderr)
        doc = json.loads(r.stdout)
        self.assertNotIn("accounts", doc)
        self.assertEqual(doc["scenarios"][0]["name"], "btc-20")

    def test_bad_input(self):
        for args in (("--hypothetical", "asset=NOPE:-0.1"), ("--hypothetical", "crypto=-1"),
                     ("--historical", "1987-10"), (), ("--hypothetical", "crypto=-0.1", "--top-k", "99")):
            r = run_cli("stress", DEMO, *args)
            self.assertEqual(r.returncode, 2, (args, r.stdout, r.stderr))
            self.assertEqual(r.stdout, "")
            self.assertEqual(len(r.stderr.strip().splitlines()), 1, r.stderr)


if __name__ == "__main__":
    unittest.main()
