# SPDX-License-Identifier: Apache-2.0
"""Issue 12 section 4: a book stressed in shards on a Dask cluster (librisk.dask, a LocalCluster
of two single-thread workers) merges to the one-engine result bit for bit, for 1, 2 and 3
shards: every book sum (exact quanta), count, per-account result, liquidation set, exposure and
the book VaR of the merged P&L vector. Runs under Debian's python (python3-distributed) in
`make check-python`; skipped elsewhere."""

import copy
import json
import logging
import os
import random
import shutil
import struct
import sys
import tempfile
import unittest

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import support  # noqa: E402
from support import run_cli, TempBook  # noqa: E402
from librisk import book as libbook, dask as libdask, stress as libstress, var as libvar  # noqa: E402

HAVE_DISTRIBUTED = libdask.available()


def bits(x):
    return struct.pack("<d", x)


def random_book(n=61, seed=12):
    """The demo registry with n random accounts (fixed seed): cross and isolated, one-way,
    linear and inverse perpetuals and a dated future, leverage up to 40x, so that the crash
    scenarios make some accounts liquidatable and some bankrupt."""
    doc = support.load_book("demo.json")
    rng = random.Random(seed)
    marks = {i["symbol"]: (i["mark"], i["lot_size"], i["tick_size"]) for i in doc["instruments"]}
    accounts = []
    for k in range(n):
        positions = []
        notional = 0.0
        isolated = rng.random() < 0.2
        for sym in rng.sample(["BTCUSDT", "ETHUSDT", "ETHUSDT_260327", "BTCUSD"], rng.randint(1, 3)):
            mark, lot, tick = marks[sym]
            lots = rng.randint(1, 400) if sym != "BTCUSD" else rng.randint(1, 300)
            qty = round(lots * lot, 3) * rng.choice((1, -1))
            entry = round(mark * (1.0 + rng.uniform(-0.04, 0.04)) / tick) * tick
            entry = round(entry, 2)
            p = {"instrument": sym, "qty": qty, "entry": entry}
            size = abs(qty) * (100.0 if sym == "BTCUSD" else mark)
            notional += size
            if isolated and sym != "BTCUSD":
                p["margin_mode"] = "isolated"
                p["isolated_margin"] = round(size / rng.uniform(5, 40), 2)
            positions.append(p)
        balances = {"USDT": round(notional / rng.uniform(3, 40), 2)}
        if rng.random() < 0.3:
            balances["BTC"] = round(rng.uniform(0.01, 1.0), 8)
        if rng.random() < 0.2:
            balances["USDC"] = round(rng.uniform(100, 20000), 2)
        accounts.append({"id": 5000 + 7 * k, "margin_mode": "cross", "position_mode": "one-way",
                         "balances": balances, "positions": positions})
    doc["accounts"] = doc["accounts"] + accounts  # the demo's six, then the random ones
    return doc


MOVES = [{"BTC": 0.0}, {"BTC": -0.3, "ETH": -0.35}, {"BTC": 0.25, "ETH": 0.2}, {"USDC": -0.08},
         {"BTC": -0.55, "ETH": 0.1, "USDC": 0.01}, {"BTC": -0.12, "ETH": -0.18}, {"ETH": -0.6},
         {"BTC": 0.4}]


def scenario_set():
    rng = random.Random(7)
    rows = [libstress.Scenario("fixed %d" % i, m) for i, m in enumerate(MOVES)]
    for i in range(24):  # random joint moves, some with weights below 1
        rows.append(libstress.Scenario("random %d" % i, {"BTC": rng.uniform(-0.5, 0.3), "ETH": rng.uniform(-0.5, 0.3)},
                                       weight=rng.choice((1.0, 1.0, 0.5, 0.25))))
    return libstress.ScenarioSet(rows)


def exposure_rows(arr):
    return [(x.asset, x.decimals, x.n_top, x.n_accounts, bits(x.long_notional), bits(x.short_notional),
             bits(x.net_notional), bits(x.top_share), x.long_sum.hi, x.long_sum.lo, x.short_sum.hi, x.short_sum.lo,
             tuple(x.top_ids[:x.n_top]), tuple(bits(g) for g in x.top_gross[:x.n_top])) for x in arr]


