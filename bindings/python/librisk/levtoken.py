# SPDX-License-Identifier: Apache-2.0
"""Leveraged tokens: a constant-leverage product simulated over a price path by the C library
(``risk_levtoken_simulate``, docs/rates.md section 9), and the ``levtoken`` command.

``python3 -m librisk levtoken SERIES.csv --leverage 3 [--band 2.5,3.5] [--every 1] [--chart f.png]``

The command reads one or more price series (the CSV format of ``backtest``: a header naming
``close`` and a time column), checks them all, then simulates the token on each and prints, per
series, the underlying's return, L x that return, the token's return, the return continuous
rebalancing would give by the closed form NAV = (S_T/S_0)^L exp(-(L^2 - L) QV / 2) over the
series' realised quadratic variation QV, and the costs. ``--chart`` draws, with matplotlib
(Debian's python3-matplotlib, needed only for the chart), the token's NAV against the hold of L x
the underlying and (S_t/S_0)^L, and the volatility decay NAV / (S_t/S_0)^L against the closed
form's exp(-(L^2 - L) QV_t / 2).
"""

from __future__ import annotations

import argparse
import array
import ctypes
import datetime
import math
import sys
from dataclasses import dataclass
from typing import Any, Sequence, TextIO

from . import backtest as _bt
from . import errors, ffi
from .ffi import FloatBuffer

__all__ = ["Simulation", "LevtokenError", "simulate", "quadratic_variation", "closed_form_nav", "summary",
           "format_summary", "add_cli_parser", "cli_main", "NAV_DECIMALS"]

#: Decimals the command prints token NAVs with (the token is a unit of 1 at the start, quoted
#: like an 8-decimal asset); percentages are printed with 2 decimals, turnover in NAVs with 2.
NAV_DECIMALS = 8


class LevtokenError(Exception):
    """Bad input to the ``levtoken`` command (the CLI prints it on one line and exits 2)."""


@dataclass(frozen=True)
class Simulation:
    """A simulated token (``risk_levtoken_result`` and the paths): ``nav``, ``leverage`` (after
    each step's rebalance) and ``traded`` (signed notional traded at each step, 0 without a
    rebalance; ``traded[0]`` the initial purchase) are ``array('d')`` of the price path's length;
    money in NAV units. ``wiped_out_at`` is the step the NAV fell to 0, or None."""
    nav: array.array[float]
    leverage: array.array[float]
    traded: array.array[float]
    n_rebalances: int
    wiped_out_at: int | None
    nav_final: float
    pnl: float
    fees_paid: float
    funding_paid: float
    borrow_paid: float
    rebalance_costs: float
    turnover: float
    shortfall: float


def simulate(prices: FloatBuffer, leverage: float, band: tuple[float, float] | None = None,
             rebalance_every: int = 0, fee_annual: float = 0.0, borrow_annual: float = 0.0,
             rebalance_cost: float = 0.0, funding: FloatBuffer | None = None,
             periods_per_year: float = 365.0, nav0: float = 1.0) -> Simulation:
    """Simulates a leveraged token over ``prices`` (``risk_levtoken_simulate``).

    ``band``: (low, high) leverages outside which it rebalances (None: no band);
    ``rebalance_every``: rebalance at every step that is a multiple of it (0: never by time);
    ``fee_annual``, ``borrow_annual``: per year; ``rebalance_cost``: per unit of notional traded;
    ``funding``: a rate per step on the exposure (longs pay when > 0), of the prices' length.
    Raises InvalidError (out of range) or NullError like the C call."""
    from .vol import _input
    c_prices, n = _input(prices, "prices")
    if n == 0:
        raise errors.make(errors.InvalidError, "prices: need at least one price")
    c_funding = None
    if funding is not None:
        c_funding, m = _input(funding, "funding")
        if m != n:
            raise errors.make(errors.InvalidError, "funding: %d values, expected %d" % (m, n))
    if isinstance(rebalance_every, bool) or not isinstance(rebalance_every, int) or not 0 <= rebalance_every < 2 ** 32:
        raise errors.make(errors.InvalidError, "rebalance_every: a whole number of steps in [0, 2^32)")
    spec = ffi.RiskLevtokenSpec.init()
    spec.leverage = float(leverage)
    spec.rebalance_every = rebalance_every
    if band is not None:
        spec.band_low, spec.band_high = float(band[0]), float(band[1])
    spec.fee_annual = float(fee_annual)
    spec.borrow_annual = float(borrow_annual)
    spec.rebalance_cost = float(rebalance_cost)
    spec.periods_per_year = float(periods_per_year)
    spec.nav0 = float(nav0)
    nav = array.array("d", bytes(8 * n))
    lev = array.array("d", bytes(8 * n))
    traded = array.array("d", bytes(8 * n))
    res = ffi.RiskLevtokenResult.init()
    from .core import _float64_view
    ffi.lib().risk_levtoken_simulate(_float64_view(nav, "nav")[0], _float64_view(lev, "leverage")[0],
                                     _float64_view(traded, "traded")[0],
                                     ctypes.byref(res), c_prices, c_funding, n, ctypes.byref(spec))
    return Simulation(nav, lev, traded, int(res.n_rebalances), int(res.wiped_out_at) or None, res.nav_final,
                      res.pnl, res.fees_paid, res.funding_paid, res.borrow_paid, res.rebalance_costs, res.turnover,
                      res.shortfall)


