"""Low-level ctypes layer: the loader, the struct mirrors and every C function, declared once.

Nothing here computes risk. The classes in :mod:`librisk.core` are the intended interface; this
module is public for callers who want the raw structs (for example to reuse a
``RiskAccountSummary`` array across calls).

Loading order (first that exists wins):

1. ``$LIBRISK_LIBRARY`` (a path to the shared object);
2. the build tree: ``lib/librisk.so.0`` (then ``lib/librisk.so``) three directories above this
   package, i.e. ``<repo>/lib`` when running from ``<repo>/bindings/python``;
3. ``ctypes.util.find_library("risk")`` (an installed library).

The library's major version (``risk_version_number() // 10000``) must equal
:data:`VERSION_MAJOR`; otherwise :class:`LibraryError` is raised.
"""

import ctypes
import ctypes.util
import os
import threading

from . import errors

__all__ = [
    "VERSION_MAJOR", "LibraryError", "lib", "library_path",
    "RiskAllocator", "RiskEngineOptions", "RiskValueTier", "RiskAssetSpec", "RiskMarginTier",
    "RiskInstrumentSpec", "RiskBasketSummary", "RiskAccountSummary", "RiskPositionSpec",
    "RiskPositionResult",
]

# ---------------------------------------------------------------- constants (include/risk/*.h)

#: Major version these bindings were written against (RISK_VERSION_MAJOR).
VERSION_MAJOR = 0

ID_NONE = 0xFFFFFFFF                 # RISK_ID_NONE

ENGINE_OPTIONS_VERSION = 1           # RISK_ENGINE_OPTIONS_VERSION
ENGINE_NO_QUANTIZE = 0x1             # RISK_ENGINE_NO_QUANTIZE
ASSET_SPEC_VERSION = 1               # RISK_ASSET_SPEC_VERSION
INSTRUMENT_SPEC_VERSION = 1          # RISK_INSTRUMENT_SPEC_VERSION
BASKET_SUMMARY_VERSION = 1           # RISK_BASKET_SUMMARY_VERSION
ACCOUNT_SUMMARY_VERSION = 1          # RISK_ACCOUNT_SUMMARY_VERSION
POSITION_RESULT_VERSION = 1          # RISK_POSITION_RESULT_VERSION
POSITION_SPEC_VERSION = 1            # RISK_POSITION_SPEC_VERSION

KIND_PERPETUAL = 1                   # RISK_KIND_PERPETUAL
KIND_FUTURE = 2                      # RISK_KIND_FUTURE
MM_PRICE_MARK = 0                    # RISK_MM_PRICE_MARK
MM_PRICE_ENTRY = 1                   # RISK_MM_PRICE_ENTRY

MARGIN_DEFAULT = 0                   # RISK_MARGIN_DEFAULT
MARGIN_CROSS = 1                     # RISK_MARGIN_CROSS
MARGIN_ISOLATED = 2                  # RISK_MARGIN_ISOLATED
POSITION_ONE_WAY = 0                 # RISK_POSITION_ONE_WAY
POSITION_HEDGE = 1                   # RISK_POSITION_HEDGE
SIDE_BOTH = 0                        # RISK_SIDE_BOTH
SIDE_LONG = 1                        # RISK_SIDE_LONG
SIDE_SHORT = 2                       # RISK_SIDE_SHORT

STATE_HEALTHY = 0                    # RISK_STATE_HEALTHY
STATE_MARGIN_CALL = 1                # RISK_STATE_MARGIN_CALL
STATE_LIQUIDATABLE = 2               # RISK_STATE_LIQUIDATABLE
STATE_BANKRUPT = 3                   # RISK_STATE_BANKRUPT

RESULT_HAS_LIQUIDATION_PRICE = 0x1   # RISK_RESULT_HAS_LIQUIDATION_PRICE
RESULT_HAS_BANKRUPTCY_PRICE = 0x2    # RISK_RESULT_HAS_BANKRUPTCY_PRICE
RESULT_LIQUIDATABLE = 0x4            # RISK_RESULT_LIQUIDATABLE

