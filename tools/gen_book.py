# SPDX-License-Identifier: Apache-2.0
"""Writes a large generated book (librisk-book/1) for the command line's scale measurements.

    python3 tools/gen_book.py --accounts 100000 --positions 5 -o /tmp/book-100k.json

The market is 8 linear USDT perpetuals on 8 underlyings (3-tier schedules as bench/bench_util.h:
caps 50k / 250k / unbounded, MMR 0.4 / 0.5 / 1 %, max leverage 125 / 100 / 50), marks at
10 (k + 1) x 1000. Account k (id k + 1) is cross one-way, except every 10th (isolated) and every
7th (hedge mode); it holds a USDT balance of 0.5-5.5 % of its gross notional (so that about a
tenth of the book is liquidatable, as bench_evaluate's), sets a user leverage of 20 on its first
instrument when k is a multiple of 4, and opens `--positions` positions on distinct instruments:
a notional log-uniform over 50..500k USDT in whole lots, a random side, the entry within +-3 % of
the mark on the tick. The seed is fixed (`--seed`), so a size always gives the same book. The
file is written as it is generated (one account at a time); never commit one.
"""

import argparse
import json
import math
import random
import sys

N_INSTRUMENTS = 8


def market():
    assets = [{"symbol": "USDT", "price": 1, "decimals": 6}]
    instruments = []
    for k in range(N_INSTRUMENTS):
        sym = "C%d" % k
        mark = 1000.0 * 10 * (k + 1)
        assets.append({"symbol": sym, "price": mark, "decimals": 8})
        instruments.append({"symbol": sym + "USDT", "kind": "perpetual", "underlying": sym, "settle": "USDT",
                            "contract_size": 1, "lot_size": 0.001, "tick_size": 0.1, "mark": mark,
                            "margin": {"tiers": [{"notional_cap": 50000, "mmr": 0.004, "max_leverage": 125},
                                                 {"notional_cap": 250000, "mmr": 0.005, "max_leverage": 100},
                                                 {"notional_cap": None, "mmr": 0.01, "max_leverage": 50}]}})
    return assets, instruments


def account(k, n_positions, instruments, rnd):
    hedge = k % 7 == 3
    isolated = k % 10 == 5
    acc = {"id": k + 1}
    if isolated:
        acc["margin_mode"] = "isolated"
    if hedge:
        acc["position_mode"] = "hedge"
    first = rnd.randrange(N_INSTRUMENTS)
    picks = [(first + j) % N_INSTRUMENTS for j in range(min(n_positions, N_INSTRUMENTS))]
    positions, gross = [], 0.0
    for j in picks:
        ins = instruments[j]
        mark = ins["mark"]
        notional = math.exp(rnd.uniform(math.log(50.0), math.log(500000.0)))
        lots = max(1, int(notional / mark / 0.001))
        qty = round(lots * 0.001, 3)
        entry = round(round(mark * rnd.uniform(0.97, 1.03) / 0.1) * 0.1, 1)
        pos = {"instrument": ins["symbol"], "qty": qty if (hedge or rnd.random() < 0.5) else -qty, "entry": entry}
        if hedge:
            pos["side"] = "long" if rnd.random() < 0.5 else "short"
        if isolated:
            pos["isolated_margin"] = round(qty * mark * rnd.uniform(0.02, 0.2), 6)
        positions.append(pos)
        gross += qty * mark
    acc["balances"] = {"USDT": round(max(gross, 100.0) * rnd.uniform(0.005, 0.055), 6)}
    if k % 4 == 0 and positions:
        acc["leverage"] = {positions[0]["instrument"]: 20}
    acc["positions"] = positions
    return acc


def write(out, n_accounts, n_positions, seed):
    rnd = random.Random(seed)
    assets, instruments = market()
    head = {"format": "librisk-book/1", "valuation_asset": "USDT", "assets": assets, "instruments": instruments}
    text = json.dumps(head, separators=(",", ":"))
    out.write(text[:-1] + ',"accounts":[')
    for k in range(n_accounts):
        if k:
            out.write(",\n")
        out.write(json.dumps(account(k, n_positions, instruments, rnd), separators=(",", ":")))
    out.write("]}\n")


def main(argv=None):
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    p.add_argument("--accounts", type=int, default=100000)
    p.add_argument("--positions", type=int, default=5, help="positions per account, at most %d" % N_INSTRUMENTS)
    p.add_argument("--seed", type=int, default=1)
    p.add_argument("-o", "--output", default="-", help="file to write (default: standard output)")
    args = p.parse_args(argv)
    if args.positions > N_INSTRUMENTS or args.positions < 0 or args.accounts < 0:
        p.error("--positions must be 0..%d and --accounts >= 0" % N_INSTRUMENTS)
    if args.output == "-":
        write(sys.stdout, args.accounts, args.positions, args.seed)
    else:
        with open(args.output, "w") as f:
            write(f, args.accounts, args.positions, args.seed)
    return 0


if __name__ == "__main__":
    sys.exit(main())