def quadratic_variation(prices: Sequence[float]) -> array.array[float]:
    """Running sum of squared log returns: out[t] = sum over i <= t of ln(p[i]/p[i-1])^2 (out[0] = 0),
    the realised sigma^2 t of the closed form."""
    out = array.array("d", [0.0] * len(prices))
    for i in range(1, len(prices)):
        x = math.log(prices[i] / prices[i - 1])
        out[i] = out[i - 1] + x * x
    return out


def closed_form_nav(ratio: float, leverage: float, qv: float, nav0: float = 1.0) -> float:
    """NAV of continuous rebalancing without costs: nav0 ratio^L exp(-(L^2 - L) qv / 2), ``ratio``
    = S_t / S_0 and ``qv`` the quadratic variation sigma^2 t (docs/rates.md 9.2)."""
    L = float(leverage)
    return nav0 * ratio ** L * math.exp(-(L * L - L) * qv / 2.0)


def summary(name: str, series: _bt.Series, sim: Simulation, leverage: float) -> dict[str, Any]:
    """The figures the command prints for one series (fractions, NAV units)."""
    closes = series.closes
    ratio = closes[-1] / closes[0]
    qv = quadratic_variation(closes)[-1]
    years = (len(closes) - 1) / series.periods_per_year
    L = float(leverage)
    nav0 = sim.nav[0]
    return {
        "series": name, "bars": series.bars, "steps": len(closes),
        "start": _bt._date(series.times[0]), "end": _bt._date(series.times[-1]),
        "underlying_return": ratio - 1.0,
        "leveraged_hold_return": L * (ratio - 1.0),        # L x the underlying's return
        "token_return": sim.nav_final / nav0 - 1.0,
        "closed_form_return": closed_form_nav(ratio, L, qv) - 1.0,
        "no_decay_return": ratio ** L - 1.0,               # (S_T/S_0)^L: continuous rebalancing without volatility
        "decay": math.exp(-(L * L - L) * qv / 2.0) - 1.0,  # closed form: NAV / (S_T/S_0)^L - 1
        "decay_simulated": sim.nav_final / (nav0 * ratio ** L) - 1.0,
        # per year, in logs: ln(NAV / (S_T/S_0)^L) / years against -(L^2 - L) QV / (2 years)
        "log_decay_per_year": (math.log(sim.nav_final / nav0) - L * math.log(ratio)) / years
        if years > 0 and sim.nav_final > 0 else None,
        "log_decay_per_year_closed_form": -(L * L - L) * qv / 2.0 / years if years > 0 else 0.0,
        "realised_vol_annual": math.sqrt(qv / years) if years > 0 else 0.0,  # sqrt(QV / years)
        "nav_final": sim.nav_final, "n_rebalances": sim.n_rebalances, "turnover": sim.turnover / nav0,
        "fees_paid": sim.fees_paid, "borrow_paid": sim.borrow_paid, "funding_paid": sim.funding_paid,
        "rebalance_costs": sim.rebalance_costs, "wiped_out_at": (_bt._date(series.times[sim.wiped_out_at])
                                                                 if sim.wiped_out_at is not None else None),
    }


def _pct(x: float) -> str:
    return "{:+,.2f} %".format(100.0 * x)


