# SPDX-License-Identifier: Apache-2.0
"""Scenarios and book stress tests (include/risk/portfolio.h, include/risk/stress.h; docs/stress.md).

Every number comes from the C library: :func:`scenario_pnl` is ``risk_account_scenario_pnl``,
:func:`stress` is ``risk_engine_stress``, :func:`exposures` is ``risk_engine_exposures`` and the
merges are ``risk_stress_merge`` and ``risk_exposure_merge``. This module builds scenario sets
(a scenario is a list of relative price moves by asset symbol, optional vol moves, a weight):

- :func:`load_scenarios`: a user's ``librisk-scenarios/1`` JSON document;
- :func:`hypothetical`: every crypto asset -X %, one asset -Y %, a stablecoin depeg to p, vol x k;
- :func:`historical`: the worst 1-, 3- and 10-day moves of a crash episode in the market data
  (``../shared/data/market``), applied jointly across assets.

It also holds the ``stress`` command-line subcommand.
"""

from __future__ import annotations

import argparse
import csv
import ctypes
import datetime
import json
import math
import os
import sys
from typing import (Any, Callable, Iterable, Iterator, Literal, Mapping, Sequence, TYPE_CHECKING, Union, cast,
                    overload)

from . import errors, ffi
from .ffi import FloatBuffer

if TYPE_CHECKING:
    from .book import Book, Json
    from .core import Account, AccountSummary, Engine

__all__ = ["Scenario", "ScenarioSet", "load_scenarios", "hypothetical", "historical", "EPISODES",
           "STABLECOINS", "scenario_pnl", "stress", "StressResult", "exposures", "merge_exposures",
           "SCENARIOS_FORMAT", "STRESS_FORMAT", "ScenarioError"]

SCENARIOS_FORMAT = "librisk-scenarios/1"
STRESS_FORMAT = "librisk-stress/1"

#: Symbols treated as stablecoins by :func:`hypothetical` ("every crypto asset" leaves them out).
STABLECOINS = ("USDT", "USDC", "USD", "DAI", "BUSD", "TUSD", "USDP", "FDUSD", "PYUSD", "USDE", "UST")

_STATES = {ffi.STATE_HEALTHY: "healthy", ffi.STATE_MARGIN_CALL: "margin_call",
           ffi.STATE_LIQUIDATABLE: "liquidatable", ffi.STATE_BANKRUPT: "bankrupt"}
_VOL_MODES = {"relative": ffi.VOL_MOVE_RELATIVE, "absolute": ffi.VOL_MOVE_ABSOLUTE}


class ScenarioError(ValueError):
    """A scenario set that cannot be built: ``path`` names the field, ``problem`` says why."""

    def __init__(self, path: str, problem: str) -> None:
        super().__init__("%s: %s" % (path, problem))
        self.path = path
        self.problem = problem


class Scenario:
    """One scenario: ``moves`` {asset symbol: relative move, > -1}, ``vol`` {asset symbol: vol
    move} (options only), ``weight`` in [0, 1], a ``name`` and free-form ``info``."""

    def __init__(self, name: str, moves: Mapping[str, float] | None = None, vol: Mapping[str, float] | None = None,
                 weight: float = 1.0, info: Mapping[str, Any] | None = None) -> None:
        self.name = str(name)
        self.moves = dict(moves or {})
        self.vol = dict(vol or {})
        self.weight = float(weight)
        self.info = dict(info or {})

    def as_dict(self) -> dict[str, Any]:
        d: dict[str, Any] = {"name": self.name, "moves": dict(self.moves), "weight": self.weight}
        if self.vol:
            d["vol"] = dict(self.vol)
        if self.info:
            d.update(self.info)
        return d

    def __repr__(self) -> str:
        return "<Scenario %s %s>" % (self.name, self.moves)


