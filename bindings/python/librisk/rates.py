# SPDX-License-Identifier: Apache-2.0
"""Interest-rate models, lending pools and accrual (include/risk/rates.h, docs/rates.md).

Every number comes from the C library. Functions take the objects of :mod:`librisk.core`
(an :class:`~librisk.Engine`, a :class:`~librisk.Basket` or an :class:`~librisk.Account`) and
assets by symbol or id::

    import librisk
    from librisk import rates
    with librisk.Engine() as eng:
        eng.add_asset("USDC", 1, decimals=6)
        rates.set_rate_model(eng, "USDC", "flat", flat_borrow_hourly=0.00001)
        rates.accrue(eng, 1704115200)                       # 13:20 UTC: starts the clock
        lender, borrower = librisk.Basket(eng), librisk.Basket(eng)
        rates.pool_transfer(lender, "USDC", 100000)         # deposit
        rates.pool_transfer(borrower, "USDC", -1000)        # borrow (first hour charged)
        rates.accrue(eng, 1704115200 + 55 * 60)             # 14:15
        borrower.balance("USDC")                            # -1000.0200001: 2 hours

Model kinds are ``'aave'``, ``'comet'``, ``'drift'``, ``'flat'`` (or ``'none'``); accrual rules
``'default'``, ``'aave'``, ``'linear'``, ``'continuous'``, ``'hourly'``. Parameters are the
``risk_rate_model`` fields (``aave_slope1=0.04``, ``comet_borrow_kink=0.8``, ...), annual
fractions unless the name says hourly. Book support: an asset's ``"rate_model"`` and
``"rate_pool"`` (docs/book-format.md, 3.2). Funding of perpetuals: :func:`funding_rate_binance`
and :func:`settle_funding` (docs/rates.md section 8).
"""

from __future__ import annotations

import ctypes

from . import errors, ffi
from typing import Any, TYPE_CHECKING

if TYPE_CHECKING:
    from .core import Account, Basket, Engine
    from .ffi import RiskRateModel, RiskRates

__all__ = ["KINDS", "ACCRUALS", "MODEL_FIELDS", "POOL_FIELDS", "rate_model_rates", "set_rate_model", "rate_model",
           "set_rate_pool", "rate_pool", "rates", "accrue", "pool_transfer", "scaled_balance", "rate_costs",
           "funding_rate_binance", "funding_rate_drift", "settle_funding",
           "accrue_funding", "funding_index", "funding_pending", "settle_account_funding",
           "upnl_weight", "set_upnl_weight", "instrument_upnl_weight"]

KINDS = {"none": ffi.RATE_MODEL_NONE, "aave": ffi.RATE_MODEL_AAVE, "comet": ffi.RATE_MODEL_COMET,
         "drift": ffi.RATE_MODEL_DRIFT, "flat": ffi.RATE_MODEL_FLAT}
ACCRUALS = {"default": ffi.ACCRUAL_DEFAULT, "aave": ffi.ACCRUAL_AAVE, "linear": ffi.ACCRUAL_LINEAR,
            "continuous": ffi.ACCRUAL_CONTINUOUS, "hourly": ffi.ACCRUAL_HOURLY}
#: The numeric parameters of a model (``risk_rate_model`` fields after ``reserved``).
MODEL_FIELDS = tuple(name for name, _ in ffi.RiskRateModel._fields_[4:])
#: The fields of a pool a caller may set (``risk_rate_pool`` without version and started).
POOL_FIELDS = ("supply", "borrow", "stable_borrow", "stable_rate_annual", "reserves", "supply_index",
               "borrow_index", "updated_unix_s")
_RATES_FIELDS = ("utilisation", "borrow_annual", "supply_annual", "stable_borrow_annual", "average_borrow_annual")


def _lookup(table: dict[str, int], value: str, what: str) -> int:
    if value in table:
        return table[value]
    raise ValueError("%s must be one of %s (got %r)" % (what, ", ".join(sorted(table)), value))


