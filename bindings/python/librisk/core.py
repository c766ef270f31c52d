# SPDX-License-Identifier: Apache-2.0
"""Engine, Basket, Account and Position: thin owners of the C handles.

Every number comes from the C library; these classes only convert arguments (symbols to ids,
mode names to constants, Python sequences to C arrays) and results (structs to dataclasses).
"""

from __future__ import annotations

import abc
import ctypes
import datetime
import math
import os
import weakref
from dataclasses import dataclass, fields as dc_fields

from . import errors, ffi
from .ffi import FloatBuffer
import array
from typing import Any, Callable, Iterable, Mapping, Sequence, TYPE_CHECKING, TypeVar, cast

if TYPE_CHECKING:
    from .ffi import RiskAccountSummary, RiskBasketSummary, RiskMarginTier, RiskValueTier
    from .funding import FundingError
    from .whatif import Order

__all__ = [
    "Engine", "Basket", "Account", "Position", "AccountSummary", "BasketSummary",
    "PositionResult", "MarginTier", "MarginFactor", "AssetVolState", "SUMMARY_COLUMNS", "columns", "to_pandas",
    "version",
    "version_number",
]

_STATES = {ffi.STATE_HEALTHY: "healthy", ffi.STATE_MARGIN_CALL: "margin_call",
           ffi.STATE_LIQUIDATABLE: "liquidatable", ffi.STATE_BANKRUPT: "bankrupt"}
_MARGIN_MODES = {"cross": ffi.MARGIN_CROSS, "isolated": ffi.MARGIN_ISOLATED, "portfolio": ffi.MARGIN_PORTFOLIO}
_MARGIN_NAMES = {ffi.MARGIN_DEFAULT: "default", ffi.MARGIN_CROSS: "cross", ffi.MARGIN_ISOLATED: "isolated",
                 ffi.MARGIN_PORTFOLIO: "portfolio"}
_POSITION_MODES = {"one-way": ffi.POSITION_ONE_WAY, "hedge": ffi.POSITION_HEDGE}
_POSITION_NAMES = {v: k for k, v in _POSITION_MODES.items()}
_SIDES = {"both": ffi.SIDE_BOTH, "long": ffi.SIDE_LONG, "short": ffi.SIDE_SHORT}
_SIDE_NAMES = {v: k for k, v in _SIDES.items()}
_KINDS = {"perpetual": ffi.KIND_PERPETUAL, "future": ffi.KIND_FUTURE, "option": ffi.KIND_OPTION}
_OPTION_TYPES = {"call": 1, "put": -1}
_MM_PRICES = {"mark": ffi.MM_PRICE_MARK, "entry": ffi.MM_PRICE_ENTRY}
_SCALING_MODES = {"off": ffi.SCALING_OFF, "tiers": ffi.SCALING_TIERS, "var": ffi.SCALING_VAR}
_SCALING_NAMES = {v: k for k, v in _SCALING_MODES.items()}

#: The float64 fields of ``risk_account_summary`` that :meth:`Engine.evaluate_all_into` can fill.
SUMMARY_COLUMNS = tuple(name for name, ctype in ffi.RiskAccountSummary._fields_ if ctype is ctypes.c_double)


def version() -> str:
    """The loaded library's version string, e.g. ``"0.1.0"``."""
    return ffi.lib().risk_version_string().decode()


def version_number() -> int:
    """The loaded library's version number, MAJOR*10000 + MINOR*100 + PATCH."""
    return int(ffi.lib().risk_version_number())


def _lookup(table: dict[str, int], value: str | None, what: str) -> int:
    # None (an option without option_type) is rejected here with the names that are allowed
    if isinstance(value, str) and value in table:
        return table[value]
    raise errors.make(errors.InvalidError, "%s must be one of %s, not %r"
                      % (what, ", ".join(repr(k) for k in table), value))


def _encode_symbol(symbol: str) -> bytes:
    if isinstance(symbol, bytes):
        return symbol
    if not isinstance(symbol, str):
        raise errors.make(errors.InvalidError, "symbol must be a str, not %s" % type(symbol).__name__)
    return symbol.encode("utf-8")


def _expiry_seconds(expiry: datetime.datetime | str | int | None) -> int:
    """None -> 0 (perpetual); int -> itself; ISO 8601 string or aware datetime -> Unix seconds."""
    if expiry is None:
        return 0
    if isinstance(expiry, bool):
        raise errors.make(errors.InvalidError, "expiry must be Unix seconds, an ISO 8601 string or a datetime")
    if isinstance(expiry, int):
        return expiry
    if isinstance(expiry, str):
        expiry = parse_iso8601_utc(expiry)
    if isinstance(expiry, datetime.datetime):
        if expiry.tzinfo is None:
            raise errors.make(errors.InvalidError, "expiry datetime must carry a time zone (UTC)")
        delta = expiry - datetime.datetime(1970, 1, 1, tzinfo=datetime.timezone.utc)
        return delta.days * 86400 + delta.seconds
    raise errors.make(errors.InvalidError, "expiry must be Unix seconds, an ISO 8601 string or a datetime")


def parse_iso8601_utc(text: str) -> datetime.datetime:
    """Parses an ISO 8601 date-time with an explicit UTC designator ('Z' or +00:00)."""
    s = text.strip()
    if s.endswith("Z") or s.endswith("z"):
        s = s[:-1] + "+00:00"
    try:
        value = datetime.datetime.fromisoformat(s)
    except ValueError:
        raise errors.make(errors.InvalidError, "not an ISO 8601 date-time: %r" % text) from None
    if "T" not in s and " " not in s:
        raise errors.make(errors.InvalidError, "ISO 8601 expiry needs a time and 'Z': %r" % text)
    if value.tzinfo is None or value.utcoffset() != datetime.timedelta(0):
        raise errors.make(errors.InvalidError, "expiry must be in UTC (end with 'Z' or +00:00): %r" % text)
    return value


# ---------------------------------------------------------------- result objects


@dataclass(frozen=True)
class AccountSummary:
    """An account's health (``risk_account_summary``); money in the valuation asset.

    ``state`` is ``'healthy'``, ``'margin_call'``, ``'liquidatable'`` or ``'bankrupt'``; ``id``
    is the account's external id. Infinite values stay ``math.inf``.
    """
    id: int
    state: str
    equity: float
    collateral_value: float
    unrealized_pnl: float
    initial_margin: float
    maintenance_margin: float
    available: float
    health_factor: float
    margin_ratio: float
    ltv: float
    ltv_buffer: float
    leverage: float
    collateral_init: float
    collateral_maint: float
    liabilities: float
    isolated_margin: float
    n_positions: int
    n_isolated_liquidatable: int

    @classmethod
    def _from_struct(cls, account_id: int, s: RiskAccountSummary) -> AccountSummary:
        names = _SUMMARY_VALUE_FIELDS
        return cls(int(account_id), _STATES.get(s.state, str(s.state)), *[getattr(s, n) for n in names])

    def as_dict(self) -> dict[str, Any]:
        """The summary as a plain dict."""
        return {f.name: getattr(self, f.name) for f in dc_fields(self)}


_SUMMARY_VALUE_FIELDS = tuple(f.name for f in dc_fields(AccountSummary))[2:]


@dataclass(frozen=True)
class BasketSummary:
    """A basket's value (``risk_basket_summary``); money in the valuation asset."""
    n_assets: int
    collateral_value: float
    collateral_init: float
    collateral_maint: float
    liabilities: float
    liabilities_init: float
    liabilities_maint: float
    net_value: float
    ltv: float
    health_factor: float

    @classmethod
    def _from_struct(cls, s: RiskBasketSummary) -> BasketSummary:
        return cls(**{f.name: getattr(s, f.name) for f in dc_fields(cls)})

    def as_dict(self) -> Any:
        """The summary as a plain dict."""
        return {f.name: getattr(self, f.name) for f in dc_fields(self)}


@dataclass(frozen=True)
class PositionResult:
    """Per-position results (``risk_position_result``); money in the settle asset.

    ``side`` is the direction ('long'/'short'), ``leg`` the position's leg ('both' in one-way
    mode). ``liquidation_price``/``bankruptcy_price`` (and their ``_raw`` roots) are ``None``
    when absent.
    """
    instrument: int
    symbol: str | None
    side: str
    leg: str
    margin_mode: str
    flags: int
    tier: int
    qty: float
    entry: float
    mark: float
    notional: float
    unrealized_pnl: float
    initial_margin: float
    maintenance_margin: float
    isolated_margin: float
    liquidation_price: float | None
    bankruptcy_price: float | None
    liquidation_price_raw: float | None
    bankruptcy_price_raw: float | None
    liquidatable: bool
    # result version 2: Greeks (options; futures: delta only), the mark value, both sides'
    # liquidation prices (of the underlying for options), None when absent
    delta: float = 0.0
    gamma: float = 0.0
    vega: float = 0.0
    theta: float = 0.0
    mark_vol: float | None = None
    value: float = 0.0
    underlying_price: float = 0.0
    liquidation_price_below: float | None = None
    liquidation_price_above: float | None = None
    unsolved: bool = False

    def as_dict(self) -> dict[str, Any]:
        """The result as a plain dict."""
        return {f.name: getattr(self, f.name) for f in dc_fields(self)}


@dataclass(frozen=True)
class MarginTier:
    """One tier of a margin schedule, with its cum filled in (``risk_margin_tier``)."""
    notional_cap: float
    mmr: float
    max_leverage: float
    cum: float
    cum_given: bool


def _value_or_none(x: float) -> float | None:
    """NaN (the C side's "no value yet") as None."""
    return None if math.isnan(x) else x


@dataclass(frozen=True)
class MarginFactor:
    """Where an instrument's volatility scaling stands (``risk_margin_factor``).

    ``mode`` is ``'off'``, ``'tiers'`` or ``'var'``; ``factor`` is in force, ``target`` is what the
    current state asks for (they differ while the rate cap binds); ``vol_annual`` is the volatility
    after the stressed weight and the floor (None while the underlying has none);
    ``reference_vol_annual`` is None when scaling is off.
    """
    mode: str
    factor: float
    target: float
    vol_annual: float | None
    reference_vol_annual: float | None


@dataclass(frozen=True)
class AssetVolState:
    """An asset's volatility state (``risk_asset_vol_state``): annualised fractions, None where
    there is no value yet; ``last_time_s`` is None before any stamped update."""
    live_vol_annual: float | None
    stressed_vol_annual: float | None
    floor_vol_annual: float | None
    buffer_release: float
    lambda_: float
    periods_per_year: float
    last_time_s: float | None
    n_returns: int
    stressed_set: bool
    floor_set: bool