class ScenarioSet:
    """A batch of :class:`Scenario` with the vol term structure of docs/stress.md 1.2:
    ``vol_mode`` 'relative' or 'absolute', t = (vol_term_days / DTE)^p with p =
    ``vol_term_power_short`` below vol_term_days, else ``vol_term_power_long``."""

    def __init__(self, scenarios: Iterable[Scenario], vol_mode: str = "relative", vol_term_days: float = 30.0,
                 vol_term_power_short: float = 0.0, vol_term_power_long: float = 0.0) -> None:
        self.scenarios = list(scenarios)
        if vol_mode not in _VOL_MODES:
            raise ScenarioError("vol_mode", "must be 'relative' or 'absolute', not %r" % (vol_mode,))
        self.vol_mode = vol_mode
        self.vol_term_days = float(vol_term_days)
        self.vol_term_power_short = float(vol_term_power_short)
        self.vol_term_power_long = float(vol_term_power_long)

    def __len__(self) -> int:
        return len(self.scenarios)

    def __iter__(self) -> Iterator[Scenario]:
        return iter(self.scenarios)

    def to_struct(self, engine: Engine) -> tuple[ffi.RiskScenarios, _Keepalive]:
        """``(RiskScenarios, keepalive)``: the matrices by asset id of ``engine`` (unknown symbols
        raise :class:`ScenarioError`); keep ``keepalive`` alive while the struct is used."""
        n = len(self.scenarios)
        if n == 0:
            raise ScenarioError("scenarios", "no scenario")
        na = engine.asset_count
        moves = (ctypes.c_double * max(n * na, 1))()
        vols = None
        if any(sc.vol for sc in self.scenarios):
            vols = (ctypes.c_double * max(n * na, 1))()
        weights = (ctypes.c_double * n)()
        for s, sc in enumerate(self.scenarios):
            for table, values, what in ((moves, sc.moves, "moves"), (vols, sc.vol, "vol")):
                if table is None:  # no scenario moves a vol, so values is empty
                    continue
                for sym, m in values.items():
                    try:
                        aid = engine._asset_id(sym)
                    except errors.NotFoundError:
                        raise ScenarioError("scenarios[%d].%s" % (s, what), "unknown asset %s" % sym) from None
                    table[s * na + aid] = float(m)
            weights[s] = sc.weight
        st = ffi.RiskScenarios.init()
        st.vol_mode = _VOL_MODES[self.vol_mode]
        st.n_scenarios = n
        st.n_assets = na
        st.price_moves = ctypes.cast(moves, ctypes.POINTER(ctypes.c_double))
        if vols is not None:
            st.vol_moves = ctypes.cast(vols, ctypes.POINTER(ctypes.c_double))
        st.weights = ctypes.cast(weights, ctypes.POINTER(ctypes.c_double))
        st.vol_term_days = self.vol_term_days
        st.vol_term_power_short = self.vol_term_power_short
        st.vol_term_power_long = self.vol_term_power_long
        return st, (moves, vols, weights)

    def as_dict(self) -> dict[str, Any]:
        return {"format": SCENARIOS_FORMAT, "vol_mode": self.vol_mode, "vol_term_days": self.vol_term_days,
                "vol_term_power_short": self.vol_term_power_short, "vol_term_power_long": self.vol_term_power_long,
                "scenarios": [sc.as_dict() for sc in self.scenarios]}


def _number(v: Json, path: str) -> float:
    if isinstance(v, bool) or not isinstance(v, (int, float)) or not math.isfinite(v):
        raise ScenarioError(path, "must be a finite number")
    return float(v)


def load_scenarios(doc: Json) -> ScenarioSet:
    """A :class:`ScenarioSet` from a ``librisk-scenarios/1`` document (a dict, or JSON text)::

        {"format": "librisk-scenarios/1",
         "vol_mode": "relative", "vol_term_days": 30, "vol_term_power_short": 0.3, "vol_term_power_long": 0.13,
         "scenarios": [{"name": "btc-20", "moves": {"BTC": -0.2}, "vol": {"BTC": 0.5}, "weight": 1}]}

    Everything but ``scenarios`` and each one's ``moves`` is optional. Raises ScenarioError."""
    if isinstance(doc, (str, bytes)):
        try:
            doc = json.loads(doc)
        except ValueError as exc:
            raise ScenarioError("scenarios file", "malformed JSON: %s" % exc) from None
    if not isinstance(doc, dict):
        raise ScenarioError("scenarios file", "must be a JSON object")
    fmt = doc.get("format", SCENARIOS_FORMAT)
    if fmt != SCENARIOS_FORMAT:
        raise ScenarioError("format", "must be %r, not %r" % (SCENARIOS_FORMAT, fmt))
    known = {"format", "vol_mode", "vol_term_days", "vol_term_power_short", "vol_term_power_long", "scenarios"}
    for k in doc:
        if k not in known:
            raise ScenarioError(k, "unknown field")
    rows = doc.get("scenarios")
    if not isinstance(rows, list) or not rows:
        raise ScenarioError("scenarios", "must be a non-empty array")
    out = []
    for i, row in enumerate(rows):
        p = "scenarios[%d]" % i
        if not isinstance(row, dict):
            raise ScenarioError(p, "must be an object")
        for k in row:
            if k not in ("name", "moves", "vol", "weight"):
                raise ScenarioError("%s.%s" % (p, k), "unknown field")
        moves = row.get("moves")
        if not isinstance(moves, dict):
            raise ScenarioError(p + ".moves", "must be an object of asset symbol: relative move")
        vol = row.get("vol", {})
        if not isinstance(vol, dict):
            raise ScenarioError(p + ".vol", "must be an object of asset symbol: vol move")
        out.append(Scenario(row.get("name", "scenario %d" % i),
                            {k: _number(v, "%s.moves.%s" % (p, k)) for k, v in moves.items()},
                            {k: _number(v, "%s.vol.%s" % (p, k)) for k, v in vol.items()},
                            _number(row.get("weight", 1.0), p + ".weight")))
    kw: dict[str, Any] = {}
    if "vol_mode" in doc:
        kw["vol_mode"] = doc["vol_mode"]
    for k in ("vol_term_days", "vol_term_power_short", "vol_term_power_long"):
        if k in doc:
            kw[k] = _number(doc[k], k)
    return ScenarioSet(out, **kw)


