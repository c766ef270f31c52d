# SPDX-License-Identifier: Apache-2.0
"""Volatility estimators (include/risk/vol.h): array functions, a GARCH(1,1) fit, streaming states.

Every array function takes its inputs as any sequence or buffer of floats and returns ``out``:

* inputs: a writable, C-contiguous float64 buffer (``array('d')``, a numpy float64 array, a
  memoryview of one) is passed to C in place; anything else (a list, a read-only or non-float64
  buffer) is converted once to a float64 array;
* ``out``: a caller-given writable, contiguous float64 buffer of at least the input's length,
  written in place by the C library (never copied); when omitted, a new ``array('d')`` is
  returned. Values are NaN where the estimator has no value yet. Too short an ``out`` raises
  :class:`librisk.BufferTooSmallError` (``.needed``).

Conventions (docs/volatility.md, section 1): log returns of closes; the value at row t uses data
up to and including row t; volatilities are annualised, sqrt(variance x periods_per_year), a
fraction (0.6 = 60%); variances are per period.

Streaming classes (:class:`Ewma`, :class:`Realized`, :class:`Garch`, :class:`Range`) wrap the C
states, O(1) per update. Bad input raises :class:`librisk.InvalidError` (RISK_EINVAL) and
changes nothing.
"""

from __future__ import annotations

import array
import ctypes
import math

from . import errors, ffi
from .ffi import FloatBuffer, FloatOrBuffer
from .core import _float64_view
import argparse
from typing import Any, TYPE_CHECKING, TextIO

if TYPE_CHECKING:
    from .ffi import RiskVolGarchResult

__all__ = [
    "PERIODS_DAILY", "PERIODS_HOURLY", "LAMBDA_DEFAULT", "METHODS",
    "log_returns", "ewma", "realized", "garch", "garch_loglik", "garch_fit", "parkinson", "garman_klass",
    "rogers_satchell", "yang_zhang", "GarchFit", "Ewma", "Realized", "Garch", "Range",
]

PERIODS_DAILY = ffi.VOL_PERIODS_DAILY
PERIODS_HOURLY = ffi.VOL_PERIODS_HOURLY
LAMBDA_DEFAULT = ffi.VOL_EWMA_LAMBDA_DEFAULT

_RANGE_METHODS = {
    "parkinson": ffi.VOL_PARKINSON,
    "garman-klass": ffi.VOL_GARMAN_KLASS,
    "rogers-satchell": ffi.VOL_ROGERS_SATCHELL,
    "yang-zhang": ffi.VOL_YANG_ZHANG,
}
#: Method names of the command line and of :class:`Range`.
METHODS = ("ewma", "garch", "realized") + tuple(_RANGE_METHODS)

_DoubleP = ctypes.POINTER(ctypes.c_double)


def _input(obj: Any, what: str) -> tuple[ctypes.Array[Any], int]:
    """(ctypes double array, n) over ``obj``: in place when it is a writable float64 buffer."""
    try:
        return _float64_view(obj, what)
    except errors.InvalidError:
        pass
    try:
        data = array.array("d", obj)
    except TypeError:
        try:
            data = array.array("d", (float(x) for x in obj))
        except (TypeError, ValueError):
            raise errors.make(errors.InvalidError, "%s: need a sequence of numbers" % what) from None
    return _float64_view(data, what)


def _output(out: Any, n: int, what: str = "out") -> tuple[Any, ctypes.Array[Any]]:
    """(result object, ctypes double array) with room for n values."""
    if out is None:
        out = array.array("d", bytes(8 * n))
    view, m = _float64_view(out, what)
    if m < n:
        exc = errors.make(errors.BufferTooSmallError, "%s: %d values, need %d" % (what, m, n))
        exc.needed = n
        raise exc
    return out, view


def _inputs(n_expected: Any = None, **named: Any) -> tuple[list[ctypes.Array[Any]], int]:
    """Views of several equal-length inputs, in keyword order; returns (list of views, n)."""
    views, n = [], n_expected
    for what, obj in named.items():
        view, m = _input(obj, what)
        if n is not None and m != n:
            raise errors.make(errors.InvalidError, "%s: %d values, expected %d" % (what, m, n))
        n = m
        views.append(view)
    return views, n


def log_returns(close: FloatBuffer, out: FloatBuffer | None = None) -> FloatBuffer:
    """out[0] = NaN, out[t] = ln(close[t] / close[t-1]). ``out`` may be ``close`` itself."""
    (c,), n = _inputs(close=close)
    out, o = _output(out, n)
    ffi.lib().risk_vol_log_returns(o, c, n)
    return out