def _tier_struct(tier: Any, where: str) -> RiskMarginTier:
    """A RiskMarginTier from a dict {notional_cap, mmr, max_leverage, cum?} or a tuple."""
    if isinstance(tier, ffi.RiskMarginTier):
        return tier
    if isinstance(tier, MarginTier):
        return ffi.RiskMarginTier(tier.notional_cap, tier.mmr, tier.max_leverage, tier.cum, 1 if tier.cum_given else 0)
    if isinstance(tier, dict):
        unknown = set(tier) - {"notional_cap", "mmr", "max_leverage", "cum"}
        if unknown:
            raise errors.make(errors.InvalidError, "%s: unknown tier field(s) %s" % (where, ", ".join(sorted(unknown))))
        try:
            cap, mmr, lev = tier["notional_cap"], tier["mmr"], tier["max_leverage"]
        except KeyError as exc:
            raise errors.make(errors.InvalidError, "%s: missing %s" % (where, exc.args[0])) from None
        cum = tier.get("cum")
    else:
        tier = tuple(tier)
        if len(tier) not in (3, 4):
            raise errors.make(errors.InvalidError,
                              "%s: a tier is (notional_cap, mmr, max_leverage[, cum])" % where)
        cap, mmr, lev = tier[:3]
        cum = tier[3] if len(tier) == 4 else None
    cap = math.inf if cap is None else float(cap)
    assert mmr is not None and lev is not None  # float(None) would raise a TypeError
    return ffi.RiskMarginTier(cap, float(mmr), float(lev), 0.0 if cum is None else float(cum),
                              0 if cum is None else 1)


def _value_tier_struct(tier: tuple[float, float], where: str) -> RiskValueTier:
    if isinstance(tier, ffi.RiskValueTier):
        return tier
    if isinstance(tier, dict):
        unknown = set(tier) - {"up_to", "ratio"}
        if unknown:
            raise errors.make(errors.InvalidError, "%s: unknown value-tier field(s) %s"
                              % (where, ", ".join(sorted(unknown))))
        up_to, ratio = tier.get("up_to"), tier.get("ratio")
        if "ratio" not in tier:
            raise errors.make(errors.InvalidError, "%s: missing ratio" % where)
    else:
        up_to, ratio = tuple(tier)
    return ffi.RiskValueTier(math.inf if up_to is None else float(up_to), float(ratio))


def _float64_view(obj: Any, what: str) -> tuple[ctypes.Array[Any], int]:
    """A writable ctypes double array over ``obj``'s own memory (no copy).

    ``obj`` is any object exporting a writable, C-contiguous buffer of float64 (array('d'),
    numpy float64, memoryview, bytearray-backed ...).
    """
    return _typed_view(obj, what, ctypes.c_double, "d", "float64")


def _typed_view(obj: Any, what: str, ctype: Any, code: str, label: str) -> tuple[ctypes.Array[Any], int]:
    try:
        mv = memoryview(obj)
    except TypeError:
        raise errors.make(errors.InvalidError, "%s: %s does not support the buffer protocol"
                          % (what, type(obj).__name__)) from None
    with mv:
        fmt = mv.format.lstrip("@=<")
        if mv.format.startswith(">") or mv.format.startswith("!"):
            fmt = "big-endian"
        ok_codes = {code}
        if code in ("I", "L") and ctypes.sizeof(ctypes.c_ulong) == 4:
            ok_codes |= {"I", "L"}
        if code in ("Q", "L") and ctypes.sizeof(ctypes.c_ulong) == 8:
            ok_codes |= {"Q", "L"}
        if fmt not in ok_codes or mv.itemsize != ctypes.sizeof(ctype):
            raise errors.make(errors.InvalidError, "%s: need a %s buffer, got format %r"
                              % (what, label, mv.format))
        if mv.readonly:
            raise errors.make(errors.InvalidError, "%s: buffer is read-only" % what)
        if not mv.c_contiguous:
            raise errors.make(errors.InvalidError, "%s: buffer is not contiguous" % what)
        n = mv.nbytes // mv.itemsize
    return (ctype * n).from_buffer(obj), n


# ---------------------------------------------------------------- columns and DataFrames


_CTYPE_CODES = {ctypes.c_double: ("d", "float64"), ctypes.c_uint32: ("I", "uint32"),
                ctypes.c_uint64: ("Q", "uint64")}


def _column_address(obj: Any, what: str, ctype: Any, n: int) -> tuple[int, ctypes.Array[Any]]:
    """The address of a writable, contiguous buffer of at least ``n`` elements of ``ctype``
    (BufferTooSmallError with ``.needed`` when shorter); the buffer is not copied. Returns
    (address, keep-alive view)."""
    code, label = _CTYPE_CODES[ctype]
    view, length = _typed_view(obj, what, ctype, code, label)
    if length < n:
        exc = errors.make(errors.BufferTooSmallError, "%s: %d elements for %d rows" % (what, length, n))
        exc.needed = n
        raise exc
    return ctypes.addressof(view), view


def _new_column(ctype: Any, n: int, use_numpy: bool) -> Any:
    """A fresh column of ``n`` elements: a numpy array when asked for (and installed), else an
    ``array.array``."""
    code, label = _CTYPE_CODES[ctype]
    if use_numpy:
        import numpy
        return numpy.empty(n, dtype=label)
    import array
    col = array.array(code)
    if n:
        col.frombytes(bytes(n * ctypes.sizeof(ctype)))
    return col


def _numpy_wanted(use_numpy: bool | None) -> bool:
    if use_numpy is None:
        try:
            import numpy  # noqa: F401
            return True
        except ImportError:
            return False
    return bool(use_numpy)


def columns(rows: Iterable[Any]) -> dict[str, list[Any]]:
    """Results (:class:`AccountSummary`, :class:`PositionResult`, :class:`BasketSummary`, all of
    one type) as columns: ``{field: [value, ...]}`` in field order. Standard library only."""
    rows = list(rows)
    if not rows:
        return {}
    names = [f.name for f in dc_fields(rows[0])]
    return {n: [getattr(r, n) for r in rows] for n in names}


def to_pandas(rows: Iterable[Any], index: str | None = None) -> Any:
    """Results as a ``pandas.DataFrame`` (one row each, a column per field; ``index``: a field to
    index by, e.g. ``"id"``). Needs pandas (Debian ``python3-pandas``); the bindings do not."""
    try:
        import pandas
    except ImportError as exc:
        raise ImportError("to_pandas needs pandas (Debian: python3-pandas); columns() needs nothing") from exc
    frame = pandas.DataFrame(columns(rows))
    return frame.set_index(index) if index is not None and len(frame) else frame


# ---------------------------------------------------------------- handle base


_H = TypeVar("_H", bound="_Handle")


class _Handle(abc.ABC):
    __slots__ = ()
    _ptr: Any  # the C handle (a ctypes pointer; NULL once closed)

    @abc.abstractmethod
    def close(self) -> None:
        """Releases the handle (each kind frees its own C object)."""

    def _require(self) -> Any:
        ptr = self._ptr
        if not ptr:
            raise errors.make(errors.NullError, "%s is closed" % type(self).__name__)
        return ptr

    @property
    def closed(self) -> bool:
        """True once the object is closed (its handle released)."""
        return not self._ptr

    def __enter__(self: _H) -> _H:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()


# ---------------------------------------------------------------- engine


