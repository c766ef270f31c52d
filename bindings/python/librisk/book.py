# SPDX-License-Identifier: Apache-2.0
"""Book files ("librisk-book/1"): read, check, load into an Engine, evaluate.

A book is JSON describing assets, instruments, prices and accounts (docs/book-format.md). Every
field maps to one API call; this module checks the document's shape (types, required and
unknown fields, finite numbers), performs the calls in order and turns any failure into a
:class:`BookError` naming the field. Risk numbers all come from the C library.
"""

from __future__ import annotations

import json
import math
import re
import sys

from . import errors
from .core import Engine, Account, parse_iso8601_utc, _expiry_seconds
from typing import Any, Callable, Dict, Sequence, TYPE_CHECKING

if TYPE_CHECKING:
    from .core import AccountSummary, PositionResult
    from .errors import DuplicateError, InvalidError, LeverageError, LimitError, StateError, TiersError
    from .grid import Grid

#: A parsed JSON value: an object (a dict remembering its duplicated keys), an array, a string, a
#: number (or a stand-in for a non-finite literal, rejected by the checker), a bool or None.
Json = Any

__all__ = ["BookError", "BOOK_FORMAT", "RESULT_FORMAT", "parse", "read", "Book", "load", "evaluate"]

BOOK_FORMAT = "librisk-book/1"
RESULT_FORMAT = "librisk-result/1"


class BookError(Exception):
    """Bad input: ``path`` names the field (``accounts[0].positions[1].qty``), ``problem`` what is wrong."""

    def __init__(self, path: str, problem: str) -> None:
        self.path = path or "book"
        self.problem = " ".join(str(problem).split())
        super().__init__("%s: %s" % (self.path, self.problem))


# ---------------------------------------------------------------- JSON with field-path diagnostics


class _NonFinite:
    """Stands for a NaN/Infinity literal (or an overflowing number) until the checker names its field."""
    __slots__ = ("text", "problem")

    def __init__(self, text: str, problem: str = "is not a finite number") -> None:
        self.text = text
        self.problem = problem


class _Obj(Dict[str, Any]):
    """A JSON object that remembers its duplicated keys."""
    __slots__ = ("dups",)
    dups: list[str]


def _pairs(pairs: list[tuple[str, Any]]) -> _Obj:
    obj = _Obj()
    obj.dups = []
    for key, value in pairs:
        if key in obj:
            obj.dups.append(key)
        obj[key] = value
    return obj


def _short(text: str) -> str:
    """A number's text for a message: as written when short, else its start and its length."""
    if len(text) <= 40:
        return text
    return "%s... (%d characters)" % (text[:20], len(text))


# More digits than any number the format can hold (ids < 2^64 have 20; doubles stop near 1e308):
# such integers are refused before Python converts them (int() refuses 4300 digits and more,
# float() overflows).
_MAX_INT_DIGITS = 310


def _parse_float(text: str) -> _NonFinite | float:
    value = float(text)
    if not math.isfinite(value):
        return _NonFinite(_short(text))
    return value


def _parse_int(text: str) -> _NonFinite | int:
    out_of_range = "is out of range (more than a double holds)"
    if len(text.lstrip("-")) > _MAX_INT_DIGITS:
        return _NonFinite(_short(text), out_of_range)
    value = int(text)
    try:
        float(value)
    except OverflowError:
        return _NonFinite(_short(text), out_of_range)
    return value


def parse(text: str) -> Json:
    """Parses book text into plain JSON values (raises BookError on malformed JSON)."""
    try:
        return json.loads(text, object_pairs_hook=_pairs, parse_constant=_NonFinite,
                          parse_float=_parse_float, parse_int=_parse_int)
    except json.JSONDecodeError as exc:
        raise BookError("book", "malformed JSON: %s (line %d, column %d)" % (exc.msg, exc.lineno, exc.colno)) from None
    except RecursionError:
        raise BookError("book", "malformed JSON: nested too deeply") from None
    except (ValueError, OverflowError) as exc:  # a number Python will not convert
        raise BookError("book", "malformed JSON: %s" % exc) from None


def read_bytes(path: str) -> bytes:
    """The bytes of a file, or of standard input when ``path`` is ``-`` (BookError when unreadable)."""
    try:
        if path == "-":
            return sys.stdin.buffer.read()
        with open(path, "rb") as f:
            return f.read()
    except OSError as exc:
        raise BookError("book", "cannot read %s: %s" % (path, exc.strerror or exc)) from None


def read(path: str, raw: bytes | None = None) -> Json:
    """Reads and parses a book file, ``-`` for standard input (BookError when unreadable or
    malformed); ``raw``: its bytes when already read."""
    if raw is None:
        raw = read_bytes(path)
    try:
        text = raw.decode("utf-8-sig")
    except UnicodeDecodeError as exc:
        raise BookError("book", "not UTF-8 text (byte %d)" % exc.start) from None
    return parse(text)


_IDENT = re.compile(r"^[A-Za-z0-9_\-]+$")


def _key(path: str, key: str) -> str:
    if _IDENT.match(key):
        return "%s.%s" % (path, key) if path else key
    return "%s[%s]" % (path, json.dumps(key))


def _kind(value: Any) -> str:
    if isinstance(value, _NonFinite):
        return value.text
    if value is None:
        return "null"
    if isinstance(value, bool):
        return "a boolean"
    if isinstance(value, (int, float)):
        return "a number"
    if isinstance(value, str):
        return "a string"
    if isinstance(value, list):
        return "an array"
    return "an object"


def _fmt(x: float) -> str:
    """A number as the book would write it: 0.001, 5, 1e-08."""
    if isinstance(x, float) and x.is_integer() and abs(x) < 1e16:
        return str(int(x))
    return repr(x)


