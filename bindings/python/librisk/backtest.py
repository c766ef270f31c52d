# SPDX-License-Identifier: Apache-2.0
"""Back-test of volatility-scaled margin on OHLC CSV files (docs/volatility.md, section 4).

For each price series and each horizon of h days it compares margin models, each a margin rate
(a fraction of the notional) set at the close of every bar from the data up to that close:

* ``static``: a constant rate, the empirical ``coverage`` quantile of the absolute h-day moves
  whose windows lie inside the calibration window (the first ``calibration_days`` of the
  series); no look-ahead: the evaluation starts where the calibration window ends.
* ``ewma`` and ``garch``: the library's VaR-style margin z x sigma x sqrt(h / 365)
  (``RISK_SCALING_VAR``, docs/volatility.md 2.2) read from an engine: ``ewma`` feeds every log
  return to the engine's own RiskMetrics estimator (lambda 0.94); ``garch`` fits GARCH(1,1) on
  every return up to the calibration end, refits every ``refit_days`` on the expanding window,
  updates the fitted state with each return in between, and sets the asset's volatility to
  the one that gives the h-day GARCH variance forecast (mean reversion included).
* ``+buffer``, ``+floor``, ``+cap``, ``+apc``: the same with the library's anti-procyclicality
  options (docs/volatility.md section 3): a buffer of ``buffer`` released while the live
  volatility is at least ``release_ratio`` x the long-run one, the floor at the long-run
  volatility, a cap of ``max_daily_change`` on the factor's daily move, and all three.

Metrics: breach rate (|C_(t+h) / C_t - 1| beyond the margin set at t), the Kupiec
proportion-of-failures test against ``coverage``, the average margin, the largest rise of the
margin within 5 and 30 days, and the margin in force on the crash days of ``CRASH_DAYS``.

Intraday files are resampled to daily closes (the close of each UTC day's last bar) unless
``bars='native'``. Only the close column is used. Standard library only.
"""

from __future__ import annotations

import array
import bisect
import calendar
import collections
import csv
import datetime
import math
import os
import statistics
import sys
from dataclasses import dataclass, field

from . import errors
from . import vol as _vol
from .core import Engine
import argparse
from typing import Any, Callable, Sequence, TextIO

__all__ = [
    "CRASH_DAYS", "MODELS", "CSV_COLUMNS", "Config", "Series", "ModelResult", "BacktestError",
    "read_csv", "daily_closes", "split_at_gaps", "kupiec", "h_day_moves", "count_breaches", "max_rise",
    "margin_paths", "backtest_series", "run", "format_table", "write_csv", "add_cli_parser", "cli_main",
]

DAY_S = 86400
#: UTC days of the crash episodes the report shows the margin for.
CRASH_DAYS = ("2020-03-12", "2021-05-19", "2022-05-09", "2022-05-10", "2022-05-11", "2022-05-12",
              "2022-11-08", "2022-11-09")
_VARIANTS = ("", "+buffer", "+floor", "+cap", "+apc")
#: Model names, in the order of the report.
MODELS = ("static",) + tuple("ewma" + v for v in _VARIANTS) + tuple("garch" + v for v in _VARIANTS)
#: Columns of the results CSV (fractions, not percentages; empty where there is no value).
CSV_COLUMNS = (("series", "bars", "periods_per_year", "horizon_days", "model", "start", "end", "n", "breaches",
                "breach_rate", "kupiec_lr", "kupiec_p", "avg_margin", "max_rise_5d", "max_rise_30d")
               + tuple("margin_" + d for d in CRASH_DAYS) + tuple("move_" + d for d in CRASH_DAYS))

_TIME_NAMES = ("timestamp", "time", "date", "datetime", "date_utc", "time_dt", "open_time", "timestamp_ms")
_BASE_MMR = 0.01  # the one tier the VaR-mode instruments are registered with (any rate works: VAR rescales it)


class BacktestError(Exception):
    """Bad input to the back-test (the CLI exits with status 2 and this message on one line)."""