# ---------------------------------------------------------------- opaque handles


class _Engine(ctypes.Structure):
    """Opaque ``risk_engine``."""


class _Basket(ctypes.Structure):
    """Opaque ``risk_basket``."""


class _Account(ctypes.Structure):
    """Opaque ``risk_account``."""


class _Position(ctypes.Structure):
    """Opaque ``risk_position``."""


EngineP = ctypes.POINTER(_Engine)
BasketP = ctypes.POINTER(_Basket)
AccountP = ctypes.POINTER(_Account)
PositionP = ctypes.POINTER(_Position)

# ---------------------------------------------------------------- struct mirrors (field order as in the headers)

MallocFn = ctypes.CFUNCTYPE(ctypes.c_void_p, ctypes.c_void_p, ctypes.c_size_t)
ReallocFn = ctypes.CFUNCTYPE(ctypes.c_void_p, ctypes.c_void_p, ctypes.c_void_p, ctypes.c_size_t)
FreeFn = ctypes.CFUNCTYPE(None, ctypes.c_void_p, ctypes.c_void_p)


class RiskAllocator(ctypes.Structure):
    """``risk_allocator`` (include/risk/alloc.h)."""
    _fields_ = [
        ("malloc_fn", MallocFn),
        ("realloc_fn", ReallocFn),
        ("free_fn", FreeFn),
        ("ctx", ctypes.c_void_p),
    ]


class RiskEngineOptions(ctypes.Structure):
    """``risk_engine_options`` (include/risk/engine.h)."""
    _fields_ = [
        ("version", ctypes.c_uint32),
        ("flags", ctypes.c_uint32),
        ("allocator", RiskAllocator),
        ("margin_call_health", ctypes.c_double),
    ]

    @classmethod
    def init(cls):
        """The equivalent of ``RISK_ENGINE_OPTIONS_INIT``."""
        return cls(ENGINE_OPTIONS_VERSION, 0, RiskAllocator(), 1.2)


class RiskValueTier(ctypes.Structure):
    """``risk_value_tier`` (include/risk/engine.h)."""
    _fields_ = [
        ("up_to_qty", ctypes.c_double),
        ("ratio", ctypes.c_double),
    ]


class RiskAssetSpec(ctypes.Structure):
    """``risk_asset_spec`` (include/risk/engine.h)."""
    _fields_ = [
        ("version", ctypes.c_uint32),
        ("decimals", ctypes.c_uint32),
        ("symbol", ctypes.c_char_p),
        ("price", ctypes.c_double),
        ("weight_init", ctypes.c_double),
        ("weight_maint", ctypes.c_double),
        ("liab_weight_init", ctypes.c_double),
        ("liab_weight_maint", ctypes.c_double),
        ("value_tiers", ctypes.POINTER(RiskValueTier)),
        ("n_value_tiers", ctypes.c_size_t),
    ]

    @classmethod
    def init(cls):
        """The equivalent of ``RISK_ASSET_SPEC_INIT``."""
        return cls(ASSET_SPEC_VERSION, 8, None, 0.0, 1.0, 1.0, 1.0, 1.0, None, 0)


class RiskMarginTier(ctypes.Structure):
    """``risk_margin_tier`` (include/risk/engine.h)."""
    _fields_ = [
        ("notional_cap", ctypes.c_double),
        ("mmr", ctypes.c_double),
        ("max_leverage", ctypes.c_double),
        ("cum", ctypes.c_double),
        ("cum_given", ctypes.c_uint32),
    ]


