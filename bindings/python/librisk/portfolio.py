# SPDX-License-Identifier: Apache-2.0
"""Portfolio margin (include/risk/portfolio.h, docs/portfolio-margin.md).

The engine holds one portfolio-margin model (the Deribit / Paradex risk matrix, OKX's MR1..MR7
aggregation or SPAN-style scanning), used by every account in the ``'portfolio'`` margin mode::

    eng.set_portfolio_margin({"model": "span", "price_range": 0.05, "price_steps": 3, ...})
    acc = Account(eng, 7, "portfolio")
    pm = acc.portfolio_margin()          # PortfolioMargin: IM, MM, worst scenario, per unit

Parameters are given as a mapping of the C struct's field names; ``model`` is ``'risk_matrix'``,
``'okx'`` or ``'span'``, ``vol_mode`` ``'relative'`` or ``'absolute'``, ``vol_same`` and
``extended_vol_up`` booleans, ``extended_moves`` a list (at most 16). Fields not given keep
``RISK_PORTFOLIO_MARGIN_PARAMS_INIT``'s values (Deribit's BTC risk matrix). No risk logic here.
"""

from __future__ import annotations

import ctypes
from dataclasses import dataclass, field
from typing import Any, Mapping, TYPE_CHECKING

from . import errors, ffi

if TYPE_CHECKING:
    from .core import Account, Engine

__all__ = ["MODELS", "PortfolioMargin", "UnitMargin", "params_struct", "params_dict", "grid", "okx_mmr",
           "engine_margins"]

MODELS = {"risk_matrix": ffi.PM_RISK_MATRIX, "okx": ffi.PM_OKX, "span": ffi.PM_SPAN}
_MODEL_NAMES = {v: k for k, v in MODELS.items()}
_VOL_MODES = {"absolute": ffi.VOL_MOVE_ABSOLUTE, "relative": ffi.VOL_MOVE_RELATIVE}
_VOL_MODE_NAMES = {v: k for k, v in _VOL_MODES.items()}
_RATES = ("price_range", "vol_up", "vol_down", "vol_term_days", "vol_term_power_short", "vol_term_power_long",
          "extended_weight", "delta_shock", "roll_shock", "min_delta_net", "min_delta_hedged", "short_option_rate",
          "option_gross_rate", "basis_rate", "min_charge_rate", "im_multiplier")
#: Every key a parameter mapping may hold.
FIELDS = ("model", "price_steps", "vol_same", "vol_mode", "extended_vol_up", "extended_moves") + _RATES


def params_struct(params: Mapping[str, Any] | None) -> ffi.RiskPortfolioMarginParams:
    """A ``risk_portfolio_margin_params`` from a mapping (ValueError on an unknown key or name;
    the numbers are checked by the library)."""
    p = ffi.RiskPortfolioMarginParams.init()
    for key, value in (params or {}).items():
        if key == "model":
            if value not in MODELS:
                raise ValueError("model must be one of %s (got %r)" % (", ".join(MODELS), value))
            p.model = MODELS[value]
        elif key == "vol_mode":
            if value not in _VOL_MODES:
                raise ValueError("vol_mode must be 'relative' or 'absolute' (got %r)" % (value,))
            p.vol_mode = _VOL_MODES[value]
        elif key in ("vol_same", "extended_vol_up"):
            if not isinstance(value, bool):
                raise ValueError("%s must be true or false (got %r)" % (key, value))
            setattr(p, key, int(value))
        elif key == "price_steps":
            if not isinstance(value, int) or isinstance(value, bool) or not 1 <= value <= 64:
                raise ValueError("price_steps must be a whole number in [1, 64] (got %r)" % (value,))
            p.price_steps = value
        elif key == "extended_moves":
            moves = list(value)
            if len(moves) > ffi.PM_EXTENDED_MAX:
                raise ValueError("extended_moves holds at most %d moves (got %d)" % (ffi.PM_EXTENDED_MAX, len(moves)))
            for k in range(ffi.PM_EXTENDED_MAX):
                p.extended_moves[k] = float(moves[k]) if k < len(moves) else 0.0
            p.n_extended = len(moves)
        elif key in _RATES:
            setattr(p, key, float(value))
        else:
            raise ValueError("unknown portfolio margin parameter %r" % (key,))
    return p


def params_dict(p: ffi.RiskPortfolioMarginParams) -> dict[str, Any]:
    """The mapping of a ``risk_portfolio_margin_params`` (the inverse of :func:`params_struct`)."""
    out: dict[str, Any] = {"model": _MODEL_NAMES.get(p.model, str(p.model)), "price_steps": p.price_steps,
                           "vol_same": bool(p.vol_same), "vol_mode": _VOL_MODE_NAMES.get(p.vol_mode, str(p.vol_mode)),
                           "extended_vol_up": bool(p.extended_vol_up),
                           "extended_moves": [p.extended_moves[k] for k in range(p.n_extended)]}
    for key in _RATES:
        out[key] = getattr(p, key)
    return out


def set_params(engine: Engine, params: Mapping[str, Any] | None) -> None:
    """``risk_engine_set_portfolio_margin``."""
    p = params_struct(params)
    ffi.lib().risk_engine_set_portfolio_margin(engine._require(), ctypes.byref(p))


def get_params(engine: Engine) -> dict[str, Any]:
    """``risk_engine_portfolio_margin``."""
    p = ffi.RiskPortfolioMarginParams.init()
    ffi.lib().risk_engine_portfolio_margin(ctypes.byref(p), engine._require())
    return params_dict(p)


