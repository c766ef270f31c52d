# SPDX-License-Identifier: Apache-2.0
"""The tick path through the bindings (librisk.tick): the changes an apply reports are the ones a
full evaluation sees, with the same summaries; fills are noticed; bad input raises."""

import os
import sys
import unittest

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from support import librisk  # noqa: E402
from librisk.tick import Tick  # noqa: E402

TIERS = [(50000, 0.005, 100), (250000, 0.01, 50), (None, 0.025, 20)]


def book():
    eng = librisk.Engine()
    eng.add_asset("USDT", 1, decimals=6)
    eng.add_asset("BTC", 50000)
    eng.add_instrument("BTCUSDT", "BTC", "USDT", TIERS, lot_size=0.001, tick_size=0.1, mark=50000)
    accounts = []
    for k in range(40):
        acc = librisk.Account(eng, k + 1)
        acc.basket.set_balance("USDT", 500 + 100 * k)  # 1 BTC long: MM 250, liquidated 1-5 % down
        acc.open_position("BTCUSDT", 1.0, 50000)
        accounts.append(acc)
    return eng, accounts


class TickTest(unittest.TestCase):
    def test_changes_match_a_full_evaluation(self):
        eng, accounts = book()
        tick = Tick(eng)
        before = {s.id: s.state for s in eng.evaluate_all()}
        seen = 0
        for mark in (49800.0, 49000.0, 47500.0, 46000.0, 49900.0, 50000.0):
            changes = tick.apply(marks={"BTCUSDT": mark})
            now = {s.id: s for s in eng.evaluate_all()}
            want = {i for i, s in now.items() if s.state != before[i]}
            self.assertEqual({c.account_id for c in changes}, want)
            for c in changes:
                self.assertEqual(c.old_state, before[c.account_id])
                self.assertEqual(c.new_state, now[c.account_id].state)
                self.assertEqual(c.summary, now[c.account_id])
            seen += len(changes)
            before = {i: s.state for i, s in now.items()}
        self.assertGreater(seen, 10)
        stats = tick.stats()
        self.assertEqual(stats["accounts"], 40)
        self.assertEqual(tick.state(accounts[0]), before[1])
        # a balance change is noticed: a deposit makes the account healthy at the next apply
        tick.apply(marks={"BTCUSDT": 45000.0})
        self.assertNotEqual(tick.state(accounts[0]), "healthy")
        accounts[0].basket.add_balance("USDT", 100000)
        changes = tick.apply()
        self.assertEqual(tick.state(accounts[0]), "healthy")
        self.assertIn(1, {c.account_id for c in changes})
        self.assertEqual(tick.state(accounts[0]), eng.evaluate_all()[0].state)
        self.assertEqual(tick.rebuild(), [])
        tick.close()
        tick.close()

    def test_bad_input(self):
        eng, _ = book()
        tick = Tick(eng)
        with self.assertRaises(librisk.StateError):
            Tick(eng)
        with self.assertRaises(librisk.InvalidError):
            tick.apply(marks={"BTCUSDT": float("nan")})
        with self.assertRaises(librisk.NotFoundError):
            tick.apply(marks={"BTCUSDT": 49000.0}, prices={"NOPE": 1.0})
        tick.close()
        with self.assertRaises(librisk.NullError):
            tick.apply(marks={"BTCUSDT": 49000.0})


if __name__ == "__main__":
    unittest.main()
