# SPDX-License-Identifier: Apache-2.0
"""A real cascade's shape: the 2021-05-19 BTC hourly path through a synthetic Binance-like book.

    PYTHONPATH=bindings/python /usr/bin/python3 tools/cascade_episode.py \
        --data ../shared/data/market -o docs/img/cascade_btc_2021-05-19.png

Reads Binance BTCUSDT hourly bars by path (never copied into the repository), builds a book of
long and short BTCUSDT perpetual accounts calibrated to the open interest ByBt reported for
Binance on 2021-05-19 (docs/stress.md, "A real cascade's shape", gives the numbers, their
sources and what is assumed), runs the hourly closes of 2021-05-19 as the exogenous path through
risk_engine_cascade with the square-root impact law (sigma and daily volume measured on the 30
days before), and once more without impact, and draws the observed (exogenous) path, the
simulated path and the liquidated notional per hour. Prints the figures docs/stress.md quotes.
"""

import argparse
import copy
import csv
import datetime
import math
import os
import random
import sys

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "bindings", "python"))

from librisk import book as libbook, cascade as libcascade, stress as libstress  # noqa: E402

# Binance BTCUSDT brackets (research/cex-anchors.md W5): (cap, mmr, max leverage)
BRACKETS = [(50e3, 0.004, 125), (250e3, 0.005, 100), (1e6, 0.01, 50), (10e6, 0.025, 20), (20e6, 0.05, 10),
            (50e6, 0.10, 5), (100e6, 0.125, 4), (200e6, 0.15, 3), (300e6, 0.25, 2), (500e6, 0.50, 1)]

# ByBt via cryptonews.com.au, 2021-05-19: BTC futures OI 12.9 bn USD after a -25.89 % day,
# Binance 2.93 bn of it. Binance's OI before the day, at the same -25.89 %: 2.93 / 0.7411.
OI_BINANCE_AFTER = 2.93e9
OI_DROP = 0.2589
OI_BEFORE = OI_BINANCE_AFTER / (1.0 - OI_DROP)
# ByBt via the same report: 3.57 bn USD of BTC positions liquidated in the 24 h, against an
# all-venue OI of 12.9 / 0.7411 = 17.4 bn before: the share of OI liquidated that day.
LIQ_SHARE = 3.57e9 / (12.9e9 / (1.0 - OI_DROP))


def read_hourly(path):
    rows = []
    with open(path, newline="") as f:
        for r in csv.DictReader(f):
            rows.append((datetime.datetime.strptime(r["timestamp"], "%Y-%m-%d %H:%M:%S"), float(r["close"]),
                         float(r["volume"])))
    return rows


def max_leverage(notional):
    for cap, _, lev in BRACKETS:
        if notional <= cap:
            return lev
    return 1


def make_book(price, n_accounts, seed, long_lev_max):
    """n_accounts BTCUSDT accounts, 60 % long, with OI_BEFORE of notional on each side (sizes
    lognormal, sigma 1.5); leverage log-uniform over [2, long_lev_max] for longs and [1.5, 10]
    for shorts, at most 0.8 x the bracket's maximum; the balance is notional / leverage."""
    rng = random.Random(seed)
    n_long = int(n_accounts * 0.6)
    sides = [1] * n_long + [-1] * (n_accounts - n_long)
    raw = [rng.lognormvariate(0.0, 1.5) for _ in sides]
    tot = {1: sum(w for w, s in zip(raw, sides) if s > 0), -1: sum(w for w, s in zip(raw, sides) if s < 0)}
    accounts = []
    for k, (w, s) in enumerate(zip(raw, sides)):
        notional = OI_BEFORE * w / tot[s]
        qty = math.floor(notional / price / 0.001) * 0.001
        if qty <= 0:
            continue
        lo, hi = (2.0, long_lev_max) if s > 0 else (1.5, 10.0)
        lev = math.exp(rng.uniform(math.log(lo), math.log(hi)))
        lev = min(lev, 0.8 * max_leverage(qty * price))
        balance = round(qty * price / lev, 6)
        accounts.append({"id": k + 1, "balances": {"USDT": balance},
                         "positions": [{"instrument": "BTCUSDT", "qty": s * qty, "entry": price}]})
    tiers = [{"notional_cap": (None if cap == 500e6 else cap), "mmr": mmr, "max_leverage": lev}
             for cap, mmr, lev in BRACKETS]
    return {"format": "librisk-book/1", "valuation_asset": "USDT",
            "assets": [{"symbol": "USDT", "price": 1, "decimals": 6}, {"symbol": "BTC", "price": price, "decimals": 8}],
            "instruments": [{"symbol": "BTCUSDT", "underlying": "BTC", "settle": "USDT", "lot_size": 0.001,
                             "tick_size": 0.1, "mark": price, "margin": {"tiers": tiers}}],
            "accounts": accounts}