class RiskInstrumentSpec(ctypes.Structure):
    """``risk_instrument_spec`` (include/risk/engine.h)."""
    _fields_ = [
        ("version", ctypes.c_uint32),
        ("kind", ctypes.c_uint32),
        ("symbol", ctypes.c_char_p),
        ("underlying", ctypes.c_uint32),
        ("settle", ctypes.c_uint32),
        ("inverse", ctypes.c_uint32),
        ("mm_price", ctypes.c_uint32),
        ("expiry_unix_s", ctypes.c_int64),
        ("contract_size", ctypes.c_double),
        ("lot_size", ctypes.c_double),
        ("tick_size", ctypes.c_double),
        ("mark", ctypes.c_double),
        ("tiers", ctypes.POINTER(RiskMarginTier)),
        ("n_tiers", ctypes.c_size_t),
    ]

    @classmethod
    def init(cls):
        """The equivalent of ``RISK_INSTRUMENT_SPEC_INIT``."""
        return cls(INSTRUMENT_SPEC_VERSION, KIND_PERPETUAL, None, ID_NONE, ID_NONE, 0,
                   MM_PRICE_MARK, 0, 1.0, 1.0, 1.0, 0.0, None, 0)


class RiskBasketSummary(ctypes.Structure):
    """``risk_basket_summary`` (include/risk/basket.h)."""
    _fields_ = [
        ("version", ctypes.c_uint32),
        ("n_assets", ctypes.c_uint32),
        ("collateral_value", ctypes.c_double),
        ("collateral_init", ctypes.c_double),
        ("collateral_maint", ctypes.c_double),
        ("liabilities", ctypes.c_double),
        ("liabilities_init", ctypes.c_double),
        ("liabilities_maint", ctypes.c_double),
        ("net_value", ctypes.c_double),
        ("ltv", ctypes.c_double),
        ("health_factor", ctypes.c_double),
    ]

    @classmethod
    def init(cls):
        """The equivalent of ``RISK_BASKET_SUMMARY_INIT``."""
        return cls(version=BASKET_SUMMARY_VERSION)


class RiskAccountSummary(ctypes.Structure):
    """``risk_account_summary`` (include/risk/account.h)."""
    _fields_ = [
        ("version", ctypes.c_uint32),
        ("state", ctypes.c_uint32),
        ("equity", ctypes.c_double),
        ("collateral_value", ctypes.c_double),
        ("unrealized_pnl", ctypes.c_double),
        ("initial_margin", ctypes.c_double),
        ("maintenance_margin", ctypes.c_double),
        ("available", ctypes.c_double),
        ("health_factor", ctypes.c_double),
        ("margin_ratio", ctypes.c_double),
        ("ltv", ctypes.c_double),
        ("ltv_buffer", ctypes.c_double),
        ("leverage", ctypes.c_double),
        ("collateral_init", ctypes.c_double),
        ("collateral_maint", ctypes.c_double),
        ("liabilities", ctypes.c_double),
        ("isolated_margin", ctypes.c_double),
        ("n_positions", ctypes.c_uint32),
        ("n_isolated_liquidatable", ctypes.c_uint32),
    ]

    @classmethod
    def init(cls):
        """The equivalent of ``RISK_ACCOUNT_SUMMARY_INIT``."""
        return cls(version=ACCOUNT_SUMMARY_VERSION)


class RiskPositionSpec(ctypes.Structure):
    """``risk_position_spec`` (include/risk/account.h)."""
    _fields_ = [
        ("version", ctypes.c_uint32),
        ("instrument", ctypes.c_uint32),
        ("side", ctypes.c_uint32),
        ("margin_mode", ctypes.c_uint32),
        ("qty", ctypes.c_double),
        ("entry", ctypes.c_double),
        ("isolated_margin", ctypes.c_double),
    ]

    @classmethod
    def init(cls):
        """The equivalent of ``RISK_POSITION_SPEC_INIT``."""
        return cls(POSITION_SPEC_VERSION, ID_NONE, SIDE_BOTH, MARGIN_DEFAULT, 0.0, 0.0, 0.0)


