# SPDX-License-Identifier: Apache-2.0
"""Value-at-Risk and Expected Shortfall (include/risk/var.h): array functions and back-tests.

Conventions (docs/var.md): a P&L vector holds one profit (> 0) or loss (< 0) per scenario; VaR
and ES are losses (a positive number is a loss) in the P&L's unit; a level is the confidence
(0.99 for the 99 % VaR, 0.975 for Basel FRTB's ES). Matrices are flat, row-major sequences
(element (i, j) of a k x k matrix at ``i * k + j``; scenario s of a n x k matrix at
``s * k .. s * k + k - 1``).

Inputs are any sequence or float64 buffer (numpy arrays are passed without a copy when they
are writable and contiguous); outputs are ``array('d')``. Bad input raises
:class:`librisk.InvalidError` and changes nothing.

The command line, ``python3 -m librisk var SERIES.csv``, computes the VaR and ES of a long
position of one unit of value in the series (P&L = exp(r) - 1 per scenario) and, with
``--backtest``, back-tests the rolling one-period VaR over the whole file (Kupiec,
Christoffersen).
"""

from __future__ import annotations

import argparse
import array
import ctypes
import json
import math
import sys
from dataclasses import dataclass
from typing import Any, Callable, Iterable, Sequence, TextIO

from . import errors, ffi
from .ffi import FloatBuffer
from .vol import _input, _output, VolCliError

__all__ = [
    "LEVEL_DEFAULT", "ES_LEVEL_DEFAULT", "METHODS", "VarResult", "BacktestResult", "historical", "pnl_merge",
    "pnl_delta_gamma", "fhs_returns", "delta_normal", "delta_gamma", "norm_quantile", "ewma_cov", "mc_scenarios",
    "backtest", "series_var", "series_pnl", "rolling_var", "VarCliError", "add_cli_parser", "cli_main",
]

LEVEL_DEFAULT = ffi.VAR_LEVEL_DEFAULT
ES_LEVEL_DEFAULT = ffi.VAR_ES_LEVEL_DEFAULT
#: Methods of :func:`series_var` and the command line.
METHODS = ("hs", "fhs", "normal", "mc")

_DoubleP = ctypes.POINTER(ctypes.c_double)


@dataclass(frozen=True)
class VarResult:
    """A VaR and an ES (losses), with the levels, the scenario count and the P&L's moments."""
    var: float
    es: float
    var_level: float
    es_level: float
    n: int
    mean: float
    stdev: float

    @classmethod
    def _from(cls, r: ffi.RiskVarResult) -> VarResult:
        return cls(r.var, r.es, r.var_level, r.es_level, r.n, r.mean, r.stdev)


@dataclass(frozen=True)
class BacktestResult:
    """Kupiec and Christoffersen statistics of a VaR series (``risk_var_backtest_result``)."""
    n: int
    breaches: int
    n00: int
    n01: int
    n10: int
    n11: int
    level: float
    breach_rate: float
    lr_pof: float
    p_pof: float
    lr_ind: float
    p_ind: float
    lr_cc: float
    p_cc: float

    @classmethod
    def _from(cls, r: ffi.RiskVarBacktestResult) -> BacktestResult:
        return cls(*(getattr(r, f) for f, _ in ffi.RiskVarBacktestResult._fields_[2:]))


def _count(value: int, what: str) -> int:
    if isinstance(value, bool) or not isinstance(value, int) or value < 0:
        raise errors.make(errors.InvalidError, "%s: need a non-negative integer, got %r" % (what, value))
    return value


def _vec(obj: FloatBuffer, what: str, n: int | None = None) -> tuple[ctypes.Array[Any], int]:
    view, m = _input(obj, what)
    if n is not None and m != n:
        raise errors.make(errors.InvalidError, "%s: %d values, expected %d" % (what, m, n))
    return view, m


