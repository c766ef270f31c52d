# SPDX-License-Identifier: Apache-2.0
"""VaR and ES of a whole book by full revaluation (``python3 -m librisk var BOOK.json``;
docs/var.md section 8).

The scenarios are joint daily moves of the book's crypto assets taken from the market data
(Binance hourly closes of 9 assets, 2021-04 to 2023-12; a day's close is its 23:00 bar's):

* ``hs``: the overlapping ``horizon``-day log returns of the last ``window`` days, every asset
  of a scenario from the same days (the joint moves keep the correlation);
* ``fhs``: the same after each asset's returns are devolatilised by its EWMA forecast and
  re-scaled to today's volatility (Eurex Prisma's filtered historical simulation,
  ``risk_var_fhs_returns``), summed over the horizon;
* ``mc``: ``scenarios`` correlated normal (or Student-t) log returns of covariance ``horizon``
  x the EWMA covariance of the window (``risk_var_mc_scenarios``, seeded).

Every scenario moves each asset's price, and the marks of the perpetuals and futures on it, by
exp(R) - 1; ``risk_engine_stress`` revalues every account (options repriced, tiers, isolated
margin: the engine's own evaluation, bit for bit as moving the prices). Per account the VaR
and ES of its P&L vector; for the book, the VaR and ES of the book's P&L vector (the exact sum
of the accounts' P&L per scenario), never a sum of VaRs.
"""

from __future__ import annotations

import argparse
import array
import datetime
import math
import os
import sys
from typing import Any, Sequence, TYPE_CHECKING

from . import errors

if TYPE_CHECKING:
    from .book import Book

__all__ = ["BookVarError", "daily_closes", "joint_returns", "scenario_moves", "book_var_document",
           "BOOK_VAR_FORMAT", "METHODS"]

BOOK_VAR_FORMAT = "librisk-var-book/1"
METHODS = ("hs", "fhs", "mc")
#: Accounts x scenarios above which per-account results need --no-accounts (the per-account
#: results are held as Python lists: four numbers per account and scenario).
PER_ACCOUNT_MAX = 5_000_000


class BookVarError(ValueError):
    """Bad input to the book VaR (exit status 2)."""


def _series_path(data_dir: str, symbol: str) -> str:
    return os.path.join(data_dir, "binance_1h", "%sUSDT_1h.csv" % symbol)


def daily_closes(data_dir: str, symbol: str) -> dict[datetime.date, float]:
    """{UTC day: close of its 23:00 hourly bar} of an asset's Binance hourly file: the UTC daily
    close, for the days whose last bar is there (BookVarError when there is no file)."""
    import csv
    path = _series_path(data_dir, symbol)
    out: dict[datetime.date, float] = {}
    try:
        with open(path, newline="") as f:
            for row in csv.DictReader(f):
                text = row["timestamp"]
                if text[11:13] == "23":
                    out[datetime.date(int(text[0:4]), int(text[5:7]), int(text[8:10]))] = float(row["close"])
    except OSError as exc:
        raise BookVarError("no market data for %s (%s): %s" % (symbol, path, exc.strerror or exc)) from None
    except (KeyError, ValueError) as exc:
        raise BookVarError("%s: unreadable row (%s)" % (path, exc)) from None
    return out


def joint_returns(closes: dict[str, dict[datetime.date, float]], window: int,
                  as_of: datetime.date | None = None) -> tuple[list[datetime.date], list[list[float]]]:
    """The last ``window`` daily log returns common to every asset, up to ``as_of`` (default the
    last common day): (the days the returns end on, one row per day of one return per asset in
    the order of ``closes``). Only consecutive calendar days make a return (a gap in any asset's
    data breaks the chain there)."""
    series = list(closes.values())
    days: set[datetime.date] = set(series[0]) if series else set()
    for s in series[1:]:
        days &= set(s)
    common = sorted(d for d in days if as_of is None or d <= as_of)
    ends, rows = [], []
    one = datetime.timedelta(days=1)
    for d0, d1 in zip(common, common[1:]):
        if d1 - d0 != one:
            continue
        ends.append(d1)
        rows.append([math.log(s[d1] / s[d0]) for s in closes.values()])
    if len(rows) < window:
        raise BookVarError("--window: %d daily returns needed, the market data has %d common to %s%s"
                           % (window, len(rows), ", ".join(closes), "" if as_of is None else " up to %s" % as_of))
    return ends[-window:], rows[-window:]


def scenario_moves(rows: Sequence[Sequence[float]], method: str, horizon: int, lam: float, scenarios: int,
                   seed: int, dof: float | None) -> tuple[list[list[float]], list[float] | None]:
    """Relative price moves exp(R) - 1 per scenario and asset, and today's per-day volatility
    per asset (fhs, mc) or None (hs)."""
    from . import var as _var
    n, k = len(rows), len(rows[0])
    if method in ("hs", "fhs"):
        cols = [array.array("d", (r[a] for r in rows)) for a in range(k)]
        sigma = None
        if method == "fhs":
            filtered = [_var.fhs_returns(c, "ewma", lam) for c in cols]
            cols = [array.array("d", f[0]) for f in filtered]
            sigma = [f[1] for f in filtered]
        moves = []
        for t in range(n - horizon + 1):  # overlapping horizon-day sums of log returns
            moves.append([math.expm1(math.fsum(cols[a][t:t + horizon])) for a in range(k)])
        return moves, sigma
    if method == "mc":
        flat = array.array("d", (x for r in rows for x in r))
        cov = _var.ewma_cov(flat, k, lam)
        x = _var.mc_scenarios(cov, k, scenarios, seed, "normal" if dof is None else "t", dof or 4.0, float(horizon))
        return [[math.expm1(x[s * k + a]) for a in range(k)] for s in range(scenarios)], \
            [math.sqrt(cov[a * k + a]) for a in range(k)]
    raise BookVarError("--method: %r is not one of %s for a book" % (method, ", ".join(METHODS)))