class RiskPositionResult(ctypes.Structure):
    """``risk_position_result`` (include/risk/account.h)."""
    _fields_ = [
        ("version", ctypes.c_uint32),
        ("instrument", ctypes.c_uint32),
        ("side", ctypes.c_uint32),
        ("margin_mode", ctypes.c_uint32),
        ("flags", ctypes.c_uint32),
        ("tier", ctypes.c_uint32),
        ("qty", ctypes.c_double),
        ("entry", ctypes.c_double),
        ("mark", ctypes.c_double),
        ("notional", ctypes.c_double),
        ("unrealized_pnl", ctypes.c_double),
        ("initial_margin", ctypes.c_double),
        ("maintenance_margin", ctypes.c_double),
        ("isolated_margin", ctypes.c_double),
        ("liquidation_price", ctypes.c_double),
        ("bankruptcy_price", ctypes.c_double),
        ("liquidation_price_raw", ctypes.c_double),
        ("bankruptcy_price_raw", ctypes.c_double),
    ]

    @classmethod
    def init(cls):
        """The equivalent of ``RISK_POSITION_RESULT_INIT``."""
        return cls(version=POSITION_RESULT_VERSION)


# ---------------------------------------------------------------- function table

_u32 = ctypes.c_uint32
_u64 = ctypes.c_uint64
_i32 = ctypes.c_int
_dbl = ctypes.c_double
_sz = ctypes.c_size_t
_P = ctypes.POINTER