class Engine(_Handle):
    """A risk engine: asset and instrument registry, market data, accounts.

    ``Engine(margin_call_health=1.2, no_quantize=False, sweep_image=False)``. ``sweep_image``
    keeps the tiled copy of the accounts from which :meth:`evaluate_all` sweeps faster, at about
    440 bytes per account (``RISK_ENGINE_SWEEP_IMAGE``; the same results). Close it with
    :meth:`close` or a ``with`` block; closing the engine while accounts are alive is safe (the C
    engine lives until its last account or basket is freed).
    """
    __slots__ = ("_ptr", "_finalizer", "_asset_symbols", "_instrument_symbols", "_instrument_lots",
                 "_instrument_settles", "_accounts", "_scratch", "_restored", "__weakref__")

    def __init__(self, margin_call_health: float | None = None, no_quantize: bool = False,
                 sweep_image: bool = False) -> None:
        L = ffi.lib()
        opts = ffi.RiskEngineOptions.init()
        if margin_call_health is not None:
            opts.margin_call_health = float(margin_call_health)
        if no_quantize:
            opts.flags |= ffi.ENGINE_NO_QUANTIZE
        if sweep_image:
            opts.flags |= ffi.ENGINE_SWEEP_IMAGE
        ptr = ffi.EngineP()
        L.risk_engine_new(ctypes.byref(ptr), ctypes.byref(opts))
        self._ptr = ptr
        self._finalizer = weakref.finalize(self, L.risk_engine_free, ptr)
        self._asset_symbols: dict[str, int] = {}
        self._instrument_symbols: dict[str, int] = {}
        self._instrument_lots: dict[int, float] = {}
        self._instrument_settles: dict[int, int] = {}
        self._accounts: weakref.WeakValueDictionary[int, Account] = weakref.WeakValueDictionary()
        self._scratch: Any = None  # ctypes buffers reused by evaluate_all
        self._restored: tuple[Account, ...] = ()

    def close(self) -> None:
        """Releases the engine handle (idempotent). Accounts already created keep working."""
        if self._ptr:
            self._ptr = ffi.EngineP()
            self._finalizer()
            self._scratch = None

    # -- snapshots (include/risk/snapshot.h, docs/snapshot.md) ---------------------------------

    def snapshot(self, path: str | None = None) -> bytes | None:
        """Writes a snapshot of the whole engine: to ``path`` atomically (a temporary file beside it,
        fsync'd, renamed over it), or, without a path, returns it as ``bytes``."""
        L = ffi.lib()
        ptr = self._require()
        if path is not None:
            L.risk_engine_snapshot_write_file(ptr, os.fsencode(path))
            return None
        size = ctypes.c_size_t()
        try:
            L.risk_engine_snapshot_write(ptr, None, 0, ctypes.byref(size))
        except errors.BufferTooSmallError:
            pass
        buf = ctypes.create_string_buffer(max(size.value, 1))
        L.risk_engine_snapshot_write(ptr, buf, size.value, ctypes.byref(size))
        return buf.raw[:size.value]

    @classmethod
    def from_snapshot(cls, source: str | bytes, *, in_place: bool = False, parallel: bool = False) -> Engine:
        """An engine restored from a snapshot: ``source`` is a path or the snapshot's bytes.

        Every account comes back as an :class:`Account` this object holds (see :meth:`accounts`
        and :meth:`find_account`); each owns its C handle, so closing the engine first is safe.
        ``in_place`` keeps a snapshot file mapped and uses its position arrays where they lie
        (RISK_SNAPSHOT_MAP_IN_PLACE: the file must not be rewritten in place meanwhile);
        ``parallel`` lets the read use a helper thread (RISK_SNAPSHOT_PARALLEL). Neither changes
        the engine restored. Raises CorruptError (truncated, checksum, out of range), VersionError
        (another format version), FileError (cannot read the file).
        """
        L = ffi.lib()
        opts = ffi.RiskSnapshotOptions.init()
        opts.flags = (ffi.SNAPSHOT_MAP_IN_PLACE if in_place else 0) | (ffi.SNAPSHOT_PARALLEL if parallel else 0)
        msg = ctypes.create_string_buffer(512)
        opts.errmsg_out = ctypes.cast(msg, ctypes.c_char_p)
        opts.errmsg_capacity = len(msg)
        ptr = ffi.EngineP()
        if isinstance(source, (bytes, bytearray, memoryview)):
            data = bytes(source)
            rc = L.risk_engine_snapshot_read(ctypes.byref(ptr), data, len(data), ctypes.byref(opts))
        else:
            rc = L.risk_engine_snapshot_read_file(ctypes.byref(ptr), os.fsencode(source), ctypes.byref(opts))
        if rc:
            raise errors.from_code(rc, msg.value.decode("utf-8", "replace") or L.strerror(rc))
        self = cls.__new__(cls)
        self._ptr = ptr
        self._finalizer = weakref.finalize(self, L.risk_engine_free, ptr)
        self._asset_symbols = {}
        self._instrument_symbols = {}
        self._instrument_lots = {}
        self._accounts = weakref.WeakValueDictionary()
        self._scratch = None
        for i in range(self.asset_count):
            self._asset_symbols[self.asset_info(i)["symbol"]] = i
        for i in range(self.instrument_count):
            info = self.instrument_info(i)
            self._instrument_symbols[info["symbol"]] = i
            self._instrument_lots[i] = info["lot_size"]
        restored = []
        for aptr in self._account_pointers():
            L.risk_account_adopt(aptr)
            restored.append(Account._owning(self, aptr))
        self._restored = tuple(restored)
        return self

    def _account_pointers(self) -> list[Any]:
        L = ffi.lib()
        n = ctypes.c_size_t()
        try:
            L.risk_engine_accounts(self._require(), None, 0, ctypes.byref(n))
            return []
        except errors.BufferTooSmallError:
            pass
        arr = (ffi.AccountP * n.value)()
        L.risk_engine_accounts(self._require(), arr, n.value, ctypes.byref(n))
        return list(arr[:n.value])

    def accounts(self) -> list[Account]:
        """Every account of the engine, in creation order (:class:`Account` objects)."""
        out = []
        for aptr in self._account_pointers():
            acc_id = int(ffi.lib().risk_account_id(aptr))
            acc = self._accounts.get(acc_id)
            if acc is None or not acc._ptr or ctypes.addressof(acc._ptr.contents) != ctypes.addressof(aptr.contents):
                acc = Account._borrowed(self, aptr)
            out.append(acc)
        return out

    @property
    def asset_count(self) -> int:
        """Number of assets registered."""
        out = ctypes.c_size_t()
        ffi.lib().risk_engine_asset_count(self._require(), ctypes.byref(out))
        return out.value

    @property
    def instrument_count(self) -> int:
        """Number of instruments registered."""
        out = ctypes.c_size_t()
        ffi.lib().risk_engine_instrument_count(self._require(), ctypes.byref(out))
        return out.value

    def asset_info(self, asset: str | int) -> dict[str, Any]:
        """An asset as registered (``risk_engine_asset_spec``), as a dict."""
        spec = ffi.RiskAssetSpec.init()
        ffi.lib().risk_engine_asset_spec(self._require(), self._asset_id(asset), ctypes.byref(spec))
        return {"symbol": spec.symbol.decode("utf-8"), "decimals": spec.decimals, "price": spec.price,
                "weight_init": spec.weight_init, "weight_maint": spec.weight_maint,
                "liab_weight_init": spec.liab_weight_init, "liab_weight_maint": spec.liab_weight_maint,
                "value_tiers": [(spec.value_tiers[k].up_to_qty, spec.value_tiers[k].ratio)
                                for k in range(spec.n_value_tiers)]}

    def instrument_info(self, instrument: str | int) -> dict[str, Any]:
        """An instrument as registered (``risk_engine_instrument_spec``), as a dict; ``tiers`` are
        the base (unscaled) :class:`MarginTier` list, ``expiry`` a UTC datetime or None."""
        spec = ffi.RiskInstrumentSpec.init()
        ffi.lib().risk_engine_instrument_spec(self._require(), self._instrument_id(instrument), ctypes.byref(spec))
        expiry = None
        if spec.kind in (ffi.KIND_FUTURE, ffi.KIND_OPTION):
            expiry = datetime.datetime.fromtimestamp(spec.expiry_unix_s, tz=datetime.timezone.utc)
        kind = {ffi.KIND_FUTURE: "future", ffi.KIND_OPTION: "option"}.get(spec.kind, "perpetual")
        option = {}
        if spec.kind == ffi.KIND_OPTION:
            option = {"strike": spec.strike, "option_type": "call" if spec.option_type == 1 else "put",
                      "mark_vol": spec.mark_vol or None, "carry_rate": spec.carry_rate,
                      "underlying_tick": spec.underlying_tick}
        return {**option, "symbol": spec.symbol.decode("utf-8"),
                "kind": kind,
                "underlying": spec.underlying, "settle": spec.settle, "inverse": bool(spec.inverse),
                "mm_price": "entry" if spec.mm_price == ffi.MM_PRICE_ENTRY else "mark", "expiry": expiry,
                "contract_size": spec.contract_size, "lot_size": spec.lot_size, "tick_size": spec.tick_size,
                "mark": spec.mark,
                "tiers": [MarginTier(spec.tiers[k].notional_cap, spec.tiers[k].mmr, spec.tiers[k].max_leverage,
                                     spec.tiers[k].cum, bool(spec.tiers[k].cum_given))
                          for k in range(spec.n_tiers)]}

    # -- registry -------------------------------------------------------------------------------

    def add_asset(self, symbol: str, price: float, decimals: int = 8, weight_init: float = 1.0,
                  weight_maint: float = 1.0, liab_weight_init: float = 1.0, liab_weight_maint: float = 1.0,
                  value_tiers: list[tuple[float, float]] | None = None) -> int:
        """Registers an asset; returns its id. ``value_tiers``: [(up_to, ratio)] or
        [{"up_to", "ratio"}], ``up_to=None`` meaning unbounded."""
        ptr = self._require()
        spec = ffi.RiskAssetSpec.init()
        sym = _encode_symbol(symbol)
        spec.symbol = sym
        spec.price = float(price)
        spec.decimals = int(decimals)
        spec.weight_init = float(weight_init)
        spec.weight_maint = float(weight_maint)
        spec.liab_weight_init = float(liab_weight_init)
        spec.liab_weight_maint = float(liab_weight_maint)
        tiers = None
        if value_tiers:
            items = [_value_tier_struct(t, "value_tiers[%d]" % i) for i, t in enumerate(value_tiers)]
            tiers = (ffi.RiskValueTier * len(items))(*items)
            spec.value_tiers = ctypes.cast(tiers, ctypes.POINTER(ffi.RiskValueTier))
            spec.n_value_tiers = len(items)
        out = ctypes.c_uint32()
        ffi.lib().risk_engine_add_asset(ptr, ctypes.byref(spec), ctypes.byref(out))
        self._asset_symbols[sym.decode("utf-8")] = out.value
        return out.value

    def add_instrument(self, symbol: str, underlying: str | int, settle: str | int, tiers: list[Any] | None,
                       kind: str = "perpetual", inverse: bool = False, contract_size: float = 1.0,
                       lot_size: float = 1.0, tick_size: float = 1.0, mark: float | None = None,
                       expiry: datetime.datetime | str | int | None = None, mm_price: str = "mark",
                       strike: float | None = None, option_type: str | None = None, mark_vol: float | None = None,
                       carry_rate: float = 0.0, underlying_tick: float = 0.01) -> int:
        """Registers a perpetual, dated future or option; returns its id.

        ``underlying``/``settle``: asset symbols or ids. ``tiers``: a list of dicts
        ``{"notional_cap", "mmr", "max_leverage", "cum"?}`` or tuples
        ``(notional_cap, mmr, max_leverage[, cum])``; a given cum is used as published.
        ``expiry``: None (perpetual), Unix seconds, an ISO 8601 UTC string or an aware datetime.
        Options (``kind="option"``, after :meth:`set_time`): ``tiers`` None, ``strike``,
        ``option_type`` 'call' or 'put', and either ``mark`` (a premium in the settle asset) or
        ``mark_vol`` (the engine prices the mark); ``carry_rate`` of the forward; ``inverse``
        True for coin-settled options (docs/options.md, section 6).
        """
        ptr = self._require()
        spec = ffi.RiskInstrumentSpec.init()
        sym = _encode_symbol(symbol)
        spec.symbol = sym
        spec.kind = _lookup(_KINDS, kind, "kind")
        spec.underlying = self._asset_id(underlying)
        spec.settle = self._asset_id(settle)
        spec.inverse = 1 if inverse else 0
        spec.mm_price = _lookup(_MM_PRICES, mm_price, "mm_price")
        spec.expiry_unix_s = _expiry_seconds(expiry)
        spec.contract_size = float(contract_size)
        spec.lot_size = float(lot_size)
        spec.tick_size = float(tick_size)
        spec.mark = 0.0 if mark is None else float(mark)
        if spec.kind == ffi.KIND_OPTION:
            spec.strike = float(strike) if strike is not None else 0.0
            spec.option_type = _lookup(_OPTION_TYPES, option_type, "option_type")
            spec.mark_vol = 0.0 if mark_vol is None else float(mark_vol)
            spec.carry_rate = float(carry_rate)
            spec.underlying_tick = float(underlying_tick)
        items = [_tier_struct(t, "tiers[%d]" % i) for i, t in enumerate(tiers or ())]
        arr = (ffi.RiskMarginTier * max(len(items), 1))(*items)
        spec.tiers = ctypes.cast(arr, ctypes.POINTER(ffi.RiskMarginTier)) if items else None
        spec.n_tiers = len(items)
        out = ctypes.c_uint32()
        ffi.lib().risk_engine_add_instrument(ptr, ctypes.byref(spec), ctypes.byref(out))
        self._instrument_symbols[sym.decode("utf-8")] = out.value
        self._instrument_lots[out.value] = spec.lot_size
        self._instrument_settles[out.value] = spec.settle
        return out.value

    def find_asset(self, symbol: str) -> int:
        """The id of the asset ``symbol`` (NotFoundError when unknown)."""
        out = ctypes.c_uint32()
        ffi.lib().risk_engine_find_asset(self._require(), _encode_symbol(symbol), ctypes.byref(out))
        return out.value

    def find_instrument(self, symbol: str) -> int:
        """The id of the instrument ``symbol`` (NotFoundError when unknown)."""
        out = ctypes.c_uint32()
        ffi.lib().risk_engine_find_instrument(self._require(), _encode_symbol(symbol), ctypes.byref(out))
        return out.value

    def find_account(self, account_id: int) -> Account:
        """The :class:`Account` with external id ``account_id`` (NotFoundError when none)."""
        out = ffi.AccountP()
        ffi.lib().risk_engine_find_account(self._require(), int(account_id), ctypes.byref(out))
        acc = self._accounts.get(int(account_id))
        if acc is not None and acc._ptr and ctypes.addressof(acc._ptr.contents) == ctypes.addressof(out.contents):
            return acc
        return Account._borrowed(self, out)

    def asset_symbol(self, asset_id: int) -> str | None:
        """Symbol of an asset registered through this object (None when unknown)."""
        for sym, aid in self._asset_symbols.items():
            if aid == asset_id:
                return sym
        return None

    def instrument_symbol(self, instrument_id: int) -> str | None:
        """Symbol of an instrument registered through this object (None when unknown)."""
        for sym, iid in self._instrument_symbols.items():
            if iid == instrument_id:
                return sym
        return None

    def _asset_id(self, asset: str | int) -> int:
        if isinstance(asset, int) and not isinstance(asset, bool):
            return asset
        asset = cast(str, asset)  # a bool goes on to find_asset, which rejects it
        if self._ptr:
            return self.find_asset(asset)
        if asset in self._asset_symbols:
            return self._asset_symbols[asset]
        raise errors.make(errors.NullError, "Engine is closed: pass asset ids, not symbols")

    def _instrument_id(self, instrument: str | int) -> int:
        if isinstance(instrument, int) and not isinstance(instrument, bool):
            return instrument
        instrument = cast(str, instrument)  # a bool goes on to find_instrument, which rejects it
        if self._ptr:
            return self.find_instrument(instrument)
        if instrument in self._instrument_symbols:
            return self._instrument_symbols[instrument]
        raise errors.make(errors.NullError, "Engine is closed: pass instrument ids, not symbols")

    # -- settings -------------------------------------------------------------------------------

    def set_valuation_asset(self, asset: str | int) -> None:
        """Chooses the valuation asset (its price must be 1)."""
        ffi.lib().risk_engine_set_valuation_asset(self._require(), self._asset_id(asset))

    @property
    def valuation_asset(self) -> int | None:
        """Id of the valuation asset (None before any asset is registered)."""
        out = ctypes.c_uint32()
        ffi.lib().risk_engine_valuation_asset(self._require(), ctypes.byref(out))
        return None if out.value == ffi.ID_NONE else out.value

    def set_margin_call_health(self, health: float) -> None:
        """Sets the health factor under which an account is in margin call (>= 1)."""
        ffi.lib().risk_engine_set_margin_call_health(self._require(), float(health))

    def set_portfolio_margin(self, params: Mapping[str, Any] | None = None) -> None:
        """Sets the portfolio-margin model of ``'portfolio'`` accounts: a mapping of
        ``risk_portfolio_margin_params`` fields (see librisk.portfolio; None: the defaults)."""
        from . import portfolio as _pm
        _pm.set_params(self, params)

    def portfolio_margin_params(self) -> dict[str, Any]:
        """The portfolio-margin model in force, as a mapping (see librisk.portfolio)."""
        from . import portfolio as _pm
        return _pm.get_params(self)

    # -- market data ----------------------------------------------------------------------------

    def set_price(self, asset: str, price: float) -> None:
        """Sets an asset's price in the valuation asset."""
        ffi.lib().risk_engine_set_asset_price(self._require(), self._asset_id(asset), float(price))

    def price(self, asset: str | int) -> float:
        """An asset's current price."""
        out = ctypes.c_double()
        ffi.lib().risk_engine_asset_price(self._require(), self._asset_id(asset), ctypes.byref(out))
        return out.value

    def set_prices(self, prices: Mapping[str | int, float] | Sequence[str | int] | FloatBuffer,
                   values: FloatBuffer | None = None) -> None:
        """Sets several asset prices, all or none.

        ``set_prices({"BTC": 50000, "ETH": 3000})`` or ``set_prices(ids, prices)`` with two
        equal-length sequences; ``prices`` may be a float64 buffer (array('d'), numpy), passed
        without copying.
        """
        ids, vals, n = self._batch(prices, values, self._asset_id)
        ffi.lib().risk_engine_set_asset_prices(self._require(), ids, vals, n)

    def set_mark(self, instrument: str | int, mark: float) -> None:
        """Sets an instrument's mark price."""
        ffi.lib().risk_engine_set_mark(self._require(), self._instrument_id(instrument), float(mark))

    def set_time(self, now: datetime.datetime | str | int) -> None:
        """Sets the engine's time (Unix seconds, an ISO 8601 UTC string or an aware datetime),
        against which options are priced and expire (``risk_engine_set_time``)."""
        ffi.lib().risk_engine_set_time(self._require(), _expiry_seconds(now))

    @property
    def time(self) -> int:
        """The engine's time in Unix seconds (0 until set)."""
        out = ctypes.c_int64()
        ffi.lib().risk_engine_time(self._require(), ctypes.byref(out))
        return out.value

    def set_mark_vol(self, instrument: str | int, vol: float) -> None:
        """Prices an option's mark from a mark implied volatility from now on."""
        ffi.lib().risk_engine_set_mark_vol(self._require(), self._instrument_id(instrument), float(vol))

    def mark_vol(self, instrument: str | int) -> float | None:
        """An option's mark implied volatility (set, or implied by its mark); None when none exists."""
        out = ctypes.c_double()
        ffi.lib().risk_engine_mark_vol(self._require(), self._instrument_id(instrument), ctypes.byref(out))
        return _value_or_none(out.value)

    def settle_expired(self, instrument: str | int, settlement_price: float) -> int:
        """Settles an expired option at the underlying's settlement price: every position on it
        closes at the intrinsic value, paid into the settle asset; returns how many settled."""
        iid = self._instrument_id(instrument)
        # the settled positions' handles are freed: their Position views go with them
        doomed = [v for acc in list(self._accounts.values()) for v in list(acc._views.values())
                  if not v.closed and ffi.lib().risk_position_instrument(v._ptr) == iid]
        out = ctypes.c_size_t()
        ffi.lib().risk_engine_settle_expired(self._require(), iid, float(settlement_price), ctypes.byref(out))
        for v in doomed:
            v._detach()
        return out.value

    def mark(self, instrument: str | int) -> float:
        """An instrument's current mark."""
        out = ctypes.c_double()
        ffi.lib().risk_engine_mark(self._require(), self._instrument_id(instrument), ctypes.byref(out))
        return out.value

    def set_marks(self, marks: Mapping[str | int, float] | Sequence[str | int] | FloatBuffer,
                  values: FloatBuffer | None = None) -> None:
        """Sets several marks, all or none (same forms as :meth:`set_prices`)."""
        ids, vals, n = self._batch(marks, values, self._instrument_id)
        ffi.lib().risk_engine_set_marks(self._require(), ids, vals, n)

    @staticmethod
    def _batch(keys: Any, values: Any,
               resolve: Callable[..., Any]) -> tuple[ctypes.Array[Any], ctypes.Array[Any], int]:
        if values is None:
            items = list(dict(keys).items())
            n = len(items)
            ids = (ctypes.c_uint32 * max(n, 1))(*[resolve(k) for k, _ in items])
            vals = (ctypes.c_double * max(n, 1))(*[float(v) for _, v in items])
            return ids, vals, n
        try:
            vals, nv = _float64_view(values, "values")
        except errors.InvalidError:
            seq = [float(v) for v in values]
            nv = len(seq)
            vals = (ctypes.c_double * max(nv, 1))(*seq)
        try:
            ids, ni = _typed_view(keys, "ids", ctypes.c_uint32, "I", "uint32")
        except errors.InvalidError:
            id_seq = [resolve(k) for k in keys]
            ni = len(id_seq)
            ids = (ctypes.c_uint32 * max(ni, 1))(*id_seq)
        if ni != nv:
            raise errors.make(errors.InvalidError, "ids and values differ in length (%d vs %d)" % (ni, nv))
        return ids, vals, ni

    # -- margin schedules -----------------------------------------------------------------------

    def instrument_tiers(self, instrument: str) -> list[MarginTier]:
        """An instrument's margin schedule with every cum filled in: a list of MarginTier.

        Under volatility scaling this is the effective schedule, the one evaluation uses."""
        return self._read_tiers(ffi.lib().risk_engine_instrument_tiers, instrument)

    def instrument_base_tiers(self, instrument: str) -> list[MarginTier]:
        """An instrument's base (calibrated) schedule, as registered: a list of MarginTier."""
        return self._read_tiers(ffi.lib().risk_engine_instrument_base_tiers, instrument)

    def _read_tiers(self, cfn: Any, instrument: str) -> list[MarginTier]:
        ptr = self._require()
        iid = self._instrument_id(instrument)
        count = ctypes.c_size_t()
        try:
            cfn(ptr, iid, None, 0, ctypes.byref(count))
        except errors.BufferTooSmallError:
            pass
        n = count.value
        arr = (ffi.RiskMarginTier * max(n, 1))()
        cfn(ptr, iid, arr, n, ctypes.byref(count))
        return [MarginTier(t.notional_cap, t.mmr, t.max_leverage, t.cum, bool(t.cum_given))
                for t in arr[:count.value]]

    def instrument_margin(self, instrument: str, notional: float, leverage: float = 0.0) -> tuple[float, float, int]:
        """(initial margin, maintenance margin, tier index) of a notional in the settle asset.
        ``leverage=0`` uses the tier's maximum."""
        im, mm, tier = ctypes.c_double(), ctypes.c_double(), ctypes.c_uint32()
        ffi.lib().risk_engine_instrument_margin(self._require(), self._instrument_id(instrument), float(notional),
                                               float(leverage), ctypes.byref(im), ctypes.byref(mm),
                                               ctypes.byref(tier))
        return im.value, mm.value, tier.value

    # -- volatility-scaled margin (docs/volatility.md, sections 2 and 3) -------------------------

    def set_instrument_scaling(self, instrument: str | int, mode: str = "tiers", reference_vol_annual: float = 0.0,
                               min_factor: float = 1.0, max_factor: float = 4.0, z: float = 2.326,
                               horizon_days: float = 1.0, days_per_year: float = 365.0, buffer: float = 0.0,
                               stress_weight: float = 0.0, max_daily_change: float = 0.0,
                               vol_floor: bool = False) -> None:
        """Turns an instrument's volatility scaling on (``mode`` ``'tiers'`` or ``'var'``), changes
        it, or turns it off (``mode='off'`` or None). The defaults are ``RISK_MARGIN_SCALING_INIT``'s;
        ``buffer``, ``stress_weight``, ``vol_floor`` and ``max_daily_change`` are the
        anti-procyclicality options, off at 0/False."""
        ptr = self._require()
        iid = self._instrument_id(instrument)
        sc = ffi.RiskMarginScaling.init()
        sc.mode = _lookup(_SCALING_MODES, "off" if mode is None else mode, "mode")
        sc.reference_vol_annual = float(reference_vol_annual)
        sc.min_factor = float(min_factor)
        sc.max_factor = float(max_factor)
        sc.z = float(z)
        sc.horizon_days = float(horizon_days)
        sc.days_per_year = float(days_per_year)
        sc.buffer = float(buffer)
        sc.stress_weight = float(stress_weight)
        sc.max_daily_change = float(max_daily_change)
        sc.vol_floor = 1 if vol_floor else 0
        ffi.lib().risk_engine_set_instrument_scaling(ptr, iid, ctypes.byref(sc))

    def instrument_scaling(self, instrument: str) -> dict[str, float]:
        """An instrument's scaling parameters as a dict (the keyword arguments of
        :meth:`set_instrument_scaling`)."""
        sc = ffi.RiskMarginScaling.init()
        ffi.lib().risk_engine_instrument_scaling(self._require(), self._instrument_id(instrument), ctypes.byref(sc))
        out = {name: getattr(sc, name) for name, _ in ffi.RiskMarginScaling._fields_
               if name not in ("version", "mode", "vol_floor", "reserved")}
        out["mode"] = _SCALING_NAMES.get(sc.mode, str(sc.mode))
        out["vol_floor"] = bool(sc.vol_floor)
        return out

    def set_instrument_fees(self, instrument: str | int, maker_fee: float = 0.0, taker_fee: float = 0.0,
                            liquidation_price_with_fee: bool = False, max_notional: float | None = None) -> None:
        """Sets an instrument's trading terms (``risk_engine_set_instrument_fees``): maker and
        taker fee rates (fractions in [0, 0.1]; what-if and max order charge the taker fee,
        resting orders the maker fee), whether liquidation and bankruptcy prices include the
        closing taker fee, and the largest position margin notional (None: no limit). The
        defaults are ``RISK_INSTRUMENT_FEES_INIT``'s, which restore an instrument to no fees."""
        f = ffi.RiskInstrumentFees.init()
        f.maker_fee = float(maker_fee)
        f.taker_fee = float(taker_fee)
        f.liquidation_price_with_fee = 1 if liquidation_price_with_fee else 0
        f.max_notional = 0.0 if max_notional is None else float(max_notional)
        ffi.lib().risk_engine_set_instrument_fees(self._require(), self._instrument_id(instrument), ctypes.byref(f))

    def instrument_fees(self, instrument: str) -> dict[str, Any]:
        """An instrument's trading terms as a dict (the keyword arguments of
        :meth:`set_instrument_fees`; ``max_notional`` None when there is no limit)."""
        f = ffi.RiskInstrumentFees.init()
        ffi.lib().risk_engine_instrument_fees(self._require(), self._instrument_id(instrument), ctypes.byref(f))
        return {"maker_fee": f.maker_fee, "taker_fee": f.taker_fee,
                "liquidation_price_with_fee": bool(f.liquidation_price_with_fee),
                "max_notional": f.max_notional if f.max_notional > 0.0 else None}

    def instrument_settle(self, instrument: str) -> int:
        """The settle asset id of an instrument registered through these bindings."""
        return self._instrument_settles[self._instrument_id(instrument)]

    def fill_fee(self, instrument: str, qty: float, price: float, maker: bool = False) -> float:
        """The fee the engine charges for a fill of ``qty`` contracts at ``price``, in the settle
        asset (``risk_engine_fill_fee``): the taker fee, or the maker fee with ``maker=True``."""
        fee = ctypes.c_double()
        ffi.lib().risk_engine_fill_fee(self._require(), self._instrument_id(instrument),
                                       ffi.FEE_MAKER if maker else ffi.FEE_TAKER, float(qty), float(price),
                                       ctypes.byref(fee))
        return fee.value

    def instrument_factor(self, instrument: str | int) -> MarginFactor:
        """An instrument's current factor and the volatility behind it: a :class:`MarginFactor`."""
        f = ffi.RiskMarginFactor.init()
        ffi.lib().risk_engine_instrument_factor(self._require(), self._instrument_id(instrument), ctypes.byref(f))
        return MarginFactor(_SCALING_NAMES.get(f.mode, str(f.mode)), f.factor, f.target,
                            _value_or_none(f.vol_annual), _value_or_none(f.reference_vol_annual))

    def set_asset_vol_params(self, asset: str | int, lambda_: float = 0.94, periods_per_year: float = 365.0,
                             seed_vol_annual: float = 0.0) -> None:
        """Sets how an asset's live volatility is estimated (EWMA decay, periods per year of the
        fed returns, starting volatility) and restarts its estimate."""
        p = ffi.RiskAssetVolParams.init()
        setattr(p, "lambda", float(lambda_))  # a Python keyword
        p.periods_per_year = float(periods_per_year)
        p.seed_vol_annual = float(seed_vol_annual)
        ffi.lib().risk_engine_set_asset_vol_params(self._require(), self._asset_id(asset), ctypes.byref(p))

    def set_asset_size_scaling(self, asset: str | int, imf: float = 0.0, deposit_scale_start: float = 0.0,
                               borrow_scale_start: float = 0.0, venue_deposits: float = 0.0,
                               venue_borrows: float = 0.0) -> None:
        """Sets an asset's size-scaled weights (docs/formulas.md, "Size-scaled weights"): Drift's
        IMF size premium on debts and discount on deposits (``imf``), the initial asset weight
        scaled down once venue-wide deposits pass ``deposit_scale_start`` (a value), the initial
        liability weight scaled up once venue-wide borrows pass ``borrow_scale_start``. Venue
        totals are in asset units. All zero turns it off."""
        s = ffi.RiskSizeScaling.init()
        s.imf = float(imf)
        s.deposit_scale_start = float(deposit_scale_start)
        s.borrow_scale_start = float(borrow_scale_start)
        s.venue_deposits = float(venue_deposits)
        s.venue_borrows = float(venue_borrows)
        ffi.lib().risk_engine_set_asset_size_scaling(self._require(), self._asset_id(asset), ctypes.byref(s))

    def asset_size_scaling(self, asset: str | int) -> dict[str, float]:
        """An asset's size scaling as a dict of the fields set by :meth:`set_asset_size_scaling`."""
        s = ffi.RiskSizeScaling.init()
        ffi.lib().risk_engine_asset_size_scaling(self._require(), self._asset_id(asset), ctypes.byref(s))
        return {k: getattr(s, k) for k in ("imf", "deposit_scale_start", "borrow_scale_start",
                                           "venue_deposits", "venue_borrows")}

    def asset_weights(self, asset: str | int, balance: float) -> tuple[float, float]:
        """The (initial, maintenance) weights evaluation puts on ``balance`` of the asset:
        collateral weights when positive, liability weights when negative, after size scaling."""
        wi, wm = ctypes.c_double(), ctypes.c_double()
        ffi.lib().risk_engine_asset_weights(self._require(), self._asset_id(asset), float(balance),
                                            ctypes.byref(wi), ctypes.byref(wm))
        return wi.value, wm.value

    def set_instrument_size_premium(self, instrument: str | int, imf: float = 0.0, base_share: float = 0.8) -> None:
        """Sets an instrument's size premium on its margin rates (docs/formulas.md 4.6):
        max(r, base_share r + imf sqrt(size)), at most 1; base_share 0.8 is Drift's, 0 FTX's.
        ``imf`` 0 turns it off."""
        p = ffi.RiskSizePremium.init()
        p.imf = float(imf)
        p.base_share = float(base_share)
        ffi.lib().risk_engine_set_instrument_size_premium(self._require(), self._instrument_id(instrument),
                                                          ctypes.byref(p))

    def instrument_size_premium(self, instrument: str | int) -> tuple[float, float]:
        """An instrument's size premium as (imf, base_share); imf 0 when off."""
        p = ffi.RiskSizePremium.init()
        ffi.lib().risk_engine_instrument_size_premium(self._require(), self._instrument_id(instrument),
                                                      ctypes.byref(p))
        return p.imf, p.base_share

    def set_asset_vol(self, asset: str | int, vol_annual: float, time_s: int) -> None:
        """Sets an asset's live volatility (annualised, 0.6 = 60 %) at ``time_s`` (seconds, not
        before the asset's last update)."""
        ffi.lib().risk_engine_set_asset_vol(self._require(), self._asset_id(asset), float(vol_annual), int(time_s))

    def feed_asset_return(self, asset: str, log_return: float, time_s: int) -> None:
        """Feeds one log return of an asset (one period of its parameters) at ``time_s``."""
        ffi.lib().risk_engine_feed_asset_return(self._require(), self._asset_id(asset), float(log_return),
                                                int(time_s))

    def feed_asset_price(self, asset: str, price: int, time_s: int) -> None:
        """Feeds one price (a close per period) of an asset at ``time_s``; the first only primes."""
        ffi.lib().risk_engine_feed_asset_price(self._require(), self._asset_id(asset), float(price), int(time_s))

    def set_asset_stressed_vol(self, asset: str | int, vol_annual: float) -> None:
        """Sets an asset's stressed volatility (0: the highest live volatility observed)."""
        ffi.lib().risk_engine_set_asset_stressed_vol(self._require(), self._asset_id(asset), float(vol_annual))

    def set_asset_floor_vol(self, asset: str | int, vol_annual: float) -> None:
        """Sets an asset's long-run (floor) volatility (0: estimated from every fed return)."""
        ffi.lib().risk_engine_set_asset_floor_vol(self._require(), self._asset_id(asset), float(vol_annual))

    def set_asset_buffer_release(self, asset: str | int, fraction: float) -> None:
        """Releases a fraction in [0, 1] of the buffers of the instruments on an asset (stress)."""
        ffi.lib().risk_engine_set_asset_buffer_release(self._require(), self._asset_id(asset), float(fraction))

    def asset_vol(self, asset: str) -> AssetVolState:
        """An asset's volatility state: an :class:`AssetVolState`."""
        s = ffi.RiskAssetVolState.init()
        ffi.lib().risk_engine_asset_vol(self._require(), self._asset_id(asset), ctypes.byref(s))
        return AssetVolState(_value_or_none(s.live_vol_annual), _value_or_none(s.stressed_vol_annual),
                             _value_or_none(s.floor_vol_annual), s.buffer_release, getattr(s, "lambda"), s.periods_per_year,
                             s.last_time_s if s.flags & ffi.ASSET_VOL_HAS_TIME else None, s.n_returns,
                             bool(s.flags & ffi.ASSET_VOL_STRESSED_SET), bool(s.flags & ffi.ASSET_VOL_FLOOR_SET))

    # -- accounts -------------------------------------------------------------------------------

    def new_account(self, account_id: int, margin_mode: str = "cross", position_mode: str = "one-way") -> Account:
        """Creates an :class:`Account` in this engine."""
        return Account(self, account_id, margin_mode, position_mode)

    def new_basket(self) -> Any:
        """Creates a standalone :class:`Basket` valued by this engine."""
        return Basket(self)

    @property
    def account_count(self) -> int:
        """Number of accounts alive in the engine."""
        out = ctypes.c_size_t()
        ffi.lib().risk_engine_account_count(self._require(), ctypes.byref(out))
        return out.value

    @property
    def memory_bytes(self) -> int:
        """Bytes the engine holds through its allocator."""
        out = ctypes.c_size_t()
        ffi.lib().risk_engine_memory_bytes(self._require(), ctypes.byref(out))
        return out.value

    def _scratch_for(self, n: int) -> ctypes.Array[Any]:
        """The engine's reusable summary array, grown to at least ``n`` (every version set)."""
        n = max(n, 1)
        if self._scratch is None or len(self._scratch) < n:
            one = bytes(ffi.RiskAccountSummary.init())
            self._scratch = (ffi.RiskAccountSummary * n).from_buffer_copy(one * n)
        self._scratch[0].version = ffi.ACCOUNT_SUMMARY_VERSION
        return self._scratch

    def evaluate_all(self, threads: int = 1, out: ctypes.Array[Any] | None = None) -> list[AccountSummary]:
        """Evaluates every account (in creation order) and returns a list of AccountSummary.

        ``out``: optional ctypes array of :class:`librisk.ffi.RiskAccountSummary` to fill (reused
        between calls); too short raises BufferTooSmallError with ``.needed``.
        """
        ptr = self._require()
        L = ffi.lib()
        if out is None:
            out = self._scratch_for(self.account_count)
        else:
            for i in range(len(out)):
                out[i].version = ffi.ACCOUNT_SUMMARY_VERSION
        cap = len(out)
        ids = (ctypes.c_uint64 * cap)()
        count = ctypes.c_size_t()
        try:
            L.risk_engine_evaluate_all(ptr, out, ids, cap, int(threads), ctypes.byref(count))
        except errors.BufferTooSmallError as exc:
            exc.needed = count.value
            raise
        return [AccountSummary._from_struct(ids[i], out[i]) for i in range(count.value)]

    def stress(self, scenarios: Any, threads: int = 1, per_account: bool = True) -> Any:
        """Every account under every scenario (risk_engine_stress): a
        :class:`librisk.stress.StressResult` (book results per scenario, per-account P&L, equity,
        health and state). See librisk.stress and docs/stress.md."""
        from . import stress as _stress
        return _stress.stress(self, scenarios, threads, per_account)

    def exposures(self, top_k: int = 5) -> Any:
        """Exposure and concentration by underlying (risk_engine_exposures); see librisk.stress."""
        from . import stress as _stress
        return _stress.exposures(self, top_k)

    def to_pandas(self, threads: int = 1) -> Any:
        """Every account's summary as a ``pandas.DataFrame`` indexed by account id, built from the
        columns of :meth:`summary_columns` (numpy arrays the C library wrote; no per-row Python
        loop). ``state`` holds the state names."""
        try:
            import pandas
            import numpy
        except ImportError as exc:
            raise ImportError("to_pandas needs pandas (Debian: python3-pandas); columns() needs nothing") from exc
        cols = self.summary_columns(threads=threads, use_numpy=True)
        names = numpy.array([_STATES[k] for k in sorted(_STATES)], dtype=object)
        data = {"id": cols["ids"], "state": names[cols["state"]]}
        data.update((name, cols[name]) for name in _SUMMARY_VALUE_FIELDS)
        frame = pandas.DataFrame(data)
        return frame.set_index("id") if len(frame) else frame

    def summary_columns(self, fields: Iterable[str] | None = None, threads: int = 1,
                        out: Mapping[str, Any] | None = None, use_numpy: bool | None = None) -> dict[str, Any]:
        """Every account's summary as columns written by the C library
        (``risk_engine_evaluate_columns``): a dict field -> column, accounts in creation order.

        ``fields``: the fields wanted (default all of :data:`librisk.ffi.SUMMARY_COLUMN_FIELDS`:
        ``ids``, ``state``, ``equity``, ...); ``out``: a dict field -> caller buffer (writable,
        contiguous, of the field's type: uint64 ids, uint32 state and counts, float64 otherwise)
        written in place, as many elements as accounts at least; missing fields get new columns,
        numpy arrays when numpy is installed (``use_numpy``: force either way), else
        ``array.array``. Nothing is copied: each buffer's address goes to C.
        """
        ptr = self._require()
        types = dict(ffi.SUMMARY_COLUMN_FIELDS)
        out = dict(out or {})
        wanted = list(fields) if fields is not None else [name for name, _ in ffi.SUMMARY_COLUMN_FIELDS]
        for name in list(wanted) + list(out):
            if name not in types:
                raise errors.make(errors.InvalidError, "unknown summary column %r (choose from %s)"
                                  % (name, ", ".join(types)))
        n = self.account_count
        use_numpy = _numpy_wanted(use_numpy)
        cols = ffi.RiskSummaryColumns(ffi.SUMMARY_COLUMNS_VERSION)
        result, keep = {}, []
        for name in dict.fromkeys(wanted + list(out)):
            buf = out[name] if name in out else _new_column(types[name], n, use_numpy)
            address, view = _column_address(buf, name, types[name], n)
            setattr(cols, name, address)
            keep.append(view)
            result[name] = buf
        count = ctypes.c_size_t()
        try:
            ffi.lib().risk_engine_evaluate_columns(ptr, ctypes.byref(cols), n, int(threads), ctypes.byref(count))
        except errors.BufferTooSmallError as exc:
            exc.needed = count.value
            raise
        return result

    def position_columns(self, fields: Iterable[str] | None = None, threads: int = 1,
                         out: Mapping[str, Any] | None = None, use_numpy: bool | None = None) -> dict[str, Any]:
        """Every position of every account as columns written by the C library
        (``risk_engine_position_results_columns``): notional, PnL, IM, MM, liquidation and
        bankruptcy prices, ... (:data:`librisk.ffi.POSITION_RESULT_COLUMN_FIELDS`), one row per
        position, accounts in creation order (``account_index`` is the row of
        :meth:`summary_columns`). Absent prices are NaN. ``fields``, ``out`` and ``use_numpy`` as
        for :meth:`summary_columns`."""
        ptr = self._require()
        L = ffi.lib()
        types = dict(ffi.POSITION_RESULT_COLUMN_FIELDS)
        out = dict(out or {})
        wanted = list(fields) if fields is not None else [name for name, _ in ffi.POSITION_RESULT_COLUMN_FIELDS]
        for name in list(wanted) + list(out):
            if name not in types:
                raise errors.make(errors.InvalidError, "unknown position column %r (choose from %s)"
                                  % (name, ", ".join(types)))
        cols = ffi.RiskPositionResultColumns(ffi.POSITION_RESULT_COLUMNS_VERSION)
        count = ctypes.c_size_t()
        try:
            L.risk_engine_position_results_columns(ptr, ctypes.byref(cols), 0, 1, ctypes.byref(count))
        except errors.BufferTooSmallError:
            pass
        n = count.value
        use_numpy = _numpy_wanted(use_numpy)
        result, keep = {}, []
        for name in dict.fromkeys(wanted + list(out)):
            buf = out[name] if name in out else _new_column(types[name], n, use_numpy)
            address, view = _column_address(buf, name, types[name], n)
            setattr(cols, name, address)
            keep.append(view)
            result[name] = buf
        L.risk_engine_position_results_columns(ptr, ctypes.byref(cols), n, int(threads), ctypes.byref(count))
        return result

    # -- bulk loading (include/risk/bulk.h) --------------------------------------------------

    def add_accounts(self, account_ids: Any, margin_modes: Any | None = None,
                     position_modes: Any | None = None) -> int:
        """Creates accounts from columns (``risk_engine_add_accounts``): ``account_ids`` a uint64
        buffer (array('Q'), numpy uint64), ``margin_modes`` / ``position_modes`` optional uint32
        buffers of RISK_MARGIN_* / RISK_POSITION_* codes (default cross, one-way). All or none;
        a bad row raises with its index in the message. The accounts belong to the engine (freed
        with it); :meth:`accounts` lists them."""
        ptr = self._require()
        ids_addr, ids_view = _column_address(account_ids, "account_ids", ctypes.c_uint64, 0)
        n = len(ids_view)
        mm = _column_address(margin_modes, "margin_modes", ctypes.c_uint32, n) if margin_modes is not None else (None,)
        pm = (_column_address(position_modes, "position_modes", ctypes.c_uint32, n)
              if position_modes is not None else (None,))
        ffi.lib().risk_engine_add_accounts(ptr, ids_addr, mm[0], pm[0], n, None)
        return n

    def set_balances(self, account_ids: Any, assets: Any, amounts: FloatBuffer) -> int:
        """Sets balances from columns (``risk_engine_set_balances``): uint64 account ids, uint32
        asset ids, float64 amounts, as many rows as ``account_ids`` holds. All or none."""
        ptr = self._require()
        ids_addr, ids_view = _column_address(account_ids, "account_ids", ctypes.c_uint64, 0)
        n = len(ids_view)
        a = _column_address(assets, "assets", ctypes.c_uint32, n)
        x = _column_address(amounts, "amounts", ctypes.c_double, n)
        ffi.lib().risk_engine_set_balances(ptr, ids_addr, a[0], x[0], n)
        return n

    def set_leverages(self, account_ids: Any, instruments: Any, leverages: FloatBuffer) -> int:
        """Sets user leverages from columns (``risk_engine_set_leverages``): uint64 account ids,
        uint32 instrument ids, float64 leverages. All or none."""
        ptr = self._require()
        ids_addr, ids_view = _column_address(account_ids, "account_ids", ctypes.c_uint64, 0)
        n = len(ids_view)
        i = _column_address(instruments, "instruments", ctypes.c_uint32, n)
        x = _column_address(leverages, "leverages", ctypes.c_double, n)
        ffi.lib().risk_engine_set_leverages(ptr, ids_addr, i[0], x[0], n)
        return n

    def open_positions(self, account_ids: Any, instruments: Any, qty: FloatBuffer, entry: FloatBuffer,
                       sides: Any | None = None, margin_modes: Any | None = None,
                       isolated_margin: FloatBuffer | None = None) -> int:
        """Opens positions from columns (``risk_engine_open_positions``): uint64 account ids,
        uint32 instrument ids, float64 qty and entry; optional uint32 sides (RISK_SIDE_*) and
        margin modes (RISK_MARGIN_*), float64 isolated margins. All or none; a bad row raises
        with its index in the message."""
        ptr = self._require()
        ids_addr, ids_view = _column_address(account_ids, "account_ids", ctypes.c_uint64, 0)
        n = len(ids_view)
        cols = ffi.RiskPositionColumns(ffi.POSITION_COLUMNS_VERSION)
        keep = [ids_view]
        cols.account_ids = ids_addr
        for name, buf, ctype in (("instruments", instruments, ctypes.c_uint32), ("qty", qty, ctypes.c_double),
                                 ("entry", entry, ctypes.c_double), ("sides", sides, ctypes.c_uint32),
                                 ("margin_modes", margin_modes, ctypes.c_uint32),
                                 ("isolated_margin", isolated_margin, ctypes.c_double)):
            if buf is None:
                continue
            address, view = _column_address(buf, name, ctype, n)
            setattr(cols, name, address)
            keep.append(view)
        ffi.lib().risk_engine_open_positions(ptr, ctypes.byref(cols), n)
        return n

    def __repr__(self) -> str:
        if self.closed:
            return "<Engine closed>"
        return "<Engine %d assets, %d instruments, %d accounts>" % (len(self._asset_symbols),
                                                                   len(self._instrument_symbols), self.account_count)

    def evaluate_all_into(self, columns: dict[str, Any], threads: int = 1, ids: array.array[float] | None = None,
                          state: array.array[float] | None = None) -> int:
        """Evaluates every account into caller-owned column buffers, without copying them.

        ``columns`` maps summary field names (see :data:`SUMMARY_COLUMNS`: ``equity``,
        ``health_factor``, ...) to writable, contiguous float64 buffers (``array('d')``, a numpy
        float64 array, ...) holding at least as many elements as there are accounts. ``ids``
        (uint64 buffer) is filled by the C library in place; ``state`` (uint32 buffer) gets the
        RISK_STATE_* codes. Each buffer's own memory is written: it is wrapped with
        ``(ctypes.c_double * n).from_buffer(obj)``, never copied or replaced, and the C library
        writes each field straight into it (``risk_engine_evaluate_columns``), bit-identical to
        :meth:`evaluate_all`. Returns the number of accounts.
        """
        ptr = self._require()
        L = ffi.lib()
        n = self.account_count
        targets = []
        for name, buf in dict(columns).items():
            if name not in SUMMARY_COLUMNS:
                raise errors.make(errors.InvalidError, "unknown summary column %r (choose from %s)"
                                  % (name, ", ".join(SUMMARY_COLUMNS)))
            view, length = _float64_view(buf, name)
            if length < n:
                exc = errors.make(errors.BufferTooSmallError, "%s: %d elements for %d accounts" % (name, length, n))
                exc.needed = n
                raise exc
            targets.append((name, view))
        ids_view = None
        if ids is not None:
            ids_view, length = _typed_view(ids, "ids", ctypes.c_uint64, "Q", "uint64")
            if length < n:
                exc = errors.make(errors.BufferTooSmallError, "ids: %d elements for %d accounts" % (length, n))
                exc.needed = n
                raise exc
        state_view = None
        if state is not None:
            state_view, length = _typed_view(state, "state", ctypes.c_uint32, "I", "uint32")
            if length < n:
                exc = errors.make(errors.BufferTooSmallError, "state: %d elements for %d accounts" % (length, n))
                exc.needed = n
                raise exc
        cols = ffi.RiskSummaryColumns(ffi.SUMMARY_COLUMNS_VERSION)
        cap = n
        for name, view in targets:
            setattr(cols, name, ctypes.addressof(view))
            cap = min(cap, len(view))
        if ids_view is not None:
            cols.ids = ctypes.addressof(ids_view)
        if state_view is not None:
            cols.state = ctypes.addressof(state_view)
        count = ctypes.c_size_t()
        try:
            L.risk_engine_evaluate_columns(ptr, ctypes.byref(cols), cap, int(threads), ctypes.byref(count))
        except errors.BufferTooSmallError as exc:
            exc.needed = count.value
            raise
        return count.value