def _assets(engine: Engine) -> list[tuple[str, float]]:
    """[(symbol, price)] of every asset of the engine, by id."""
    out = []
    for i in range(engine.asset_count):
        info = engine.asset_info(i)
        out.append((info["symbol"], info["price"]))
    return out


def _crypto(engine: Engine) -> list[str]:
    v = engine.valuation_asset
    return [sym for i, (sym, _) in enumerate(_assets(engine)) if i != v and sym.upper() not in STABLECOINS]


def hypothetical(engine: Engine, specs: Iterable[str]) -> ScenarioSet:
    """Hypothetical scenarios, one per spec string:

    - ``crypto=-0.3``: every crypto asset (every asset but the valuation asset and
      :data:`STABLECOINS`) moves by -30 %;
    - ``asset=BTC:-0.5``: one asset moves by -50 %;
    - ``depeg=USDC:0.9``: a stablecoin's price goes to 0.9 of the valuation asset (move p / price - 1);
    - ``vol=1.5``: every crypto asset's implied vol x 1.5 (a relative vol move of 0.5; prices still).

    Returns a :class:`ScenarioSet` (relative vol moves, flat term structure)."""
    out = []
    prices = dict(_assets(engine))
    for spec in specs:
        kind, sep, arg = str(spec).partition("=")
        if not sep:
            raise ScenarioError("--hypothetical", "%r is not KIND=VALUE" % spec)
        try:
            if kind == "crypto":
                m = float(arg)
                out.append(Scenario("crypto %+g%%" % (100 * m), {s: m for s in _crypto(engine)},
                                    info={"kind": "crypto"}))
            elif kind == "asset":
                sym, _, val = arg.partition(":")
                if sym not in prices:
                    raise ScenarioError("--hypothetical", "unknown asset %s" % sym)
                m = float(val)
                out.append(Scenario("%s %+g%%" % (sym, 100 * m), {sym: m}, info={"kind": "asset"}))
            elif kind == "depeg":
                sym, _, val = arg.partition(":")
                if sym not in prices:
                    raise ScenarioError("--hypothetical", "unknown asset %s" % sym)
                p = float(val)
                out.append(Scenario("%s depeg to %g" % (sym, p), {sym: p / prices[sym] - 1.0},
                                    info={"kind": "depeg"}))
            elif kind == "vol":
                k = float(arg)
                out.append(Scenario("vol x %g" % k, {}, {s: k - 1.0 for s in _crypto(engine)}, info={"kind": "vol"}))
            else:
                raise ScenarioError("--hypothetical", "unknown kind %r (crypto, asset, depeg, vol)" % kind)
        except ValueError as exc:
            if isinstance(exc, ScenarioError):
                raise
            raise ScenarioError("--hypothetical", "%r: %s" % (spec, exc)) from None
    return ScenarioSet(out)


# ---------------------------------------------------------------- historical episodes

#: Crash episodes of the market data (docs/stress.md 6): [start, end) in UTC, and the bar.
EPISODES = {
    "2020-03": ("2020-03-01", "2020-04-01", "1d"),
    "2021-05": ("2021-05-01", "2021-06-01", "1h"),
    "2022-05": ("2022-05-01", "2022-06-01", "1h"),
    "2022-11": ("2022-11-01", "2022-12-01", "1h"),
}
HORIZONS_DAYS = (1, 3, 10)
_HOURLY = ("BTC", "ETH", "SOL", "BNB", "XRP", "DOGE", "AVAX", "FTT", "LUNA")
_DAILY = {"BTC": "btc_usdt_binance_1d.csv", "ETH": "eth_usdt_binance_1d.csv"}