class _Checker:
    """Type checks with field paths."""

    @staticmethod
    def obj(value: Json, path: str, required: tuple[str, ...] = (), optional: tuple[str, ...] = ()) -> Json:
        if not isinstance(value, dict):
            raise BookError(path, "expected an object, got %s" % _kind(value))
        dups = getattr(value, "dups", None)
        if dups:
            raise BookError(_key(path, dups[0]), "duplicate key")
        allowed = set(required) | set(optional)
        for k in value:
            if k not in allowed:
                raise BookError(_key(path, k), "unknown field")
        for k in required:
            if k not in value:
                raise BookError(_key(path, k), "missing (required)")
        return value

    @staticmethod
    def mapping(value: Json, path: str) -> Json:
        if not isinstance(value, dict):
            raise BookError(path, "expected an object, got %s" % _kind(value))
        dups = getattr(value, "dups", None)
        if dups:
            raise BookError(_key(path, dups[0]), "duplicate key")
        return value

    @staticmethod
    def array(value: Json, path: str, nonempty: bool = False) -> list[Any]:
        if not isinstance(value, list):
            raise BookError(path, "expected an array, got %s" % _kind(value))
        if nonempty and not value:
            raise BookError(path, "must not be empty")
        return value

    @staticmethod
    def number(value: Json, path: str) -> float:
        if isinstance(value, _NonFinite):
            raise BookError(path, "%s %s" % (value.text, value.problem))
        if isinstance(value, bool) or not isinstance(value, (int, float)):
            raise BookError(path, "expected a number, got %s" % _kind(value))
        try:
            f = float(value)
        except OverflowError:
            f = math.inf
        if not math.isfinite(f):
            raise BookError(path, "%s is not a finite number" % _short(str(value)))
        return f

    @classmethod
    def positive(cls, value: Json, path: str) -> float:
        f = cls.number(value, path)
        if not f > 0:
            raise BookError(path, "must be > 0 (got %s)" % _fmt(f))
        return f

    @staticmethod
    def integer(value: Json, path: str, lo: int, hi: int) -> int:
        if isinstance(value, _NonFinite):
            raise BookError(path, "%s %s" % (value.text, value.problem))
        if isinstance(value, bool) or not isinstance(value, int):
            raise BookError(path, "expected an integer, got %s" % (_kind(value) if not isinstance(value, float)
                                                                   else "%s" % _fmt(value)))
        if not lo <= value <= hi:
            raise BookError(path, "must be between %d and %d (got %s)" % (lo, hi, _short(str(value))))
        return value

    @staticmethod
    def string(value: Json, path: str) -> str:
        if not isinstance(value, str):
            raise BookError(path, "expected a string, got %s" % _kind(value))
        if not value:
            raise BookError(path, "must not be empty")
        _check_text(value, path)
        return value

    @staticmethod
    def in_range(value: float, path: str, lo: float, hi: float, what: str) -> float:
        """A number already checked finite, within [lo, hi] (what: the bound's reason)."""
        if not lo <= value <= hi:
            raise BookError(path, "%s is out of range: %s" % (_fmt(value), what))
        return value

    @staticmethod
    def boolean(value: Json, path: str) -> bool:
        if not isinstance(value, bool):
            raise BookError(path, "expected true or false, got %s" % _kind(value))
        return value

    @classmethod
    def choice(cls, value: Json, path: str, options: Sequence[str]) -> str:
        cls.string(value, path)
        if value not in options:
            raise BookError(path, "must be %s (got %s)" % (" or ".join(json.dumps(o) for o in options),
                                                             json.dumps(value)))
        return value


def _check_text(value: str, path: str) -> None:
    """Strings reach C as UTF-8, NUL-terminated: no NUL (it would cut them short) and no lone
    surrogate (JSON's "\ud800" escape, which has no UTF-8 form)."""
    if "\x00" in value:
        raise BookError(path, "contains a NUL character (\\u0000) at index %d" % value.index("\x00"))
    try:
        value.encode("utf-8")
    except UnicodeEncodeError as exc:
        raise BookError(path, "not valid Unicode: a lone surrogate (\\u%04x) at index %d"
                        % (ord(value[exc.start]), exc.start)) from None


def _check_key(key: str, path: str) -> str:
    """An object key that names an asset or instrument (balances, leverage, insurance_fund)."""
    try:
        _check_text(key, path)
    except BookError as exc:
        raise BookError(exc.path, exc.problem.replace("contains", "the key contains")
                        .replace("not valid", "the key is not valid")) from None
    return key


_C = _Checker

# Ranges the reader checks before any C call (docs/book-format.md, section 1): prices and sizes,
# amounts within 2^53 quanta of their asset, positions within 2^53 lots. The library has its
# own, at least as wide; these keep every number of an evaluation finite.
PRICE_MIN, PRICE_MAX = 1e-12, 1e12
SIZE_MIN, SIZE_MAX = 1e-12, 1e12
QUANTA_MAX = 2.0 ** 53
_PRICE_RANGE = "prices lie in [1e-12, 1e12]"
_SIZE_RANGE = "sizes lie in [1e-12, 1e12]"


def _amount_max(decimals: int) -> float:
    """The largest |amount| of an asset with these decimals: 2^53 quanta of 10^-min(decimals, 8)."""
    return QUANTA_MAX / 10.0 ** min(decimals, 8)


def _check_amount(value: float, path: str, symbol: str, decimals: int) -> float:
    top = _amount_max(decimals)
    if abs(value) > top:
        raise BookError(path, "%s is out of range: amounts of %s lie within +-%s (2^53 quanta)"
                        % (_fmt(value), symbol, _fmt(top)))
    return value

_ASSET_FIELDS = ("symbol", "price", "decimals", "weight_init", "weight_maint", "liab_weight_init",
                 "liab_weight_maint", "value_tiers", "vol", "rate_model", "rate_pool", "size_scaling")
# An asset's "size_scaling" (docs/book-format.md 3.3): Engine.set_asset_size_scaling keywords.
_SIZE_SCALING_FIELDS = ("imf", "deposit_scale_start", "borrow_scale_start", "venue_deposits", "venue_borrows")
_INSTRUMENT_FIELDS = ("symbol", "kind", "expiry", "underlying", "settle", "inverse", "contract_size",
                      "lot_size", "tick_size", "mark", "margin", "vol_scaling", "liquidation", "fees",
                      "max_notional", "size_premium", "strike", "option_type", "mark_vol", "carry_rate",
                      "underlying_tick", "settlement_price", "funding", "upnl_weight")
# Fields only an option takes (docs/book-format.md, 4.3).
_OPTION_FIELDS = ("strike", "option_type", "mark_vol", "carry_rate", "underlying_tick", "settlement_price")
# An instrument's "fees" (docs/book-format.md, 4.2): book key -> Engine.set_instrument_fees keyword.
_FEES_FIELDS = {"maker": "maker_fee", "taker": "taker_fee", "liquidation_price_with_fee": "liquidation_price_with_fee"}
# An asset's "vol" and an instrument's "vol_scaling" (docs/book-format.md, 3.1 and 4.1).
_VOL_FIELDS = ("annual", "lambda", "periods_per_year", "seed", "stressed", "floor", "buffer_release")
_SCALING_FIELDS = ("mode", "reference", "min_factor", "max_factor", "z", "horizon_days", "days_per_year",
                   "buffer", "stress_weight", "vol_floor", "max_daily_change")
# Book key -> the risk_margin_scaling field (and Engine.set_instrument_scaling keyword) it fills.
_SCALING_C_NAMES = {k: ("reference_vol_annual" if k == "reference" else k) for k in _SCALING_FIELDS}
# The "liquidation" object, engine-wide and per instrument (docs/book-format.md, section 6).
_LIQUIDATION_FIELDS = ("exit_target", "buffer", "fee", "insurance_fee", "price_model", "penalty", "close_factor",
                       "full_close_health", "bonus", "protocol_share", "min_notional", "deficit",
                       "backstop_account")
_ACCOUNT_FIELDS = ("id", "margin_mode", "position_mode", "balances", "leverage", "positions")
_POSITION_FIELDS = ("instrument", "qty", "entry", "side", "margin_mode", "isolated_margin")


# ---------------------------------------------------------------- shape check


