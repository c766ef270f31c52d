#!/usr/bin/env python3
# SPDX-License-Identifier: Apache-2.0
"""Writes data/sample/btc_sample_1d.csv: a synthetic daily OHLC series made by this project (no
licence question), so the market-data tests run in a plain clone (`make check`); the real series
in ../shared/data/market/ are the optional, larger run (`make check-market`).

Deterministic (seeded): 1,100 days from 2019-01-01 of a geometric random walk whose daily
volatility switches between calm (2 %) and stressed (5 %) regimes, with one crash day of -40 %
(day 700, 2020-12-01) so that volatility-scaled margins, their cap and their buffers all act.
Regenerate with `python3 tools/sample_series.py` (the file is committed)."""
import datetime
import math
import os
import random

START = datetime.date(2019, 1, 1)
DAYS = 1100
CRASH_DAY = 700


def series(seed=20261202):
    rng = random.Random(seed)
    price, vol, rows = 4000.0, 0.02, []
    for d in range(DAYS):
        if rng.random() < 0.02:  # regime switch about every 50 days
            vol = 0.05 if vol == 0.02 else 0.02
        ret = -0.5108 if d == CRASH_DAY else rng.gauss(0.0005, vol)  # log(0.6): the crash
        close = price * math.exp(ret)
        spread = abs(rng.gauss(0.0, vol / 2.0))
        high = max(price, close) * (1.0 + spread)
        low = min(price, close) * (1.0 - spread)
        day = START + datetime.timedelta(days=d)
        rows.append((day.isoformat(), price, high, low, close, 1000.0 + 500.0 * rng.random()))
        price = close
    return rows


def main():
    root = os.path.normpath(os.path.join(os.path.dirname(os.path.abspath(__file__)), ".."))
    out = os.path.join(root, "data", "sample", "btc_sample_1d.csv")
    os.makedirs(os.path.dirname(out), exist_ok=True)
    with open(out, "w", newline="") as f:
        f.write("timestamp,open,high,low,close,volume\n")
        for t, o, h, l, c, v in series():
            f.write("%s,%.2f,%.2f,%.2f,%.2f,%.6f\n" % (t, o, h, l, c, v))
    print(out)


if __name__ == "__main__":
    main()