def default_data_dir() -> str:
    """``$LIBRISK_MARKET_DATA``, else ``../shared/data/market`` beside the repository root."""
    env = os.environ.get("LIBRISK_MARKET_DATA")
    if env:
        return env
    root = os.path.normpath(os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "..", ".."))
    return os.path.join(os.path.dirname(root), "shared", "data", "market")


def _parse_time(text: str) -> datetime.datetime:
    text = text.strip()
    fmt = "%Y-%m-%d %H:%M:%S" if " " in text else "%Y-%m-%d"
    return datetime.datetime.strptime(text, fmt).replace(tzinfo=datetime.timezone.utc)


def _closes(path: str, column_time: str, start: str, end: str) -> dict[datetime.datetime, float]:
    """{time: close} of the rows with start <= time < end (ISO times compare as text, so only
    the rows inside are parsed)."""
    out = {}
    with open(path, newline="") as f:
        for row in csv.DictReader(f):
            text = row[column_time]
            if start <= text < end:
                out[_parse_time(text)] = float(row["close"])
    return out


_Series = dict[str, dict[datetime.datetime, float]]  # asset symbol -> {close time: close}
_SERIES_CACHE: dict[tuple[str, str], _Series] = {}


def _episode_series(data_dir: str, episode: str) -> _Series:
    key = (os.path.abspath(data_dir), episode)
    if key in _SERIES_CACHE:
        return _SERIES_CACHE[key]
    start, end, bar = EPISODES[episode]
    series: _Series = {}
    if bar == "1d":
        for sym, name in _DAILY.items():
            col = "timestamp" if sym == "BTC" else "time"
            series[sym] = _closes(os.path.join(data_dir, name), col, start, end)
    else:
        for sym in _HOURLY:
            path = os.path.join(data_dir, "binance_1h", "%sUSDT_1h.csv" % sym)
            s = _closes(path, "timestamp", start, end)
            if s:
                series[sym] = s
    _SERIES_CACHE[key] = series
    return series


def historical(episode: str, data_dir: str | None = None, engine: Engine | None = None) -> ScenarioSet:
    """The worst 1-, 3- and 10-day moves of a crash episode, applied jointly across assets.

    For each horizon h: the window [t, t + h] inside the episode (both closes present) over
    which BTC's close-to-close return is lowest; every asset of the data then moves by its own
    close-to-close return over that same window (an asset without both closes does not move).
    Episodes (:data:`EPISODES`): 2020-03 on Binance daily closes (BTC, ETH), 2021-05, 2022-05
    (LUNA) and 2022-11 (FTX) on Binance hourly closes of 9 assets. With ``engine``, only assets
    the engine knows are kept. Returns a :class:`ScenarioSet`."""
    if episode not in EPISODES:
        raise ScenarioError("--historical", "unknown episode %r (%s)" % (episode, ", ".join(sorted(EPISODES))))
    data_dir = data_dir or default_data_dir()
    try:
        series = _episode_series(data_dir, episode)
    except OSError as exc:
        raise ScenarioError("--historical", "cannot read the market data in %s: %s"
                            % (data_dir, exc.strerror or exc)) from None
    known: set[str] | None = None
    if engine is not None:
        known = {sym for sym, _ in _assets(engine)}
    btc = series["BTC"]
    times = sorted(btc)
    out = []
    for h in HORIZONS_DAYS:
        span = datetime.timedelta(days=h)
        best: tuple[float, datetime.datetime, datetime.datetime] | None = None
        for t in times:
            u = t + span
            if u in btc:
                r = btc[u] / btc[t] - 1.0
                if best is None or r < best[0]:
                    best = (r, t, u)
        if best is None:
            continue
        _, t, u = best
        moves = {}
        for sym, s in sorted(series.items()):
            if t in s and u in s and (known is None or sym in known):
                moves[sym] = s[u] / s[t] - 1.0
        out.append(Scenario("%s worst %dd" % (episode, h), moves,
                            info={"kind": "historical", "episode": episode, "horizon_days": h,
                                  "from": t.strftime("%Y-%m-%d %H:%M"), "to": u.strftime("%Y-%m-%d %H:%M")}))
    return ScenarioSet(out)


