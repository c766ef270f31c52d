# SPDX-License-Identifier: Apache-2.0
"""Engine snapshots from Python and the command line (docs/snapshot.md)."""

import json
import os
import shutil
import tempfile
import unittest

from support import book_path, run_cli, librisk  # noqa: F401  (support sets up the import path)
from librisk import book as _book


class TestEngineSnapshot(unittest.TestCase):
    def setUp(self):
        self.dir = tempfile.mkdtemp(prefix="librisk-snap-")

    def tearDown(self):
        shutil.rmtree(self.dir, ignore_errors=True)

    def _engine(self):
        e = librisk.Engine(margin_call_health=1.5)
        u = e.add_asset("USDT", 1.0, 6)
        b = e.add_asset("BTC", 30000.0, 8, 0.9, 0.95, 1.1, 1.05, [(5.0, 0.98), (20.0, 0.9)])
        i = e.add_instrument("BTCUSDT", b, u, [(50000, 0.004, 125), (250000, 0.005, 100), (1e9, 0.01, 50)],
                             lot_size=0.001, tick_size=0.1, mark=30000.0)
        e.set_asset_vol(b, 0.6, 1700000000)
        e.set_instrument_scaling(i, mode="tiers", reference_vol_annual=0.5, buffer=0.25)
        accs = []
        for k in range(20):
            a = e.new_account(100 + k, position_mode="hedge" if k % 3 == 0 else "one-way")
            a.set_balance(u, 500.0 + 37.5 * k)
            if k % 4 == 0:
                a.set_balance(b, 0.01 * (k + 1))
            if k % 5 == 0:
                a.set_leverage(i, 10)
            side = "long" if k % 2 == 0 else "short"
            qty = 0.001 * (k + 1) * 10
            if k % 3 == 0:
                a.open_position(i, qty, 29000.0 + 10 * k, side=side)
            else:
                a.open_position(i, qty if side == "long" else -qty, 29000.0 + 10 * k)
            accs.append(a)
        e.set_mark(i, 28500.0)
        return e, accs

    def test_round_trip_bytes_and_file(self):
        e, accs = self._engine()
        data = e.snapshot()
        self.assertEqual(data[:8], b"\x89LRSNAP\n")
        twin = librisk.Engine.from_snapshot(data)
        self.assertEqual(twin.account_count, 20)
        self.assertEqual([s.as_dict() for s in e.evaluate_all()], [s.as_dict() for s in twin.evaluate_all()])
        for a in accs:
            t = twin.find_account(a.id)
            self.assertEqual(a.evaluate(), t.evaluate())
            self.assertEqual(a.position_results(), t.position_results())
        self.assertEqual(twin.snapshot(), data)  # the restored engine writes the same bytes
        self.assertEqual([a.id for a in twin.accounts()], [a.id for a in accs])
        path = os.path.join(self.dir, "engine.snap")
        e.snapshot(path)
        self.assertEqual(os.listdir(self.dir), ["engine.snap"])  # no temporary left behind
        with open(path, "rb") as f:
            self.assertEqual(f.read(), data)
        from_file = librisk.Engine.from_snapshot(path)
        self.assertEqual(from_file.snapshot(), data)
        for in_place in (False, True):  # mapped in place, and read on two threads: the same engine
            other = librisk.Engine.from_snapshot(path, in_place=in_place, parallel=True)
            self.assertEqual(other.snapshot(), data)
            self.assertEqual([s.as_dict() for s in other.evaluate_all()], [s.as_dict() for s in e.evaluate_all()])
            self.assertEqual(other.find_account(accs[7].id).evaluate(), accs[7].evaluate())
        self.assertEqual(librisk.Engine.from_snapshot(data, parallel=True).snapshot(), data)
        self.assertEqual(from_file.instrument_info("BTCUSDT")["lot_size"], 0.001)
        self.assertEqual(from_file.asset_info("BTC")["value_tiers"], [(5.0, 0.98), (20.0, 0.9)])

    def test_restored_accounts_outlive_the_engine_object(self):
        e, _ = self._engine()
        twin = librisk.Engine.from_snapshot(e.snapshot())
        acc = twin.find_account(105)
        before = acc.evaluate()
        twin.close()
        self.assertEqual(acc.evaluate(), before)
        acc.close()

    def test_rate_models_pools_indices_and_size_scaling_round_trip(self):
        """Format 2 carries each asset's rate model, pool, indices and size scaling, and balances
        as scaled amounts: the restored engine prices borrowing, accrues and settles funding as
        the original."""
        from librisk import rates
        e, accs = self._engine()
        u, b = e.find_asset("USDT"), e.find_asset("BTC")
        rates.set_rate_model(e, u, "aave", reserve_factor=0.1, aave_optimal_usage=0.8, aave_slope1=0.04,
                             aave_slope2=0.75)
        rates.set_rate_pool(e, u, supply=1e6, borrow=7e5, supply_index=1.02, borrow_index=1.05,
                            updated_unix_s=1700000000)
        rates.set_rate_model(e, b, "flat", flat_borrow_hourly=0.00001)
        e.set_asset_size_scaling(b, imf=0.001, deposit_scale_start=1e6, venue_deposits=120.0)
        e.set_asset_size_scaling(u, venue_borrows=5e5)
        rates.accrue(e, 1700000000 + 86400 * 3)
        for a in accs[::3]:
            rates.pool_transfer(a, u, -100.0)
        rates.accrue(e, 1700000000 + 86400 * 9 + 1800)
        twin = librisk.Engine.from_snapshot(e.snapshot())
        for asset in (u, b):
            self.assertEqual(twin.asset_size_scaling(asset), e.asset_size_scaling(asset))
            self.assertEqual(rates.rate_model(twin, asset), rates.rate_model(e, asset))
            self.assertEqual(rates.rate_pool(twin, asset), rates.rate_pool(e, asset))
            self.assertEqual(rates.rates(twin, asset), rates.rates(e, asset))
        self.assertGreater(rates.rate_pool(twin, u)["borrow_index"], 1.05)
        for a in accs:
            t = twin.find_account(a.id)
            self.assertEqual(rates.scaled_balance(t, u), rates.scaled_balance(a, u))
            self.assertEqual(rates.rate_costs(t, 86400 * 30), rates.rate_costs(a, 86400 * 30))
            self.assertEqual(t.evaluate(), a.evaluate())
        later = 1700000000 + 86400 * 40
        rates.accrue(e, later)
        rates.accrue(twin, later)
        i = e.find_instrument("BTCUSDT")
        self.assertEqual(rates.settle_funding(twin, i, 0.0003), rates.settle_funding(e, i, 0.0003))
        self.assertEqual([s.as_dict() for s in e.evaluate_all()], [s.as_dict() for s in twin.evaluate_all()])
        self.assertEqual(twin.snapshot(), e.snapshot())

    def test_funding_state_round_trips(self):
        """Format 3 carries cumulative funding (indices, clock, each position's last index) and
        Drift's unrealised-PnL weights: pending funding, summaries and settlement agree."""
        from librisk import rates
        e, accs = self._engine()
        i = e.find_instrument("BTCUSDT")
        u = e.find_asset("USDT")
        rates.set_upnl_weight(e, i, 0.5, 0.9, 0.001)
        rates.accrue_funding(e, i, 0.0001, time_unix_s=3600, rate_short=0.00005)
        for a in accs[::4]:  # a fill settles the pending funding and moves the position's last index
            p = a.positions[0]
            p.adjust(0.001 if p.qty > 0 else -0.001, 28500.0)
        rates.accrue_funding(e, i, -0.0002, time_unix_s=7200, rate_short=-0.0003)
        data = e.snapshot()
        twin = librisk.Engine.from_snapshot(data)
        self.assertEqual(twin.snapshot(), data)
        self.assertEqual(rates.funding_index(twin, i), rates.funding_index(e, i))
        self.assertEqual(rates.instrument_upnl_weight(twin, i), rates.instrument_upnl_weight(e, i))
        pending = [rates.funding_pending(a, u) for a in accs]
        self.assertTrue(any(x > 0 for x in pending) and any(x < 0 for x in pending))
        for a, x in zip(accs, pending):
            t = twin.find_account(a.id)
            self.assertEqual(rates.funding_pending(t, u), x)
            self.assertEqual(t.evaluate(), a.evaluate())
            self.assertEqual(t.position_results(), a.position_results())
        for a in accs:
            self.assertEqual(rates.settle_account_funding(twin.find_account(a.id)), rates.settle_account_funding(a))
        self.assertEqual(twin.snapshot(), e.snapshot())

    def test_bad_snapshots_are_refused(self):
        e, _ = self._engine()
        data = bytearray(e.snapshot())
        with self.assertRaises(librisk.CorruptError):
            librisk.Engine.from_snapshot(bytes(data[:-1]))
        data[200] ^= 0x10
        with self.assertRaises(librisk.CorruptError) as cm:
            librisk.Engine.from_snapshot(bytes(data))
        self.assertIn("checksum", cm.exception.message)
        with self.assertRaises(librisk.CorruptError) as cm:
            librisk.Engine.from_snapshot(bytes(data), parallel=True)
        self.assertIn("checksum", cm.exception.message)
        with self.assertRaises(librisk.FileError):
            librisk.Engine.from_snapshot(os.path.join(self.dir, "missing.snap"))
        with self.assertRaises(librisk.FileError):
            e.snapshot(os.path.join(self.dir, "missing", "x.snap"))


