#!/usr/bin/env python3
# SPDX-License-Identifier: Apache-2.0
"""Back-tests the VaR methods of librisk.var on the real market series and writes the table of
docs/var.md, section 6 (between its `var-backtest` markers), and docs/var-backtest.csv.

For each series (closes of ../shared/data/market, or $LIBRISK_MARKET_DATA), each method (hs,
fhs with EWMA, fhs-garch with GARCH(1,1) fitted on every window (daily series only: a fit per
forecast), normal, mc with Student-t(4) shocks) and each level (99 %, 97.5 %): the one-period VaR of
a long position of one unit, re-estimated before every bar from the previous WINDOW returns
(librisk.var.rolling_var), against the realised P&L exp(r_t) - 1; Kupiec's and Christoffersen's
statistics from risk_var_backtest. The series' rows are taken as they are: a gap in a file
makes one longer return (the hourly Binance files have a few).

usage: PYTHONPATH=bindings/python python3 tools/var_backtest_table.py [--quick]
  --quick: the daily series only (a smoke run; does not touch the docs).
"""
import argparse
import csv
import io
import math
import os
import sys
import time

ROOT = os.path.normpath(os.path.join(os.path.dirname(os.path.abspath(__file__)), ".."))
sys.path.insert(0, os.path.join(ROOT, "bindings", "python"))

from librisk import var as lv  # noqa: E402
from librisk import vol as lvol  # noqa: E402

MARKET = os.environ.get("LIBRISK_MARKET_DATA") or os.path.join(ROOT, "..", "shared", "data", "market")
WINDOW = 500
LEVELS = (0.99, 0.975)
METHODS = (("hs", None), ("fhs", None), ("fhs-garch", None), ("normal", None), ("mc", 4.0))
#: (label, file under MARKET, bars, Monte Carlo scenarios per forecast)
SERIES = (
    ("BTC/USDT Binance", "btc_usdt_binance_1d.csv", "1d", 10000),
    ("ETH/USDT Binance", "eth_usdt_binance_1d.csv", "1d", 10000),
    ("BTC/USDT Binance", "binance_1h/BTCUSDT_1h.csv", "1h", 2000),
    ("ETH/USDT Binance", "binance_1h/ETHUSDT_1h.csv", "1h", 2000),
    ("SOL/USDT Binance", "binance_1h/SOLUSDT_1h.csv", "1h", 2000),
    ("FTT/USDT Binance", "binance_1h/FTTUSDT_1h.csv", "1h", 2000),
    ("LUNA/USDT Binance", "binance_1h/LUNAUSDT_1h.csv", "1h", 2000),
)
BEGIN = "<!-- var-backtest:begin (tools/var_backtest_table.py writes this table) -->"
END = "<!-- var-backtest:end -->"
COLUMNS = ("series", "bars", "from", "to", "method", "level", "n", "breaches", "expected", "breach_rate",
           "kupiec_lr", "kupiec_p", "ind_lr", "ind_p", "cc_lr", "cc_p")


def read_closes(path):
    times, closes = [], []
    with open(path, newline="") as f:
        rows = csv.reader(f)
        header = [h.strip().lower() for h in next(rows)]
        ic = header.index("close")
        for row in rows:
            if row:
                times.append(row[0][:16])
                closes.append(float(row[ic]))
    return times, closes


def run(series):
    out = []
    for label, name, bars, scenarios in series:
        times, closes = read_closes(os.path.join(MARKET, name))
        r = lvol.log_returns(closes)[1:]
        pnl = [math.expm1(x) for x in r]
        for method, dof in METHODS:
            if method == "fhs-garch" and bars != "1d":
                continue
            for level in LEVELS:
                t0 = time.time()
                if method == "fhs-garch":
                    v = lv.rolling_var(r, WINDOW, "fhs", level, filter_model="garch")
                else:
                    v = lv.rolling_var(r, WINDOW, method, level, scenarios=scenarios, seed=1, dof=dof)
                bt = lv.backtest(pnl, v, level)
                name_m = method if dof is None else "mc-t%g" % dof
                out.append({"series": label, "bars": bars, "from": times[WINDOW + 1][:10], "to": times[-1][:10],
                            "method": name_m, "level": level, "n": bt.n, "breaches": bt.breaches,
                            "expected": bt.n * (1 - level), "breach_rate": bt.breach_rate,
                            "kupiec_lr": bt.lr_pof, "kupiec_p": bt.p_pof, "ind_lr": bt.lr_ind, "ind_p": bt.p_ind,
                            "cc_lr": bt.lr_cc, "cc_p": bt.p_cc})
                sys.stderr.write("%s %s %s %.3f: %d/%d breaches (%.1fs)\n"
                                 % (label, bars, name_m, level, bt.breaches, bt.n, time.time() - t0))
    return out


def p_cell(p):
    return "**%.3g**" % p if p < 0.05 else "%.3g" % p


def markdown(rows):
    lines = ["| series | bars | window (forecasts from .. to) | method | level | n | breaches (expected) | rate "
             "| Kupiec LR (p) | Christoffersen ind LR (p) | cond. coverage LR (p) |",
             "|---|---|---|---|---|---|---|---|---|---|---|"]
    for r in rows:
        lines.append("| %s | %s | %d (%s .. %s) | %s | %.1f %% | %d | %d (%.1f) | %.2f %% | %.2f (%s) | %.2f (%s) "
                     "| %.2f (%s) |" % (r["series"], r["bars"], WINDOW, r["from"], r["to"], r["method"],
                                         100 * r["level"], r["n"], r["breaches"], r["expected"],
                                         100 * r["breach_rate"], r["kupiec_lr"], p_cell(r["kupiec_p"]),
                                         r["ind_lr"], p_cell(r["ind_p"]), r["cc_lr"], p_cell(r["cc_p"])))
    return "\n".join(lines)


def main(argv=None):
    ap = argparse.ArgumentParser()
    ap.add_argument("--quick", action="store_true")
    args = ap.parse_args(argv)
    rows = run(SERIES[:2] if args.quick else SERIES)
    if args.quick:
        print(markdown(rows))
        return 0
    buf = io.StringIO()
    w = csv.DictWriter(buf, fieldnames=COLUMNS, lineterminator="\n")
    w.writeheader()
    for r in rows:
        w.writerow({k: (repr(v) if isinstance(v, float) else v) for k, v in r.items()})
    with open(os.path.join(ROOT, "docs", "var-backtest.csv"), "w") as f:
        f.write(buf.getvalue())
    doc = os.path.join(ROOT, "docs", "var.md")
    with open(doc) as f:
        text = f.read()
    i, j = text.index(BEGIN) + len(BEGIN), text.index(END)
    with open(doc, "w") as f:
        f.write(text[:i] + "\n" + markdown(rows) + "\n" + text[j:])
    print("wrote docs/var.md section 6 and docs/var-backtest.csv (%d rows)" % len(rows))
    return 0


if __name__ == "__main__":
    sys.exit(main())