# ---------------------------------------------------------------- library calls

if TYPE_CHECKING:
    #: What the library calls take as scenarios: a ScenarioSet, a built struct, or Scenario
    #: objects, dicts of Scenario's arguments or (name, moves) tuples.
    _ScenarioRows = Iterable[Union[Scenario, dict[str, Any], Sequence[Any]]]
    _Scenarios = Union[ScenarioSet, ffi.RiskScenarios, _ScenarioRows]
    #: The arrays a RiskScenarios built by ScenarioSet.to_struct points into: moves, vols, weights.
    _Keepalive = tuple["ctypes.Array[ctypes.c_double]", "ctypes.Array[ctypes.c_double] | None",
                       "ctypes.Array[ctypes.c_double]"]


def _struct(engine: Engine, scenarios: _Scenarios) -> tuple[ffi.RiskScenarios, _Keepalive | None]:
    if isinstance(scenarios, ScenarioSet):
        return scenarios.to_struct(engine)
    if isinstance(scenarios, ffi.RiskScenarios):
        return scenarios, None
    rows = []
    # Scenario objects, dicts of Scenario's arguments, or (name, moves) tuples (no RiskScenarios
    # here: mypy keeps it in the union, as ctypes structs have __getattr__)
    for s in cast("_ScenarioRows", scenarios):
        if isinstance(s, dict):
            s = Scenario(**s)
        elif not isinstance(s, Scenario):
            s = Scenario(*s)
        rows.append(s)
    return ScenarioSet(rows).to_struct(engine)


def scenario_pnl(account: Account, scenarios: _Scenarios, summaries: bool = False,
                 out: FloatBuffer | None = None) -> FloatBuffer | tuple[FloatBuffer, list[AccountSummary]]:
    """``risk_account_scenario_pnl``: the account's weighted P&L under each scenario (a list, or
    written into ``out``, any writable float64 buffer of at least n floats, returned as is); with
    ``summaries``, also the :class:`librisk.AccountSummary` after each scenario. The account is
    not changed."""
    from .core import AccountSummary, _float64_view
    ptr = account._require()
    st, keep = _struct(account.engine, scenarios)
    n = st.n_scenarios
    if out is not None:
        view, cap = _float64_view(out, "out")
        if cap < n:
            raise errors.make(errors.BufferTooSmallError, "out: %d floats for %d scenarios" % (cap, n))
    else:
        view = (ctypes.c_double * n)()
    sums = None
    if summaries:
        sums = (ffi.RiskAccountSummary * n)()
        sums[0].version = ffi.ACCOUNT_SUMMARY_VERSION
    L = ffi.lib()
    L.risk_account_scenario_pnl(ptr, ctypes.byref(st), view, sums)
    del keep
    pnl = out if out is not None else list(view)
    if sums is None:  # not summaries
        return pnl
    aid = L.risk_account_id(ptr)
    return pnl, [AccountSummary._from_struct(aid, sums[i]) for i in range(n)]


def _book_dict(r: ffi.RiskStressScenario) -> dict[str, Any]:
    return {"pnl": r.pnl, "loss": r.loss, "deficit": r.deficit, "n_accounts": r.n_accounts,
            "n_liquidatable": r.n_liquidatable, "n_bankrupt": r.n_bankrupt,
            "n_new_liquidatable": r.n_new_liquidatable, "n_new_bankrupt": r.n_new_bankrupt}


class StressResult:
    """What :func:`stress` returns: ``book`` (one dict per scenario: pnl, loss, deficit and the
    counts), ``ids`` and, with per-account results, ``pnl``, ``equity``, ``health_factor`` (lists
    of per-scenario lists, one per account) and ``state`` (names). ``raw`` holds the C results;
    :meth:`merge` adds another shard's (docs/stress.md, "Merge rules")."""

    def __init__(self, raw: ctypes.Array[ffi.RiskStressScenario], n_scenarios: int, ids: list[int] | None = None,
                 pnl: list[list[float]] | None = None, equity: list[list[float]] | None = None,
                 health: list[list[float]] | None = None, state: list[list[str]] | None = None) -> None:
        self.raw = raw
        self.n_scenarios = n_scenarios
        self.ids = ids or []
        self.pnl, self.equity, self.health_factor, self.state = pnl, equity, health, state

    @property
    def book(self) -> list[dict[str, Any]]:
        return [_book_dict(self.raw[s]) for s in range(self.n_scenarios)]

    def merge(self, other: StressResult) -> StressResult:
        """Merges another shard's result into this one (exact; any order gives the same bits)."""
        if other.n_scenarios != self.n_scenarios:
            raise errors.make(errors.InvalidError, "merge: %d scenarios against %d"
                              % (other.n_scenarios, self.n_scenarios))
        ffi.lib().risk_stress_merge(self.raw, other.raw, self.n_scenarios)
        self.ids = self.ids + other.ids
        for name in ("pnl", "equity", "health_factor", "state"):
            a, b = getattr(self, name), getattr(other, name)
            setattr(self, name, None if a is None or b is None else a + b)
        return self