class TestSnapshotCli(unittest.TestCase):
    def setUp(self):
        self.dir = tempfile.mkdtemp(prefix="librisk-snap-")

    def tearDown(self):
        shutil.rmtree(self.dir, ignore_errors=True)

    def test_snapshot_then_every_command_reads_it(self):
        for name in ("demo.json", "liquidation.json", "binance_w1_w4.json", "options_deribit.json"):
            snap = os.path.join(self.dir, name + ".snap")
            r = run_cli("snapshot", book_path(name), "-o", snap)
            self.assertEqual(r.returncode, 0, r.stderr)
            self.assertIn("bytes", r.stdout)
            for cmd in ("evaluate", "liquidate"):
                a = run_cli(cmd, book_path(name))
                b = run_cli(cmd, snap)
                self.assertEqual(b.returncode, 0, b.stderr)
                self.assertEqual(json.loads(a.stdout), json.loads(b.stdout), (name, cmd))
            rep = run_cli("report", snap)
            self.assertEqual(rep.returncode, 0, rep.stderr)
            # a snapshot of a snapshot is the same file
            again = os.path.join(self.dir, name + ".2.snap")
            self.assertEqual(run_cli("snapshot", snap, "-o", again).returncode, 0)
            with open(snap, "rb") as f1, open(again, "rb") as f2:
                self.assertEqual(f1.read(), f2.read())

    def test_corrupt_snapshot_is_bad_input(self):
        snap = os.path.join(self.dir, "demo.snap")
        self.assertEqual(run_cli("snapshot", book_path("demo.json"), "-o", snap).returncode, 0)
        with open(snap, "rb") as f:
            data = bytearray(f.read())
        data[-3] ^= 1
        with open(snap, "wb") as f:
            f.write(bytes(data))
        r = run_cli("evaluate", snap)
        self.assertEqual(r.returncode, 2)
        self.assertEqual(r.stdout, "")
        self.assertIn("checksum", r.stderr)
        self.assertEqual(len(r.stderr.strip().splitlines()), 1)

    def test_snapshot_needs_an_output(self):
        r = run_cli("snapshot", book_path("demo.json"))
        self.assertEqual(r.returncode, 2)

    def test_load_path_tells_books_from_snapshots(self):
        snap = os.path.join(self.dir, "demo.snap")
        self.assertEqual(run_cli("snapshot", book_path("demo.json"), "-o", snap).returncode, 0)
        from librisk import snapshot as _snapshot
        self.assertTrue(_snapshot.is_snapshot(snap))
        self.assertFalse(_snapshot.is_snapshot(book_path("demo.json")))
        with _snapshot.load_path(snap) as loaded, _book.load(_book.read(book_path("demo.json"))) as original:
            self.assertEqual(_book.evaluate(loaded), _book.evaluate(original))
            self.assertEqual([a["symbol"] for a in loaded.spec["assets"]],
                             [a["symbol"] for a in original.spec["assets"]])


if __name__ == "__main__":
    unittest.main()