# ---------------------------------------------------------------- basket


class Basket(_Handle):
    """Signed balances by asset (negative = borrowed), valued under the engine's prices.

    ``Basket(engine)`` creates a standalone basket (freed by :meth:`close`); ``account.basket``
    is a view of the account's own basket, valid while the account is open.
    """
    __slots__ = ("_ptr", "_finalizer", "_engine", "_owner", "__weakref__")
    _finalizer: weakref.finalize | None  # None for a view of an account's basket
    _engine: Engine
    _owner: Account | None

    def __init__(self, engine: Engine) -> None:
        L = ffi.lib()
        ptr = ffi.BasketP()
        L.risk_basket_new(ctypes.byref(ptr), engine._require())
        self._ptr = ptr
        self._engine = engine
        self._owner = None
        self._finalizer = weakref.finalize(self, L.risk_basket_free, ptr)

    @classmethod
    def _view(cls, account: Account, ptr: Any) -> Basket:
        self = cls.__new__(cls)
        self._ptr = ptr
        self._engine = account._engine
        self._owner = account
        self._finalizer = None
        return self

    @property
    def engine(self) -> Engine:
        """The :class:`Engine` whose prices value this basket."""
        return self._engine

    def close(self) -> None:
        """Frees a standalone basket (idempotent); an account's basket is only detached."""
        if self._ptr:
            self._ptr = ffi.BasketP()
            if self._finalizer is not None:
                self._finalizer()

    def _invalidate(self) -> None:
        self._ptr = ffi.BasketP()

    def set_balance(self, asset: str | int, amount: float) -> None:
        """Sets an asset's balance in asset units (negative = borrowed, 0 removes it)."""
        ptr = self._require()
        ffi.lib().risk_basket_set_balance(ptr, self._engine._asset_id(asset), float(amount))

    def add_balance(self, asset: str | int, delta: float) -> None:
        """Adds a signed amount to an asset's balance."""
        ptr = self._require()
        ffi.lib().risk_basket_add_balance(ptr, self._engine._asset_id(asset), float(delta))

    def balance(self, asset: str | int) -> float:
        """An asset's balance (0 when none is held)."""
        ptr = self._require()
        out = ctypes.c_double()
        ffi.lib().risk_basket_balance(ptr, self._engine._asset_id(asset), ctypes.byref(out))
        return out.value

    def evaluate(self) -> BasketSummary:
        """Values the basket: a :class:`BasketSummary`."""
        ptr = self._require()
        s = ffi.RiskBasketSummary.init()
        ffi.lib().risk_basket_evaluate(ptr, ctypes.byref(s))
        return BasketSummary._from_struct(s)

    def __repr__(self) -> str:
        if self.closed:
            return "<Basket closed>"
        held = {sym: self.balance(sym) for sym in self._engine._asset_symbols}
        return "<Basket %s>" % " ".join("%s=%r" % kv for kv in held.items() if kv[1] != 0.0)