# Where the message of a failed call lives: the handle kind and the argument index holding it.
#   ("engine", i)   risk_engine_errmsg(args[i])
#   ("account", i)  risk_account_errmsg(args[i])
#   ("basket", i)   risk_basket_errmsg(args[i])
#   ("position", i) risk_account_errmsg(risk_position_account(args[i]))
#   None            no handle: risk_strerror(code)
#
# Each entry: name -> (restype, argtypes, message source or "plain" for calls that return no status).
_FUNCTIONS = {
    # version.h
    "risk_version_string": (ctypes.c_char_p, [], "plain"),
    "risk_version_number": (_u32, [], "plain"),
    # status.h
    "risk_strerror": (ctypes.c_char_p, [_i32], "plain"),
    "risk_errname": (ctypes.c_char_p, [_i32], "plain"),
    # engine.h
    "risk_engine_new": (_i32, [_P(EngineP), _P(RiskEngineOptions)], None),
    "risk_engine_free": (None, [EngineP], "plain"),
    "risk_engine_add_asset": (_i32, [EngineP, _P(RiskAssetSpec), _P(_u32)], ("engine", 0)),
    "risk_engine_add_instrument": (_i32, [EngineP, _P(RiskInstrumentSpec), _P(_u32)], ("engine", 0)),
    "risk_engine_set_valuation_asset": (_i32, [EngineP, _u32], ("engine", 0)),
    "risk_engine_set_margin_call_health": (_i32, [EngineP, _dbl], ("engine", 0)),
    "risk_engine_set_asset_price": (_i32, [EngineP, _u32, _dbl], ("engine", 0)),
    "risk_engine_set_asset_prices": (_i32, [EngineP, _P(_u32), _P(_dbl), _sz], ("engine", 0)),
    "risk_engine_set_mark": (_i32, [EngineP, _u32, _dbl], ("engine", 0)),
    "risk_engine_set_marks": (_i32, [EngineP, _P(_u32), _P(_dbl), _sz], ("engine", 0)),
    "risk_engine_evaluate_all": (_i32, [EngineP, _P(RiskAccountSummary), _P(_u64), _sz, _u32, _P(_sz)],
                                 ("engine", 0)),
    "risk_engine_find_asset": (_i32, [EngineP, ctypes.c_char_p, _P(_u32)], ("engine", 0)),
    "risk_engine_find_instrument": (_i32, [EngineP, ctypes.c_char_p, _P(_u32)], ("engine", 0)),
    "risk_engine_find_account": (_i32, [EngineP, _u64, _P(AccountP)], ("engine", 0)),
    "risk_engine_asset_price": (_i32, [EngineP, _u32, _P(_dbl)], ("engine", 0)),
    "risk_engine_mark": (_i32, [EngineP, _u32, _P(_dbl)], ("engine", 0)),
    "risk_engine_valuation_asset": (_i32, [EngineP, _P(_u32)], ("engine", 0)),
    "risk_engine_account_count": (_i32, [EngineP, _P(_sz)], ("engine", 0)),
    "risk_engine_memory_bytes": (_i32, [EngineP, _P(_sz)], ("engine", 0)),
    "risk_engine_errmsg": (ctypes.c_char_p, [EngineP], "plain"),
    # basket.h
    "risk_basket_new": (_i32, [_P(BasketP), EngineP], ("engine", 1)),
    "risk_basket_free": (None, [BasketP], "plain"),
    "risk_basket_set_balance": (_i32, [BasketP, _u32, _dbl], ("basket", 0)),
    "risk_basket_add_balance": (_i32, [BasketP, _u32, _dbl], ("basket", 0)),
    "risk_basket_balance": (_i32, [BasketP, _u32, _P(_dbl)], ("basket", 0)),
    "risk_basket_evaluate": (_i32, [BasketP, _P(RiskBasketSummary)], ("basket", 0)),
    "risk_basket_errmsg": (ctypes.c_char_p, [BasketP], "plain"),
    # account.h
    "risk_account_new": (_i32, [_P(AccountP), EngineP, _u64, _u32, _u32], ("engine", 1)),
    "risk_account_free": (None, [AccountP], "plain"),
    "risk_account_set_leverage": (_i32, [AccountP, _u32, _dbl], ("account", 0)),
    "risk_account_leverage": (_i32, [AccountP, _u32, _P(_dbl)], ("account", 0)),
    "risk_account_basket": (BasketP, [AccountP], "plain"),
    "risk_account_open_position": (_i32, [AccountP, _P(RiskPositionSpec), _P(PositionP)], ("account", 0)),
    "risk_account_evaluate": (_i32, [AccountP, _P(RiskAccountSummary)], ("account", 0)),
    "risk_account_position_results": (_i32, [AccountP, _P(RiskPositionResult), _sz, _P(_sz)], ("account", 0)),
    "risk_account_id": (_u64, [AccountP], "plain"),
    "risk_account_margin_mode": (_u32, [AccountP], "plain"),
    "risk_account_position_mode": (_u32, [AccountP], "plain"),
    "risk_account_position_count": (_sz, [AccountP], "plain"),
    "risk_account_position_at": (_i32, [AccountP, _sz, _P(PositionP)], ("account", 0)),
    "risk_account_find_position": (_i32, [AccountP, _u32, _u32, _P(PositionP)], ("account", 0)),
    "risk_account_errmsg": (ctypes.c_char_p, [AccountP], "plain"),
    # position.h
    "risk_position_adjust": (_i32, [PositionP, _dbl, _dbl], ("position", 0)),
    "risk_position_close": (_i32, [PositionP, _dbl], ("position", 0)),
    "risk_position_set_isolated_margin": (_i32, [PositionP, _dbl], ("position", 0)),
    "risk_position_instrument": (_u32, [PositionP], "plain"),
    "risk_position_side": (_u32, [PositionP], "plain"),
    "risk_position_leg": (_u32, [PositionP], "plain"),
    "risk_position_qty": (_dbl, [PositionP], "plain"),
    "risk_position_entry": (_dbl, [PositionP], "plain"),
    "risk_position_isolated_margin": (_dbl, [PositionP], "plain"),
    "risk_position_margin_mode": (_u32, [PositionP], "plain"),
    "risk_position_account": (AccountP, [PositionP], "plain"),
    # margin.h
    "risk_engine_instrument_tiers": (_i32, [EngineP, _u32, _P(RiskMarginTier), _sz, _P(_sz)], ("engine", 0)),
    "risk_engine_instrument_margin": (_i32, [EngineP, _u32, _dbl, _dbl, _P(_dbl), _P(_dbl), _P(_u32)],
                                      ("engine", 0)),
}

