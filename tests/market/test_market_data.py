# SPDX-License-Identifier: Apache-2.0
"""The optional, larger run on real market data (`make check-market`): the back-test and the
volatility command on ../shared/data/market/btc_usdt_binance_1d.csv (or $LIBRISK_MARKET_DATA/...).
It fails, never skips, when the data is missing: ask for it only where the data is. The same
invariants run on the committed synthetic series in `make check` (tests/python)."""

import calendar
import csv
import io
import math
import os
import sys
import unittest

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "python"))
import support  # noqa: E402
from librisk import backtest as bt  # noqa: E402
from test_backtest import assert_backtest_invariants  # noqa: E402

MARKET = os.environ.get("LIBRISK_MARKET_DATA") or os.path.join(support.ROOT, "..", "shared", "data", "market")
BTC_DAILY = os.path.join(MARKET, "btc_usdt_binance_1d.csv")
if not os.path.exists(BTC_DAILY):
    raise SystemExit("check-market: %s is missing (set LIBRISK_MARKET_DATA to the market data folder)" % BTC_DAILY)


def day(text):
    return calendar.timegm((int(text[:4]), int(text[5:7]), int(text[8:10]), 0, 0, 0))


class TestBtcDaily(unittest.TestCase):
    """Invariants on real data (the numbers themselves are in docs/volatility.md section 4)."""

    @classmethod
    def setUpClass(cls):
        cls.results, cls.notes = bt.run([BTC_DAILY], (1, 3))

    def test_btc_daily_invariants(self):
        assert_backtest_invariants(self, self.results, self.notes, min_n=2500, start="2018-08-17",
                                   cap_lowers=("ewma", "garch"))  # 365 days after 2017-08-17

    def test_btc_crash_days(self):
        r = next(x for x in self.results if x.model == "ewma" and x.horizon_days == 1)
        self.assertEqual(set(r.crash), set(bt.CRASH_DAYS))
        # the data's README: largest daily |log return| 0.503, on 2020-03-12
        self.assertAlmostEqual(r.crash["2020-03-12"][1], math.exp(-0.503) - 1, delta=5e-4)
        big = max(r.moves, key=abs)
        self.assertEqual(r.moves.index(big), r.times.index(day("2020-03-11")))  # the close before the 12th
        # at the close of 2020-03-12 the plain EWMA margin nearly quadrupled (8.5 % -> 32.8 %);
        # ewma+apc, its buffer released that day, rose by the cap's 20 % only (13.7 % -> 16.4 %)
        before, after = r.times.index(day("2020-03-11")), r.times.index(day("2020-03-12"))
        self.assertGreater(r.margins[after] / r.margins[before], 3.0)
        apc = next(x for x in self.results if x.model == "ewma+apc" and x.horizon_days == 1)
        self.assertEqual(apc.margins[before], apc.crash["2020-03-12"][0])
        cap = bt.Config().max_daily_change
        self.assertAlmostEqual(apc.margins[after] / apc.margins[before], 1 + cap, delta=1e-12)
        for x in self.results:
            for margin, move in x.crash.values():
                self.assertTrue(0 < margin < 1 and -1 < move)


class TestVolBtcDaily(unittest.TestCase):
    def test_btc_daily_file(self):
        with open(BTC_DAILY, newline="") as f:
            data = list(csv.DictReader(f))
        closes = [float(row["close"]) for row in data]
        for method in ("ewma", "yang-zhang", "garch"):
            with self.subTest(method=method):
                r = support.run_cli("vol", "--method", method, BTC_DAILY)
                self.assertEqual(r.returncode, 0, r.stderr)
                rows = list(csv.reader(io.StringIO(r.stdout)))
                header, rows = rows[0], rows[1:]
                self.assertEqual(header, ["timestamp", "vol_annual"])
                self.assertEqual([row[0] for row in rows], [row["timestamp"] for row in data])
                values = [float(v) for _, v in rows if v]
                # bitcoin's daily volatility has stayed between 10% and 400% a year
                self.assertTrue(all(0.1 < v < 4.0 for v in values), (min(values), max(values)))
                if method == "ewma":
                    self.assertAlmostEqual(float(rows[1][1]), abs(math.log(closes[1] / closes[0])) * math.sqrt(365),
                                           places=12)




if __name__ == "__main__":
    unittest.main()