# ---------------------------------------------------------------- account


def _free_account(ptr: Any, views: Any) -> None:
    for view in list(views.values()):
        view._invalidate()
    ffi.lib().risk_account_free(ptr)


class Account(_Handle):
    """An account of an engine: ``Account(engine, id, margin_mode='cross', position_mode='one-way')``.

    ``margin_mode`` is ``'cross'`` or ``'isolated'`` (the default for its positions), or
    ``'portfolio'`` (IM and MM from the engine's portfolio-margin model, librisk.portfolio);
    ``position_mode`` is ``'one-way'`` or ``'hedge'``. The account keeps its :class:`Engine`
    object alive. :meth:`close` frees it with its basket and positions (their views become
    invalid).
    """
    __slots__ = ("_ptr", "_finalizer", "_engine", "_views", "_basket", "__weakref__")
    _finalizer: weakref.finalize | None  # None for a borrowed view
    _engine: Engine
    _views: weakref.WeakValueDictionary[Any, Any]
    _basket: Basket | None

    def __init__(self, engine: Engine, account_id: int, margin_mode: str = "cross",
                 position_mode: str = "one-way") -> None:
        L = ffi.lib()
        mm = _lookup(_MARGIN_MODES, margin_mode, "margin_mode")
        pm = _lookup(_POSITION_MODES, position_mode, "position_mode")
        ptr = ffi.AccountP()
        L.risk_account_new(ctypes.byref(ptr), engine._require(), int(account_id), mm, pm)
        self._ptr = ptr
        self._engine = engine
        self._views = weakref.WeakValueDictionary()
        self._basket = None
        self._finalizer = weakref.finalize(self, _free_account, ptr, self._views)
        engine._accounts[int(account_id)] = self

    @classmethod
    def new(cls, engine: Any, account_id: Any, margin_mode: str = "cross", position_mode: str = "one-way") -> Any:
        """Same as ``Account(engine, account_id, margin_mode, position_mode)``."""
        return cls(engine, account_id, margin_mode, position_mode)

    @classmethod
    def _owning(cls, engine: Engine, ptr: Any) -> Account:
        """An object owning an account handle it did not create (one adopted from a restored engine)."""
        self = cls._borrowed(engine, ptr)
        self._finalizer = weakref.finalize(self, _free_account, ptr, self._views)
        engine._accounts[int(ffi.lib().risk_account_id(ptr))] = self
        return self

    @classmethod
    def _borrowed(cls, engine: Engine, ptr: Any) -> Account:
        """A view of an account this object does not own (never freed by it)."""
        self = cls.__new__(cls)
        self._ptr = ptr
        self._engine = engine
        self._views = weakref.WeakValueDictionary()
        self._basket = None
        self._finalizer = None
        return self

    def close(self) -> None:
        """Frees the account, its basket and its positions (idempotent)."""
        if self._ptr:
            if self._basket is not None:
                self._basket._invalidate()
            self._ptr = ffi.AccountP()
            if self._finalizer is not None:
                self._finalizer()
            else:
                for view in list(self._views.values()):
                    view._invalidate()

    @property
    def engine(self) -> Engine:
        """The :class:`Engine` this account belongs to."""
        return self._engine

    def __repr__(self) -> str:
        if self.closed:
            return "<Account closed>"
        s = self.evaluate()
        return "<Account %d %s %s %s positions=%d equity=%r health_factor=%r>" % (
            self.id, self.margin_mode, self.position_mode, s.state, s.n_positions, s.equity, s.health_factor)

    def to_pandas(self) -> Any:
        """The account's position results as a ``pandas.DataFrame``, a row per position."""
        return to_pandas(self.position_results())

    @property
    def id(self) -> int:
        """The external account id."""
        return int(ffi.lib().risk_account_id(self._require()))

    @property
    def margin_mode(self) -> str:
        """'cross' or 'isolated'."""
        return _MARGIN_NAMES[ffi.lib().risk_account_margin_mode(self._require())]

    @property
    def position_mode(self) -> str:
        """'one-way' or 'hedge'."""
        return _POSITION_NAMES[ffi.lib().risk_account_position_mode(self._require())]

    @property
    def basket(self) -> Basket:
        """The account's basket (its cross wallet), valid while the account is open."""
        ptr = self._require()
        if self._basket is None or self._basket.closed:
            self._basket = Basket._view(self, ffi.lib().risk_account_basket(ptr))
        return self._basket

    def set_balance(self, asset: str | int, amount: float) -> None:
        """Shortcut for ``account.basket.set_balance(asset, amount)``."""
        self.basket.set_balance(asset, amount)

    def set_leverage(self, instrument: str | int, leverage: float) -> None:
        """Sets the user leverage for an instrument."""
        ffi.lib().risk_account_set_leverage(self._require(), self._engine._instrument_id(instrument), float(leverage))

    def leverage(self, instrument: str | int) -> float:
        """The user leverage for an instrument (0 when unset)."""
        out = ctypes.c_double()
        ffi.lib().risk_account_leverage(self._require(), self._engine._instrument_id(instrument), ctypes.byref(out))
        return out.value

    def _view(self, pptr: Any) -> Position:
        key = ctypes.addressof(pptr.contents)
        view = self._views.get(key)
        if view is None or view.closed:
            view = Position(self, pptr)
            self._views[key] = view
        return view

    def open_position(self, instrument: str | int, qty: float, entry: float, side: str | None = None,
                      margin_mode: str | None = None, isolated_margin: float = 0.0) -> Position:
        """Opens a position and returns its :class:`Position` view.

        One-way mode: ``side=None`` and a signed ``qty``. Hedge mode: ``side='long'|'short'`` and
        ``qty > 0``. ``margin_mode=None`` uses the account's; isolated positions give
        ``isolated_margin`` in the settle asset.
        """
        ptr = self._require()
        spec = ffi.RiskPositionSpec.init()
        spec.instrument = self._engine._instrument_id(instrument)
        spec.side = ffi.SIDE_BOTH if side is None else _lookup(_SIDES, side, "side")
        spec.margin_mode = ffi.MARGIN_DEFAULT if margin_mode is None else _lookup(_MARGIN_MODES, margin_mode,
                                                                                  "margin_mode")
        spec.qty = float(qty)
        spec.entry = float(entry)
        spec.isolated_margin = float(isolated_margin)
        out = ffi.PositionP()
        ffi.lib().risk_account_open_position(ptr, ctypes.byref(spec), ctypes.byref(out))
        return self._view(out)

    @property
    def positions(self) -> list[Position]:
        """The open positions, in position order, as :class:`Position` views."""
        ptr = self._require()
        L = ffi.lib()
        n = L.risk_account_position_count(ptr)
        result = []
        for i in range(n):
            out = ffi.PositionP()
            L.risk_account_position_at(ptr, i, ctypes.byref(out))
            result.append(self._view(out))
        return result

    def find_position(self, instrument: str, side: str | None = None) -> Position:
        """The position of an instrument (and leg, in hedge mode); NotFoundError when none."""
        ptr = self._require()
        out = ffi.PositionP()
        leg = ffi.SIDE_BOTH if side is None else _lookup(_SIDES, side, "side")
        ffi.lib().risk_account_find_position(ptr, self._engine._instrument_id(instrument), leg, ctypes.byref(out))
        return self._view(out)

    def evaluate(self) -> AccountSummary:
        """The account's health: an :class:`AccountSummary`."""
        ptr = self._require()
        s = ffi.RiskAccountSummary.init()
        L = ffi.lib()
        L.risk_account_evaluate(ptr, ctypes.byref(s))
        return AccountSummary._from_struct(L.risk_account_id(ptr), s)

    def scenario_pnl(self, scenarios: Any, summaries: bool = False, out: Any = None) -> Any:
        """The account's weighted P&L under each scenario (a :class:`librisk.stress.ScenarioSet`, or
        Scenario objects / dicts with ``moves`` {asset: relative move}); with ``summaries`` also the
        AccountSummary after each. Bit for bit what moving the prices gives; the account is
        unchanged. See librisk.stress and docs/stress.md."""
        from . import stress as _stress
        return _stress.scenario_pnl(self, scenarios, summaries, out)

    def portfolio_margin(self, params: Mapping[str, Any] | None = None) -> Any:
        """The account's portfolio margin (a librisk.portfolio.PortfolioMargin: IM, MM, the worst
        scenario and its loss, per risk unit figures) under ``params`` or the engine's model."""
        from . import portfolio as _pm
        return _pm.account_margin(self, params)

    def whatif(self, instrument: str | int, side: str, qty: float, price: float = 0.0,
               leg: str | None = None) -> AccountSummary:
        """The :class:`AccountSummary` after a hypothetical fill (``side`` 'buy'/'sell', ``price`` 0:
        the mark, ``leg`` 'long'/'short' in hedge mode); the account is unchanged. See librisk.whatif."""
        from . import whatif as _whatif
        return _whatif.whatif(self, instrument, side, qty, price, leg)

    def max_order_qty(self, instrument: str, side: str, price: float = 0.0, leg: str | None = None) -> float:
        """The largest whole-lot quantity of an order that keeps ``available >= 0`` (math.inf when unbounded)."""
        from . import whatif as _whatif
        return _whatif.max_order_qty(self, instrument, side, price, leg)

    def orders_summary(self, orders: list[Any]) -> tuple[AccountSummary, list[bool]]:
        """``(AccountSummary, fills)`` with resting ``orders`` under each instrument's worse side filling."""
        from . import whatif as _whatif
        return _whatif.orders_summary(self, orders)

    def spot_liquidation_price(self, asset: str) -> float | None:
        """The price of ``asset`` (symbol or id), in the valuation asset, at which the cross pool
        reaches its MM, the marks of the instruments on the asset moving with it; None when no
        price does (``risk_account_spot_liquidation_price``)."""
        out = ctypes.c_double()
        ffi.lib().risk_account_spot_liquidation_price(self._require(), self._engine._asset_id(asset),
                                                      ctypes.byref(out))
        return _value_or_none(out.value)

    def position_results(self) -> list[PositionResult]:
        """Per-position results with liquidation and bankruptcy prices: a list of PositionResult."""
        ptr = self._require()
        L = ffi.lib()
        n = L.risk_account_position_count(ptr)
        arr = (ffi.RiskPositionResult * max(n, 1))()
        for i in range(len(arr)):
            arr[i].version = ffi.POSITION_RESULT_VERSION
        count = ctypes.c_size_t()
        L.risk_account_position_results(ptr, arr, n, ctypes.byref(count))
        out = []
        for i in range(count.value):
            r = arr[i]
            pos = ffi.PositionP()
            L.risk_account_position_at(ptr, i, ctypes.byref(pos))
            leg = L.risk_position_leg(pos)
            has_lp = bool(r.flags & ffi.RESULT_HAS_LIQUIDATION_PRICE)
            has_bp = bool(r.flags & ffi.RESULT_HAS_BANKRUPTCY_PRICE)
            out.append(PositionResult(
                instrument=r.instrument, symbol=self._engine.instrument_symbol(r.instrument),
                side=_SIDE_NAMES.get(r.side, str(r.side)), leg=_SIDE_NAMES.get(leg, str(leg)),
                margin_mode=_MARGIN_NAMES.get(r.margin_mode, str(r.margin_mode)), flags=r.flags, tier=r.tier,
                qty=r.qty, entry=r.entry, mark=r.mark, notional=r.notional, unrealized_pnl=r.unrealized_pnl,
                initial_margin=r.initial_margin, maintenance_margin=r.maintenance_margin,
                isolated_margin=r.isolated_margin,
                liquidation_price=r.liquidation_price if has_lp else None,
                bankruptcy_price=r.bankruptcy_price if has_bp else None,
                liquidation_price_raw=r.liquidation_price_raw if has_lp else None,
                bankruptcy_price_raw=r.bankruptcy_price_raw if has_bp else None,
                liquidatable=bool(r.flags & ffi.RESULT_LIQUIDATABLE),
                delta=r.delta, gamma=r.gamma, vega=r.vega, theta=r.theta, mark_vol=_value_or_none(r.mark_vol),
                value=r.value, underlying_price=r.underlying_price,
                liquidation_price_below=(r.liquidation_price_below
                                         if r.flags & ffi.RESULT_HAS_LIQUIDATION_BELOW else None),
                liquidation_price_above=(r.liquidation_price_above
                                         if r.flags & ffi.RESULT_HAS_LIQUIDATION_ABOVE else None),
                unsolved=bool(r.flags & ffi.RESULT_UNSOLVED)))
        return out