#: Names of every C function the bindings declare (a test compares them with the headers).
FUNCTION_NAMES = tuple(sorted(_FUNCTIONS))


class LibraryError(ImportError):
    """The shared library could not be found, loaded, or has the wrong major version."""


class _Lib:
    """Holds the loaded CDLL and its declared functions as attributes."""

    def __init__(self, cdll, path):
        self.cdll = cdll
        self.path = path
        for name, (restype, argtypes, source) in _FUNCTIONS.items():
            try:
                fn = getattr(cdll, name)
            except AttributeError:
                raise LibraryError("%s: missing symbol %s" % (path, name)) from None
            fn.restype = restype
            fn.argtypes = argtypes
            if source != "plain":
                fn.errcheck = self._make_errcheck(source)
            setattr(self, name, fn)

    def _make_errcheck(self, source):
        def errcheck(result, func, args):
            if result == 0:
                return result
            raise errors.from_code(result, self._message(result, source, args))
        return errcheck

    def _message(self, code, source, args):
        msg = b""
        try:
            if source is not None:
                kind, index = source
                handle = args[index] if index < len(args) else None
                if kind == "engine":
                    msg = self.risk_engine_errmsg(handle)
                elif kind == "account":
                    msg = self.risk_account_errmsg(handle)
                elif kind == "basket":
                    msg = self.risk_basket_errmsg(handle)
                elif kind == "position":
                    if handle:
                        msg = self.risk_account_errmsg(self.risk_position_account(handle))
        except (ctypes.ArgumentError, TypeError, ValueError):
            msg = b""
        text = (msg or b"").decode("utf-8", "replace")
        if not text:
            text = self.strerror(code)
        return text

    def strerror(self, code):
        """risk_strerror(code) as str."""
        return (self.risk_strerror(code) or b"").decode("utf-8", "replace")

    def errname(self, code):
        """risk_errname(code) as str."""
        return (self.risk_errname(code) or b"").decode("utf-8", "replace")


_lock = threading.Lock()
_loaded = None


def _candidates():
    env = os.environ.get("LIBRISK_LIBRARY")
    if env:
        # An explicit choice is the only candidate: a wrong path must not silently fall back.
        return [env], True
    here = os.path.dirname(os.path.abspath(__file__))
    build_lib = os.path.normpath(os.path.join(here, "..", "..", "..", "lib"))
    cands = [os.path.join(build_lib, "librisk.so.%d" % VERSION_MAJOR), os.path.join(build_lib, "librisk.so")]
    cands = [c for c in cands if os.path.exists(c)]
    found = ctypes.util.find_library("risk")
    if found:
        cands.append(found)
    return cands, False


def lib():
    """The loaded library (loading it on first use). Raises :class:`LibraryError`."""
    global _loaded
    if _loaded is not None:
        return _loaded
    with _lock:
        if _loaded is not None:
            return _loaded
        cands, explicit = _candidates()
        if not cands:
            raise LibraryError("librisk not found: build it with `make` (lib/librisk.so.0), install it, "
                               "or set LIBRISK_LIBRARY to its path")
        problems = []
        for path in cands:
            try:
                cdll = ctypes.CDLL(path)
            except OSError as exc:
                problems.append("%s: %s" % (path, exc))
                if explicit:
                    break
                continue
            try:
                number = cdll.risk_version_number
            except AttributeError:
                problems.append("%s: not librisk (no risk_version_number)" % path)
                continue
            number.restype = ctypes.c_uint32
            number.argtypes = []
            major = number() // 10000
            if major != VERSION_MAJOR:
                raise LibraryError("%s: librisk major version %d, these bindings need %d"
                                   % (path, major, VERSION_MAJOR))
            _loaded = _Lib(cdll, path)
            return _loaded
        raise LibraryError("cannot load librisk: " + "; ".join(problems))


def library_path():
    """Path of the loaded shared library."""
    return lib().path
