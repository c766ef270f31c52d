# SPDX-License-Identifier: Apache-2.0
"""How the Python objects show themselves (issue 14): __repr__ of Engine, Account, Basket,
Position and Plan, and results as columns or a pandas DataFrame. Under Debian's python (with
python3-pandas, which `make check` installs) the DataFrame is checked; without pandas,
to_pandas must say what to install."""

import math
import unittest

import support  # noqa: F401  (puts the bindings on sys.path)
import librisk
from librisk import liquidation

try:
    import pandas
except ImportError:
    pandas = None


def small_book():
    eng = librisk.Engine()
    eng.add_asset("USDT", 1, decimals=6)
    eng.add_asset("BTC", 50000)
    eng.add_instrument("BTCUSDT", "BTC", "USDT", [(50000, 0.004, 125), (250000, 0.005, 100)],
                       lot_size=0.001, tick_size=0.1, mark=50000)
    a = librisk.Account(eng, 1)
    a.basket.set_balance("USDT", 10000)
    a.open_position("BTCUSDT", 0.5, 48000)
    b = librisk.Account(eng, 2)
    b.basket.set_balance("USDT", 100)
    b.open_position("BTCUSDT", 0.5, 52000)  # equity 100 - 1,000: bankrupt
    return eng, a, b


class TestRepr(unittest.TestCase):
    def test_handles_say_what_they_hold(self):
        eng, a, b = small_book()
        with eng:
            self.assertEqual(repr(eng), "<Engine 2 assets, 1 instruments, 2 accounts>")
            self.assertEqual(repr(a), "<Account 1 cross one-way healthy positions=1 equity=11000.0 "
                                      "health_factor=110.0>")
            self.assertEqual(repr(a.basket), "<Basket USDT=10000.0>")
            self.assertEqual(repr(a.positions[0]),
                             "<Position BTCUSDT both cross qty=0.5 entry=48000.0>")
            p = liquidation.plan(b)
            self.assertEqual(repr(p), "<Plan account=2 close_out health -9.0 -> 0.0 (1 reduce)>")
            a.close()
            self.assertEqual(repr(a), "<Account closed>")
            b.close()
        self.assertEqual(repr(eng), "<Engine closed>")

    def test_columns_and_dataframes(self):
        eng, a, b = small_book()
        with eng:
            cols = librisk.columns(eng.evaluate_all())
            self.assertEqual(cols["id"], [1, 2])
            self.assertEqual(cols["state"], ["healthy", "bankrupt"])
            self.assertEqual(cols["equity"], [11000.0, -900.0])
            self.assertEqual(librisk.columns([]), {})
            pos = librisk.columns(a.position_results())
            self.assertEqual(pos["liquidation_price"], [28112.5])
            if pandas is None:
                with self.assertRaisesRegex(ImportError, "python3-pandas"):
                    eng.to_pandas()
            else:
                frame = eng.to_pandas()
                self.assertEqual(list(frame.index), [1, 2])
                self.assertEqual(frame.loc[2, "state"], "bankrupt")
                self.assertTrue(math.isclose(frame.loc[1, "health_factor"], 110.0))
                pf = a.to_pandas()
                self.assertEqual(pf["symbol"].tolist(), ["BTCUSDT"])
                self.assertEqual(pf["liquidation_price"].tolist(), [28112.5])
            a.close()
            b.close()


if __name__ == "__main__":
    unittest.main()