def stress(engine: Engine, scenarios: _Scenarios, threads: int = 1, per_account: bool = True) -> StressResult:
    """``risk_engine_stress``: every account under every scenario (threads 1..256); returns a
    :class:`StressResult`."""
    ptr = engine._require()
    st, keep = _struct(engine, scenarios)
    S = st.n_scenarios
    raw = (ffi.RiskStressScenario * S)()
    raw[0].version = ffi.STRESS_SCENARIO_VERSION
    n = engine.account_count
    count = ctypes.c_size_t()
    L = ffi.lib()
    if per_account:
        cells = max(n * S, 1)
        pnl, eq, hf = (ctypes.c_double * cells)(), (ctypes.c_double * cells)(), (ctypes.c_double * cells)()
        state = (ctypes.c_uint32 * cells)()
        ids = (ctypes.c_uint64 * max(n, 1))()
        L.risk_engine_stress(ptr, ctypes.byref(st), raw, pnl, eq, hf, state, ids, n, int(threads),
                             ctypes.byref(count))
        k = count.value

        def rows(arr: ctypes.Array[Any], f: Callable[[Any], float] = float) -> list[list[float]]:
            return [[f(arr[a * S + s]) for s in range(S)] for a in range(k)]
        res = StressResult(raw, S, [int(ids[a]) for a in range(k)], rows(pnl), rows(eq), rows(hf),
                           [[_STATES.get(state[a * S + s], str(state[a * S + s])) for s in range(S)]
                            for a in range(k)])
    else:
        L.risk_engine_stress(ptr, ctypes.byref(st), raw, None, None, None, None, None, 0, int(threads),
                             ctypes.byref(count))
        res = StressResult(raw, S)
    del keep
    return res


def _exposure_dict(engine: Engine, x: ffi.RiskExposure) -> dict[str, Any]:
    sym = engine.asset_info(x.asset)["symbol"]
    return {"asset": sym, "n_accounts": x.n_accounts, "long": x.long_notional, "short": x.short_notional,
            "net": x.net_notional, "top_share": x.top_share,
            "top": [{"id": int(x.top_ids[i]), "gross": x.top_gross[i]} for i in range(x.n_top)]}


@overload
def exposures(engine: Engine, top_k: int = ..., raw: Literal[False] = ...) -> list[dict[str, Any]]: ...
@overload
def exposures(engine: Engine, top_k: int = ..., *, raw: Literal[True]) -> ctypes.Array[ffi.RiskExposure]: ...
@overload
def exposures(engine: Engine, top_k: int, raw: Literal[True]) -> ctypes.Array[ffi.RiskExposure]: ...
@overload
def exposures(engine: Engine, top_k: int = ...,
              raw: bool = ...) -> list[dict[str, Any]] | ctypes.Array[ffi.RiskExposure]: ...


def exposures(engine: Engine, top_k: int = 5,
              raw: bool = False) -> list[dict[str, Any]] | ctypes.Array[ffi.RiskExposure]:
    """``risk_engine_exposures``: per underlying asset, long, short and net notional in the
    valuation asset, the accounts holding it, the ``top_k`` largest by gross exposure and their
    share. A list of dicts (assets that underlie nothing left out), or the C array with ``raw``."""
    ptr = engine._require()
    na = engine.asset_count
    arr = (ffi.RiskExposure * max(na, 1))()
    arr[0].version = ffi.EXPOSURE_VERSION
    count = ctypes.c_size_t()
    ffi.lib().risk_engine_exposures(ptr, arr, na, int(top_k), ctypes.byref(count))
    if raw:
        return arr
    return [_exposure_dict(engine, arr[u]) for u in range(count.value) if arr[u].n_accounts]