def _check_asset(a: Json, p: str) -> dict[str, Any]:
    _C.obj(a, p, required=("symbol", "price"), optional=_ASSET_FIELDS)
    out: dict[str, Any] = {"symbol": _C.string(a["symbol"], p + ".symbol"),
           "price": _C.in_range(_C.positive(a["price"], p + ".price"), p + ".price", PRICE_MIN, PRICE_MAX,
                                _PRICE_RANGE),
           "decimals": _C.integer(a.get("decimals", 8), p + ".decimals", 0, 18)}
    for w in ("weight_init", "weight_maint", "liab_weight_init", "liab_weight_maint"):
        out[w] = _C.number(a.get(w, 1), "%s.%s" % (p, w))
    tiers = []
    if "value_tiers" in a:
        tp = p + ".value_tiers"
        items = _C.array(a["value_tiers"], tp)
        for j, t in enumerate(items):
            q = "%s[%d]" % (tp, j)
            _C.obj(t, q, required=("up_to", "ratio"))
            up = t["up_to"]
            if up is None:
                if j != len(items) - 1:
                    raise BookError(q + ".up_to", "null (unbounded) is allowed only on the last tier")
                up = math.inf
            else:
                up = _C.number(up, q + ".up_to")
            tiers.append((up, _C.number(t["ratio"], q + ".ratio")))
    out["value_tiers"] = tiers
    out["vol"] = _check_vol(a["vol"], p + ".vol") if "vol" in a else None
    out["rate_model"] = _check_rate_model(a["rate_model"], p + ".rate_model") if "rate_model" in a else None
    if "rate_pool" in a and out["rate_model"] is None:
        raise BookError(p + ".rate_pool", "needs a rate_model")
    out["rate_pool"] = _check_rate_pool(a["rate_pool"], p + ".rate_pool") if "rate_pool" in a else None
    out["size_scaling"] = None
    if "size_scaling" in a:
        sp = p + ".size_scaling"
        _C.obj(a["size_scaling"], sp, optional=_SIZE_SCALING_FIELDS)
        out["size_scaling"] = {k: _C.number(v, "%s.%s" % (sp, k)) for k, v in a["size_scaling"].items()}
    return out


def _check_rate_model(v: Json, p: str) -> dict[str, Any]:
    """An asset's "rate_model" (docs/book-format.md 3.2): kind, accrual, risk_rate_model fields."""
    from . import rates
    _C.obj(v, p, required=("kind",), optional=("kind", "accrual") + rates.MODEL_FIELDS)
    out: dict[str, Any] = {"kind": _C.choice(v["kind"], p + ".kind", [k for k in rates.KINDS if k != "none"]),
           "accrual": _C.choice(v.get("accrual", "default"), p + ".accrual", list(rates.ACCRUALS))}
    out.update({k: _C.number(v[k], "%s.%s" % (p, k)) for k in rates.MODEL_FIELDS if k in v})
    return out


def _check_rate_pool(v: Json, p: str) -> dict[str, float]:
    from . import rates
    _C.obj(v, p, optional=rates.POOL_FIELDS)
    out: dict[str, Any] = {k: _C.number(v[k], "%s.%s" % (p, k)) for k in rates.POOL_FIELDS if k in v and k != "updated_unix_s"}
    if "updated_unix_s" in v:
        out["updated_unix_s"] = _C.integer(v["updated_unix_s"], p + ".updated_unix_s", -2**62, 2**62)
    return out


def _check_vol(v: Json, p: str) -> dict[str, float]:
    _C.obj(v, p, optional=_VOL_FIELDS)
    return {k: _C.number(v[k], "%s.%s" % (p, k)) for k in _VOL_FIELDS if k in v}


def _check_scaling(v: Json, p: str) -> dict[str, Any]:
    _C.obj(v, p, optional=_SCALING_FIELDS)
    out: dict[str, Any] = {"mode": _C.choice(v.get("mode", "tiers"), p + ".mode", ("tiers", "var")),
           "vol_floor": _C.boolean(v.get("vol_floor", False), p + ".vol_floor")}
    for k in _SCALING_FIELDS:
        if k in v and k not in out:
            out[k] = _C.number(v[k], "%s.%s" % (p, k))
    return out


def _check_liquidation(v: Json, p: str, engine: bool = True) -> dict[str, Any]:
    # deficit handling and the backstop concern the whole account: the engine's policy only
    _C.obj(v, p, optional=_LIQUIDATION_FIELDS if engine else _LIQUIDATION_FIELDS[:-2])
    out: dict[str, Any] = {}
    for k in _LIQUIDATION_FIELDS:
        if k not in v:
            continue
        q = "%s.%s" % (p, k)
        if k == "exit_target":
            out[k] = _C.choice(v[k], q, ("buffer", "initial"))
        elif k == "price_model":
            out[k] = _C.choice(v[k], q, ("mark", "penalty"))
        elif k == "deficit":
            out[k] = _C.choice(v[k], q, ("report", "socialize"))
        elif k == "backstop_account":
            out[k] = None if v[k] is None else _C.integer(v[k], q, 0, 2 ** 64 - 1)
        else:
            out[k] = _C.number(v[k], q)
    return out


def _size(value: float, path: str) -> float:
    return _C.in_range(_C.positive(value, path), path, SIZE_MIN, SIZE_MAX, _SIZE_RANGE)


def _check_option(ins: Json, p: str) -> dict[str, Any]:
    """An option instrument (docs/book-format.md, 4.3): no margin schedule (standard option
    margin), a strike, a type, an expiry, a mark or a mark_vol, an optional settlement price."""
    _C.obj(ins, p, required=("symbol", "underlying", "settle", "kind", "expiry", "strike", "option_type"),
           optional=_INSTRUMENT_FIELDS)
    for k in ("margin", "vol_scaling", "max_notional"):
        if k in ins:
            raise BookError("%s.%s" % (p, k), "an option has no %s (standard option margin)" % k)
    for k in ("funding", "upnl_weight"):
        if k in ins:
            raise BookError("%s.%s" % (p, k), "an option has no %s (perpetuals and futures only)" % k)
    if ("mark" in ins) == ("mark_vol" in ins):
        raise BookError(p + ".mark", "an option gives either mark (a premium) or mark_vol, not both or neither")
    out: dict[str, Any] = {"symbol": _C.string(ins["symbol"], p + ".symbol"), "kind": "option",
           "underlying": _C.string(ins["underlying"], p + ".underlying"),
           "settle": _C.string(ins["settle"], p + ".settle"),
           "inverse": _C.boolean(ins.get("inverse", False), p + ".inverse"),
           "contract_size": _size(ins.get("contract_size", 1), p + ".contract_size"),
           "lot_size": _size(ins.get("lot_size", 1), p + ".lot_size"),
           "tick_size": _size(ins.get("tick_size", 1), p + ".tick_size"),
           "mark": None, "mark_vol": None, "tiers": None, "mm_price": "mark", "max_notional": None,
           "strike": _C.in_range(_C.positive(ins["strike"], p + ".strike"), p + ".strike", PRICE_MIN, PRICE_MAX,
                                 _PRICE_RANGE),
           "option_type": _C.choice(ins["option_type"], p + ".option_type", ("call", "put")),
           "carry_rate": _C.in_range(_C.number(ins.get("carry_rate", 0), p + ".carry_rate"), p + ".carry_rate",
                                     -1.0, 1.0, "[-1, 1]"),
           "underlying_tick": _size(ins.get("underlying_tick", 0.01), p + ".underlying_tick"),
           "settlement_price": None, "vol_scaling": None, "liquidation": None, "fees": {}}
    if "mark" in ins:
        out["mark"] = _C.in_range(_C.positive(ins["mark"], p + ".mark"), p + ".mark", PRICE_MIN, PRICE_MAX,
                                  _PRICE_RANGE)
    else:
        out["mark_vol"] = _C.in_range(_C.positive(ins["mark_vol"], p + ".mark_vol"), p + ".mark_vol", 0.0, 10.0,
                                      "(0, 10]")
    if ins.get("settlement_price") is not None:
        out["settlement_price"] = _C.in_range(_C.positive(ins["settlement_price"], p + ".settlement_price"),
                                              p + ".settlement_price", PRICE_MIN, PRICE_MAX, _PRICE_RANGE)
    text = _C.string(ins["expiry"], p + ".expiry")
    try:
        out["expiry"] = parse_iso8601_utc(text)
    except errors.RiskError as exc:
        raise BookError(p + ".expiry", exc.message) from None
    if "liquidation" in ins:
        out["liquidation"] = _check_liquidation(ins["liquidation"], p + ".liquidation", engine=False)
    if "fees" in ins:
        fp = p + ".fees"
        f = _C.obj(ins["fees"], fp, optional=tuple(_FEES_FIELDS))
        for k, kw in _FEES_FIELDS.items():
            if k in f:
                q = "%s.%s" % (fp, k)
                out["fees"][kw] = _C.boolean(f[k], q) if k == "liquidation_price_with_fee" else _C.number(f[k], q)
    return out


