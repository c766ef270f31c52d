# SPDX-License-Identifier: Apache-2.0
"""An account's risk matrix (``python3 -m librisk risk-matrix BOOK.json --account ID``;
docs/options.md section 9): its P&L under a grid of underlying price moves x implied-vol moves,
Deribit's risk-matrix grid by default (research/cex-anchors.md 3.4).

Every number is ``risk_account_scenario_pnl`` (:func:`librisk.stress.scenario_pnl`): one
scenario per cell, moving the price of each underlying of the account's positions by the
column's relative move (with every mark on it) and its options' implied vols by the row's
relative move, scaled by the term structure t = (30 / DTE)^p, p = 0.30 below 30 days to expiry
and 0.13 from 30 days. The P&L is in the valuation asset, on its decimals (librisk.grid).
"""

from __future__ import annotations

import argparse
import math
from typing import Any, Sequence, TextIO, TYPE_CHECKING

if TYPE_CHECKING:
    from .book import Book
    from .core import Account

__all__ = ["RiskMatrixError", "RiskMatrix", "price_moves", "risk_matrix", "DEFAULT_PRICE_RANGE",
           "DEFAULT_PRICE_STEPS", "DEFAULT_VOL_MOVES", "VOL_TERM_DAYS", "VOL_TERM_POWER_SHORT",
           "VOL_TERM_POWER_LONG"]

#: Deribit's price range, +-15 % (cex-anchors 3.4 quotes R = 16 % for BTC in Oreome's parameter set).
DEFAULT_PRICE_RANGE = 0.15
#: Steps on each side of 0: 4 (9 evenly spaced price moves, Deribit's buckets).
DEFAULT_PRICE_STEPS = 4
#: Relative vol moves: up (volRangeUp 0.5), same, down (volRangeDown 0.25) (Deribit BTC, cex-anchors 3.4).
DEFAULT_VOL_MOVES = (0.5, 0.0, -0.25)
#: The term structure t = (VOL_TERM_DAYS / DTE)^p of the vol moves.
VOL_TERM_DAYS = 30.0
VOL_TERM_POWER_SHORT = 0.30
VOL_TERM_POWER_LONG = 0.13
MAX_PRICE_STEPS = 50
MAX_VOL_MOVES = 20


class RiskMatrixError(ValueError):
    """Bad input to the risk matrix: the message starts with the option or field."""


def price_moves(price_range: float = DEFAULT_PRICE_RANGE, steps: int = DEFAULT_PRICE_STEPS) -> list[float]:
    """The relative price moves -R .. +R in ``steps`` steps on each side of 0 (R k / steps)."""
    if not (isinstance(price_range, (int, float)) and math.isfinite(price_range) and 0.0 < price_range < 1.0):
        raise RiskMatrixError("--price-range: must be in (0, 1), not %r" % (price_range,))
    if not (isinstance(steps, int) and 1 <= steps <= MAX_PRICE_STEPS):
        raise RiskMatrixError("--price-steps: must be an integer in 1..%d, not %r" % (MAX_PRICE_STEPS, steps))
    return [price_range * k / steps for k in range(-steps, steps + 1)]


def _vol_moves(moves: Sequence[float]) -> list[float]:
    out = [float(m) for m in moves]
    if not 1 <= len(out) <= MAX_VOL_MOVES:
        raise RiskMatrixError("--vol-moves: 1 to %d moves, not %d" % (MAX_VOL_MOVES, len(out)))
    for m in out:
        if not (math.isfinite(m) and -1.0 <= m <= 100.0):
            raise RiskMatrixError("--vol-moves: each a relative move in [-1, 100], not %r" % (m,))
    return out


class RiskMatrix:
    """The grid: ``pnl[i][j]`` is the P&L (valuation asset, unrounded) under vol move
    ``vol_moves[i]`` and price move ``price_moves[j]`` of every asset in ``assets``."""

    def __init__(self, account_id: int, assets: list[str], price_moves: list[float], vol_moves: list[float],
                 pnl: list[list[float]], valuation: str) -> None:
        self.account_id = account_id
        self.assets = assets
        self.price_moves = price_moves
        self.vol_moves = vol_moves
        self.pnl = pnl
        self.valuation = valuation

    @property
    def worst(self) -> float:
        """The lowest P&L of the grid (the risk matrix's worst loss when negative)."""
        return min(min(row) for row in self.pnl)