def ewma(close: FloatBuffer, lam: float = LAMBDA_DEFAULT, seed_variance: float = 0.0,
         periods_per_year: float = PERIODS_DAILY, out: FloatBuffer | None = None) -> FloatBuffer:
    """RiskMetrics EWMA volatility of closes: s2_t = lam s2_(t-1) + (1 - lam) r_t^2, annualised.

    ``seed_variance`` is s2_0 per period; 0 seeds with the first squared return. out[0] is NaN.
    """
    (c,), n = _inputs(close=close)
    out, o = _output(out, n)
    ffi.lib().risk_vol_ewma(o, c, n, lam, seed_variance, periods_per_year)
    return out


def realized(close: FloatBuffer, window: float, periods_per_year: float = PERIODS_DAILY,
             out: FloatBuffer | None = None) -> FloatBuffer:
    """Close-to-close realised volatility: sample standard deviation of the last ``window``
    returns (divisor window - 1), annualised; rows 0..window-1 are NaN."""
    (c,), n = _inputs(close=close)
    out, o = _output(out, n)
    ffi.lib().risk_vol_realized(o, c, n, _count(window, "window"), periods_per_year)
    return out


def garch(close: FloatBuffer, omega: float, alpha: float, beta: float, seed_variance: float = 0.0,
          periods_per_year: float = PERIODS_DAILY, out: FloatBuffer | None = None) -> FloatBuffer:
    """GARCH(1,1) conditional volatility of closes: out[t] = sqrt(s2_(t+1|t) x periods_per_year).

    ``seed_variance`` is s2_1; 0 takes the mean squared return, as :func:`garch_fit` does, so
    ``garch(close, f.omega, f.alpha, f.beta)`` is the in-sample path of a fit ``f`` on the
    returns of ``close``.
    """
    (c,), n = _inputs(close=close)
    out, o = _output(out, n)
    ffi.lib().risk_vol_garch(o, c, n, omega, alpha, beta, seed_variance, periods_per_year)
    return out


def garch_loglik(returns: FloatBuffer, omega: float, alpha: float, beta: float) -> float:
    """Gaussian log-likelihood of ``returns`` under GARCH(1,1) (s2_1 = mean squared return)."""
    (r,), n = _inputs(returns=returns)
    ll = ctypes.c_double()
    ffi.lib().risk_vol_garch_loglik(ctypes.byref(ll), r, n, omega, alpha, beta)
    return ll.value


class GarchFit:
    """A GARCH(1,1) fit (``risk_vol_garch_result``): parameters, standard errors (plain and
    sandwich), log-likelihood, long-run, sample and next-period variances, convergence."""

    __slots__ = ("omega", "alpha", "beta", "se_omega", "se_alpha", "se_beta", "se_robust_omega",
                 "se_robust_alpha", "se_robust_beta", "log_likelihood", "long_run_variance", "sample_variance",
                 "variance_next", "converged", "iterations", "n", "variance_targeting")
    omega: float
    alpha: float
    beta: float
    se_omega: float
    se_alpha: float
    se_beta: float
    se_robust_omega: float
    se_robust_alpha: float
    se_robust_beta: float
    log_likelihood: float
    long_run_variance: float
    sample_variance: float
    variance_next: float
    converged: bool
    iterations: int
    n: int
    variance_targeting: bool

    def __init__(self, res: RiskVolGarchResult) -> None:
        for name in self.__slots__[:13]:
            setattr(self, name, getattr(res, name))
        self.converged = bool(res.converged)
        self.iterations = res.iterations
        self.n = res.n
        self.variance_targeting = bool(res.flags & ffi.VOL_GARCH_VARIANCE_TARGETING)

    @property
    def persistence(self) -> float:
        """alpha + beta."""
        return self.alpha + self.beta

    @property
    def half_life(self) -> float:
        """Periods for a variance shock to halve: ln 2 / -ln(alpha + beta)."""
        return math.log(2.0) / -math.log(self.persistence) if self.persistence > 0 else 0.0

    def state(self) -> Garch:
        """A streaming :class:`Garch` that continues after the fitted sample."""
        return Garch(self.omega, self.alpha, self.beta, self.variance_next)

    def __repr__(self) -> str:
        return ("GarchFit(omega=%.6g±%.2g, alpha=%.4f±%.4f, beta=%.4f±%.4f, log_likelihood=%.6f, converged=%s)"
                % (self.omega, self.se_omega, self.alpha, self.se_alpha, self.beta, self.se_beta,
                   self.log_likelihood, self.converged))