def _check_instrument(ins: Json, p: str) -> dict[str, Any]:
    if isinstance(ins, dict) and ins.get("kind") == "option":
        return _check_option(ins, p)
    _C.obj(ins, p, required=("symbol", "underlying", "settle", "mark", "margin"), optional=_INSTRUMENT_FIELDS)
    for k in _OPTION_FIELDS:
        if k in ins:
            raise BookError("%s.%s" % (p, k), "only an option has a %s" % k)
    kind = _C.choice(ins.get("kind", "perpetual"), p + ".kind", ("perpetual", "future", "option"))
    out: dict[str, Any] = {"symbol": _C.string(ins["symbol"], p + ".symbol"), "kind": kind,
           "underlying": _C.string(ins["underlying"], p + ".underlying"),
           "settle": _C.string(ins["settle"], p + ".settle"),
           "inverse": _C.boolean(ins.get("inverse", False), p + ".inverse"),
           "contract_size": _size(ins.get("contract_size", 1), p + ".contract_size"),
           "lot_size": _size(ins.get("lot_size", 1), p + ".lot_size"),
           "tick_size": _size(ins.get("tick_size", 1), p + ".tick_size"),
           "mark": _C.in_range(_C.positive(ins["mark"], p + ".mark"), p + ".mark", PRICE_MIN, PRICE_MAX,
                               _PRICE_RANGE),
           "expiry": None}
    if kind == "future":
        if "expiry" not in ins:
            raise BookError(p + ".expiry", "missing (required for a future)")
        text = _C.string(ins["expiry"], p + ".expiry")
        try:
            out["expiry"] = parse_iso8601_utc(text)
        except errors.RiskError as exc:
            raise BookError(p + ".expiry", exc.message) from None
    elif "expiry" in ins:
        raise BookError(p + ".expiry", "only a future has an expiry")
    mp = p + ".margin"
    m = _C.obj(ins["margin"], mp, required=("tiers",), optional=("tiers", "mm_price", "bounded"))
    out["mm_price"] = _C.choice(m.get("mm_price", "mark"), mp + ".mm_price", ("mark", "entry"))
    tp = mp + ".tiers"
    items = _C.array(m["tiers"], tp, nonempty=True)
    tiers = []
    for j, t in enumerate(items):
        q = "%s[%d]" % (tp, j)
        _C.obj(t, q, required=("notional_cap", "mmr", "max_leverage"), optional=("cum",))
        cap = t["notional_cap"]
        if cap is None:
            if j != len(items) - 1:
                raise BookError(q + ".notional_cap", "null (unbounded) is allowed only on the last tier")
            cap = math.inf
        else:
            cap = _C.number(cap, q + ".notional_cap")
        tier = {"notional_cap": cap, "mmr": _C.number(t["mmr"], q + ".mmr"),
                "max_leverage": _C.number(t["max_leverage"], q + ".max_leverage")}
        if "cum" in t:
            tier["cum"] = _C.number(t["cum"], q + ".cum")
        tiers.append(tier)
    out["tiers"] = tiers
    out["max_notional"] = None
    if "max_notional" in ins and ins["max_notional"] is not None:
        out["max_notional"] = _C.positive(ins["max_notional"], p + ".max_notional")
    if _C.boolean(m.get("bounded", False), mp + ".bounded"):
        if "max_notional" in ins:
            raise BookError(mp + ".bounded", "give either margin.bounded or max_notional, not both")
        if math.isinf(tiers[-1]["notional_cap"]):
            raise BookError("%s[%d].notional_cap" % (tp, len(tiers) - 1), "a bounded schedule needs the last cap")
        out["max_notional"] = tiers[-1]["notional_cap"]
    out["size_premium"] = None
    if "size_premium" in ins:
        sp = p + ".size_premium"
        _C.obj(ins["size_premium"], sp, required=("imf",), optional=("imf", "base_share"))
        out["size_premium"] = {k: _C.number(v, "%s.%s" % (sp, k)) for k, v in ins["size_premium"].items()}
    out["funding"] = []
    if "funding" in ins:  # cumulative funding accrued after the positions open (docs/rates.md 8.2)
        fp = p + ".funding"
        for j, f in enumerate(_C.array(ins["funding"], fp)):
            q = "%s[%d]" % (fp, j)
            _C.obj(f, q, required=("rate",), optional=("rate", "rate_short", "price", "time"))
            item = {"rate": _C.number(f["rate"], q + ".rate"), "price": _C.number(f.get("price", 0), q + ".price"),
                    "time_unix_s": _C.integer(f.get("time", 0), q + ".time", 0, 2 ** 62)}
            item["rate_short"] = _C.number(f["rate_short"], q + ".rate_short") if "rate_short" in f else item["rate"]
            out["funding"].append(item)
    out["upnl_weight"] = None
    if "upnl_weight" in ins:  # Drift's unrealised-PnL weights (docs/rates.md 8.3)
        up = p + ".upnl_weight"
        w = _C.obj(ins["upnl_weight"], up, optional=("init", "maint", "imf"))
        out["upnl_weight"] = {"weight_init": _C.number(w.get("init", 1), up + ".init"),
                              "weight_maint": _C.number(w.get("maint", 1), up + ".maint"),
                              "imf": _C.number(w.get("imf", 0), up + ".imf")}
    out["fees"] = {}
    if "fees" in ins:
        fp = p + ".fees"
        f = _C.obj(ins["fees"], fp, optional=tuple(_FEES_FIELDS))
        for k, kw in _FEES_FIELDS.items():
            if k in f:
                q = "%s.%s" % (fp, k)
                out["fees"][kw] = _C.boolean(f[k], q) if k == "liquidation_price_with_fee" else _C.number(f[k], q)
    out["vol_scaling"] = _check_scaling(ins["vol_scaling"], p + ".vol_scaling") if "vol_scaling" in ins else None
    out["liquidation"] = (_check_liquidation(ins["liquidation"], p + ".liquidation", engine=False)
                          if "liquidation" in ins else None)
    return out