@dataclass(frozen=True)
class Config:
    """Back-test parameters (defaults: docs/volatility.md section 4)."""
    coverage: float = 0.99        #: target share of h-day moves the margin covers (two-sided, |move|)
    calibration_days: int = 365   #: initial window: static quantile, first GARCH fit; evaluation starts after it
    refit_days: int = 30          #: GARCH refit interval (expanding window of every return so far)
    lam: float = _vol.LAMBDA_DEFAULT  #: EWMA decay (RiskMetrics daily)
    buffer: float = 0.25          #: APC buffer (option a), released in stress
    release_ratio: float = 1.5    #: stress: live volatility >= release_ratio x long-run volatility
    max_daily_change: float = 0.2  #: APC rate cap (option d): the factor moves at most 20 % a day
    bars: str = "daily"           #: "daily" resamples intraday bars to daily closes; "native" keeps them
    max_gap_days: float = 7.0     #: a longer gap in the data splits the series into segments

    def z(self) -> float:
        """Two-sided normal quantile for ``coverage``: Phi^-1((1 + coverage) / 2) (2.5758 at 99 %)."""
        return statistics.NormalDist().inv_cdf(0.5 + 0.5 * self.coverage)

    def check(self) -> None:
        """Raises BacktestError naming the first parameter out of range."""
        ok = {
            "coverage": 0.0 < self.coverage < 1.0,
            "calibration_days": isinstance(self.calibration_days, int) and self.calibration_days >= 10,
            "refit_days": isinstance(self.refit_days, int) and self.refit_days >= 1,
            "lambda": 0.0 < self.lam < 1.0,
            "buffer": self.buffer >= 0.25,
            "release_ratio": math.isfinite(self.release_ratio) and self.release_ratio > 0.0,
            "max_daily_change": math.isfinite(self.max_daily_change) and self.max_daily_change > 0.0,
            "bars": self.bars in ("daily", "native"),
            "max_gap_days": self.max_gap_days > 0.0,
        }
        for name, good in ok.items():
            if not good:
                value = self.lam if name == "lambda" else getattr(self, name)
                raise BacktestError("--%s: %r is out of range" % (name.replace("_", "-"), value))


@dataclass(frozen=True)
class Series:
    """Closes of one instrument: ``times`` are bar open times (Unix seconds, UTC, increasing)."""
    name: str
    bars: str            #: "1d", "1h", "2h", or "1h->1d" when resampled
    bar_seconds: int
    times: tuple[int, ...]
    closes: array.array[float]

    @property
    def periods_per_year(self) -> float:
        """Bars per year of a market that trades every day: 365 daily, 8,760 hourly, 4,380 for 2 h."""
        return 365.0 * DAY_S / self.bar_seconds

    @property
    def bars_per_day(self) -> float:
        return DAY_S / self.bar_seconds


@dataclass
class ModelResult:
    """One row of the report: a model on a series at a horizon, and the paths behind it."""
    series: str
    bars: str
    periods_per_year: float
    horizon_days: int
    model: str
    start: str
    end: str
    n: int
    breaches: int
    breach_rate: float
    kupiec_lr: float
    kupiec_p: float
    avg_margin: float
    max_rise_5d: float
    max_rise_30d: float
    #: day -> (margin in force, h-day move from the day's start)
    crash: dict[str, tuple[float, float | None]] = field(default_factory=dict)
    times: list[int] = field(default_factory=list, repr=False)      #: evaluation bars
    margins: list[float] = field(default_factory=list, repr=False)  #: margin set at each of their closes
    moves: list[float | None] = field(default_factory=list, repr=False)  #: h-day move from each of those closes


# ---------------------------------------------------------------- reading


def _parse_time(text: str) -> int | None:
    """Unix seconds (UTC) of an ISO date/date-time or an epoch in s or ms; None if it is neither."""
    t = text.strip()
    if not t:
        return None
    try:
        x = float(t)
    except ValueError:
        pass
    else:
        if not math.isfinite(x) or x < 0:
            return None
        return int(round(x / 1000.0)) if x >= 1e11 else int(round(x))
    if t.endswith("Z"):
        t = t[:-1]
    try:
        d = datetime.datetime.fromisoformat(t)
    except ValueError:
        return None
    if d.tzinfo is not None:
        d = d.astimezone(datetime.timezone.utc).replace(tzinfo=None)
    return calendar.timegm(d.timetuple())


def _date(ts: int) -> str:
    return datetime.datetime.fromtimestamp(ts, datetime.timezone.utc).strftime("%Y-%m-%d")