def garch_fit(returns: FloatBuffer, variance_targeting: bool = False, max_iterations: int = 200,
              tolerance: float = 1e-8) -> GarchFit:
    """Fits GARCH(1,1) to log ``returns`` (zero mean, at least 10) by Gaussian quasi maximum
    likelihood; returns a :class:`GarchFit`. With ``variance_targeting``,
    omega = V (1 - alpha - beta), V the mean squared return."""
    (r,), n = _inputs(returns=returns)
    opts = ffi.RiskVolGarchOptions.init()
    opts.flags = ffi.VOL_GARCH_VARIANCE_TARGETING if variance_targeting else 0
    opts.max_iterations = _count(max_iterations, "max_iterations")
    opts.tolerance = tolerance
    res = ffi.RiskVolGarchResult.init()
    ffi.lib().risk_vol_garch_fit(ctypes.byref(res), r, n, ctypes.byref(opts))
    return GarchFit(res)


def parkinson(high: FloatBuffer, low: FloatBuffer, window: int, periods_per_year: float = PERIODS_DAILY,
              out: FloatBuffer | None = None) -> FloatBuffer:
    """Parkinson volatility over ``window`` bars, annualised: mean of (ln H/L)^2 / (4 ln 2)."""
    (h, lo), n = _inputs(high=high, low=low)
    out, o = _output(out, n)
    ffi.lib().risk_vol_parkinson(o, h, lo, n, _count(window, "window"), periods_per_year)
    return out


def _ohlc(fn: str, open_: FloatBuffer, high: FloatBuffer, low: FloatBuffer, close: FloatBuffer, window: int,
          periods_per_year: float, out: FloatBuffer) -> FloatBuffer:
    (op, h, lo, c), n = _inputs(open=open_, high=high, low=low, close=close)
    out, o = _output(out, n)
    getattr(ffi.lib(), fn)(o, op, h, lo, c, n, _count(window, "window"), periods_per_year)
    return out


def garman_klass(open_: FloatBuffer, high: FloatBuffer, low: FloatBuffer, close: FloatBuffer, window: int,
                 periods_per_year: float = PERIODS_DAILY, out: FloatBuffer | None = None) -> FloatBuffer:
    """Garman-Klass volatility over ``window`` bars, annualised."""
    return _ohlc("risk_vol_garman_klass", open_, high, low, close, window, periods_per_year, out)


def rogers_satchell(open_: FloatBuffer, high: FloatBuffer, low: FloatBuffer, close: FloatBuffer, window: int,
                    periods_per_year: float = PERIODS_DAILY, out: Any = None) -> FloatBuffer:
    """Rogers-Satchell volatility over ``window`` bars, annualised (drift-robust)."""
    return _ohlc("risk_vol_rogers_satchell", open_, high, low, close, window, periods_per_year, out)


def yang_zhang(open_: FloatBuffer, high: FloatBuffer, low: FloatBuffer, close: FloatBuffer, window: int,
               periods_per_year: float = PERIODS_DAILY, out: Any = None) -> FloatBuffer:
    """Yang-Zhang volatility over ``window`` bars, annualised; rows 0..window-1 are NaN."""
    return _ohlc("risk_vol_yang_zhang", open_, high, low, close, window, periods_per_year, out)


def _count(value: float, what: str) -> int:
    if isinstance(value, bool) or not isinstance(value, int) or value < 0:
        raise errors.make(errors.InvalidError, "%s: need a non-negative integer, got %r" % (what, value))
    return value


# ---------------------------------------------------------------- streaming states