def _check_account(acc: Json, p: str) -> dict[str, Any]:
    _C.obj(acc, p, required=("id",), optional=_ACCOUNT_FIELDS)
    out: dict[str, Any] = {"id": _C.integer(acc["id"], p + ".id", 0, 2 ** 64 - 1),
           "margin_mode": _C.choice(acc.get("margin_mode", "cross"), p + ".margin_mode",
                                    ("cross", "isolated", "portfolio")),
           "position_mode": _C.choice(acc.get("position_mode", "one-way"), p + ".position_mode",
                                      ("one-way", "hedge"))}
    bp = p + ".balances"
    balances = _C.mapping(acc.get("balances", {}), bp)
    out["balances"] = [(_check_key(sym, _key(bp, sym)), _C.number(v, _key(bp, sym))) for sym, v in balances.items()]
    lp = p + ".leverage"
    lev = _C.mapping(acc.get("leverage", {}), lp)
    out["leverage"] = [(_check_key(sym, _key(lp, sym)), _C.number(v, _key(lp, sym))) for sym, v in lev.items()]
    positions = []
    pp = p + ".positions"
    hedge = out["position_mode"] == "hedge"
    for j, pos in enumerate(_C.array(acc.get("positions", []), pp)):
        q = "%s[%d]" % (pp, j)
        _C.obj(pos, q, required=("instrument", "qty", "entry"), optional=_POSITION_FIELDS)
        item: dict[str, Any] = {"instrument": _C.string(pos["instrument"], q + ".instrument"),
                "qty": _C.number(pos["qty"], q + ".qty"),
                "entry": _C.in_range(_C.positive(pos["entry"], q + ".entry"), q + ".entry", PRICE_MIN, PRICE_MAX,
                                     _PRICE_RANGE),
                "side": None, "margin_mode": None, "isolated_margin": 0.0}
        if item["qty"] == 0:
            raise BookError(q + ".qty", "must not be 0")
        if hedge:
            if "side" not in pos:
                raise BookError(q + ".side", "missing (required in hedge mode: \"long\" or \"short\")")
            item["side"] = _C.choice(pos["side"], q + ".side", ("long", "short"))
        elif "side" in pos:
            raise BookError(q + ".side", "only hedge-mode legs have a side (one-way: signed qty)")
        mode = out["margin_mode"]
        if "margin_mode" in pos:
            item["margin_mode"] = mode = _C.choice(pos["margin_mode"], q + ".margin_mode", ("cross", "isolated"))
        if mode == "isolated":
            if "isolated_margin" not in pos:
                raise BookError(q + ".isolated_margin", "missing (required for an isolated position)")
            item["isolated_margin"] = _C.number(pos["isolated_margin"], q + ".isolated_margin")
            if item["isolated_margin"] < 0:
                raise BookError(q + ".isolated_margin", "must be >= 0 (got %s)" % _fmt(item["isolated_margin"]))
        elif "isolated_margin" in pos:
            raise BookError(q + ".isolated_margin", "only an isolated position has an isolated margin")
        positions.append(item)
    out["positions"] = positions
    return out


# The "portfolio_margin" block (docs/book-format.md, docs/portfolio-margin.md): the engine's model.
_PM_CHOICES = {"model": ("risk_matrix", "okx", "span"), "vol_mode": ("relative", "absolute")}
_PM_BOOLS = ("vol_same", "extended_vol_up")


def _check_portfolio_margin(block: Json, p: str) -> dict[str, Any]:
    from . import portfolio as _pm
    _C.obj(block, p, optional=_pm.FIELDS)
    out: dict[str, Any] = {}
    for key, value in block.items():
        q = p + "." + key
        if key in _PM_CHOICES:
            out[key] = _C.choice(value, q, _PM_CHOICES[key])
        elif key in _PM_BOOLS:
            out[key] = _C.boolean(value, q)
        elif key == "price_steps":
            out[key] = _C.integer(value, q, 1, 64)
        elif key == "extended_moves":
            moves = _C.array(value, q)
            if len(moves) > 16:
                raise BookError(q, "at most 16 moves (got %d)" % len(moves))
            out[key] = [_C.number(m, "%s[%d]" % (q, k)) for k, m in enumerate(moves)]
        else:
            out[key] = _C.number(value, q)
    return out


def _load_portfolio_margin(eng: Engine, spec: dict[str, Any]) -> None:
    """The "portfolio_margin" block: risk_engine_set_portfolio_margin."""
    if spec.get("portfolio_margin") is None:
        return
    from . import portfolio as _pm
    try:
        _pm.set_params(eng, spec["portfolio_margin"])
    except errors.RiskError as exc:
        raise BookError(_field_in_message(exc.message, "portfolio_margin", _pm.FIELDS, "portfolio_margin"),
                        _problem(exc)) from None


def check(doc: Json) -> dict[str, Any]:
    """Checks a parsed book's shape; returns a normalised dict (BookError on bad input)."""
    root = _C.obj(doc, "", required=("format", "assets"),
                  optional=("format", "valuation_asset", "margin_call_health", "assets", "instruments", "accounts",
                            "liquidation", "insurance_fund", "time", "portfolio_margin"))
    fmt = root["format"]
    if fmt != BOOK_FORMAT:
        raise BookError("format", "must be %s (got %s)" % (json.dumps(BOOK_FORMAT), json.dumps(fmt)
                                                          if not isinstance(fmt, _NonFinite) else fmt.text))
    book: dict[str, Any] = {"valuation_asset": None, "margin_call_health": None, "time": None}
    if "time" in root:
        try:
            book["time"] = parse_iso8601_utc(_C.string(root["time"], "time"))
        except errors.RiskError as exc:
            raise BookError("time", exc.message) from None
    if "valuation_asset" in root:
        book["valuation_asset"] = _C.string(root["valuation_asset"], "valuation_asset")
    if "margin_call_health" in root:
        book["margin_call_health"] = _C.number(root["margin_call_health"], "margin_call_health")
    book["assets"] = [_check_asset(a, "assets[%d]" % i)
                      for i, a in enumerate(_C.array(root["assets"], "assets", nonempty=True))]
    book["instruments"] = [_check_instrument(x, "instruments[%d]" % i)
                           for i, x in enumerate(_C.array(root.get("instruments", []), "instruments"))]
    book["accounts"] = [_check_account(x, "accounts[%d]" % i)
                        for i, x in enumerate(_C.array(root.get("accounts", []), "accounts"))]
    book["liquidation"] = _check_liquidation(root["liquidation"], "liquidation") if "liquidation" in root else None
    book["portfolio_margin"] = (_check_portfolio_margin(root["portfolio_margin"], "portfolio_margin")
                                if "portfolio_margin" in root else None)
    funds = _C.mapping(root.get("insurance_fund", {}), "insurance_fund")
    book["insurance_fund"] = [(_check_key(sym, _key("insurance_fund", sym)), _C.number(v, _key("insurance_fund", sym)))
                              for sym, v in funds.items()]
    _check_ranges(book)
    return book


def _check_ranges(book: dict[str, Any]) -> None:
    """Amounts within 2^53 quanta of their asset and positions within 2^53 lots (unknown
    symbols are left for the loader to name)."""
    decimals = {a["symbol"]: a["decimals"] for a in book["assets"]}
    instruments = {ins["symbol"]: ins for ins in book["instruments"]}
    for i, acc in enumerate(book["accounts"]):
        p = "accounts[%d]" % i
        for sym, amount in acc["balances"]:
            if sym in decimals:
                _check_amount(amount, _key(p + ".balances", sym), sym, decimals[sym])
        for j, pos in enumerate(acc["positions"]):
            ins = instruments.get(pos["instrument"])
            if ins is None:
                continue
            q = "%s.positions[%d]" % (p, j)
            if abs(pos["qty"]) / ins["lot_size"] > QUANTA_MAX:
                raise BookError(q + ".qty", "%s is out of range: a position holds at most 2^53 lots (lot %s)"
                                % (_fmt(pos["qty"]), _fmt(ins["lot_size"])))
            if pos["isolated_margin"] and ins["settle"] in decimals:
                _check_amount(pos["isolated_margin"], q + ".isolated_margin", ins["settle"], decimals[ins["settle"]])
    for sym, amount in book["insurance_fund"]:
        if sym in decimals:
            _check_amount(amount, _key("insurance_fund", sym), sym, decimals[sym])