def _underlyings(book: Book, account_id: int) -> tuple[Account, list[str]]:
    """The account of ``account_id`` and the underlyings of its positions (book order)."""
    spec = book.spec
    for acc, a in zip(book.accounts, spec["accounts"]):
        if a["id"] == account_id:
            break
    else:
        raise RiskMatrixError("--account: no account %d in the book" % account_id)
    by_symbol = {ins["symbol"]: ins for ins in spec["instruments"]}
    assets: list[str] = []
    for p in a["positions"]:
        u = by_symbol[p["instrument"]]["underlying"]
        if u not in assets:
            assets.append(u)
    return acc, assets


def holds_options(book: Book, positions: Sequence[dict[str, Any]]) -> bool:
    """Whether ``positions`` (an account's in the result document) include an option."""
    kinds = {ins["symbol"]: ins["kind"] for ins in book.spec["instruments"]}
    return any(kinds.get(p["instrument"]) == "option" for p in positions)


def risk_matrix(book: Book, account_id: int, assets: Sequence[str] | None = None,
                price_range: float = DEFAULT_PRICE_RANGE, price_steps: int = DEFAULT_PRICE_STEPS,
                vol_moves: Sequence[float] = DEFAULT_VOL_MOVES) -> RiskMatrix:
    """The account's risk matrix: every cell one scenario of ``risk_account_scenario_pnl``
    moving ``assets`` (default: the underlyings of the account's positions) together."""
    from .stress import Scenario, ScenarioSet, scenario_pnl
    from .grid import Grid
    acc, held = _underlyings(book, account_id)
    moves = price_moves(price_range, price_steps)
    vols = _vol_moves(vol_moves)
    grid = Grid(book.spec)
    chosen = list(assets) if assets else held
    known = {a["symbol"] for a in book.spec["assets"]}
    for sym in chosen:
        if sym not in known:
            raise RiskMatrixError("--asset: unknown asset %r" % sym)
        if sym == grid.valuation:
            raise RiskMatrixError("--asset: %s is the valuation asset (its price is 1)" % sym)
    if not chosen:
        return RiskMatrix(account_id, [], moves, vols, [[0.0] * len(moves) for _ in vols], grid.valuation)
    rows = [Scenario("vol %+g price %+g" % (v, m), {s: m for s in chosen}, {s: v for s in chosen})
            for v in vols for m in moves]
    sset = ScenarioSet(rows, "relative", VOL_TERM_DAYS, VOL_TERM_POWER_SHORT, VOL_TERM_POWER_LONG)
    pnl = scenario_pnl(acc, sset)
    assert isinstance(pnl, list)
    k = len(moves)
    return RiskMatrix(account_id, chosen, moves, vols, [pnl[i * k:(i + 1) * k] for i in range(len(vols))],
                      grid.valuation)


def _move_text(m: float) -> str:
    return "%+g%%" % round(100.0 * m, 6) if m else "0%"


def to_csv(rm: RiskMatrix, decimals: int) -> str:
    """The grid as CSV: a header ``vol_move,<price move>,...`` (moves as fractions), then one row
    per vol move with the P&L on the valuation asset's ``decimals``."""
    from .grid import on_grid
    lines = [",".join(["vol_move"] + [repr(m) for m in rm.price_moves])]
    for v, row in zip(rm.vol_moves, rm.pnl):
        cells = []
        for x in row:
            g = on_grid(x, decimals)
            cells.append("%.*f" % (decimals, g if g is not None else float("nan")))
        lines.append(",".join([repr(v)] + cells))
    return "\n".join(lines) + "\n"


def text_table(rm: RiskMatrix, money: Any) -> list[str]:
    """The grid as text lines for the report: a row per vol move, a column per price move;
    ``money(x)`` formats a P&L (columns as wide as the widest cell)."""
    cells = [[money(x) for x in row] for row in rm.pnl]
    heads = [_move_text(m) for m in rm.price_moves]
    w = 2 + max(len(c) for c in heads + [c for row in cells for c in row])
    out = ["%-12s" % "vol \\ price" + "".join(h.rjust(w) for h in heads)]
    for v, row in zip(rm.vol_moves, cells):
        out.append("%-12s" % ("vol " + _move_text(v)) + "".join(c.rjust(w) for c in row))
    return out