def merge_exposures(into: ctypes.Array[ffi.RiskExposure], other: ctypes.Array[ffi.RiskExposure],
                    top_k: int = 5) -> ctypes.Array[ffi.RiskExposure]:
    """``risk_exposure_merge`` of two raw exposure arrays (from ``exposures(..., raw=True)``)."""
    ffi.lib().risk_exposure_merge(into, other, min(len(into), len(other)), int(top_k))
    return into


# ---------------------------------------------------------------- command line


def add_cli_parser(sub: argparse._SubParsersAction[Any]) -> None:
    """Registers ``stress`` on the CLI's subparsers."""
    p = sub.add_parser("stress", help="stress-test a book under scenarios: per scenario the book's loss, "
                                      "liquidatable and bankrupt accounts and insurance-fund deficit, per "
                                      "account P&L, equity, health and state, and exposure by underlying, as "
                                      "one JSON document (librisk-stress/1)")
    p.add_argument("book", metavar="BOOK.json")
    p.add_argument("--scenarios", metavar="FILE.json", help="a librisk-scenarios/1 file (docs/stress.md)")
    p.add_argument("--hypothetical", action="append", metavar="KIND=VALUE",
                   help="crypto=-0.3 | asset=BTC:-0.5 | depeg=USDC:0.9 | vol=1.5 (repeatable, one scenario each)")
    p.add_argument("--historical", action="append", metavar="EPISODE",
                   help="worst 1/3/10-day moves of %s (repeatable)" % ", ".join(sorted(EPISODES)))
    p.add_argument("--data", metavar="DIR", help="market data directory (default: ../shared/data/market)")
    p.add_argument("--top-k", type=int, default=5, help="largest accounts per underlying (0..16, default 5)")
    p.add_argument("--no-accounts", action="store_true", help="leave out the per-account results")
    p.add_argument("--threads", type=int, default=1, help="worker threads (default 1)")
    p.add_argument("--compact", action="store_true", help="print the JSON on one line")
    p.add_argument("--var", action="store_true",
                   help="add book_var: historical VaR and ES of the book's P&L over the scenarios (docs/var.md 2.1)")
    p.add_argument("--level", type=float, default=ffi.VAR_LEVEL_DEFAULT, help="VaR level (default 0.99)")
    p.add_argument("--es-level", type=float, default=ffi.VAR_ES_LEVEL_DEFAULT, help="ES level (default 0.975)")
    p.add_argument("--shards", type=int, default=0, metavar="K",
                   help="split the book's accounts into K shards and run them on a Dask cluster (python3-distributed; "
                        "docs/stress.md 4.1); the document is the one-engine document, bit for bit")
    p.add_argument("--scheduler", metavar="ADDR",
                   help="with --shards: a Dask scheduler address (tcp://host:8786); default a LocalCluster")
    p.add_argument("--report", metavar="DIR",
                   help="also write an HTML report with charts into DIR (needs matplotlib; implies --var)")
    p.add_argument("--quiet", action="store_true", help="no progress on stderr")


def build_scenarios(engine: Engine, args: argparse.Namespace) -> ScenarioSet:
    """The ScenarioSet the command line asks for (ScenarioError on bad input)."""
    parts: list[ScenarioSet] = []
    if args.scenarios:
        from .book import read_bytes, BookError
        try:
            raw = read_bytes(args.scenarios)
        except BookError as exc:
            raise ScenarioError("--scenarios", exc.problem if hasattr(exc, "problem") else str(exc)) from None
        parts.append(load_scenarios(raw.decode("utf-8-sig", "replace")))
    if args.hypothetical:
        parts.append(hypothetical(engine, args.hypothetical))
    for ep in args.historical or ():
        parts.append(historical(ep, args.data, engine))
    if not parts:
        raise ScenarioError("stress", "give --scenarios, --hypothetical or --historical")
    first = parts[0]
    for other in parts[1:]:
        if other.vol_mode != first.vol_mode and any(s.vol for s in other):
            raise ScenarioError("--scenarios", "vol_mode differs between the scenario sources")
    return ScenarioSet([s for part in parts for s in part], first.vol_mode, first.vol_term_days,
                       first.vol_term_power_short, first.vol_term_power_long)


def check_top_k(args: argparse.Namespace) -> None:
    """ScenarioError unless ``--top-k`` is within 0..RISK_EXPOSURE_TOP_MAX."""
    if not 0 <= args.top_k <= ffi.EXPOSURE_TOP_MAX:
        raise ScenarioError("--top-k", "must be between 0 and %d" % ffi.EXPOSURE_TOP_MAX)


#: Accounts x scenarios from which ``stress`` shows progress on stderr (about a second of work).
PROGRESS_MIN_WORK = 1_000_000