# ---------------------------------------------------------------- loading into an engine


def _field_in_message(msg: str, path: str, candidates: tuple[str, ...], default: str) -> str:
    """The one candidate field the C message names, else ``default``."""
    low = (msg or "").lower()
    named = [name for name in candidates
             if re.search(r"(?<![a-z_])%s(?![a-z_])" % re.escape(name), low)]
    if len(named) != 1:
        return default  # none, or a rule relating several fields: name the object
    return "%s.%s" % (path, named[0])


def _problem(exc: Any) -> str:
    msg = exc.message or exc.name
    return msg


class Book:
    """A book loaded into a fresh :class:`Engine`: ``engine``, ``accounts`` (book order),
    ``asset_ids`` and ``instrument_ids`` by symbol."""

    def __init__(self, engine: Engine, accounts: Sequence[Account], spec: dict[str, Any]) -> None:
        self.engine = engine
        self.accounts = accounts
        self.spec = spec

    def close(self) -> None:
        """Frees the accounts and the engine."""
        for acc in self.accounts:
            acc.close()
        self.engine.close()

    def __enter__(self) -> Book:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()


def load(doc: Json, engine: Engine | None = None) -> Book:
    """Checks a parsed book and loads it into an engine; returns a :class:`Book`.

    Raises BookError naming the field for any bad input, including failures of the C calls.
    """
    spec = check(doc)
    eng = engine or Engine()
    accounts: list[Account] = []
    try:
        _load_into(eng, spec, accounts)
    except BaseException:
        for acc in accounts:
            acc.close()
        if engine is None:
            eng.close()
        raise
    return Book(eng, accounts, spec)


def _load_into(eng: Engine, spec: dict[str, Any], accounts: list[Any]) -> None:
    if spec["margin_call_health"] is not None:
        try:
            eng.set_margin_call_health(spec["margin_call_health"])
        except errors.RiskError as exc:
            raise BookError("margin_call_health", _problem(exc)) from None

    asset_ids = {}
    for i, a in enumerate(spec["assets"]):
        p = "assets[%d]" % i
        try:
            asset_ids[a["symbol"]] = eng.add_asset(a["symbol"], a["price"], a["decimals"], a["weight_init"],
                                                   a["weight_maint"], a["liab_weight_init"], a["liab_weight_maint"],
                                                   a["value_tiers"] or None)
        except errors.DuplicateError as exc:
            raise BookError(p + ".symbol", "duplicate symbol %s (%s)" % (json.dumps(a["symbol"]), _problem(exc))) \
                from None
        except errors.TiersError as exc:
            raise BookError(p + ".value_tiers", _problem(exc)) from None
        except errors.RiskError as exc:
            raise BookError(_field_in_message(exc.message, p, _ASSET_FIELDS, p), _problem(exc)) from None
        if a["vol"] is not None:
            _load_vol(eng, asset_ids[a["symbol"]], a["vol"], p + ".vol")
        if a.get("rate_model") is not None:
            _load_rates(eng, asset_ids[a["symbol"]], a, p)
        if a.get("size_scaling") is not None:
            try:
                eng.set_asset_size_scaling(asset_ids[a["symbol"]], **a["size_scaling"])
            except errors.RiskError as exc:
                sp = p + ".size_scaling"
                raise BookError(_field_in_message(exc.message, sp, _SIZE_SCALING_FIELDS, sp), _problem(exc)) from None

    def asset_ref(sym: str, path: str) -> int:
        if sym not in asset_ids:
            raise BookError(path, "unknown asset %s" % json.dumps(sym))
        return asset_ids[sym]

    if spec["valuation_asset"] is not None:
        vid = asset_ref(spec["valuation_asset"], "valuation_asset")
        try:
            eng.set_valuation_asset(vid)
        except errors.RiskError as exc:
            raise BookError("valuation_asset", _problem(exc)) from None

    if spec.get("time") is not None:
        # Options are registered before their expiry: an expired one (to settle, or valued at its
        # intrinsic value) is registered with the clock one second before the earliest expiry,
        # and the clock moves to the book's time once the accounts are loaded.
        now = _expiry_seconds(spec["time"])
        expiries = [_expiry_seconds(x["expiry"]) for x in spec["instruments"] if x["kind"] == "option"]
        start = min([now] + [t - 1 for t in expiries])
        try:
            eng.set_time(start if start >= 1 else now)
        except errors.RiskError as exc:
            raise BookError("time", _problem(exc)) from None

    instrument_ids = {}
    lots = {}
    for i, ins in enumerate(spec["instruments"]):
        p = "instruments[%d]" % i
        und = asset_ref(ins["underlying"], p + ".underlying")
        stl = asset_ref(ins["settle"], p + ".settle")
        if ins["kind"] == "option" and spec.get("time") is None:
            raise BookError(p + ".kind", "an option needs the book's time (the top-level \"time\")")
        option = {}
        if ins["kind"] == "option":
            option = {k: ins[k] for k in ("strike", "option_type", "mark_vol", "carry_rate", "underlying_tick")}
        try:
            iid = eng.add_instrument(ins["symbol"], und, stl, ins["tiers"], kind=ins["kind"], inverse=ins["inverse"],
                                     contract_size=ins["contract_size"], lot_size=ins["lot_size"],
                                     tick_size=ins["tick_size"], mark=ins["mark"], expiry=ins["expiry"],
                                     mm_price=ins["mm_price"], **option)
        except errors.DuplicateError as exc:
            raise BookError(p + ".symbol", "duplicate symbol %s (%s)" % (json.dumps(ins["symbol"]), _problem(exc))) \
                from None
        except errors.TiersError as exc:
            raise BookError(p + ".margin.tiers", _problem(exc)) from None
        except errors.RiskError as exc:
            raise BookError(_field_in_message(exc.message, p, _INSTRUMENT_FIELDS, p), _problem(exc)) from None
        instrument_ids[ins["symbol"]] = iid
        lots[ins["symbol"]] = ins["lot_size"]
        if ins["fees"] or ins["max_notional"] is not None:
            try:
                eng.set_instrument_fees(iid, max_notional=ins["max_notional"], **ins["fees"])
            except errors.RiskError as exc:
                msg = exc.message or ""
                field = next((k for k in ("max_notional", "maker_fee", "taker_fee") if k in msg), "fees")
                field = {"maker_fee": "fees.maker", "taker_fee": "fees.taker"}.get(field, field)
                raise BookError("%s.%s" % (p, field), _problem(exc)) from None
        if ins["vol_scaling"] is not None:
            _load_scaling(eng, iid, ins["vol_scaling"], p + ".vol_scaling")
        if ins.get("upnl_weight") is not None:
            from . import rates as _rates
            try:
                _rates.set_upnl_weight(eng, ins["symbol"], **ins["upnl_weight"])
            except errors.RiskError as exc:
                raise BookError(p + ".upnl_weight", _problem(exc)) from None
        if ins.get("size_premium") is not None:
            try:
                eng.set_instrument_size_premium(iid, **ins["size_premium"])
            except errors.RiskError as exc:
                sp = p + ".size_premium"
                raise BookError(_field_in_message(exc.message, sp, ("imf", "base_share"), sp), _problem(exc)) from None

    def instrument_ref(sym: str, path: str) -> int:
        if sym not in instrument_ids:
            raise BookError(path, "unknown instrument %s" % json.dumps(sym))
        return instrument_ids[sym]

    _load_liquidation(eng, spec, asset_ref, instrument_ids)
    _load_portfolio_margin(eng, spec)

    for i, a in enumerate(spec["accounts"]):
        p = "accounts[%d]" % i
        try:
            acc = Account(eng, a["id"], a["margin_mode"], a["position_mode"])
        except errors.DuplicateError as exc:
            raise BookError(p + ".id", "duplicate account id %d (%s)" % (a["id"], _problem(exc))) from None
        except errors.RiskError as exc:
            raise BookError(p, _problem(exc)) from None
        accounts.append(acc)
        basket = acc.basket
        for sym, amount in a["balances"]:
            q = _key(p + ".balances", sym)
            aid = asset_ref(sym, q)
            try:
                basket.set_balance(aid, amount)
            except errors.RiskError as exc:
                raise BookError(q, _problem(exc)) from None
        for sym, lev in a["leverage"]:
            q = _key(p + ".leverage", sym)
            iid = instrument_ref(sym, q)
            try:
                acc.set_leverage(iid, lev)
            except errors.RiskError as exc:
                raise BookError(q, _problem(exc)) from None
        for j, pos in enumerate(a["positions"]):
            q = "%s.positions[%d]" % (p, j)
            iid = instrument_ref(pos["instrument"], q + ".instrument")
            try:
                acc.open_position(iid, pos["qty"], pos["entry"], side=pos["side"], margin_mode=pos["margin_mode"],
                                  isolated_margin=pos["isolated_margin"])
            except errors.LotError:
                raise BookError(q + ".qty", "not a whole number of lots (lot %s)" % _fmt(lots[pos["instrument"]])) \
                    from None
            except errors.DuplicateError as exc:
                what = "%s %s" % (pos["instrument"], pos["side"]) if pos["side"] else pos["instrument"]
                raise BookError(q + ".instrument", "a second position in %s (%s)" % (what, _problem(exc))) from None
            except errors.StateError as exc:
                raise BookError(_field_in_message(exc.message, q, ("qty", "side"), q + ".side"), _problem(exc)) \
                    from None
            except errors.RiskError as exc:
                raise BookError(_field_in_message(exc.message, q, _POSITION_FIELDS, q), _problem(exc)) from None

    for i, ins in enumerate(spec["instruments"]):
        for j, f in enumerate(ins.get("funding") or []):
            from . import rates as _rates
            try:
                _rates.accrue_funding(eng, ins["symbol"], f["rate"], price=f["price"], time_unix_s=f["time_unix_s"],
                                      rate_short=f["rate_short"])
            except errors.RiskError as exc:
                raise BookError("instruments[%d].funding[%d]" % (i, j), _problem(exc)) from None

    if spec.get("time") is not None:
        try:
            eng.set_time(spec["time"])
        except errors.RiskError as exc:
            raise BookError("time", _problem(exc)) from None
    for i, ins in enumerate(spec["instruments"]):
        if ins["kind"] == "option" and ins["settlement_price"] is not None:
            try:
                eng.settle_expired(instrument_ids[ins["symbol"]], ins["settlement_price"])
            except errors.RiskError as exc:
                raise BookError("instruments[%d].settlement_price" % i, _problem(exc)) from None


