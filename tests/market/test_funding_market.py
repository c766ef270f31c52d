# SPDX-License-Identifier: Apache-2.0
"""The funding back-test on the real Binance funding history (`make check-market`):
../shared/data/market/funding_binance_btcusdt.csv with btc_usdt_binance_1d.csv (or
$LIBRISK_MARKET_DATA/...). It fails, never skips, when the data is missing. The hand-worked
histories run in `make check` (tests/python/test_rates.py)."""

import os
import sys
import unittest

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "python"))
import support  # noqa: E402,F401  (puts the bindings on the path)
from librisk import funding  # noqa: E402

MARKET = os.environ.get("LIBRISK_MARKET_DATA") or os.path.join(support.ROOT, "..", "shared", "data", "market")
FUNDING = os.path.join(MARKET, "funding_binance_btcusdt.csv")
PRICES = os.path.join(MARKET, "btc_usdt_binance_1d.csv")
for path in (FUNDING, PRICES):
    if not os.path.exists(path):
        raise SystemExit("check-market: %s is missing (set LIBRISK_MARKET_DATA to the market data folder)" % path)


class TestBinanceFunding(unittest.TestCase):
    def test_binance_history(self):
        doc, series = funding.backtest(funding.read_funding(FUNDING, "binance"), "binance", 1.0,
                                       funding.read_prices(PRICES))
        self.assertEqual(doc["settlements"], 7028)
        self.assertEqual(len(series), 7028)
        # a long paid ~12 %/year of ~40k USDT over 6.4 years (docs/rates.md 8.1: 35,592.93)
        self.assertGreater(doc["funding_paid"], 30000.0)
        self.assertLess(doc["funding_paid"], 40000.0)


if __name__ == "__main__":
    unittest.main()