def _model(kind: str, accrual: str, params: dict[str, float]) -> RiskRateModel:
    m = ffi.RiskRateModel.init()
    m.kind = _lookup(KINDS, kind, "kind")
    m.accrual = _lookup(ACCRUALS, accrual, "accrual")
    for key, value in params.items():
        if key not in MODEL_FIELDS:
            raise TypeError("unknown rate model parameter %r" % key)
        setattr(m, key, float(value))
    return m


def _rates_dict(r: RiskRates) -> dict[str, float]:
    return {k: getattr(r, k) for k in _RATES_FIELDS}


def _basket_of(holder: Account | Basket) -> Basket:
    """A Basket, or an Account's basket."""
    from .core import Account as _Account  # at run time: core is loaded by then
    return holder.basket if isinstance(holder, _Account) else holder


def rate_model_rates(kind: str, utilisation: float, supply_usage: float | None = None, stable_share: float = 0.0,
                     stable_rate_annual: float = 0.0, **params: float) -> dict[str, float]:
    """The rates of a model at a utilisation (``risk_rate_model_rates``), as a dict."""
    m = _model(kind, "default", params)
    r = ffi.RiskRates.init()
    u = float(utilisation)
    ffi.lib().risk_rate_model_rates(ctypes.byref(r), ctypes.byref(m), u, u if supply_usage is None else
                                    float(supply_usage), float(stable_share), float(stable_rate_annual))
    return _rates_dict(r)


def set_rate_model(engine: Engine, asset: str | int, kind: str, accrual: str = "default", **params: float) -> None:
    """Gives an asset a rate model (``risk_engine_set_rate_model``)."""
    m = _model(kind, accrual, params)
    ffi.lib().risk_engine_set_rate_model(engine._require(), engine._asset_id(asset), ctypes.byref(m))


def rate_model(engine: Engine, asset: str) -> dict[str, Any]:
    """An asset's model as a dict: ``kind``, ``accrual`` and every parameter."""
    m = ffi.RiskRateModel.init()
    ffi.lib().risk_engine_rate_model(engine._require(), engine._asset_id(asset), ctypes.byref(m))
    kinds = {v: k for k, v in KINDS.items()}
    accruals = {v: k for k, v in ACCRUALS.items()}
    out = {"kind": kinds.get(m.kind, m.kind), "accrual": accruals.get(m.accrual, m.accrual)}
    out.update({k: getattr(m, k) for k in MODEL_FIELDS})
    return out


def set_rate_pool(engine: Engine, asset: str | int, **fields: float) -> None:
    """Loads an asset's pool (``risk_engine_set_rate_pool``); unnamed fields are those of an
    empty pool (indices 1, time 0)."""
    p = ffi.RiskRatePool.init()
    for key, value in fields.items():
        if key not in POOL_FIELDS:
            raise TypeError("unknown rate pool field %r" % key)
        setattr(p, key, int(value) if key == "updated_unix_s" else float(value))
    ffi.lib().risk_engine_set_rate_pool(engine._require(), engine._asset_id(asset), ctypes.byref(p))


def rate_pool(engine: Engine, asset: str) -> dict[str, float]:
    """An asset's pool as a dict (``risk_engine_rate_pool``)."""
    p = ffi.RiskRatePool.init()
    ffi.lib().risk_engine_rate_pool(engine._require(), engine._asset_id(asset), ctypes.byref(p))
    out = {k: getattr(p, k) for k in POOL_FIELDS}
    out["started"] = bool(p.started)
    return out


def rates(engine: Engine, asset: str) -> dict[str, float]:
    """An asset's rates at its pool's utilisation now (``risk_engine_rates``), as a dict."""
    r = ffi.RiskRates.init()
    ffi.lib().risk_engine_rates(engine._require(), engine._asset_id(asset), ctypes.byref(r))
    return _rates_dict(r)


def accrue(engine: Engine, now_unix_s: int) -> None:
    """Accrues every rate-bearing asset to ``now_unix_s`` (``risk_engine_accrue``): O(assets)."""
    ffi.lib().risk_engine_accrue(engine._require(), int(now_unix_s))