def _load_liquidation(eng: Engine, spec: dict[str, Any], asset_ref: Callable[..., Any],
                      instrument_ids: dict[str, int]) -> None:
    """The "liquidation" policies (engine, then instrument overrides) and the "insurance_fund"."""
    from . import liquidation as _liq
    items: list[tuple[str, Any, int | None]] = [("liquidation", spec["liquidation"], None)]
    items += [("instruments[%d].liquidation" % i, ins["liquidation"], instrument_ids[ins["symbol"]])
              for i, ins in enumerate(spec["instruments"])]
    for p, fields, iid in items:
        if fields is None:
            continue
        try:
            _liq.set_policy(eng, _liq.Policy(**fields), instrument=iid)
        except errors.RiskError as exc:
            raise BookError(_field_in_message(exc.message, p, _LIQUIDATION_FIELDS, p), _problem(exc)) from None
    for sym, amount in spec["insurance_fund"]:
        q = _key("insurance_fund", sym)
        aid = asset_ref(sym, q)
        try:
            _liq.deposit(eng, aid, amount)
        except errors.RiskError as exc:
            raise BookError(q, _problem(exc)) from None


def _load_vol(eng: Engine, aid: int, vol: dict[str, float], p: str) -> None:
    """An asset's "vol": the estimator's parameters, then the values set directly (at time 0)."""
    try:
        eng.set_asset_vol_params(aid, vol.get("lambda", 0.94), vol.get("periods_per_year", 365.0),
                                 vol.get("seed", 0.0))
    except errors.RiskError as exc:
        msg = (exc.message or "").replace("seed_vol_annual", "seed")
        raise BookError(_field_in_message(msg, p, ("lambda", "periods_per_year", "seed"), p), _problem(exc)) from None
    setters = (("annual", lambda x: eng.set_asset_vol(aid, x, 0)),
               ("stressed", lambda x: eng.set_asset_stressed_vol(aid, x)),
               ("floor", lambda x: eng.set_asset_floor_vol(aid, x)),
               ("buffer_release", lambda x: eng.set_asset_buffer_release(aid, x)))
    for key, setter in setters:
        if key not in vol:
            continue
        try:
            setter(vol[key])
        except errors.RiskError as exc:
            raise BookError("%s.%s" % (p, key), _problem(exc)) from None


def _load_rates(eng: Engine, aid: int, a: dict[str, Any], p: str) -> None:
    """An asset's "rate_model" and "rate_pool" (before any balance: balances are then stored
    scaled by the pool's indices)."""
    from . import rates
    m = dict(a["rate_model"])
    try:
        rates.set_rate_model(eng, aid, m.pop("kind"), m.pop("accrual"), **m)
    except errors.RiskError as exc:
        raise BookError(_field_in_message(exc.message, p + ".rate_model", rates.MODEL_FIELDS, p + ".rate_model"),
                        _problem(exc)) from None
    if a["rate_pool"] is not None:
        try:
            rates.set_rate_pool(eng, aid, **a["rate_pool"])
        except errors.RiskError as exc:
            raise BookError(p + ".rate_pool", _problem(exc)) from None


def _load_scaling(eng: Engine, iid: int, sc: dict[str, Any], p: str) -> None:
    """An instrument's "vol_scaling" (risk_engine_set_instrument_scaling)."""
    kw = {_SCALING_C_NAMES[k]: v for k, v in sc.items()}
    try:
        eng.set_instrument_scaling(iid, **kw)
    except errors.RiskError as exc:
        field = _field_in_message(exc.message, p, tuple(_SCALING_C_NAMES.values()), p)
        if field != p:
            c_name = field[len(p) + 1:]
            field = "%s.%s" % (p, next(k for k, c in _SCALING_C_NAMES.items() if c == c_name))
        raise BookError(field, _problem(exc)) from None


# ---------------------------------------------------------------- evaluation