def stress_document(loaded: Book, args: argparse.Namespace) -> dict[str, Any]:
    """The ``librisk-stress/1`` document of a loaded book (ScenarioError, RiskError)."""
    from .progress import Progress
    engine = loaded.engine
    sset = build_scenarios(engine, args)
    check_top_k(args)
    # progress for long runs only: a small one (or one the C library refuses) prints its result
    # or its one line of error alone
    long_run = engine.account_count * len(sset) >= PROGRESS_MIN_WORK
    shown = Progress(sys.stderr, "stress", quiet=getattr(args, "quiet", False) or not long_run)
    try:
        shown(0, 2, "%d accounts x %d scenarios" % (engine.account_count, len(sset)))
        res = stress(engine, sset, threads=args.threads, per_account=True)
        base = {a.id: a.state for a in engine.evaluate_all(threads=args.threads)}
        shown(1, 2, "document")
        doc = document(engine, loaded.spec, sset, res, base, exposures(engine, args.top_k, raw=True), args)
    except BaseException:
        shown.abandon()
        raise
    shown(2, 2, "done")
    return doc


def book_var(book_pnl: Sequence[float], level: float, es_level: float) -> Any:
    """Historical-simulation VaR and ES (docs/var.md 2.1) of the book's P&L vector over the
    scenarios (``risk_var_historical``): a :class:`librisk.var.VarResult`."""
    from . import var as _var
    return _var.historical(list(book_pnl), level, es_level)


def document(engine: Engine, spec: dict[str, Any], sset: ScenarioSet, res: StressResult, base: Mapping[int, str],
             raw_exposures: ctypes.Array[ffi.RiskExposure], args: argparse.Namespace) -> dict[str, Any]:
    """The ``librisk-stress/1`` document from a stress result with per-account results, the
    accounts' states before the scenarios (``base``, by id) and the raw exposures: the same for
    one engine and for shards merged by :mod:`librisk.dask`. ``engine`` names the assets (its
    registry is all that is read)."""
    from .grid import Grid
    from .book import _jnum
    # per_account: every per-account result is there
    assert res.pnl is not None and res.equity is not None and res.health_factor is not None and res.state is not None
    grid = Grid(spec)
    book = res.book
    scen = []
    for s, sc in enumerate(sset):
        b = book[s]
        entry = sc.as_dict()
        entry["moves"] = {k: _jnum(v) for k, v in sc.moves.items()}
        entry.update({"pnl": grid.value(b["pnl"]), "loss": grid.value(b["loss"]), "deficit": grid.value(b["deficit"]),
                      "n_liquidatable": b["n_liquidatable"], "n_bankrupt": b["n_bankrupt"],
                      "new_liquidatable": [res.ids[a] for a in range(len(res.ids))
                                           if res.state[a][s] == "liquidatable"],
                      "new_bankrupt": [res.ids[a] for a in range(len(res.ids)) if res.state[a][s] == "bankrupt"]})
        scen.append(entry)
    # "new_*": accounts in that state after the scenario that were not before (the zero scenario)
    for entry in scen:
        entry["new_liquidatable"] = [i for i in entry["new_liquidatable"] if base[i] in ("healthy", "margin_call")]
        entry["new_bankrupt"] = [i for i in entry["new_bankrupt"] if base[i] != "bankrupt"]
    doc = {"format": STRESS_FORMAT, "valuation_asset": grid.valuation, "scenarios": scen}
    if getattr(args, "var", False) or getattr(args, "report", None):
        vr = book_var([b["pnl"] for b in book], args.level, args.es_level)
        doc["book_var"] = {"method": "historical", "level": args.level, "es_level": args.es_level,
                           "scenarios": vr.n, "var": grid.value(vr.var), "es": grid.value(vr.es)}
    if not args.no_accounts:
        doc["accounts"] = [{"id": res.ids[a],
                            "pnl": [grid.value(x) for x in res.pnl[a]],
                            "equity": [grid.value(x) for x in res.equity[a]],
                            "health_factor": [_jnum(x) for x in res.health_factor[a]],
                            "state": res.state[a]} for a in range(len(res.ids))]
    ex = [_exposure_dict(engine, x) for x in raw_exposures if x.n_accounts]
    for x in ex:
        for k in ("long", "short", "net"):
            x[k] = grid.value(x[k])
        for t in x["top"]:
            t["gross"] = grid.value(t["gross"])
    doc["exposures"] = ex
    return doc