# ---------------------------------------------------------------- position


class Position:
    """A view of a position owned by its account.

    Invalid (``closed``) once the position is closed (``close()``, or ``adjust()`` to zero) or its
    account is closed; using it then raises NullError.
    """
    __slots__ = ("_ptr", "_account", "__weakref__")

    def __init__(self, account: Account, ptr: Any) -> None:
        self._account = account
        self._ptr = ptr

    def _invalidate(self) -> None:
        self._ptr = ffi.PositionP()

    def _require(self) -> Any:
        if not self._ptr or not self._account._ptr:
            raise errors.make(errors.NullError, "Position is closed")
        return self._ptr

    @property
    def closed(self) -> bool:
        """True once the position (or its account) is closed."""
        return not self._ptr or not self._account._ptr

    @property
    def account(self) -> Account:
        """The owning :class:`Account`."""
        return self._account

    @property
    def instrument(self) -> int:
        """Instrument id."""
        return int(ffi.lib().risk_position_instrument(self._require()))

    @property
    def symbol(self) -> str | None:
        """Instrument symbol (when registered through the Python Engine; None otherwise)."""
        return self._account._engine.instrument_symbol(self.instrument)

    @property
    def side(self) -> str:
        """'long' or 'short' (direction of the quantity)."""
        return _SIDE_NAMES[ffi.lib().risk_position_side(self._require())]

    @property
    def leg(self) -> str:
        """'both' in one-way mode, the hedge leg ('long'/'short') otherwise."""
        return _SIDE_NAMES[ffi.lib().risk_position_leg(self._require())]

    @property
    def qty(self) -> float:
        """Signed quantity in contracts."""
        return ffi.lib().risk_position_qty(self._require())

    @property
    def entry(self) -> float:
        """Average entry price."""
        return ffi.lib().risk_position_entry(self._require())

    @property
    def isolated_margin(self) -> float:
        """Isolated margin in the settle asset (0 under cross)."""
        return ffi.lib().risk_position_isolated_margin(self._require())

    @property
    def margin_mode(self) -> str:
        """'cross' or 'isolated'."""
        return _MARGIN_NAMES[ffi.lib().risk_position_margin_mode(self._require())]

    def adjust(self, qty: float, price: float) -> None:
        """Applies a fill of ``qty`` contracts (buy > 0) at ``price``; reaching zero closes the position."""
        ptr = self._require()
        L = ffi.lib()
        instrument = L.risk_position_instrument(ptr)
        leg = L.risk_position_leg(ptr)
        L.risk_position_adjust(ptr, float(qty), float(price))
        # A fill that brings the position to exactly zero frees the C handle: ask the account
        # whether its (instrument, leg) slot still holds a position.
        out = ffi.PositionP()
        try:
            L.risk_account_find_position(self._account._ptr, instrument, leg, ctypes.byref(out))
        except errors.NotFoundError:
            self._detach()

    def close(self, price: int) -> None:
        """Closes the position at ``price``, realising its PnL; the view becomes invalid."""
        ptr = self._require()
        ffi.lib().risk_position_close(ptr, float(price))
        self._detach()

    def _detach(self) -> None:
        key = ctypes.addressof(self._ptr.contents)
        views = self._account._views
        if views.get(key) is self:
            del views[key]
        self._invalidate()

    def set_isolated_margin(self, margin: float) -> None:
        """Sets the isolated margin, moving the difference from or to the basket."""
        ffi.lib().risk_position_set_isolated_margin(self._require(), float(margin))

    def __repr__(self) -> str:
        if self.closed:
            return "<Position closed>"
        mode = self.margin_mode
        iso = " isolated_margin=%r" % self.isolated_margin if mode == "isolated" else ""
        return "<Position %s %s %s qty=%r entry=%r%s>" % (self.symbol or self.instrument, self.leg, mode, self.qty,
                                                         self.entry, iso)