def _jnum(x: float | None) -> float | None:
    """A float for JSON: None for NaN and infinities, -0.0 as 0.0."""
    if x is None or not math.isfinite(x):
        return None
    return x + 0.0


_ACCOUNT_KEYS = ("state", "equity", "collateral_value", "unrealized_pnl", "initial_margin", "maintenance_margin",
                 "available", "health_factor", "margin_ratio", "ltv", "ltv_buffer", "leverage")
# Account fields that are money in the valuation asset (printed in its decimals); the others are ratios.
_ACCOUNT_MONEY = ("equity", "collateral_value", "unrealized_pnl", "initial_margin", "maintenance_margin", "available")


def account_fields(summary: AccountSummary, grid: Grid) -> dict[str, Any]:
    """The account fields of the result (``_ACCOUNT_KEYS``) from an AccountSummary: money in the
    valuation asset's decimals, ratios as computed, infinities as None."""
    out: dict[str, Any] = {}
    for k in _ACCOUNT_KEYS:
        v = getattr(summary, k)
        out[k] = v if k == "state" else grid.value(v) if k in _ACCOUNT_MONEY else _jnum(v)
    return out


def position_fields(r: PositionResult, hedge: bool, grid: Grid) -> dict[str, Any]:
    """One position of the result from a PositionResult: qty in whole lots, prices on the tick,
    money in the settle asset's decimals."""
    sym = r.symbol
    return {
        "instrument": sym,
        "side": r.leg if hedge else r.side,
        "qty": grid.qty(sym, abs(r.qty) if hedge else r.qty),
        "notional": grid.settle_money(sym, r.notional),
        "unrealized_pnl": grid.settle_money(sym, r.unrealized_pnl),
        "initial_margin": grid.settle_money(sym, r.initial_margin),
        "maintenance_margin": grid.settle_money(sym, r.maintenance_margin),
        "liquidation_price": grid.liquidation_price(sym, r.liquidation_price),
        "bankruptcy_price": grid.liquidation_price(sym, r.bankruptcy_price),
        "margin_mode": r.margin_mode,
        "isolated_margin": grid.settle_money(sym, r.isolated_margin),
        "liquidatable": r.liquidatable,
        **(option_fields(r, grid) if sym in grid.underlying_tick_decimals else {}),
    }


def option_fields(r: PositionResult, grid: Grid) -> dict[str, Any]:
    """An option position's extra fields: its mark value (settle asset), Greeks (as computed:
    they have no grid), mark volatility, the underlying's price and both sides' liquidation
    prices of the underlying (docs/book-format.md, 7)."""
    sym = r.symbol
    return {"value": grid.settle_money(sym, r.value), "delta": _jnum(r.delta), "gamma": _jnum(r.gamma),
            "vega": _jnum(r.vega), "theta": _jnum(r.theta), "mark_vol": _jnum(r.mark_vol),
            "underlying_price": _jnum(r.underlying_price),
            "liquidation_price_below": grid.liquidation_price(sym, r.liquidation_price_below),
            "liquidation_price_above": grid.liquidation_price(sym, r.liquidation_price_above)}


def balance_fields(acc: Account, balances: list[tuple[str, float]], grid: Grid) -> list[dict[str, Any]]:
    """The account's balances in the order given: amount (in the asset's decimals) and the spot
    liquidation price (risk_account_spot_liquidation_price, None when none; on the valuation
    asset's decimals, rounded against the account)."""
    out = []
    for sym, _ in balances:
        amount = acc.basket.balance(sym)
        if amount == 0.0:  # a basket holds no zero balance (a snapshot has none to list)
            continue
        # on the valuation asset's decimals, against the account: up for collateral (liquidated
        # when the price falls to it), down for a debt (when it rises to it)
        out.append({"asset": sym, "amount": grid.money(sym, amount),
                    "liquidation_price": _jnum(grid.value_against(acc.spot_liquidation_price(sym), amount > 0))})
    return out


def portfolio_fields(pm: Any, grid: Grid) -> dict[str, Any]:
    """A portfolio account's model, its worst scenario (underlying, index in the unit's grid,
    relative price move, vol move) and that scenario's weighted loss, in the valuation asset's
    decimals (docs/portfolio-margin.md); ``pm`` a librisk.portfolio.PortfolioMargin."""
    return {"model": pm.model,
            "worst_scenario": {"underlying": pm.worst_unit, "index": pm.worst_scenario,
                               "price_move": _jnum(pm.worst_price_move), "vol_move": _jnum(pm.worst_vol_move)},
            "worst_loss": grid.value(pm.worst_loss)}


def evaluate(book: Book, threads: int = 1) -> dict[str, Any]:
    """Evaluates a loaded :class:`Book`; returns the "librisk-result/1" document as a dict."""
    from .grid import Grid
    try:
        summaries = book.engine.evaluate_all(threads=threads)
    except errors.RiskError as exc:
        raise BookError("accounts", _problem(exc)) from None
    grid = Grid(book.spec)
    by_id = {s.id: s for s in summaries}
    pm_all: dict[int, Any] = {}
    if any(a["margin_mode"] == "portfolio" for a in book.spec["accounts"]):
        from . import portfolio as _pm
        try:  # one engine-wide batch: each underlying's scenarios priced once
            pm_all = _pm.engine_margins(book.engine)
        except errors.RiskError as exc:
            raise BookError("portfolio_margin", _problem(exc)) from None
    # balances in the assets' order, the registry's: the same for a book and for its snapshot
    rank = {a["symbol"]: k for k, a in enumerate(book.spec["assets"])}
    out = []
    for i, (acc, a) in enumerate(zip(book.accounts, book.spec["accounts"])):
        s = by_id[a["id"]]
        try:
            results = acc.position_results()
            balances = balance_fields(acc, sorted(a["balances"], key=lambda kv: rank.get(kv[0], len(rank))), grid)
        except errors.RiskError as exc:
            raise BookError("accounts[%d]" % i, _problem(exc)) from None
        hedge = a["position_mode"] == "hedge"
        entry = {"id": a["id"]}
        entry.update(account_fields(s, grid))
        entry["balances"] = balances
        entry["positions"] = [position_fields(r, hedge, grid) for r in results]
        if a["margin_mode"] == "portfolio":
            entry["portfolio_margin"] = portfolio_fields(pm_all[a["id"]], grid)
        if any(x.get("rate_model") is not None for x in book.spec["assets"]):
            from . import rates
            entry["interest"] = [{"asset": c["asset"], "rate_annual": c["rate_annual"],
                                  "cost_annual": grid.money(c["asset"], c["cost_annual"]),
                                  "cost_annual_value": grid.value(c["cost_annual_value"])}
                                 for c in rates.rate_costs(acc)]
        if any(x.get("funding") for x in book.spec["instruments"]):
            from . import rates
            settle = sorted({x["settle"] for x in book.spec["instruments"] if x.get("funding")},
                            key=lambda sym: rank.get(sym, len(rank)))
            entry["funding_pending"] = [{"asset": sym, "amount": grid.money(sym, rates.funding_pending(acc, sym))}
                                        for sym in settle]
        out.append(entry)
    return {"format": RESULT_FORMAT, "accounts": out}


def evaluate_file(path: str, threads: int = 1) -> dict[str, Any]:
    """Reads, loads and evaluates a book file; returns the result document (BookError on bad input)."""
    doc = read(path)
    with load(doc) as book:
        return evaluate(book, threads=threads)