class _State:
    """Common reading of a streaming state: ``variance`` (None until there is a value) and
    :meth:`vol_annual`."""

    __slots__ = ("_s", "_ring")
    _s: Any  # the ctypes state struct
    _ring: Any  # the ring buffer a windowed state points into (kept alive here), or None
    _variance_fn: str = ""
    _vol_fn: str = ""

    def _call(self, name: str, *args: float) -> None:
        getattr(ffi.lib(), name)(ctypes.byref(self._s), *args)

    @property
    def variance(self) -> float | None:
        """Per-period variance, or None while the estimator has no value."""
        v = ctypes.c_double()
        try:
            getattr(ffi.lib(), self._variance_fn)(ctypes.byref(self._s), ctypes.byref(v))
        except errors.StateError:
            return None
        return v.value

    def vol_annual(self, periods_per_year: float = PERIODS_DAILY) -> float | None:
        """Annualised volatility sqrt(variance x periods_per_year), or None while there is no value."""
        v = ctypes.c_double()
        try:
            getattr(ffi.lib(), self._vol_fn)(ctypes.byref(self._s), periods_per_year, ctypes.byref(v))
        except errors.StateError:
            return None
        return v.value

    @property
    def count(self) -> int:
        """Returns (bars, for :class:`Range`) folded in."""
        return self._s.count


class Ewma(_State):
    """Streaming RiskMetrics EWMA variance (``risk_vol_ewma_state``)."""

    __slots__ = ()
    _variance_fn = "risk_vol_ewma_variance"
    _vol_fn = "risk_vol_ewma_vol_annual"

    def __init__(self, lam: float = LAMBDA_DEFAULT, seed_variance: float = 0.0) -> None:
        self._s = ffi.RiskVolEwmaState()
        self._ring = None
        ffi.lib().risk_vol_ewma_init(ctypes.byref(self._s), lam, seed_variance)

    def update(self, log_return: float) -> None:
        """Folds in one log return."""
        self._call("risk_vol_ewma_update", log_return)

    def update_price(self, price: float) -> None:
        """Folds in one price (the first only primes)."""
        self._call("risk_vol_ewma_update_price", price)


class Realized(_State):
    """Streaming close-to-close realised variance over the last ``window`` returns; the object
    owns the ring buffer the C state uses."""

    __slots__ = ()
    _variance_fn = "risk_vol_realized_variance"
    _vol_fn = "risk_vol_realized_vol_annual"

    def __init__(self, window: int) -> None:
        window = _count(window, "window")
        self._s = ffi.RiskVolRealizedState()
        self._ring = (ctypes.c_double * max(window, 1))()
        ffi.lib().risk_vol_realized_init(ctypes.byref(self._s), self._ring, len(self._ring), window)

    def update(self, log_return: Any) -> None:
        """Folds in one log return."""
        self._call("risk_vol_realized_update", log_return)

    def update_price(self, price: float) -> None:
        """Folds in one price (the first only primes)."""
        self._call("risk_vol_realized_update_price", price)


class Garch(_State):
    """Streaming GARCH(1,1) variance (``risk_vol_garch_state``): ``variance`` is the variance of
    the next return. Continue a fit with :meth:`GarchFit.state`."""

    __slots__ = ()
    _variance_fn = "risk_vol_garch_variance"
    _vol_fn = "risk_vol_garch_vol_annual"

    def __init__(self, omega: float, alpha: float, beta: float, variance: float) -> None:
        self._s = ffi.RiskVolGarchState()
        self._ring = None
        ffi.lib().risk_vol_garch_init(ctypes.byref(self._s), omega, alpha, beta, variance)

    def update(self, log_return: float) -> None:
        """Folds in one log return."""
        self._call("risk_vol_garch_update", log_return)

    def update_price(self, price: float) -> None:
        """Folds in one price (the first only primes)."""
        self._call("risk_vol_garch_update_price", price)

    def forecast(self, horizon: int) -> tuple[float, float]:
        """(E[s2 of the return ``horizon`` periods ahead], variance of the sum of the next
        ``horizon`` returns), both per period."""
        f, c = ctypes.c_double(), ctypes.c_double()
        ffi.lib().risk_vol_garch_forecast(ctypes.byref(f), ctypes.byref(c), ctypes.byref(self._s),
                                          _count(horizon, "horizon"))
        return f.value, c.value


class Range(_State):
    """Streaming range estimator over the last ``window`` bars: ``method`` is "parkinson",
    "garman-klass", "rogers-satchell" or "yang-zhang". The object owns the ring buffer."""

    __slots__ = ()
    _variance_fn = "risk_vol_range_variance"
    _vol_fn = "risk_vol_range_vol_annual"

    def __init__(self, method: str, window: int) -> None:
        if method not in _RANGE_METHODS:
            raise errors.make(errors.InvalidError, "method: %r is not one of %s" % (method, ", ".join(_RANGE_METHODS)))
        window = _count(window, "window")
        self._s = ffi.RiskVolRangeState()
        self._ring = (ctypes.c_double * max(3 * window, 1))()
        ffi.lib().risk_vol_range_init(ctypes.byref(self._s), _RANGE_METHODS[method], self._ring, len(self._ring),
                                      window)

    def update(self, open_: float, high: float, low: float, close: float) -> None:
        """Folds in one OHLC bar (Yang-Zhang: the first bar only gives its close)."""
        self._call("risk_vol_range_update", open_, high, low, close)