def format_summary(s: dict[str, Any], how: str) -> str:
    """One series' figures as text (percentages with 2 decimals, NAVs with :data:`NAV_DECIMALS`)."""
    lines = ["%s (%s bars, %s .. %s, %d steps, realised volatility %.2f %%/year), %s" % (
        s["series"], s["bars"], s["start"], s["end"], s["steps"], 100.0 * s["realised_vol_annual"], how)]
    rows = [("underlying", _pct(s["underlying_return"])),
            ("L x underlying (hold)", _pct(s["leveraged_hold_return"])),
            ("(S_T/S_0)^L (no decay)", _pct(s["no_decay_return"])),
            ("closed form, continuous", _pct(s["closed_form_return"])),
            ("token (simulated)", _pct(s["token_return"])),
            ("decay, simulated", _pct(s["decay_simulated"]) + " (token / (S_T/S_0)^L - 1)"),
            ("decay, closed form", _pct(s["decay"]) + " (exp(-(L^2 - L) QV / 2) - 1)"),
            ("log decay per year", "%s /year (closed form %s /year)" % (
                "-" if s["log_decay_per_year"] is None else _pct(s["log_decay_per_year"]),
                _pct(s["log_decay_per_year_closed_form"]))),
            ("final NAV", "%.*f" % (NAV_DECIMALS, s["nav_final"])),
            ("rebalances", "{:,d}, turnover {:,.2f} NAVs".format(s["n_rebalances"], s["turnover"])),
            ("costs (NAV units)", "fees %.*f, borrowing %.*f, funding %.*f, trading %.*f" % (
                NAV_DECIMALS, s["fees_paid"], NAV_DECIMALS, s["borrow_paid"], NAV_DECIMALS, s["funding_paid"],
                NAV_DECIMALS, s["rebalance_costs"]))]
    if s["wiped_out_at"]:
        rows.append(("wiped out", s["wiped_out_at"]))
    lines += ["  %-26s %s" % r for r in rows]
    return "\n".join(lines) + "\n"


# ---------------------------------------------------------------- command line


def add_cli_parser(sub: argparse._SubParsersAction[Any]) -> argparse.ArgumentParser:
    """Registers the ``levtoken`` subcommand on the CLI's subparsers."""
    p = sub.add_parser("levtoken", help="simulate a leveraged token (constant leverage, rebalanced by band "
                                        "or schedule) over price series: NAV, rebalances, volatility decay")
    p.add_argument("--leverage", required=True, metavar="L", help="target leverage, not 0, |L| <= 20 (< 0: inverse)")
    p.add_argument("--band", metavar="LO,HI", help="rebalance when the leverage leaves [LO, HI] (default: no band; a short token's: "
                        "--band=-1.5,-0.5)")
    p.add_argument("--every", metavar="N", help="rebalance every N bars (default 1 when there is no band, else none)")
    p.add_argument("--fee", metavar="F", default="0", help="management fee per year, a fraction (default 0)")
    p.add_argument("--borrow", metavar="R", default="0", help="borrowing cost per year on what the token borrows")
    p.add_argument("--cost", metavar="C", default="0", help="rebalance cost per unit of notional traded (default 0)")
    p.add_argument("--bars", choices=("daily", "native"), default="daily",
                   help="daily: resample intraday bars to daily closes (default); native: keep them")
    p.add_argument("--chart", metavar="FILE.png", help="draw NAV and volatility decay (needs matplotlib)")
    p.add_argument("--quiet", "-q", action="store_true", help="no progress on stderr")
    p.add_argument("csv", nargs="+", metavar="SERIES.csv", help="CSV with a header naming close and a time column")
    return p


def _number(text: str, what: str) -> float:
    try:
        x = float(text)
    except ValueError:
        raise LevtokenError("--%s: %r is not a number" % (what, text)) from None
    if not math.isfinite(x):
        raise LevtokenError("--%s: %r is not a finite number" % (what, text))
    return x


def _options(args: argparse.Namespace) -> dict[str, Any]:
    L = _number(args.leverage, "leverage")
    band = None
    if args.band is not None:
        parts = args.band.split(",")
        if len(parts) != 2:
            raise LevtokenError("--band: %r is not LO,HI" % args.band)
        band = (_number(parts[0], "band"), _number(parts[1], "band"))
    if args.every is not None:
        try:
            every = int(args.every)
        except ValueError:
            every = -1
        if not 0 <= every < 2 ** 32:
            raise LevtokenError("--every: %r is not a whole number of bars >= 0" % args.every)
    else:
        every = 0 if band is not None else 1
    if every == 0 and band is None:
        raise LevtokenError("--every 0 needs a --band: the token would never rebalance")
    opts: dict[str, Any] = {"leverage": L, "band": band, "rebalance_every": every, "fee_annual": _number(args.fee, "fee"),
            "borrow_annual": _number(args.borrow, "borrow"), "rebalance_cost": _number(args.cost, "cost")}
    try:  # the C library's checks of the product, on a two-step path, before any file is read
        simulate([1.0, 1.0], **opts)
    except errors.RiskError:
        raise LevtokenError("bad product: --leverage %s%s%s, --fee, --borrow, --cost out of range "
                            "(docs/rates.md section 9)" % (args.leverage, " --band " + args.band if band else "",
                                                           " --every %d" % every if args.every else "")) from None
    return opts