def pool_transfer(holder: Account | Basket, asset: str, delta: int) -> None:
    """Deposit or repay (delta > 0), withdraw or borrow (delta < 0) through the asset's pool
    (``risk_basket_pool_transfer``); ``holder`` is a Basket or an Account."""
    b = _basket_of(holder)
    ffi.lib().risk_basket_pool_transfer(b._require(), b.engine._asset_id(asset), float(delta))


def scaled_balance(holder: Account, asset: str) -> float:
    """The scaled amount stored for an asset (``risk_basket_scaled_balance``)."""
    b = _basket_of(holder)
    out = ctypes.c_double()
    ffi.lib().risk_basket_scaled_balance(b._require(), b.engine._asset_id(asset), ctypes.byref(out))
    return out.value


def rate_costs(holder: Account, horizon_s: float = 0.0) -> list[dict[str, Any]]:
    """Per rate-bearing balance: what it costs (> 0) or earns (< 0) per year and over
    ``horizon_s`` seconds at today's rates (``risk_basket_rate_costs``); a list of dicts."""
    b = _basket_of(holder)
    L = ffi.lib()
    ptr = b._require()
    n = ctypes.c_size_t()
    try:
        L.risk_basket_rate_costs(ptr, float(horizon_s), None, 0, ctypes.byref(n))
    except errors.BufferTooSmallError:  # anything to report: n is set
        pass
    arr = (ffi.RiskRateCost * max(n.value, 1))()
    for c in arr:
        c.version = ffi.RATE_COST_VERSION
    L.risk_basket_rate_costs(ptr, float(horizon_s), arr, n.value, ctypes.byref(n))
    out = []
    for c in arr[:n.value]:
        out.append({"asset": b.engine.asset_symbol(c.asset) or c.asset, "balance": c.balance,
                    "rate_annual": c.rate_annual, "cost_annual": c.cost_annual, "cost_horizon": c.cost_horizon,
                    "cost_annual_value": c.cost_annual_value, "cost_horizon_value": c.cost_horizon_value})
    return out


def funding_rate_binance(premium_index: float, interest_rate: float = 0.0001, clamp: float = 0.0005,
                         cap: float = 0.0) -> float:
    """Binance's funding rate: P + clamp(I - P, -clamp, clamp), capped at +/- cap (0: none)."""
    out = ctypes.c_double()
    ffi.lib().risk_funding_rate_binance(ctypes.byref(out), float(premium_index), float(interest_rate), float(clamp),
                                        float(cap))
    return out.value


def funding_rate_drift(mark_twap: int, oracle_twap: int, period_s: float = 3600.0, max_divergence_divisor: float = 10.0,
                       offset_denominator: float = 3333.0, dead_zone_denominator: float = 2000.0) -> float:
    """Drift's funding rate per period as a fraction of the oracle TWAP (``risk_funding_rate_drift``);
    the divisor is the contract tier's (33 tiers A and B, 20 C, 10 others)."""
    out = ctypes.c_double()
    ffi.lib().risk_funding_rate_drift(ctypes.byref(out), float(mark_twap), float(oracle_twap), float(period_s),
                                      float(max_divergence_divisor), float(offset_denominator),
                                      float(dead_zone_denominator))
    return out.value


def settle_funding(engine: Engine, instrument: str, rate: float, price: float = 0.0) -> dict[str, float]:
    """Settles a funding rate to every position of a perpetual (``risk_engine_settle_funding``);
    returns ``{"n_positions", "rate", "paid", "received"}`` (settle asset)."""
    r = ffi.RiskFundingResult.init()
    ffi.lib().risk_engine_settle_funding(engine._require(), engine._instrument_id(instrument), float(rate),
                                         float(price), ctypes.byref(r))
    return {"n_positions": r.n_positions, "rate": r.rate, "paid": r.paid, "received": r.received}