def historical(pnl: FloatBuffer, level: float = LEVEL_DEFAULT, es_level: float = ES_LEVEL_DEFAULT) -> VarResult:
    """Historical-simulation VaR and ES of a P&L vector (empirical quantile, ES with the
    fractional tail observation: docs/var.md 2.1)."""
    p, n = _vec(pnl, "pnl")
    work = (ctypes.c_double * max(n, 1))()
    res = ffi.RiskVarResult.init()
    ffi.lib().risk_var_historical(ctypes.byref(res), p, n, level, es_level, work, n)
    return VarResult._from(res)


def pnl_merge(vectors: Iterable[FloatBuffer], out: FloatBuffer | None = None) -> FloatBuffer:
    """out[s] = vectors[0][s] + vectors[1][s] + ... in that order: the book's P&L vector from
    its accounts' or shards' vectors (take its VaR; never add VaRs)."""
    views: list[ctypes.Array[Any]] = []
    n: int | None = None
    for j, v in enumerate(vectors):
        view, m = _vec(v, "vectors[%d]" % j, n)
        n = m
        views.append(view)
    if n is None:  # no vectors (the first one sets n)
        raise errors.make(errors.InvalidError, "vectors: need at least one P&L vector")
    ptrs = (_DoubleP * len(views))(*[ctypes.cast(v, _DoubleP) for v in views])
    out, o = _output(out, n)
    ffi.lib().risk_var_pnl_merge(o, ptrs, len(views), n)
    return out


def pnl_delta_gamma(moves: FloatBuffer, delta: FloatBuffer, gamma: FloatBuffer | None = None,
                    out: FloatBuffer | None = None) -> FloatBuffer:
    """P&L per scenario of cash deltas (and cash gammas, k x k) under factor moves (n x k, flat):
    P&L_s = delta . x_s + 1/2 x_s' gamma x_s."""
    d, k = _vec(delta, "delta")
    x, nk = _vec(moves, "moves")
    if k == 0 or nk % k:
        raise errors.make(errors.InvalidError, "moves: %d values is not a whole number of rows of %d" % (nk, k))
    g = _vec(gamma, "gamma", k * k)[0] if gamma is not None else None
    n = nk // k
    out, o = _output(out, n)
    ffi.lib().risk_var_pnl_delta_gamma(o, x, n, k, d, g)
    return out


def fhs_returns(returns: FloatBuffer, model: str = "ewma", lam: float = 0.94, omega: float = 0.0, alpha: float = 0.0,
                beta: float = 0.0, seed_variance: float = 0.0,
                out: FloatBuffer | None = None) -> tuple[FloatBuffer, float]:
    """Filtered historical simulation: (returns devolatilised by the EWMA or GARCH(1,1) forecast
    and re-scaled to today's volatility, today's per-period volatility). ``seed_variance`` 0
    seeds with the mean squared return."""
    r, n = _vec(returns, "returns")
    f = ffi.RiskVarFilter.init()
    models = {"ewma": ffi.VAR_FILTER_EWMA, "garch": ffi.VAR_FILTER_GARCH}
    if model not in models:
        raise errors.make(errors.InvalidError, "model: %r is not one of ewma, garch" % (model,))
    f.model = models[model]
    setattr(f, "lambda", lam)
    f.omega, f.alpha, f.beta, f.seed_variance = omega, alpha, beta, seed_variance
    out, o = _output(out, n)
    sigma = ctypes.c_double()
    ffi.lib().risk_var_fhs_returns(o, ctypes.byref(sigma), r, n, ctypes.byref(f))
    return out, sigma.value


def _matrix(obj: FloatBuffer, what: str, k: int) -> ctypes.Array[Any]:
    return _vec(obj, what, k * k)[0]


def delta_normal(delta: FloatBuffer, cov: FloatBuffer, level: float = LEVEL_DEFAULT,
                 es_level: float = ES_LEVEL_DEFAULT, horizon: float = 1.0) -> VarResult:
    """Delta-normal VaR = z sigma, ES = sigma phi(z)/(1 - es_level), sigma^2 = h delta' cov delta."""
    d, k = _vec(delta, "delta")
    c = _matrix(cov, "cov", k)
    res = ffi.RiskVarResult.init()
    ffi.lib().risk_var_delta_normal(ctypes.byref(res), d, c, k, level, es_level, horizon)
    return VarResult._from(res)