def heatmap(rm: RiskMatrix, path: str, decimals: int) -> None:
    """Draws the grid as a PNG heat map (matplotlib; RiskMatrixError when absent or unwritable)."""
    try:
        import matplotlib
        matplotlib.use("Agg")
        import matplotlib.pyplot as plt
    except ImportError:
        raise RiskMatrixError("--png: matplotlib is not installed (Debian: apt-get install python3-matplotlib; "
                              "run with /usr/bin/python3)") from None
    from .grid import on_grid
    values = [[on_grid(x, decimals) or 0.0 for x in row] for row in rm.pnl]
    span = max(1e-300, max(abs(x) for row in values for x in row))
    fig, ax = plt.subplots(figsize=(1.1 * len(rm.price_moves) + 2.0, 0.7 * len(rm.vol_moves) + 2.0))
    im = ax.imshow(values, cmap="RdYlGn", vmin=-span, vmax=span, aspect="auto")
    ax.set_xticks(range(len(rm.price_moves)))
    ax.set_xticklabels([_move_text(m) for m in rm.price_moves])
    ax.set_yticks(range(len(rm.vol_moves)))
    ax.set_yticklabels([_move_text(v) for v in rm.vol_moves])
    ax.set_xlabel("price move of %s" % (", ".join(rm.assets) or "-"))
    ax.set_ylabel("implied vol move (relative, x (30/DTE)^p)")
    for i, row in enumerate(values):
        for j, x in enumerate(row):
            ax.text(j, i, "{:,.{}f}".format(x, min(decimals, 2)), ha="center", va="center", fontsize=7)
    ax.set_title("account %d: P&L in %s (worst %s)" % (rm.account_id, rm.valuation,
                                                        "{:,.{}f}".format(min(min(r) for r in values),
                                                                          min(decimals, 2))), fontsize=9)
    fig.colorbar(im, ax=ax, label="P&L (%s)" % rm.valuation)
    fig.tight_layout()
    try:
        fig.savefig(path, dpi=110)
    except OSError as exc:
        raise RiskMatrixError("--png: %s: %s" % (path, exc.strerror or exc)) from None
    finally:
        plt.close(fig)


# ---------------------------------------------------------------- command line


def _float_list(text: str) -> list[float]:
    try:
        return [float(x) for x in text.split(",") if x.strip()]
    except ValueError:
        raise argparse.ArgumentTypeError("a comma-separated list of numbers, not %r" % text) from None


def add_cli_parser(sub: argparse._SubParsersAction[Any]) -> argparse.ArgumentParser:
    """Registers ``risk-matrix`` on the CLI's subparsers."""
    p = sub.add_parser("risk-matrix", help="an account's P&L under a grid of underlying price moves x implied-vol "
                                           "moves (Deribit's risk matrix by default), as CSV, and as a PNG heat map")
    p.add_argument("book", metavar="BOOK.json")
    p.add_argument("--account", required=True, type=int, help="the account's id")
    p.add_argument("--asset", action="append", metavar="SYMBOL",
                   help="an asset to move (repeatable; default: the underlyings of the account's positions)")
    p.add_argument("--price-range", type=float, default=DEFAULT_PRICE_RANGE,
                   help="largest relative price move R, in (0, 1) (default 0.15)")
    p.add_argument("--price-steps", type=int, default=DEFAULT_PRICE_STEPS,
                   help="steps on each side of 0 (default 4: 9 moves from -R to +R)")
    p.add_argument("--vol-moves", type=_float_list, default=list(DEFAULT_VOL_MOVES), metavar="M1,M2,...",
                   help="relative implied-vol moves, scaled by (30/DTE)^p (default 0.5,0,-0.25: up, same, down)")
    p.add_argument("-o", "--output", metavar="FILE.csv", help="write the CSV here (default: standard output)")
    p.add_argument("--png", metavar="FILE.png", help="also draw the grid as a heat map (needs matplotlib)")
    p.set_defaults(threads=1)
    return p


def _check_writable(path: str, option: str) -> None:
    import os
    where = os.path.dirname(os.path.abspath(path))
    if not os.path.isdir(where) or not os.access(where, os.W_OK):
        raise RiskMatrixError("%s: %s: directory missing or not writable" % (option, path))


def cli_main(book: Book, args: argparse.Namespace, stdout: TextIO) -> None:
    """Runs ``risk-matrix`` on a loaded book: every input is checked before any output."""
    if args.output:
        _check_writable(args.output, "--output")
    if args.png:
        _check_writable(args.png, "--png")
        try:
            import matplotlib  # noqa: F401  (checked before any work; drawn by heatmap)
        except ImportError:
            raise RiskMatrixError("--png: matplotlib is not installed (Debian: apt-get install "
                                  "python3-matplotlib; run with /usr/bin/python3)") from None
    from .grid import Grid
    rm = risk_matrix(book, args.account, args.asset, args.price_range, args.price_steps, args.vol_moves)
    decimals = Grid(book.spec).asset_decimals.get(rm.valuation, 8)
    text = to_csv(rm, decimals)
    if args.png:
        heatmap(rm, args.png, decimals)
    if args.output:
        try:
            with open(args.output, "w") as f:
                f.write(text)
        except OSError as exc:
            raise RiskMatrixError("--output: %s: %s" % (args.output, exc.strerror or exc)) from None
    else:
        stdout.write(text)