def accrue_funding(engine: Engine, instrument: str, rate: float, price: float = 0.0, time_unix_s: int = 0,
                   rate_short: float | None = None) -> None:
    """Advances a perpetual's cumulative funding indices by one period (``risk_engine_accrue_funding``,
    Drift's cumulative funding rate, O(1)): longs pay ``rate``, shorts receive ``rate_short``
    (``rate`` when None). Positions then hold pending funding, counted in every evaluation until
    settled (:func:`settle_account_funding` or a fill). docs/rates.md 8.2."""
    rs = float(rate) if rate_short is None else float(rate_short)
    ffi.lib().risk_engine_accrue_funding(engine._require(), engine._instrument_id(instrument), float(rate), rs,
                                         float(price), int(time_unix_s))


def funding_index(engine: Engine, instrument: str) -> dict[str, float]:
    """A perpetual's cumulative funding indices per contract in its settle asset
    (``risk_engine_funding_index``): ``{"long", "short", "time"}``."""
    lo, sh, t = ctypes.c_double(), ctypes.c_double(), ctypes.c_int64()
    ffi.lib().risk_engine_funding_index(engine._require(), engine._instrument_id(instrument), ctypes.byref(lo),
                                        ctypes.byref(sh), ctypes.byref(t))
    return {"long": lo.value, "short": sh.value, "time": float(t.value)}


def funding_pending(account: Account, asset: str) -> float:
    """The account's pending funding settled in ``asset`` (> 0 received, < 0 paid), as evaluation
    counts it (``risk_account_funding_pending``)."""
    out = ctypes.c_double()
    ffi.lib().risk_account_funding_pending(account._require(), account.engine._asset_id(asset), ctypes.byref(out))
    return out.value


def settle_account_funding(account: Account) -> dict[str, float]:
    """Settles the account's pending funding into balances (``risk_account_settle_funding``);
    returns ``{"n_positions", "paid", "received"}``."""
    r = ffi.RiskFundingResult.init()
    ffi.lib().risk_account_settle_funding(account._require(), ctypes.byref(r))
    return {"n_positions": r.n_positions, "paid": r.paid, "received": r.received}


def upnl_weight(pnl: float, weight_init: float = 1.0, weight_maint: float = 1.0, imf: float = 0.0) -> tuple[float, float]:
    """Drift's unrealised-PnL asset weights (initial, maintenance) of a PnL (``risk_upnl_weight``):
    min(weight_init, 1.1 / (1 + imf sqrt(pnl))) and weight_maint when pnl > 0, (1, 1) otherwise."""
    wi, wm = ctypes.c_double(), ctypes.c_double()
    ffi.lib().risk_upnl_weight(ctypes.byref(wi), ctypes.byref(wm), float(pnl), float(weight_init),
                               float(weight_maint), float(imf))
    return wi.value, wm.value


def set_upnl_weight(engine: Engine, instrument: str, weight_init: float = 1.0, weight_maint: float = 1.0,
                    imf: float = 0.0) -> None:
    """Counts the instrument's positive cross PnL at Drift's unrealised-PnL weights
    (``risk_engine_set_instrument_upnl_weight``); (1, 1, 0) switches it off. docs/rates.md 8.3."""
    ffi.lib().risk_engine_set_instrument_upnl_weight(engine._require(), engine._instrument_id(instrument),
                                                     float(weight_init), float(weight_maint), float(imf))


def instrument_upnl_weight(engine: Engine, instrument: str) -> dict[str, float]:
    """The instrument's unrealised-PnL weights: ``{"weight_init", "weight_maint", "imf"}``."""
    wi, wm, imf = ctypes.c_double(), ctypes.c_double(), ctypes.c_double()
    ffi.lib().risk_engine_instrument_upnl_weight(engine._require(), engine._instrument_id(instrument),
                                                 ctypes.byref(wi), ctypes.byref(wm), ctypes.byref(imf))
    return {"weight_init": wi.value, "weight_maint": wm.value, "imf": imf.value}