def grid(params: Mapping[str, Any] | None = None) -> list[tuple[float, float, float]]:
    """One risk unit's scenarios under a model: (relative price move, vol move, weight) each
    (``risk_portfolio_margin_grid``)."""
    p = params_struct(params)
    n = ctypes.c_size_t()
    L = ffi.lib()
    cap = 3 * (2 * 64 + 1) + ffi.PM_EXTENDED_MAX
    pm, vm, w = (ctypes.c_double * cap)(), (ctypes.c_double * cap)(), (ctypes.c_double * cap)()
    L.risk_portfolio_margin_grid(pm, vm, w, cap, ctypes.byref(p), ctypes.byref(n))
    return [(pm[k], vm[k], w[k]) for k in range(n.value)]


def okx_mmr(mr: list[float]) -> float:
    """OKX's aggregation of one risk unit from MR1..MR7: max[max(MR1, MR2, MR6) + MR3 + MR4 + MR5, MR7]."""
    if len(mr) != 7:
        raise errors.make(errors.InvalidError, "mr must hold MR1..MR7 (7 values, got %d)" % len(mr))
    arr = (ctypes.c_double * 7)(*[float(x) for x in mr])
    out = ctypes.c_double()
    ffi.lib().risk_portfolio_okx_mmr(ctypes.byref(out), arr, 7)
    return out.value


@dataclass(frozen=True)
class UnitMargin:
    """One risk unit's portfolio margin (money in the valuation asset, deltas in underlying units)."""
    underlying: str
    n_positions: int
    worst_scenario: int
    worst_loss: float
    worst_price_move: float
    worst_vol_move: float
    worst_weight: float
    underlying_price: float
    net_delta: float
    hedged_delta: float
    gross_delta: float
    addons: float
    minimum: float
    mr: tuple[float, ...]
    maintenance_margin: float


@dataclass(frozen=True)
class PortfolioMargin:
    """An account's portfolio margin (``risk_account_portfolio_margin``)."""
    model: str
    initial_margin: float
    maintenance_margin: float
    worst_unit: str | None
    worst_scenario: int
    worst_loss: float
    worst_price_move: float
    worst_vol_move: float
    units: list[UnitMargin] = field(default_factory=list)


def account_margin(account: Account, params: Mapping[str, Any] | None = None) -> PortfolioMargin:
    """The account's portfolio margin under ``params`` (None: the engine's model)."""
    ptr = account._require()
    L = ffi.lib()
    eng = account.engine
    p = params_struct(params) if params is not None else None
    res = ffi.RiskPortfolioMarginResult.init()
    cap = max(1, L.risk_account_position_count(ptr))
    units = (ffi.RiskPortfolioMarginUnit * cap)()
    units[0].version = ffi.PORTFOLIO_MARGIN_UNIT_VERSION
    L.risk_account_portfolio_margin(ctypes.byref(res), units, cap, ptr, ctypes.byref(p) if p is not None else None)
    out_units = []
    for k in range(min(res.n_units, cap)):
        u = units[k]
        out_units.append(UnitMargin(
            underlying=eng.asset_symbol(u.underlying) or str(u.underlying), n_positions=u.n_positions, worst_scenario=u.worst_scenario,
            worst_loss=u.worst_loss, worst_price_move=u.worst_price_move, worst_vol_move=u.worst_vol_move,
            worst_weight=u.worst_weight, underlying_price=u.underlying_price, net_delta=u.net_delta,
            hedged_delta=u.hedged_delta, gross_delta=u.gross_delta, addons=u.addons, minimum=u.minimum,
            mr=tuple(u.mr[i] for i in range(7)), maintenance_margin=u.maintenance_margin))
    worst = eng.asset_symbol(res.worst_unit) if res.worst_unit != ffi.ID_NONE else None
    return PortfolioMargin(model=_MODEL_NAMES.get(res.model, str(res.model)), initial_margin=res.initial_margin,
                           maintenance_margin=res.maintenance_margin, worst_unit=worst,
                           worst_scenario=res.worst_scenario, worst_loss=res.worst_loss,
                           worst_price_move=res.worst_price_move, worst_vol_move=res.worst_vol_move, units=out_units)


def engine_margins(engine: Engine, params: Mapping[str, Any] | None = None) -> dict[int, PortfolioMargin]:
    """Every ``'portfolio'`` account's margin, by account id, in one engine-wide batch
    (``risk_engine_portfolio_margin_all``: each underlying's scenarios priced once; the same
    numbers as :meth:`Account.portfolio_margin`, without the per-unit figures)."""
    L = ffi.lib()
    ptr = engine._require()
    p = params_struct(params) if params is not None else None
    pref = ctypes.byref(p) if p is not None else None
    n = ctypes.c_size_t()
    probe = ffi.RiskPortfolioMarginResult.init()
    try:
        L.risk_engine_portfolio_margin_all(ctypes.byref(probe), None, 0, ptr, pref, ctypes.byref(n))
    except errors.BufferTooSmallError:
        pass
    cap = max(1, n.value)
    res = (ffi.RiskPortfolioMarginResult * cap)()
    res[0].version = ffi.PORTFOLIO_MARGIN_RESULT_VERSION
    ids = (ctypes.c_uint64 * cap)()
    L.risk_engine_portfolio_margin_all(res, ids, cap, ptr, pref, ctypes.byref(n))
    out = {}
    for k in range(n.value):
        r = res[k]
        worst = engine.asset_symbol(r.worst_unit) if r.worst_unit != ffi.ID_NONE else None
        out[int(ids[k])] = PortfolioMargin(
            model=_MODEL_NAMES.get(r.model, str(r.model)), initial_margin=r.initial_margin,
            maintenance_margin=r.maintenance_margin, worst_unit=worst, worst_scenario=r.worst_scenario,
            worst_loss=r.worst_loss, worst_price_move=r.worst_price_move, worst_vol_move=r.worst_vol_move)
    return out