# ---------------------------------------------------------------- command line (python3 -m librisk vol)

_PRICE_COLUMNS = ("open", "high", "low", "close")


class VolCliError(Exception):
    """Bad input to ``python3 -m librisk vol`` (exit status 2, the message on stderr)."""


def add_cli_parser(sub: argparse._SubParsersAction[Any]) -> argparse.ArgumentParser:
    """Registers the ``vol`` subcommand on the CLI's subparsers."""
    p = sub.add_parser("vol", help="annualised volatility of a CSV of prices, one row per input row")
    p.add_argument("--method", required=True, choices=METHODS,
                   help="estimator: ewma (RiskMetrics), garch (fit then in-sample conditional vol), realized "
                        "(close-to-close), parkinson, garman-klass, rogers-satchell, yang-zhang")
    p.add_argument("--lambda", dest="lam", type=float, default=LAMBDA_DEFAULT,
                   help="EWMA decay factor in (0, 1) (default 0.94)")
    p.add_argument("--window", type=int, default=30,
                   help="rows per window for realized and the range estimators, >= 2 (default 30)")
    p.add_argument("--periods-per-year", type=float, default=None,
                   help="rows per year for annualisation (default: from the median spacing of the first "
                        "column's times, as backtest does: 365 for daily rows, 8760 for hourly; without a "
                        "time column it must be given)")
    p.add_argument("csv", metavar="FILE.csv", help="CSV with a header naming close (and open, high, low for the "
                                                  "range estimators)")
    return p


# The library's price domain (RISK_PRICE_MIN, RISK_PRICE_MAX; docs/errors.md section 4): closes and
# bars outside it are refused by every estimator, so the CSV readers refuse them with the line.
PRICE_MIN, PRICE_MAX = 1e-12, 1e12


def _read_csv(path: str, needed: tuple[str, ...]) -> tuple[str | None, list[str] | None, dict[str, FloatBuffer]]:
    """(first column name or None, first column values or None, {column: array('d')})."""
    import csv
    import sys
    try:
        if path == "-":  # standard input
            rows = list(csv.reader(sys.stdin))
        else:
            with open(path, newline="", encoding="utf-8") as f:
                rows = list(csv.reader(f))
    except OSError as exc:
        raise VolCliError("%s: %s" % (path, exc.strerror or exc)) from None
    except UnicodeDecodeError:
        raise VolCliError("%s: not UTF-8 text" % path) from None
    if not rows:
        raise VolCliError("%s: empty file (a header naming close is required)" % path)
    header = [h.strip().lower() for h in rows[0]]
    if header and header[0].startswith("\ufeff"):
        header[0] = header[0][1:]
    index = {}
    for col in needed:
        if col not in header:
            raise VolCliError("%s: no column named %s in the header" % (path, col))
        index[col] = header.index(col)
    carry = header[0] if header and header[0] not in _PRICE_COLUMNS else None
    columns = {col: array.array("d") for col in needed}
    first: list[str] | None = [] if carry is not None else None
    for line, row in enumerate(rows[1:], start=2):
        if not row or all(not cell.strip() for cell in row):
            continue
        for col in needed:
            i = index[col]
            text = row[i].strip() if i < len(row) else ""
            try:
                x = float(text)
            except ValueError:
                raise VolCliError("%s:%d: column %s: %r is not a number" % (path, line, col, text)) from None
            if not math.isfinite(x) or x <= 0:
                raise VolCliError("%s:%d: column %s: %s is not a positive price" % (path, line, col, text))
            if not PRICE_MIN <= x <= PRICE_MAX:
                raise VolCliError("%s:%d: column %s: %s is outside the price domain [1e-12, 1e12]"
                                  % (path, line, col, text))
            columns[col].append(x)
        if first is not None:
            first.append(row[0] if row else "")
    return (rows[0][0].strip().lstrip("\ufeff") if carry is not None else None), first, columns