def _describe(opts: dict[str, Any]) -> str:
    how = ["L %g" % opts["leverage"]]
    if opts["band"]:
        how.append("band [%g, %g]" % opts["band"])
    if opts["rebalance_every"]:
        how.append("rebalanced every %d bar%s" % (opts["rebalance_every"], "" if opts["rebalance_every"] == 1 else "s"))
    how.append("fee %g, borrow %g /year, cost %g" % (opts["fee_annual"], opts["borrow_annual"], opts["rebalance_cost"]))
    return ", ".join(how)


def _chart(path: str, runs: list[tuple[_bt.Series, Simulation, dict[str, Any]]], leverage: float, how: str) -> None:
    try:
        import matplotlib
        matplotlib.use("Agg")
        import matplotlib.pyplot as plt
    except ImportError:
        raise LevtokenError("--chart: matplotlib is not installed (Debian: apt-get install python3-matplotlib)") \
            from None
    L = leverage
    fig, axes = plt.subplots(2, len(runs), figsize=(7.5 * len(runs), 8), squeeze=False, sharex="col")
    for col, (series, sim, s) in enumerate(runs):
        t = [datetime.datetime.fromtimestamp(x, tz=datetime.timezone.utc) for x in series.times]
        c = series.closes
        r = [x / c[0] for x in c]
        qv = quadratic_variation(c)
        nav0 = sim.nav[0]
        top, bottom = axes[0][col], axes[1][col]
        top.plot(t, [x / nav0 for x in sim.nav], color="#d62728", label="token NAV (simulated)")
        top.plot(t, [x ** L for x in r], color="#1f77b4", label="(S_t/S_0)^L: no decay")
        hold = [1.0 + L * (x - 1.0) for x in r]
        top.plot(t, [h if h > 0 else float("nan") for h in hold], color="#2ca02c", ls="--",
                 label="1 + L x underlying return (hold; gaps: <= 0)")
        top.plot(t, r, color="#7f7f7f", lw=0.8, label="underlying S_t/S_0")
        top.set_yscale("log")
        top.set_title("%s: %s" % (s["series"], how), fontsize=9)
        top.legend(fontsize=8, loc="upper left")
        top.set_ylabel("value of 1 at the start (log scale)")
        decay = [(n / nav0) / (x ** L) if n > 0 else float("nan") for n, x in zip(sim.nav, r)]
        bottom.plot(t, decay, color="#d62728", label="token NAV / (S_t/S_0)^L (simulated)")
        bottom.plot(t, [math.exp(-(L * L - L) * q / 2.0) for q in qv], color="#000000", ls=":",
                    label="exp(-(L^2 - L) QV_t / 2) (closed form)")
        bottom.set_yscale("log")
        bottom.set_ylabel("volatility decay (log scale)")
        bottom.legend(fontsize=8, loc="lower left")
        bottom.set_title("token %s vs L x underlying %s; decay %s" % (
            _pct(s["token_return"]), _pct(s["leveraged_hold_return"]), _pct(s["decay"])), fontsize=9)
    fig.tight_layout()
    try:
        fig.savefig(path, dpi=110)
    except OSError as exc:
        raise LevtokenError("--chart: %s: %s" % (path, exc.strerror or exc)) from None
    finally:
        plt.close(fig)


def cli_main(args: argparse.Namespace, stdout: TextIO) -> None:
    """Runs ``levtoken``: every input is checked first (options, then every file), then each series
    is simulated, with progress on stderr; the summaries go to ``stdout``."""
    opts = _options(args)
    if args.chart:
        import os
        where = os.path.dirname(os.path.abspath(args.chart))
        if not os.path.isdir(where) or not os.access(where, os.W_OK):
            raise LevtokenError("--chart: %s: directory missing or not writable" % args.chart)
        try:
            import matplotlib  # noqa: F401  (checked before any work; drawn by _chart)
        except ImportError:
            raise LevtokenError("--chart: matplotlib is not installed (Debian: apt-get install "
                                "python3-matplotlib; run with /usr/bin/python3)") from None
    loaded = []
    try:
        for path in args.csv:
            raw = _bt.read_csv(path)
            loaded.append(_bt.daily_closes(raw) if args.bars == "daily" else raw)
    except _bt.BacktestError as exc:
        raise LevtokenError(str(exc)) from None
    from .progress import Progress
    progress = Progress(sys.stderr, "levtoken", quiet=args.quiet)
    how = _describe(opts)
    runs = []
    for k, series in enumerate(loaded):
        progress(k, len(loaded), series.name)
        sim = simulate(series.closes, periods_per_year=series.periods_per_year, **opts)
        runs.append((series, sim, summary(series.name, series, sim, opts["leverage"])))
    progress(len(loaded), len(loaded), "done")
    if args.chart:
        _chart(args.chart, runs, opts["leverage"], how)
    stdout.write("".join(format_summary(s, how) for _, _, s in runs))