def delta_gamma(delta: FloatBuffer, gamma: FloatBuffer, cov: FloatBuffer, level: float = LEVEL_DEFAULT,
                es_level: float = ES_LEVEL_DEFAULT, horizon: float = 1.0) -> VarResult:
    """Delta-gamma VaR and ES: exact cumulants of delta' x + 1/2 x' gamma x, x ~ N(0, h cov), and
    the Cornish-Fisher quantile (docs/var.md 3.2)."""
    d, k = _vec(delta, "delta")
    g = _matrix(gamma, "gamma", k)
    c = _matrix(cov, "cov", k)
    need = 2 * k * k + 2 * k
    work = (ctypes.c_double * max(need, 1))()
    res = ffi.RiskVarResult.init()
    ffi.lib().risk_var_delta_gamma(ctypes.byref(res), d, g, c, k, level, es_level, horizon, work, need)
    return VarResult._from(res)


def norm_quantile(p: float) -> float:
    """N^-1(p) (Wichura's AS 241)."""
    z = ctypes.c_double()
    ffi.lib().risk_var_norm_quantile(p, ctypes.byref(z))
    return z.value


def ewma_cov(returns: FloatBuffer, k: int, lam: float = 0.94, out: FloatBuffer | None = None) -> FloatBuffer:
    """RiskMetrics EWMA covariance (k x k, flat) of n x k returns (flat), seeded by r_1 r_1'."""
    r, nk = _vec(returns, "returns")
    k = _count(k, "k")
    if k == 0 or nk % k:
        raise errors.make(errors.InvalidError, "returns: %d values is not a whole number of rows of %d" % (nk, k))
    out, o = _output(out, k * k)
    ffi.lib().risk_var_ewma_cov(o, r, nk // k, k, lam)
    return out


def mc_scenarios(cov: FloatBuffer, k: int, n: int, seed: int = 1, distribution: str = "normal", dof: float = 4.0,
                 horizon: float = 1.0, out: FloatBuffer | None = None) -> FloatBuffer:
    """n x k correlated moves (flat) with covariance h cov: normal or Student t (``dof`` > 2),
    from xoshiro256** seeded by splitmix64; the same seed gives the same bits."""
    k, n = _count(k, "k"), _count(n, "n")
    c = _matrix(cov, "cov", k)
    o = ffi.RiskVarMcOptions.init()
    dists = {"normal": ffi.VAR_MC_NORMAL, "t": ffi.VAR_MC_STUDENT_T}
    if distribution not in dists:
        raise errors.make(errors.InvalidError, "distribution: %r is not one of normal, t" % (distribution,))
    if isinstance(seed, bool) or not isinstance(seed, int) or not 0 <= seed < 2 ** 64:
        raise errors.make(errors.InvalidError, "seed: need an integer in [0, 2^64), got %r" % (seed,))
    o.distribution, o.seed, o.dof, o.horizon_periods = dists[distribution], seed, dof, horizon
    work = (ctypes.c_double * max(k * k, 1))()
    out, v = _output(out, n * k)
    ffi.lib().risk_var_mc_scenarios(v, c, k, n, ctypes.byref(o), work, k * k)
    return out


def backtest(pnl: FloatBuffer, var: FloatBuffer, level: float = LEVEL_DEFAULT) -> BacktestResult:
    """Kupiec's proportion of failures and Christoffersen's independence and conditional-coverage
    tests of a VaR series (NaN = no forecast) against realised P&L."""
    p, n = _vec(pnl, "pnl")
    v, _ = _vec(var, "var", n)
    res = ffi.RiskVarBacktestResult.init()
    ffi.lib().risk_var_backtest(ctypes.byref(res), p, v, n, level)
    return BacktestResult._from(res)


# ---------------------------------------------------------------- one series (the command line)

def _horizon_sums(r: Sequence[float], h: int) -> array.array[float]:
    """Overlapping h-period log returns r_t + ... + r_(t+h-1) (len(r) - h + 1 of them)."""
    if h == 1:
        return array.array("d", r)
    out = array.array("d")
    s = math.fsum(r[:h])
    out.append(s)
    for t in range(h, len(r)):
        s = math.fsum(r[t - h + 1:t + 1])
        out.append(s)
    return out


def _filtered(r: FloatBuffer, filter_model: str, lam: float) -> tuple[FloatBuffer, float]:
    """(FHS returns, today's sigma) of a window: EWMA(lam), or GARCH(1,1) fitted on the window
    (risk_vol_garch_fit, seeded like the fit with the mean squared return)."""
    if filter_model == "garch":
        from .vol import garch_fit
        fit = garch_fit(r)
        return fhs_returns(r, "garch", omega=fit.omega, alpha=fit.alpha, beta=fit.beta)
    return fhs_returns(r, "ewma", lam)


def series_var(returns: FloatBuffer, method: str = "hs", level: float = LEVEL_DEFAULT,
               es_level: float = ES_LEVEL_DEFAULT, horizon: int = 1, lam: float = 0.94, scenarios: int = 10000,
               seed: int = 1, dof: float | None = None,
               filter_model: str = "ewma") -> tuple[VarResult, float | None]:
    """VaR and ES of a long position of one unit of value over ``horizon`` periods, from the
    log returns of its price (the window is the whole sequence given). Returns (VarResult,
    sigma_now or None).

    * ``hs``: P&L = exp(R) - 1 over the overlapping ``horizon``-period log returns R;
    * ``fhs``: the same over the filtered returns (EWMA with lambda ``lam``, or ``filter_model``
      "garch": GARCH(1,1) fitted on the window), summed over the horizon;
    * ``normal``: delta-normal on the EWMA variance of the returns, sigma sqrt(horizon);
    * ``mc``: ``scenarios`` normal (or Student-t with ``dof``) log returns of variance
      horizon x EWMA variance, P&L = exp(x) - 1, then historical VaR/ES over them.
    """
    pnl, sigma = series_pnl(returns, method, horizon, lam, scenarios, seed, dof, filter_model)
    if pnl is not None:
        return historical(pnl, level, es_level), sigma
    var1 = ewma_cov(array.array("d", returns), 1, lam)[0]
    return delta_normal([1.0], [var1], level, es_level, float(horizon)), math.sqrt(var1)


def series_pnl(returns: FloatBuffer, method: str = "hs", horizon: int = 1, lam: float = 0.94,
               scenarios: int = 10000, seed: int = 1, dof: float | None = None,
               filter_model: str = "ewma") -> tuple[array.array[float] | None, float | None]:
    """The P&L scenarios :func:`series_var` takes its VaR and ES from, and sigma_now: (None,
    sigma) for ``normal``, which has no scenarios (its report draws the normal density)."""
    r = array.array("d", returns)
    if method in ("hs", "fhs"):
        sigma: float | None = None
        if method == "fhs":
            r, sigma = _filtered(r, filter_model, lam)
        return array.array("d", (math.expm1(x) for x in _horizon_sums(r, horizon))), sigma
    var1 = ewma_cov(r, 1, lam)[0]
    if method == "normal":
        return None, math.sqrt(var1)
    if method == "mc":
        x = mc_scenarios([var1], 1, scenarios, seed, "normal" if dof is None else "t", dof or 4.0, float(horizon))
        return array.array("d", (math.expm1(v) for v in x)), math.sqrt(var1)
    raise errors.make(errors.InvalidError, "method: %r is not one of %s" % (method, ", ".join(METHODS)))


def _var_of_log_pnl(x: FloatBuffer, level: float) -> float:
    """The historical VaR of P&L exp(x) - 1 from the order statistics of x itself: the loss
    1 - exp(x) falls as x rises, so its empirical quantile is the image of the same scenario,
    -expm1(-VaR_x): the same number as sorting exp(x) - 1, without building that vector."""
    return -math.expm1(-historical(x, level, level).var)


def rolling_var(returns: FloatBuffer, window: int, method: str = "hs", level: float = LEVEL_DEFAULT, lam: float = 0.94,
                scenarios: int = 10000, seed: int = 1, dof: float | None = None,
                filter_model: str = "ewma",
                progress: Callable[[int, int, str], None] | None = None) -> FloatBuffer:
    """One-period VaR forecasts: out[t] = the VaR from returns[t - window:t] (NaN for t < window),
    for back-testing against P&L_t = exp(r_t) - 1; each is :func:`series_var`'s VaR for that
    window. The Monte Carlo seed of day t is seed + t. ``progress(done, total, label)`` is called
    every 10 % of the windows (and at the end)."""
    r = array.array("d", returns)
    out = array.array("d", [math.nan] * len(r))
    total = max(len(r) - window, 0)
    every = max(total // 10, 1)
    for t in range(window, len(r)):
        if progress is not None and (t - window) % every == 0:
            progress(t - window, total, "window %d of %d" % (t - window + 1, total))
        w = r[t - window:t]
        if method == "hs":
            out[t] = _var_of_log_pnl(w, level)
        elif method == "fhs":
            out[t] = _var_of_log_pnl(_filtered(w, filter_model, lam)[0], level)
        elif method == "mc":
            var1 = ewma_cov(w, 1, lam)[0]
            x = mc_scenarios([var1], 1, scenarios, seed + t, "normal" if dof is None else "t", dof or 4.0, 1.0)
            out[t] = _var_of_log_pnl(x, level)
        else:
            out[t] = series_var(w, method, level, level, 1, lam)[0].var
    if progress is not None:
        progress(total, total, "done")
    return out


class VarCliError(VolCliError):
    """Bad input to ``python3 -m librisk var`` (exit status 2)."""


def add_cli_parser(sub: argparse._SubParsersAction[Any]) -> argparse.ArgumentParser:
    p = sub.add_parser("var", help="VaR and ES of a long position in a price series (CSV with a close column), "
                                   "with an optional Kupiec/Christoffersen back-test, as JSON (librisk-var/1); or "
                                   "of a book and each of its accounts by full revaluation under joint moves "
                                   "from the market data (BOOK.json or a snapshot: librisk-var-book/1)")
    p.add_argument("csv", metavar="SERIES.csv|BOOK.json",
                   help="CSV with a header naming close (the first column gives the times), or a book or snapshot")
    p.add_argument("--method", choices=METHODS, default="hs",
                   help="hs (historical), fhs (EWMA-filtered historical), normal (delta-normal on the EWMA "
                        "volatility), mc (Monte Carlo on the EWMA volatility); default hs")
    p.add_argument("--level", type=float, default=LEVEL_DEFAULT, help="VaR confidence in (0, 1), default 0.99")
    p.add_argument("--es-level", type=float, default=ES_LEVEL_DEFAULT,
                   help="ES confidence in (0, 1), default 0.975 (Basel FRTB)")
    p.add_argument("--window", type=int, default=500, help="returns per estimation window, >= 20 (default 500)")
    p.add_argument("--horizon", type=int, default=1, help="periods (rows) of the horizon, 1..250 (default 1)")
    p.add_argument("--lambda", dest="lam", type=float, default=0.94, help="EWMA decay for fhs, normal, mc (0.94)")
    p.add_argument("--filter", dest="filter_model", choices=("ewma", "garch"), default="ewma",
                   help="fhs volatility model: ewma (default) or garch (GARCH(1,1) fitted on each window)")
    p.add_argument("--scenarios", type=int, default=10000, help="Monte Carlo scenarios, 100..10^6 (default 10000)")
    p.add_argument("--seed", type=int, default=1, help="Monte Carlo seed, 0..2^64-1 (default 1)")
    p.add_argument("--dof", type=float, default=None, help="Monte Carlo Student-t degrees of freedom (> 2); "
                                                           "normal shocks without it")
    p.add_argument("--backtest", action="store_true",
                   help="also back-test the rolling one-period VaR over the file (Kupiec, Christoffersen)")
    p.add_argument("--compact", action="store_true", help="print the JSON on one line")
    p.add_argument("--report", metavar="DIR", help="also write an HTML report with the loss distribution chart "
                                                   "into DIR (needs matplotlib)")
    p.add_argument("--quiet", action="store_true", help="no progress on stderr (shown for --backtest)")
    b = p.add_argument_group("a book (BOOK.json or a snapshot; methods hs, fhs, mc)")
    b.add_argument("--data", metavar="DIR", help="market data directory (default: ../shared/data/market)")
    b.add_argument("--as-of", metavar="YYYY-MM-DD", help="the window's last day (default: the data's last common day)")
    b.add_argument("--threads", type=int, default=1, help="worker threads of the revaluation (default 1)")
    b.add_argument("--no-accounts", action="store_true", help="the book's figure only, no per-account VaR")
    return p


def _is_book(path: str) -> bool:
    """A JSON book or a snapshot (told by their first bytes), not a CSV series."""
    if path == "-":
        return False
    try:
        with open(path, "rb") as f:
            head = f.read(64)
    except OSError:
        return False  # the series reader reports it
    return head.startswith(ffi.SNAPSHOT_MAGIC) or head.lstrip(b"\xef\xbb\xbf \t\r\n").startswith(b"{")


def _check(args: argparse.Namespace, n: int) -> None:
    _check_params(args)
    if n < args.window + args.horizon - 1:
        raise VarCliError("--window: %d returns (+ horizon %d - 1) needed, the file has %d"
                          % (args.window, args.horizon, n))
    if args.backtest and args.horizon != 1:
        raise VarCliError("--backtest: only for --horizon 1 (overlapping multi-period windows are not independent)")
    if args.backtest and n < args.window + 2:
        raise VarCliError("--backtest: needs at least window + 2 returns, the file has %d" % n)


def _check_params(args: argparse.Namespace) -> None:
    """The options' domains, whatever the input (a series or a book)."""
    for name in ("level", "es_level"):
        v = getattr(args, name)
        if not (0.0 < v < 1.0):
            raise VarCliError("--%s: %r is outside (0, 1)" % (name.replace("_", "-"), v))
    if not (0.0 < args.lam < 1.0):
        raise VarCliError("--lambda: %r is outside (0, 1)" % args.lam)
    if not 1 <= args.horizon <= 250:
        raise VarCliError("--horizon: %d is outside 1..250" % args.horizon)
    if args.window < 20:
        raise VarCliError("--window: %d is below 20" % args.window)
    if not 100 <= args.scenarios <= 1000000:
        raise VarCliError("--scenarios: %d is outside 100..10^6" % args.scenarios)
    if not 0 <= args.seed < 2 ** 64:
        raise VarCliError("--seed: %d is outside 0..2^64-1" % args.seed)
    if args.dof is not None and not (2.0 < args.dof <= ffi.VAR_DOF_MAX):
        raise VarCliError("--dof: %r is outside (2, 1e6]" % args.dof)


def _g(x: float, digits: int = 8) -> float:
    """A fraction on the printed grid: rounded to ``digits`` decimals."""
    return round(x, digits)


def _sig(x: float) -> float:
    """A statistic or p-value: 6 significant digits."""
    return float("%.6g" % x)


def backtest_document(bt: BacktestResult) -> dict[str, Any]:
    return {"n": bt.n, "breaches": bt.breaches, "expected": _g(bt.n * (1.0 - bt.level), 2),
            "breach_rate": _g(bt.breach_rate), "n00": bt.n00, "n01": bt.n01, "n10": bt.n10, "n11": bt.n11,
            "kupiec_lr": _sig(bt.lr_pof), "kupiec_p": _sig(bt.p_pof),
            "christoffersen_ind_lr": _sig(bt.lr_ind), "christoffersen_ind_p": _sig(bt.p_ind),
            "christoffersen_cc_lr": _sig(bt.lr_cc), "christoffersen_cc_p": _sig(bt.p_cc)}


def run(path: str, first: list[str] | None, close: FloatBuffer, args: argparse.Namespace) -> dict[str, Any]:
    """The command's document for parsed arguments (closes already read)."""
    from .vol import log_returns
    r = log_returns(close)[1:]
    n = len(r)
    _check(args, n)
    window = r[n - (args.window + args.horizon - 1):]
    try:
        res, sigma = series_var(window, args.method, args.level, args.es_level, args.horizon, args.lam,
                                args.scenarios, args.seed, args.dof, args.filter_model)
    except errors.RiskError as exc:
        raise VarCliError("%s: %s" % (args.method, exc)) from None
    doc: dict[str, Any] = {"format": "librisk-var/1", "series": path, "method": args.method, "rows": len(close),
                           "as_of": first[-1] if first else None, "window": args.window, "horizon": args.horizon,
                           "level": args.level, "es_level": args.es_level,
                           "unit": "fraction of the position's value (long 1)", "var": _g(res.var),
                           "es": _g(res.es), "scenarios": res.n, "sigma_now": None if sigma is None else _g(sigma)}
    if args.method in ("normal", "mc") or (args.method == "fhs" and args.filter_model == "ewma"):
        doc["lambda"] = args.lam
    if args.method == "fhs":
        doc["filter"] = args.filter_model
    if args.method == "mc":
        doc.update({"seed": args.seed, "distribution": "normal" if args.dof is None else "t", "dof": args.dof})
    if args.backtest:
        from .progress import Progress
        shown = Progress(sys.stderr, "var backtest", quiet=getattr(args, "quiet", False))
        try:
            v = rolling_var(r, args.window, args.method, args.level, args.lam, args.scenarios, args.seed, args.dof,
                            args.filter_model, progress=shown)
            pnl = array.array("d", (math.expm1(x) for x in r))
            bt = backtest(pnl, v, args.level)
        except errors.RiskError as exc:
            shown.abandon()
            raise VarCliError("backtest: %s" % exc) from None
        doc["backtest"] = backtest_document(bt)
    return doc


def cli_main(args: argparse.Namespace, stdout: TextIO) -> None:
    """Runs ``var`` with parsed arguments, writing JSON to ``stdout``; raises VarCliError on bad input."""
    from .vol import _read_csv
    if _is_book(args.csv):
        from . import bookvar
        _check_params(args)
        try:
            bookvar.cli_main(args.csv, args, stdout)
        except bookvar.BookVarError as exc:
            raise VarCliError(str(exc)) from None
        return
    try:
        _, first, columns = _read_csv(args.csv, ("close",))
    except VolCliError as exc:
        raise VarCliError(str(exc)) from None
    if getattr(args, "report", None):
        from . import report as _report
        bad = _report.check_dir(args.report)
        if bad is not None:
            raise VarCliError(bad)
    doc = run(args.csv, first, columns["close"], args)
    if getattr(args, "report", None):
        from . import report as _report
        from .vol import log_returns
        r = log_returns(columns["close"])[1:]
        window = r[len(r) - (args.window + args.horizon - 1):]
        pnl, _ = series_pnl(window, args.method, args.horizon, args.lam, args.scenarios, args.seed, args.dof,
                            args.filter_model)
        try:
            _report.var_report(doc, pnl, args.report)
        except _report.ReportError as exc:
            raise VarCliError(str(exc)) from None
    stdout.write(json.dumps(doc, indent=None if args.compact else 2, allow_nan=False) + "\n")