def vol_column(method: str, columns: dict[str, FloatBuffer], lam: float = LAMBDA_DEFAULT, window: int = 30,
               periods_per_year: float = PERIODS_DAILY) -> FloatBuffer:
    """The CLI's computation: annualised volatility for each row (array('d'), NaN = none)."""
    close = columns.get("close")
    if method == "ewma":
        return ewma(close, lam, 0.0, periods_per_year)
    if method == "realized":
        return realized(close, window, periods_per_year)
    if method == "garch":
        r = log_returns(close)[1:]
        fit = garch_fit(r)
        return garch(close, fit.omega, fit.alpha, fit.beta, 0.0, periods_per_year)
    if method == "parkinson":
        return parkinson(columns["high"], columns["low"], window, periods_per_year)
    fn = {"garman-klass": garman_klass, "rogers-satchell": rogers_satchell, "yang-zhang": yang_zhang}[method]
    return fn(columns["open"], columns["high"], columns["low"], close, window, periods_per_year)


def _check_options(args: argparse.Namespace, n: int) -> None:
    if not (0.0 < args.lam < 1.0):
        raise VolCliError("--lambda: %r is outside (0, 1)" % args.lam)
    if not (math.isfinite(args.periods_per_year) and args.periods_per_year > 0):
        raise VolCliError("--periods-per-year: %r is not a positive number" % args.periods_per_year)
    if args.method in ("realized", "yang-zhang") or args.method in _RANGE_METHODS:
        need = args.window + (1 if args.method in ("realized", "yang-zhang") else 0)
        if args.window < 2:
            raise VolCliError("--window: %d is below 2" % args.window)
        if n < need:
            raise VolCliError("--window: %d needs at least %d rows, the file has %d" % (args.window, need, n))
    if args.method == "garch" and n < 11:
        raise VolCliError("garch: the fit needs at least 11 rows (10 returns), the file has %d" % n)


def bar_periods_per_year(path: str, first: list[str] | None) -> float:
    """Rows per year from the median spacing of the first column's times (dates, date-times or
    epochs, as the back-test reads them): 365 for daily rows, 8760 for hourly. Raises VolCliError
    when there is no time column to tell from: the caller must say."""
    from .backtest import _parse_time
    import statistics
    parsed = [_parse_time(t) for t in (first or [])]
    times = [t for t in parsed if t is not None]
    if len(times) < 2 or len(times) != len(parsed):
        raise VolCliError("%s: no time column to tell the bar length from: give --periods-per-year (365 for "
                          "daily rows, 8760 for hourly)" % path)
    gaps = [b - a for a, b in zip(times, times[1:])]
    if any(g <= 0 for g in gaps):
        raise VolCliError("%s: the first column's times must increase" % path)
    return 365.0 * 86400.0 / statistics.median(gaps)


def cli_main(args: argparse.Namespace, stdout: TextIO) -> None:
    """Runs ``vol`` with parsed arguments, writing CSV to ``stdout``; raises VolCliError on bad input."""
    needed = ("open", "high", "low", "close") if args.method in _RANGE_METHODS else ("close",)
    if args.method == "parkinson":
        needed = ("high", "low")
    name, first, columns = _read_csv(args.csv, needed)
    n = len(next(iter(columns.values())))
    if args.periods_per_year is None:
        args.periods_per_year = bar_periods_per_year(args.csv, first)
    _check_options(args, n)
    if args.method in _RANGE_METHODS and args.method != "parkinson":
        o, h, lo, c = (columns[k] for k in ("open", "high", "low", "close"))
        for i in range(n):
            if not (lo[i] <= min(o[i], c[i]) and max(o[i], c[i]) <= h[i]):
                raise VolCliError("%s: row %d: open and close must lie within [low, high]" % (args.csv, i + 2))
    elif args.method == "parkinson":
        for i in range(n):
            if columns["low"][i] > columns["high"][i]:
                raise VolCliError("%s: row %d: high is below low" % (args.csv, i + 2))
    try:
        vol = vol_column(args.method, columns, args.lam, args.window, args.periods_per_year)
    except errors.RiskError as exc:
        raise VolCliError("%s: %s" % (args.method, exc)) from None
    out = ["%s,vol_annual" % name if name is not None else "vol_annual"]
    for i in range(n):
        v = "" if math.isnan(vol[i]) else repr(vol[i])
        out.append("%s,%s" % (_csv_cell(first[i]), v) if first is not None else v)
    stdout.write("\n".join(out) + "\n")


def _csv_cell(text: str) -> str:
    if any(ch in text for ch in ',"\n\r'):
        return '"' + text.replace('"', '""') + '"'
    return text
