#!/usr/bin/python3
# SPDX-License-Identifier: Apache-2.0
"""Draws the back-test chart of docs/volatility.md section 4: margin rate against realised moves.

Usage (Debian's matplotlib: apt-get install python3-matplotlib; run with /usr/bin/python3):

    /usr/bin/python3 tools/backtest_chart.py ../shared/data/market/btc_usdt_binance_1d.csv \
        --horizon 1 --out docs/img/backtest_btc_usdt_1d_h1.png

Top: the absolute h-day move from each close (grey) and the margin in force at that close for
a few models over the whole evaluation period, with the breaches of the plain EWMA margin
marked. Bottom: the same around the crash episodes. The numbers come from librisk.backtest
(the same code as `python3 -m librisk backtest`); matplotlib is needed only here, never by the
library, its bindings or `make check`.
"""

import argparse
import datetime
import os
import sys

ROOT = os.path.normpath(os.path.join(os.path.dirname(os.path.abspath(__file__)), ".."))
sys.path.insert(0, os.path.join(ROOT, "bindings", "python"))

from librisk import backtest as bt  # noqa: E402

SHOWN = (("static", "#444444", "--"), ("ewma", "#1f77b4", "-"), ("ewma+cap", "#17becf", ":"),
         ("ewma+apc", "#2ca02c", "-"), ("garch", "#d62728", "-"), ("garch+apc", "#ff7f0e", "-"))
EPISODES = (("COVID 2020-03", "2020-02-20", "2020-04-10"), ("2021-05-19", "2021-04-25", "2021-06-15"),
            ("LUNA 2022-05", "2022-04-20", "2022-06-10"), ("FTX 2022-11", "2022-10-20", "2022-12-10"))


def _dates(times):
    return [datetime.datetime.fromtimestamp(t, datetime.timezone.utc).replace(tzinfo=None) for t in times]


def _draw(ax, by_model, lo=None, hi=None, legend=False):
    base = by_model["ewma"]
    keep = [i for i, t in enumerate(base.times) if (lo is None or t >= lo) and (hi is None or t <= hi)]
    if not keep:
        return False
    days = _dates([base.times[i] for i in keep])
    moves = [abs(base.moves[i]) for i in keep]
    ax.bar(days, moves, width=1.0, color="#bbbbbb", label="|%d-day move|" % base.horizon_days)
    for model, color, style in SHOWN:
        r = by_model[model]
        ax.plot(days, [r.margins[i] for i in keep], style, color=color, lw=1.0 if lo is None else 1.4, label=model)
    br = [(d, m) for d, m, i in zip(days, moves, keep) if m > base.margins[i]]
    if br:
        ax.plot([d for d, _ in br], [m for _, m in br], "x", color="#1f77b4", ms=4, label="ewma breach")
    from matplotlib.ticker import PercentFormatter
    ax.yaxis.set_major_formatter(PercentFormatter(1.0, decimals=0))
    ax.grid(alpha=0.3)
    if legend:
        ax.legend(loc="upper right", fontsize=8, ncol=4)
    return True


def main(argv=None):
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("csv", metavar="FILE.csv")
    ap.add_argument("--horizon", type=int, default=1)
    ap.add_argument("--out", required=True, metavar="FILE.png")
    args = ap.parse_args(argv)

    import matplotlib
    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    results, notes = bt.run([args.csv], (args.horizon,))
    first = results[0].series
    by_model = {r.model: r for r in results if r.series == first}
    fig = plt.figure(figsize=(13, 8.5))
    grid = fig.add_gridspec(2, len(EPISODES), height_ratios=(1.25, 1.0), hspace=0.28, wspace=0.18)
    top = fig.add_subplot(grid[0, :])
    _draw(top, by_model, legend=True)
    highest = max([max(by_model[m].margins) for m, _, _ in SHOWN] + [max(map(abs, by_model["ewma"].moves))])
    top.set_ylim(0, min(1.0, 1.05 * highest))
    r = by_model["ewma"]
    top.set_title("%s (%s): margin in force at each close vs the |%d-day move| that followed (%s..%s)"
                  % (first, r.bars, args.horizon, r.start, r.end), fontsize=11)
    for k, (label, lo, hi) in enumerate(EPISODES):
        ax = fig.add_subplot(grid[1, k])
        t0 = int(datetime.datetime.strptime(lo, "%Y-%m-%d").replace(tzinfo=datetime.timezone.utc).timestamp())
        t1 = int(datetime.datetime.strptime(hi, "%Y-%m-%d").replace(tzinfo=datetime.timezone.utc).timestamp())
        if not _draw(ax, by_model, t0, t1):
            ax.set_axis_off()
            ax.text(0.5, 0.5, "%s: not in the evaluation period" % label, ha="center", transform=ax.transAxes)
            continue
        ax.set_title(label, fontsize=10)
        ax.tick_params(axis="x", labelrotation=30, labelsize=7)
        ax.tick_params(axis="y", labelsize=8)
    fig.savefig(args.out, dpi=100, bbox_inches="tight")
    for n in notes:
        print("note:", n)
    print("wrote", args.out)
    return 0


if __name__ == "__main__":
    sys.exit(main())