def _bars_label(seconds: int) -> str:
    if seconds % DAY_S == 0:
        return "%dd" % (seconds // DAY_S)
    if seconds % 3600 == 0:
        return "%dh" % (seconds // 3600)
    if seconds % 60 == 0:
        return "%dm" % (seconds // 60)
    return "%ds" % seconds


def read_csv(path: str) -> Series:
    """Reads a CSV with a header naming ``close`` and a time column (the first of timestamp, time,
    date, ... whose first value is a date, a date-time or an epoch in s or ms); returns a
    :class:`Series` whose bar length is the median spacing of the times. Raises BacktestError."""
    try:
        with open(path, newline="", encoding="utf-8") as f:
            rows = list(csv.reader(f))
    except OSError as exc:
        raise BacktestError("%s: %s" % (path, exc.strerror or exc)) from None
    except (UnicodeDecodeError, csv.Error) as exc:
        raise BacktestError("%s: not a UTF-8 CSV file (%s)" % (path, exc)) from None
    if not rows:
        raise BacktestError("%s: empty file (a header naming close and a time column is required)" % path)
    header = [h.strip().lstrip("\ufeff").lower() for h in rows[0]]
    if "close" not in header:
        raise BacktestError("%s: no column named close in the header" % path)
    ci = header.index("close")
    body = [(line, row) for line, row in enumerate(rows[1:], start=2) if any(c.strip() for c in row)]
    if len(body) < 2:
        raise BacktestError("%s: fewer than two rows of prices" % path)
    candidates = [i for i, h in enumerate(header) if h in _TIME_NAMES or "time" in h or "date" in h]
    ti = next((i for i in candidates if i < len(body[0][1]) and _parse_time(body[0][1][i]) is not None), None)
    if ti is None:
        raise BacktestError("%s: no time column (a date, date-time or epoch column named like timestamp, time "
                            "or date)" % path)
    times: list[int] = []
    closes = array.array("d")
    for line, row in body:
        text = row[ci].strip() if ci < len(row) else ""
        try:
            x = float(text)
        except ValueError:
            raise BacktestError("%s:%d: column close: %r is not a number" % (path, line, text)) from None
        if not math.isfinite(x) or x <= 0:
            raise BacktestError("%s:%d: column close: %s is not a positive price" % (path, line, text))
        if not _vol.PRICE_MIN <= x <= _vol.PRICE_MAX:  # the library's domain (docs/errors.md section 4)
            raise BacktestError("%s:%d: column close: %s is outside the price domain [1e-12, 1e12]"
                                % (path, line, text))
        t = _parse_time(row[ti]) if ti < len(row) else None
        if t is None:
            raise BacktestError("%s:%d: %s: %r is not a time" % (path, line, header[ti], row[ti] if ti < len(row)
                                                                  else ""))
        if times and t <= times[-1]:
            raise BacktestError("%s:%d: %s: times must increase" % (path, line, header[ti]))
        times.append(t)
        closes.append(x)
    bar = int(statistics.median(b - a for a, b in zip(times, times[1:])))
    name = os.path.splitext(os.path.basename(path))[0]
    return Series(name, _bars_label(bar), bar, tuple(times), closes)


def daily_closes(series: Series) -> Series:
    """Resamples intraday bars to daily closes: each UTC day's close is its last bar's close, the
    day's time its 00:00; a last day whose final bar is missing (a partial day) is dropped.
    Daily (or longer) series are returned unchanged."""
    if series.bar_seconds >= DAY_S:
        return series
    days: list[int] = []
    closes = array.array("d")
    for t, c in zip(series.times, series.closes):
        d = t - t % DAY_S
        if days and days[-1] == d:
            closes[-1] = c
        else:
            days.append(d)
            closes.append(c)
    if series.times[-1] + series.bar_seconds < days[-1] + DAY_S:
        days.pop()
        closes.pop()
    return Series(series.name, series.bars + "->1d", DAY_S, tuple(days), closes)


def split_at_gaps(series: Series, max_gap_days: float = 7.0) -> list[Series]:
    """Splits a series where consecutive bars are more than ``max_gap_days`` apart into segments
    named ``name#1``, ``name#2`` ... (a series without such a gap is returned as it is)."""
    cuts = [0] + [i for i in range(1, len(series.times))
                  if series.times[i] - series.times[i - 1] > max_gap_days * DAY_S] + [len(series.times)]
    if len(cuts) == 2:
        return [series]
    return [Series("%s#%d" % (series.name, k), series.bars, series.bar_seconds,
                   series.times[a:b], series.closes[a:b])
            for k, (a, b) in enumerate(zip(cuts, cuts[1:]), start=1)]


# ---------------------------------------------------------------- metrics


def kupiec(n: int, breaches: int, coverage: float = 0.99) -> tuple[float, float]:
    """Kupiec's (1995) proportion-of-failures test: (LR, p-value).

    LR = -2 ln[(1-p)^(n-x) p^x] + 2 ln[(1-x/n)^(n-x) (x/n)^x], p = 1 - coverage, x breaches in
    n trials; under the null (breach probability p, independent trials) LR ~ chi-square(1), so
    the p-value is P(chi2_1 > LR) = erfc(sqrt(LR / 2)). 0 ln 0 is taken as 0.
    """
    if n <= 0 or not 0 <= breaches <= n:
        raise ValueError("kupiec: need 0 <= breaches <= n and n > 0")
    p = 1.0 - coverage
    x = breaches

    def xlogy(a: int, b: float) -> float:
        return 0.0 if a == 0 else a * math.log(b)

    lr = -2.0 * (xlogy(n - x, 1.0 - p) + xlogy(x, p)) + 2.0 * (xlogy(n - x, 1.0 - x / n) + xlogy(x, x / n))
    lr = max(lr, 0.0)
    return lr, math.erfc(math.sqrt(lr / 2.0))


def h_day_moves(series: Series, horizon_days: int) -> list[float | None]:
    """moves[t] = C_j / C_t - 1 for the bar j that opens exactly ``horizon_days`` days after bar t
    (None when the data have no such bar): the loss per unit notional of the side that loses."""
    index = {t: i for i, t in enumerate(series.times)}
    c = series.closes
    out = []
    for i, t in enumerate(series.times):
        j = index.get(t + horizon_days * DAY_S)
        out.append(None if j is None else c[j] / c[i] - 1.0)
    return out


def count_breaches(margins: list[float], moves: list[float | None]) -> tuple[int, int]:
    """(trials, breaches): pairs where both are known; a breach is |move| > margin."""
    n = x = 0
    for m, mv in zip(margins, moves):
        if m is None or mv is None:
            continue
        n += 1
        x += abs(mv) > m
    return n, x


def max_rise(times: list[int], margins: list[float], span_days: int) -> float:
    """The largest relative rise of the margin within ``span_days``: max over s <= t with
    times[t] - times[s] <= span_days days of margins[t] / margins[s] - 1 (0 when it never rises)."""
    best, window = 0.0, collections.deque[int]()  # indices of increasing margins: a sliding minimum
    for t, (ts, m) in enumerate(zip(times, margins)):
        while window and margins[window[-1]] >= m:
            window.pop()
        window.append(t)
        while times[window[0]] < ts - span_days * DAY_S:
            window.popleft()
        best = max(best, m / margins[window[0]] - 1.0)
    return best


# ---------------------------------------------------------------- margin models


def _start_index(series: Series, config: Config) -> int:
    """Index of the first evaluation bar: the first whose time is calibration_days after the start."""
    w = bisect.bisect_left(series.times, series.times[0] + config.calibration_days * DAY_S)
    if w < 11 or w >= len(series.times) - 1:
        raise BacktestError("%s: %d bars over %s: too short for a %d-day calibration window and an evaluation "
                            "after it" % (series.name, len(series.times), _span(series), config.calibration_days))
    return w


def _span(series: Series) -> str:
    return "%s..%s" % (_date(series.times[0]), _date(series.times[-1]))


def _static_rate(series: Series, moves: list[float | None], w: int, h: int, coverage: float) -> float:
    """Empirical quantile of |moves| whose windows end inside the calibration window (bar <= w)."""
    end = series.times[w] - h * DAY_S
    sample = sorted(abs(mv) for t, mv in zip(series.times[:w], moves[:w]) if mv is not None and t <= end)
    if not sample:
        raise BacktestError("%s: no %d-day move inside the calibration window" % (series.name, h))
    return sample[max(0, math.ceil(coverage * len(sample)) - 1)]


def _apc_options(variant: str, config: Config) -> dict[str, Any]:
    opts = {}
    if variant in ("+buffer", "+apc"):
        opts["buffer"] = config.buffer
    if variant in ("+floor", "+apc"):
        opts["vol_floor"] = True
    if variant in ("+cap", "+apc"):
        opts["max_daily_change"] = config.max_daily_change
    return opts


class _MarginEngine:
    """One engine per volatility model and horizon, holding one asset per anti-procyclicality
    variant, each the underlying of one VaR-mode instrument of the same name.

    The variants get an asset each, fed the same data, so that each is one operator's whole
    configuration: an asset-level configuration call (buffer release, long-run volatility)
    rescales every scaled instrument on the asset, and while it may no longer raise a capped
    factor (docs/volatility.md 3.4) it still lowers one at once, past the cap's daily limit, so
    on a shared asset a release meant for the buffered instrument could move the capped one.
    (On the files of section 4 a shared asset gives the same numbers.)"""

    def __init__(self, family: str, horizon_days: int, periods_per_year: float, config: Config) -> None:
        self.eng = Engine(no_quantize=True)
        self.eng.add_asset("USD", 1.0)
        self.names = [family + v for v in _VARIANTS]
        self.buffered = [n for n, v in zip(self.names, _VARIANTS) if "buffer" in _apc_options(v, config)]
        self.floored = [n for n, v in zip(self.names, _VARIANTS) if "vol_floor" in _apc_options(v, config)]
        for name, variant in zip(self.names, _VARIANTS):
            self.eng.add_asset(name, 1.0)
            self.eng.set_asset_vol_params(name, lambda_=config.lam, periods_per_year=periods_per_year)
            self.eng.add_instrument(name, name, "USD", [(None, _BASE_MMR, 50)], mark=1.0)
            self.eng.set_instrument_scaling(name, mode="var", z=config.z(), horizon_days=horizon_days,
                                            days_per_year=365.0, min_factor=1e-4, max_factor=1e4,
                                            **_apc_options(variant, config))
        self.release_ratio = config.release_ratio
        self.released: set[str] = set()
        self.long_run: float | None = None  # set by set_long_run(); else each asset's own estimate from its fed returns

    def feed_return(self, log_return: float, time_s: int) -> None:
        for name in self.names:
            self.eng.feed_asset_return(name, log_return, time_s)

    def set_vol(self, vol_annual: float, time_s: int) -> None:
        for name in self.names:
            self.eng.set_asset_vol(name, vol_annual, time_s)

    def set_long_run(self, vol_annual: float) -> None:
        """The long-run volatility: the floor of the floored variants and the stress test's yardstick."""
        self.long_run = vol_annual
        for name in self.floored:
            self.eng.set_asset_floor_vol(name, vol_annual)

    def stress_release(self) -> None:
        """Releases a buffer while its asset's live volatility is >= release_ratio x the long-run
        one, and restores it after."""
        for name in self.buffered:
            st = self.eng.asset_vol(name)
            long_run = st.floor_vol_annual if self.long_run is None else self.long_run
            stressed = (st.live_vol_annual is not None and long_run is not None
                        and st.live_vol_annual >= self.release_ratio * long_run)
            if stressed != (name in self.released):
                self.eng.set_asset_buffer_release(name, 1.0 if stressed else 0.0)
                (self.released.add if stressed else self.released.discard)(name)

    def margins(self) -> list[float]:
        """The maintenance rate of each instrument, read as the MM of a notional of 1."""
        return [self.eng.instrument_margin(name, 1.0)[1] for name in self.names]

    def close(self) -> None:
        self.eng.close()


def margin_paths(series: Series, horizon_days: int, config: Config = Config()) -> tuple[int, dict[str, list[float]]]:
    """(w, {model: margins}): w is the first evaluation bar (``calibration_days`` after the
    start) and each path holds the margin rate set at the close of bars w, w+1, ..."""
    w = _start_index(series, config)
    h = horizon_days
    moves = h_day_moves(series, h)
    n = len(series.times)
    P = series.periods_per_year
    paths: dict[str, list[float]] = {m: [] for m in MODELS}
    paths["static"] = [_static_rate(series, moves, w, h, config.coverage)] * (n - w)
    returns = _vol.log_returns(series.closes)

    ewma = _MarginEngine("ewma", h, P, config)
    try:
        for t in range(1, n):
            ewma.feed_return(returns[t], series.times[t])
            ewma.stress_release()
            if t >= w:
                for name, m in zip(ewma.names, ewma.margins()):
                    paths[name].append(m)
    finally:
        ewma.close()

    garch = _MarginEngine("garch", h, P, config)
    horizon_bars = int(round(h * series.bars_per_day))
    try:
        state, fitted_at = None, None
        for t in range(w, n):
            if fitted_at is None or series.times[t] - series.times[fitted_at] >= config.refit_days * DAY_S:
                try:
                    fit = _vol.garch_fit(returns[1:t + 1])
                except errors.RiskError:
                    fit = None  # keep the previous parameters, updated below
                if fit is not None:
                    state, fitted_at = fit.state(), t
                    garch.set_long_run(math.sqrt(fit.sample_variance * P))
                elif state is None:
                    raise BacktestError("%s: GARCH(1,1) cannot be fitted to the calibration window" % series.name)
            if fitted_at != t:
                state.update(returns[t])
            cumulative = state.forecast(horizon_bars)[1]
            garch.set_vol(math.sqrt(cumulative / horizon_bars * P), series.times[t])
            garch.stress_release()
            for name, m in zip(garch.names, garch.margins()):
                paths[name].append(m)
    finally:
        garch.close()
    return w, paths


def _crash_index(series: Series, day: str) -> int | None:
    """Index of the bar whose close is the start of ``day`` (00:00 UTC), or None."""
    midnight = calendar.timegm(datetime.date.fromisoformat(day).timetuple())
    i = bisect.bisect_right(series.times, midnight - series.bar_seconds) - 1
    if i < 0 or series.times[i] + series.bar_seconds + DAY_S <= midnight:
        return None
    return i


def _check_testable(series: Series, horizons: Sequence[int], config: Config) -> None:
    """Raises the BacktestError :func:`backtest_series` would raise on the shape of ``series``
    (bars that do not divide a horizon, too few bars for the calibration window)."""
    for h in horizons:
        if series.bar_seconds > DAY_S or (h * DAY_S) % series.bar_seconds:
            raise BacktestError("%s: %s bars do not divide a %d-day horizon" % (series.name, series.bars, h))
    _start_index(series, config)


def backtest_series(series: Series, horizons: Sequence[int] = (1, 3), config: Config = Config()) -> list[ModelResult]:
    """Back-tests every model of :data:`MODELS` on one series at each horizon (days); returns a
    list of :class:`ModelResult`."""
    config.check()
    _check_testable(series, horizons, config)
    out = []
    for h in horizons:
        moves = h_day_moves(series, h)
        w, paths = margin_paths(series, h, config)
        keep = [i for i in range(len(series.times) - w) if moves[w + i] is not None]
        if not keep:
            raise BacktestError("%s: no %d-day move after the calibration window" % (series.name, h))
        times = [series.times[w + i] for i in keep]
        mv = [moves[w + i] for i in keep]
        crash_at = {d: _crash_index(series, d) for d in CRASH_DAYS}
        for model in MODELS:
            m = [paths[model][i] for i in keep]
            n, x = count_breaches(m, mv)
            lr, p = kupiec(n, x, config.coverage)
            crash: dict[str, tuple[float, float | None]] = {}
            for d, i in crash_at.items():
                if i is not None and i >= w and moves[i] is not None:
                    crash[d] = (paths[model][i - w], moves[i])
            out.append(ModelResult(series.name, series.bars, series.periods_per_year, h, model, _date(times[0]),
                                   _date(times[-1]), n, x, x / n, lr, p, sum(m) / len(m), max_rise(times, m, 5),
                                   max_rise(times, m, 30), crash, times, m, mv))
    return out


def load(paths: Sequence[str], config: Config = Config()) -> tuple[list[Series], list[str]]:
    """Reads and checks every file before anything is computed (a bad file fails at once, whatever
    its place in ``paths``); returns (series to test, notes): each file resampled as ``config.bars``
    says and split at gaps, the notes saying how each file was read."""
    tagged, notes = _load(paths, config)
    return [part for part, _ in tagged], notes


def _load(paths: Sequence[str], config: Config) -> tuple[list[tuple[Series, bool]], list[str]]:
    """:func:`load`, each series tagged with whether it is a whole file (True) or a segment."""
    config.check()
    parts_all: list[tuple[Series, bool]] = []
    notes: list[str] = []
    for path in paths:
        raw = read_csv(path)
        series = daily_closes(raw) if config.bars == "daily" else raw
        if series is not raw:
            notes.append("%s: %s bars resampled to daily closes (%d days)" % (raw.name, raw.bars, len(series.times)))
        parts = split_at_gaps(series, config.max_gap_days)
        if len(parts) > 1:
            notes.append("%s: split at %d gap(s) longer than %g days into %s" % (
                raw.name, len(parts) - 1, config.max_gap_days, ", ".join("%s (%s)" % (s.name, _span(s))
                                                                          for s in parts)))
        parts_all.extend((part, len(parts) == 1) for part in parts)
    return parts_all, notes


def run(paths: Sequence[str], horizons: Sequence[int] = (1, 3), config: Config = Config(),
        progress: Callable[[int, int, str], None] | None = None) -> tuple[list[ModelResult], list[str]]:
    """Back-tests every file; returns (results, notes): the notes say how each file was read
    (bars, resampling, segments split at gaps and segments too short to test).

    Every file is read and checked first (:func:`load`). ``progress(done, total, label)`` is called
    before each series is tested (``done`` of ``total`` series finished) and once at the end."""
    parts, notes = _load(paths, config)
    for part, whole_file in parts:  # what would fail a whole file fails it now, before any work
        if whole_file:
            _check_testable(part, horizons, config)
    results: list[ModelResult] = []
    for k, (part, whole_file) in enumerate(parts):
        if progress is not None:
            progress(k, len(parts), part.name)
        try:
            results.extend(backtest_series(part, horizons, config))
        except BacktestError as exc:
            if whole_file:
                raise
            notes.append("%s: skipped: %s" % (part.name, exc))
    if progress is not None:
        progress(len(parts), len(parts), "done")
    return results, notes


# ---------------------------------------------------------------- output


def _pct(x: float | None, places: int = 2) -> str:
    return "-" if x is None else "%.*f%%" % (places, 100.0 * x)


def format_table(results: list[ModelResult], notes: Sequence[str] = ()) -> str:
    """The report as text: one line per (series, horizon, model), then the crash days."""
    lines = ["%-22s %-7s %2s %-13s %6s %5s %7s %8s %6s %9s %8s %8s" % (
        "series", "bars", "h", "model", "n", "brch", "rate", "LR", "p", "avg marg", "rise 5d", "rise 30d")]
    for r in results:
        lines.append("%-22s %-7s %2d %-13s %6d %5d %7s %8.2f %6.3f %9s %8s %8s" % (
            r.series, r.bars, r.horizon_days, r.model, r.n, r.breaches, _pct(r.breach_rate), r.kupiec_lr, r.kupiec_p,
            _pct(r.avg_margin), _pct(r.max_rise_5d, 0), _pct(r.max_rise_30d, 0)))
    groups: collections.OrderedDict[Any, Any] = collections.OrderedDict()
    for r in results:
        groups.setdefault((r.series, r.bars, r.horizon_days), []).append(r)
    crash_lines = []
    for (name, bars, h), rs in groups.items():
        days = [d for d in CRASH_DAYS if d in rs[0].crash]
        for d in days:
            move = rs[0].crash[d][1]
            cells = ["%6s%s" % (_pct(r.crash[d][0], 1), "*" if abs(move) > r.crash[d][0] else " ") for r in rs]
            crash_lines.append("%-22s %-7s %2d %s %7s  %s" % (name, bars, h, d, _pct(move, 1), " ".join(cells)))
    if crash_lines:
        lines.append("")
        lines.append("Margin in force at the start of each crash day and the h-day move from there "
                     "(* = breached):")
        lines.append("%-22s %-7s %2s %-10s %7s  %s" % ("series", "bars", "h", "day", "move", " ".join(
            "%7s" % m.replace("ewma", "e").replace("garch", "g").replace("static", "stat")[:7] for m in MODELS)))
        lines.extend(crash_lines)
    lines.extend("note: " + n for n in notes)
    return "\n".join(lines) + "\n"


def _cell(x: object) -> str:
    if x is None:
        return ""
    if isinstance(x, float):
        return "%.10g" % x
    return str(x)


def write_csv(results: list[ModelResult], f: TextIO) -> None:
    """Writes the results as CSV with the header :data:`CSV_COLUMNS` (fractions to 10 significant
    digits; empty = no value)."""
    w = csv.writer(f, lineterminator="\n")
    w.writerow(CSV_COLUMNS)
    for r in results:
        row = [r.series, r.bars, r.periods_per_year, r.horizon_days, r.model, r.start, r.end, r.n, r.breaches,
               r.breach_rate, r.kupiec_lr, r.kupiec_p, r.avg_margin, r.max_rise_5d, r.max_rise_30d]
        row += [r.crash[d][0] if d in r.crash else None for d in CRASH_DAYS]
        row += [r.crash[d][1] if d in r.crash else None for d in CRASH_DAYS]
        w.writerow([_cell(x) for x in row])


# ---------------------------------------------------------------- command line


def add_cli_parser(sub: argparse._SubParsersAction[Any]) -> argparse.ArgumentParser:
    """Registers the ``backtest`` subcommand on the CLI's subparsers."""
    d = Config()
    p = sub.add_parser("backtest", help="back-test static, EWMA- and GARCH-scaled margin with and without "
                                        "anti-procyclicality on OHLC CSV files")
    p.add_argument("--horizon", action="append", metavar="DAYS",
                   help="horizon in days, a positive whole number; repeat for several (default 1 and 3)")
    p.add_argument("--out", metavar="FILE.csv", help="also write the results as CSV")
    p.add_argument("--coverage", metavar="Q", default=str(d.coverage),
                   help="target coverage of |h-day moves| (default 0.99)")
    p.add_argument("--calibration-days", metavar="DAYS", default=str(d.calibration_days),
                   help="initial window for the static rate and the first GARCH fit (default 365)")
    p.add_argument("--refit-days", metavar="DAYS", default=str(d.refit_days),
                   help="GARCH refit interval in days (default 30)")
    p.add_argument("--lambda", dest="lam", metavar="L", default=str(d.lam),
                   help="EWMA decay per bar (default 0.94, RiskMetrics' daily value)")
    p.add_argument("--max-daily-change", metavar="C", default=str(d.max_daily_change),
                   help="APC rate cap on the factor per day (default 0.2)")
    p.add_argument("--bars", choices=("daily", "native"), default=d.bars,
                   help="daily: resample intraday bars to daily closes (default); native: keep them")
    p.add_argument("--quiet", "-q", action="store_true",
                   help="no progress on stderr (by default a bar on a terminal, else a line per series)")
    p.add_argument("csv", nargs="+", metavar="FILE.csv", help="CSV with a header naming close and a time column")
    return p


def _number(text: str, what: str, kind: type = float) -> float:
    try:
        x = kind(text)
    except (TypeError, ValueError):
        raise BacktestError("--%s: %r is not a %s" % (what, text, "whole number" if kind is int else "number")) \
            from None
    if kind is float and not math.isfinite(x):
        raise BacktestError("--%s: %r is not a finite number" % (what, text))
    return x


def _horizons(values: list[str] | None) -> list[int]:
    out = []
    for text in values or ("1", "3"):
        try:
            h = int(text)
        except ValueError:
            h = None
        if h is None or h < 1 or h > 365:
            raise BacktestError("--horizon: %r is not a horizon in whole days from 1 to 365" % text)
        if h not in out:
            out.append(h)
    return out


def cli_main(args: argparse.Namespace, stdout: TextIO) -> None:
    """Runs ``backtest`` with parsed arguments: the table on ``stdout``, the CSV to ``--out``."""
    horizons = _horizons(args.horizon)
    config = Config(coverage=_number(args.coverage, "coverage"),
                    calibration_days=int(_number(args.calibration_days, "calibration-days", int)),
                    refit_days=int(_number(args.refit_days, "refit-days", int)),
                    lam=_number(args.lam, "lambda"),
                    max_daily_change=_number(args.max_daily_change, "max-daily-change"), bars=args.bars)
    config.check()
    if args.out:
        where = os.path.dirname(os.path.abspath(args.out))
        if not os.path.isdir(where) or not os.access(where, os.W_OK):
            raise BacktestError("--out: %s: directory missing or not writable" % args.out)
    from .progress import Progress
    progress = Progress(sys.stderr, "backtest", quiet=args.quiet)
    try:
        results, notes = run(args.csv, horizons, config, progress)
    except BaseException:
        progress.abandon()
        raise
    if args.out:
        try:
            with open(args.out, "w", newline="", encoding="utf-8") as f:
                write_csv(results, f)
        except OSError as exc:
            raise BacktestError("--out: %s: %s" % (args.out, exc.strerror or exc)) from None
    stdout.write(format_table(results, notes))