def main():
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--data", default=libstress.default_data_dir())
    ap.add_argument("--accounts", type=int, default=2000)
    ap.add_argument("--seed", type=int, default=20210519)
    ap.add_argument("--y", type=float, default=0.7, help="square-root prefactor Y (default 0.7)")
    ap.add_argument("-o", "--output", default="docs/img/cascade_btc_2021-05-19.png")
    args = ap.parse_args()
    rows = read_hourly(os.path.join(args.data, "binance_1h", "BTCUSDT_1h.csv"))
    day = datetime.datetime(2021, 5, 19)
    i0 = next(i for i, r in enumerate(rows) if r[0] == day)
    # sigma and V: the 30 days (720 hours) before the day
    hist = rows[i0 - 721:i0]
    rets = [math.log(b[1] / a[1]) for a, b in zip(hist, hist[1:])]
    mu = sum(rets) / len(rets)
    sigma_d = math.sqrt(sum((x - mu) ** 2 for x in rets) / (len(rets) - 1) * 24.0)
    vol_d = sum(r[2] for r in hist[1:]) / 30.0
    p0 = rows[i0 - 1][1]  # close of 2021-05-18 23:00
    closes = [r[1] for r in rows[i0:i0 + 24]]
    # a bar's timestamp is its open time: its close is an hour later
    times = [r[0] + datetime.timedelta(hours=1) for r in rows[i0 - 1:i0 + 24]]
    path, prev = [], p0
    for c in closes:
        path.append({"BTC": c / prev - 1.0})
        prev = c
    # calibration: the longs' leverage range such that the observed path alone (no impact: the
    # observed path already carries that day's real cascade) liquidates LIQ_SHARE of the OI
    def share(lmax):
        sp = make_book(p0, args.accounts, args.seed, lmax)
        oi_ = sum(a["positions"][0]["qty"] for a in sp["accounts"] if a["positions"][0]["qty"] > 0) * p0
        with libbook.load(sp) as bk:
            r = libcascade.cascade(bk.engine, path, None, max_rounds=1000)
        return r.totals["market_volume"] + r.totals["adl_volume"] + r.totals["backstop_volume"], oi_

    lo_l, hi_l = 2.5, 125.0
    for _ in range(12):
        mid = math.sqrt(lo_l * hi_l)
        v, o = share(mid)
        if v / o < LIQ_SHARE:
            lo_l = mid
        else:
            hi_l = mid
    lmax = math.sqrt(lo_l * hi_l)
    spec = make_book(p0, args.accounts, args.seed, lmax)
    oi = sum(abs(a["positions"][0]["qty"]) for a in spec["accounts"] if a["positions"][0]["qty"] > 0) * p0
    # the fund: Cover 2 of the book under the 2021-05 episode's worst 1/3/10-day moves
    with libbook.load(copy.deepcopy(spec)) as b:
        n_liq0 = sum(1 for s in b.engine.evaluate_all() if s.state in ("liquidatable", "bankrupt"))
        sset = libstress.historical("2021-05", args.data, b.engine)
        covers = libcascade.cover2(b.engine, sset)
        fund = max(c["cover2"] for c in covers)
        # the same fund against 10,000 one-day Student-t (nu 4) scenarios at the measured sigma
        surv = libcascade.fund_survival(b.engine, ["BTC"], [sigma_d ** 2], 10000, fund, level=0.99,
                                        seed=args.seed, student_t=True, dof=4.0)
    spec["insurance_fund"] = {"USDT": round(fund, 6)}
    impact = {"BTCUSDT": libcascade.Impact("sqrt", y=args.y, sigma=sigma_d, volume=vol_d)}
    with libbook.load(copy.deepcopy(spec)) as b:
        res = libcascade.cascade(b.engine, path, impact, max_rounds=1000)
    with libbook.load(copy.deepcopy(spec)) as b:
        res0 = libcascade.cascade(b.engine, path, None, max_rounds=1000)

    def hourly(r):
        """Per step: price at the end of the step (the next step's round-0 mark, the final mark
        last), liquidated market notional, rounds."""
        end, vol, rounds = [], [0.0] * 24, [0] * 24
        first = {}
        for rec in r.rounds:
            first.setdefault(rec["step"], rec["marks"]["BTCUSDT"])
            vol[rec["step"]] += rec["market_volume"] + rec["adl_volume"] + rec["backstop_volume"]
            rounds[rec["step"]] += 1 if rec["n_liquidated"] else 0
        for t in range(24):
            end.append(first[t + 1] / (1.0 + path[t + 1]["BTC"]) if t + 1 < 24 else r.final["marks"]["BTCUSDT"])
        return end, vol, rounds

    sim, vol, rounds = hourly(res)
    _, vol0, _ = hourly(res0)
    obs = closes
    low_obs, low_sim = min(obs), min(sim)
    print("book: %d accounts, long OI %.4g USDT at %.2f (target %.4g); longs' leverage log-uniform 2-%.1fx "
          "(calibrated to liquidate %.1f %% of OI without impact); liquidatable at the start: %d"
          % (len(spec["accounts"]), oi, p0, OI_BEFORE, lmax, 100 * LIQ_SHARE, n_liq0))
    print("impact: sqrt, Y %.2f, sigma %.4f a day, V %.0f BTC a day; fund (Cover 2, 2021-05 episode) %.0f USDT"
          % (args.y, sigma_d, vol_d, fund))
    print("fund survival (1-day Student-t nu 4, 10,000 scenarios, static deficits): %.4f +- %.4f; "
          "99 %% fund %.0f USDT" % (surv["survival"], surv["std_error"], surv["fund_needed"]))
    print("exogenous 24 h move %.4f, simulated %.4f; lowest close exogenous %.4f, simulated %.4f"
          % (obs[-1] / p0 - 1, sim[-1] / p0 - 1, low_obs / p0 - 1, low_sim / p0 - 1))
    exo = obs[-1] / p0 - 1
    print("amplification (24 h) %.3f; at the low %.3f" % ((sim[-1] / p0 - 1) / exo, (low_sim / p0 - 1) / (low_obs / p0 - 1)))
    print("liquidated notional: with impact %.4g USDT (%.1f %% of long OI), without %.4g (%.1f %%)"
          % (sum(vol), 100 * sum(vol) / oi, sum(vol0), 100 * sum(vol0) / oi))
    print("rounds with liquidations %d (max in an hour %d); close-outs %d; ADL fills %d; fund drawn %.0f; "
          "bad debt left %.0f; capped %s"
          % (res.totals["rounds"], max(rounds), res.totals["n_close_outs"], res.totals["n_adl_fills"],
             res.totals["fund_drawn"], res.totals["bad_debt"], res.totals["capped"]))
    print("liquidated per hour (to the close, UTC), with / without impact, M USDT: %s"
          % ", ".join("%s %.0f / %.0f" % ((times[t + 1]).strftime("%H:%M"), vol[t] / 1e6, vol0[t] / 1e6)
                      for t in range(24) if vol[t] or vol0[t]))
    try:
        import matplotlib
        matplotlib.use("Agg")
        import matplotlib.pyplot as plt
    except ImportError:
        print("matplotlib not installed: no chart", file=sys.stderr)
        return 0
    fig, (ax1, ax2) = plt.subplots(2, 1, figsize=(9, 6.5), sharex=True, gridspec_kw={"height_ratios": [3, 2]})
    ax1.plot(times, [p0] + obs, marker=".", label="exogenous path (Binance BTCUSDT hourly closes, UTC)")
    ax1.plot(times, [p0] + sim, marker=".", label="with the synthetic book's liquidation impact")
    ax1.set_ylabel("BTC (USDT)")
    ax1.set_title("2021-05-19: cascade amplification, synthetic Binance-like book (%d accounts, OI %.2f bn USDT)"
                  % (len(spec["accounts"]), oi / 1e9), fontsize=10)
    ax1.grid(True, alpha=0.3)
    ax1.legend(fontsize=8)
    ax2.bar(times[1:], [v / 1e6 for v in vol], width=0.03, label="liquidated in the hour to the close, with impact")
    ax2.plot(times[1:], [v / 1e6 for v in vol0], color="k", marker="x", linestyle="none", label="without impact")
    ax2.set_ylabel("liquidated notional (M USDT)")
    ax2.grid(True, alpha=0.3)
    ax2.legend(fontsize=8)
    fig.autofmt_xdate()
    fig.tight_layout()
    fig.savefig(args.output, dpi=90)
    print("wrote %s" % args.output)
    return 0


if __name__ == "__main__":
    sys.exit(main())