def stress_rows(arr):
    return [(r.decimals, r.n_accounts, r.n_liquidatable, r.n_bankrupt, r.n_new_liquidatable, r.n_new_bankrupt,
             bits(r.pnl), bits(r.loss), bits(r.deficit), r.pnl_sum.hi, r.pnl_sum.lo, r.loss_sum.hi, r.loss_sum.lo,
             r.deficit_sum.hi, r.deficit_sum.lo) for r in arr]


@unittest.skipUnless(HAVE_DISTRIBUTED, "distributed not installed")
class TestDaskShards(unittest.TestCase):
    @classmethod
    def setUpClass(cls):
        cls.client = libdask.local_client(2)
        cls.doc = random_book()
        cls.sset = scenario_set()
        with libbook.load(cls.doc) as b:
            cls.one = libstress.stress(b.engine, cls.sset, threads=1)
            cls.one_x = libstress.exposures(b.engine, 4, raw=True)
            cls.one_base = [a.state for a in b.engine.evaluate_all()]

    @classmethod
    def tearDownClass(cls):
        cluster = cls.client.cluster
        cls.client.close()
        cluster.close()

    def assert_equals_one_engine(self, merged, ordered=True):
        one = self.one
        self.assertEqual(stress_rows(merged.stress_array()), stress_rows(one.raw))
        self.assertEqual(exposure_rows(merged.exposures_array()), exposure_rows(self.one_x))
        if ordered:
            self.assertEqual(merged.ids, one.ids)
            self.assertEqual([[bits(x) for x in row] for row in merged.pnl], [[bits(x) for x in row] for row in one.pnl])
            self.assertEqual([[bits(x) for x in row] for row in merged.equity],
                             [[bits(x) for x in row] for row in one.equity])
            self.assertEqual(merged.health_factor, one.health_factor)
            self.assertEqual(merged.state, one.state)
            self.assertEqual(merged.base_state, self.one_base)
        else:  # each account's results, whatever the order
            got = dict(zip(merged.ids, zip(merged.pnl, merged.state)))
            want = dict(zip(one.ids, zip(one.pnl, one.state)))
            self.assertEqual(got, want)
        # the liquidation sets: per scenario, the accounts liquidatable (bankrupt) after it
        for s in range(len(self.sset)):
            for st in ("liquidatable", "bankrupt"):
                got = sorted(i for i, row in zip(merged.ids, merged.state) if row[s] == st)
                want = sorted(i for i, row in zip(one.ids, one.state) if row[s] == st)
                self.assertEqual(got, want)
                self.assertEqual(len(want), one.book[s]["n_" + st])
        # the book VaR: the merged P&L vector is the one-engine vector, so its VaR and ES too
        self.assertEqual([bits(x) for x in merged.book_pnl()], [bits(b["pnl"]) for b in one.book])
        got_v = libvar.historical(merged.book_pnl(), 0.9, 0.9)
        want_v = libvar.historical([b["pnl"] for b in one.book], 0.9, 0.9)
        self.assertEqual((bits(got_v.var), bits(got_v.es)), (bits(want_v.var), bits(want_v.es)))

    def test_the_book_is_stressed_hard_enough(self):
        """The test means something: some scenarios liquidate and bankrupt accounts, lose money and
        leave a deficit; book sums are not all on whole units."""
        book = self.one.book
        self.assertGreater(len(self.one.ids), 60)
        self.assertTrue(any(b["n_liquidatable"] > 0 for b in book))
        self.assertTrue(any(b["n_bankrupt"] > 0 for b in book))
        self.assertTrue(any(b["deficit"] > 0 for b in book))
        self.assertTrue(any(b["pnl"] != round(b["pnl"]) for b in book))

    def test_contiguous_shards_1_2_3(self):
        for k in (1, 2, 3):
            with self.subTest(shards=k):
                shards = libdask.split_book(self.doc, k)
                self.assertEqual(sum(len(s["accounts"]) for s in shards), len(self.doc["accounts"]))
                merged = libdask.stress_shards(self.client, shards, self.sset, top_k=4)
                self.assertEqual(merged.shards, k)
                self.assert_equals_one_engine(merged)

    def test_round_robin_shards_and_threads(self):
        """Any split: accounts dealt round-robin, each shard stressed with 2 threads."""
        for k in (2, 3):
            with self.subTest(shards=k):
                shards = []
                for i in range(k):
                    s = {key: v for key, v in self.doc.items() if key != "accounts"}
                    s["accounts"] = self.doc["accounts"][i::k]
                    shards.append(s)
                merged = libdask.stress_shards(self.client, shards, self.sset, top_k=4, threads=2)
                self.assert_equals_one_engine(merged, ordered=False)

    def test_snapshot_files_as_shards(self):
        """Shards given as snapshot files the workers read (what an exchange's engines write)."""
        tmp = tempfile.mkdtemp(prefix="librisk-dask-")
        try:
            paths = []
            for i, shard in enumerate(libdask.split_book(self.doc, 3)):
                with libbook.load(shard) as b:
                    path = os.path.join(tmp, "shard%d.snap" % i)
                    b.engine.snapshot(path)
                    paths.append(path)
            merged = libdask.stress_shards(self.client, paths, self.sset, top_k=4)
            self.assert_equals_one_engine(merged)
        finally:
            shutil.rmtree(tmp)

    def test_bad_shard_names_itself(self):
        shards = libdask.split_book(copy.deepcopy(self.doc), 2)
        shards[1]["accounts"][0]["positions"][0]["qty"] = 0.0005  # not a whole number of lots
        logging.getLogger("distributed.worker").setLevel(logging.CRITICAL)  # the failure is expected
        with self.assertRaises(libdask.ShardError) as cm:
            libdask.stress_shards(self.client, shards, self.sset)
        self.assertIn("shard 1", str(cm.exception))

    def test_split_book(self):
        shards = libdask.split_book({"format": "librisk-book/1", "accounts": list(range(7))}, 3)
        self.assertEqual([s["accounts"] for s in shards], [[0, 1], [2, 3], [4, 5, 6]])
        self.assertEqual(libdask.split_book({"accounts": [1]}, 2)[0]["accounts"], [])
        for bad in (0, -1, 1.5, True):
            with self.assertRaises(libdask.ShardError):
                libdask.split_book({"accounts": []}, bad)