def book_var_document(loaded: Book, path: str, args: argparse.Namespace) -> dict[str, Any]:
    """The ``librisk-var-book/1`` document of a loaded book (BookVarError on bad input)."""
    from . import var as _var
    from .grid import Grid
    from .progress import Progress
    from .stress import Scenario, ScenarioSet, _crypto, default_data_dir, stress
    if args.method not in METHODS:
        raise BookVarError("--method: %s is not one of %s for a book (the delta-normal method takes a price "
                           "series)" % (args.method, ", ".join(METHODS)))
    if getattr(args, "filter_model", "ewma") != "ewma":
        raise BookVarError("--filter: a book is filtered with EWMA (garch is for a price series)")
    if getattr(args, "backtest", False):
        raise BookVarError("--backtest: back-tests take a price series (the book's own P&L history is not in it)")
    if getattr(args, "report", None):
        raise BookVarError("--report: the HTML report takes a price series; for a book use stress --report")
    threads = getattr(args, "threads", 1)
    if not 1 <= threads <= 256:
        raise BookVarError("--threads: must be between 1 and 256")
    as_of = None
    if getattr(args, "as_of", None):
        try:
            as_of = datetime.date.fromisoformat(args.as_of)
        except ValueError:
            raise BookVarError("--as-of: %r is not a date YYYY-MM-DD" % args.as_of) from None
    engine = loaded.engine
    assets = _crypto(engine)  # every asset but the valuation asset and the stablecoins, by id
    if not assets:
        raise BookVarError("the book has no crypto asset to move (every asset is the valuation asset or a stablecoin)")
    data_dir = getattr(args, "data", None) or default_data_dir()
    closes = {sym: daily_closes(data_dir, sym) for sym in assets}
    ends, rows = joint_returns(closes, args.window + args.horizon - 1 if args.method != "mc" else args.window, as_of)
    moves, sigma = scenario_moves(rows, args.method, args.horizon, args.lam, args.scenarios, args.seed, args.dof)
    n_s = len(moves)
    per_account = not getattr(args, "no_accounts", False)
    if per_account and engine.account_count * n_s > PER_ACCOUNT_MAX:
        raise BookVarError("%d accounts x %d scenarios: give --no-accounts for the book's figure alone"
                           % (engine.account_count, n_s))
    sset = ScenarioSet([Scenario("s%d" % s, dict(zip(assets, m))) for s, m in enumerate(moves)])
    shown = Progress(sys.stderr, "var", quiet=getattr(args, "quiet", False) or engine.account_count * n_s < 10**6)
    shown(0, 1, "%d accounts x %d scenarios" % (engine.account_count, n_s))
    try:
        res = stress(engine, sset, threads=threads, per_account=per_account)
    except errors.RiskError as exc:
        shown.abandon()
        raise BookVarError("scenarios: %s" % exc) from None
    shown(1, 1, "done")
    grid = Grid(loaded.spec)
    book_pnl = array.array("d", (b["pnl"] for b in res.book))
    book = _var.historical(book_pnl, args.level, args.es_level)
    doc: dict[str, Any] = {
        "format": BOOK_VAR_FORMAT, "book": path, "method": args.method, "valuation_asset": grid.valuation,
        "assets": assets, "window": args.window, "horizon": args.horizon, "level": args.level,
        "es_level": args.es_level, "scenarios": n_s,
        "from": ends[0].isoformat(), "to": ends[-1].isoformat(),
        "book_var": {"var": grid.value(book.var), "es": grid.value(book.es),
                     "worst_pnl": grid.value(min(book_pnl)), "mean_pnl": grid.value(math.fsum(book_pnl) / n_s)},
    }
    if args.method != "hs":
        doc["lambda"] = args.lam
        doc["sigma_now"] = {sym: round(s, 8) for sym, s in zip(assets, sigma or ())}
    if args.method == "mc":
        doc.update({"seed": args.seed, "distribution": "normal" if args.dof is None else "t", "dof": args.dof})
    if per_account:
        assert res.pnl is not None
        accounts = []
        total_var = 0.0
        for a, acc_id in enumerate(res.ids):
            r = _var.historical(res.pnl[a], args.level, args.es_level)
            total_var += r.var
            accounts.append({"id": acc_id, "var": grid.value(r.var), "es": grid.value(r.es)})
        doc["accounts"] = accounts
        # what netting across accounts saves: the sum of the accounts' VaRs less the book's
        # (>= 0 is not guaranteed: VaR is not sub-additive; ES is)
        doc["book_var"]["sum_of_account_var"] = grid.value(total_var)
    return doc


def cli_main(path: str, args: argparse.Namespace, stdout: Any) -> None:
    """``var BOOK.json``: loads the book (or snapshot) and writes the document; BookVarError on bad input."""
    import json
    from . import book as _book, snapshot as _snapshot
    try:
        loaded = _snapshot.load_path(path)
    except _book.BookError as exc:
        raise BookVarError(str(exc)) from None
    with loaded:
        doc = book_var_document(loaded, path, args)
    stdout.write(json.dumps(doc, indent=None if args.compact else 2, allow_nan=False) + "\n")