@unittest.skipUnless(HAVE_DISTRIBUTED, "distributed not installed")
class TestDaskCli(unittest.TestCase):
    def test_shards_print_the_one_engine_document(self):
        """`stress BOOK --shards 3` (a LocalCluster) prints the one-engine document byte for byte."""
        with TempBook(random_book(31, seed=3)) as path:
            args = ("stress", path, "--hypothetical", "crypto=-0.3", "--hypothetical", "asset=ETH:-0.5",
                    "--hypothetical", "depeg=USDC:0.9", "--hypothetical", "crypto=0.2")
            one = run_cli(*args, "--var", "--compact")
            three = run_cli(*args, "--var", "--compact", "--shards", "3", "--quiet")
        self.assertEqual(one.returncode, 0, one.stderr)
        self.assertEqual(three.returncode, 0, three.stderr)
        self.assertEqual(three.stdout, one.stdout)
        self.assertEqual(three.stderr, "")
        doc = json.loads(one.stdout)
        self.assertIn("book_var", doc)
        self.assertTrue(any(s["new_liquidatable"] or s["new_bankrupt"] for s in doc["scenarios"]))

    def test_bad_shard_options(self):
        for extra in (("--shards", "-1"), ("--scheduler", "tcp://127.0.0.1:1")):
            r = run_cli("stress", support.book_path("demo.json"), "--hypothetical", "crypto=-0.1", *extra)
            self.assertEqual(r.returncode, 2, (extra, r.stderr))
            self.assertEqual(len(r.stderr.strip().splitlines()), 1, r.stderr)


if __name__ == "__main__":
    unittest.main()
