# SPDX-License-Identifier: Apache-2.0
"""Borrowing-cost optimisation (include/risk/optimise.h, docs/rates.md section 9).

:func:`optimise` asks the C library for the cheapest mix of collateral to post and assets to
borrow that carries a target (an extra IM/MM requirement, cash to take out), or, with
``mode="max_size"``, for the largest multiple of the target a budget of interest carries::

    plan = optimise(account, [{"asset": "BTC", "post_max": 2},
                              {"asset": "USDT", "withdraw_max": 50000, "borrow_max": 50000, "cash": True}],
                    cash_value=20000, health_maint_min=1.25)
    plan["moves"][0]["delta_grid"], plan["cost_annual"], plan["saving_horizon"]

A candidate is a dict: ``asset`` (symbol or id), ``post_max``, ``withdraw_max``, ``borrow_max``
(asset units, default 0), ``outside_annual`` (yield outside the account), ``cash`` (True: it may
deliver the cash), and optionally ``borrow_annual`` with ``supply_annual`` (rates given by the
caller instead of the engine's rate model). Every number comes from the C library.
"""

import ctypes

from . import ffi

__all__ = ["MODES", "optimise"]

MODES = {"min_cost": ffi.OPTIMISE_MIN_COST, "max_size": ffi.OPTIMISE_MAX_SIZE}
_OUTCOMES = {ffi.OPTIMISE_OPTIMAL: "optimal", ffi.OPTIMISE_INFEASIBLE: "infeasible"}
_CANDIDATE_KEYS = {"asset", "post_max", "withdraw_max", "borrow_max", "outside_annual", "cash", "borrow_annual",
                   "supply_annual"}
_RESULT_FIELDS = [name for name, _ in ffi.RiskOptimiseResult._fields_[4:]]
_MOVE_FIELDS = [name for name, _ in ffi.RiskOptimiseMove._fields_[2:]]


def _candidate(engine, c):
    unknown = set(c) - _CANDIDATE_KEYS
    if unknown:
        raise TypeError("unknown candidate field(s): %s" % ", ".join(sorted(unknown)))
    a = ffi.RiskOptimiseAsset.init()
    a.asset = engine._asset_id(c["asset"])
    for key in ("post_max", "withdraw_max", "borrow_max", "outside_annual"):
        setattr(a, key, float(c.get(key, 0.0)))
    if c.get("cash"):
        a.flags |= ffi.OPTIMISE_CASH
    if "borrow_annual" in c or "supply_annual" in c:
        a.flags |= ffi.OPTIMISE_RATES_GIVEN
        a.borrow_annual = float(c.get("borrow_annual", 0.0))
        a.supply_annual = float(c.get("supply_annual", 0.0))
    return a


def optimise(account, candidates, horizon_s=31536000.0, health_init_min=1.0, health_maint_min=1.0,
             ltv_buffer_min=None, im_value=0.0, mm_value=0.0, cash_value=0.0, mode="min_cost", budget_value=0.0):
    """The optimal plan (``risk_account_optimise``) as a dict: ``outcome`` ("optimal" or
    "infeasible"), the result's fields (costs and health in the valuation asset, duals, duality
    gap) and ``moves``, one dict per candidate in order (``asset`` symbol, balances, ``delta``,
    ``delta_grid`` on the asset's quantum, ``borrowed``, rate and costs)."""
    if mode not in MODES:
        raise ValueError("mode must be one of %s (got %r)" % (", ".join(sorted(MODES)), mode))
    engine = account.engine
    spec = ffi.RiskOptimiseSpec.init()
    spec.mode = MODES[mode]
    spec.horizon_s = float(horizon_s)
    spec.health_init_min = float(health_init_min)
    spec.health_maint_min = float(health_maint_min)
    if ltv_buffer_min is not None:
        spec.flags |= ffi.OPTIMISE_LTV_BUFFER
        spec.ltv_buffer_min = float(ltv_buffer_min)
    spec.im_value = float(im_value)
    spec.mm_value = float(mm_value)
    spec.cash_value = float(cash_value)
    spec.budget_value = float(budget_value)
    cands = list(candidates)
    n = len(cands)
    arr = (ffi.RiskOptimiseAsset * max(n, 1))()
    for i, c in enumerate(cands):
        arr[i] = _candidate(engine, c)
    moves = (ffi.RiskOptimiseMove * max(n, 1))()
    for m in moves:
        m.version = ffi.OPTIMISE_MOVE_VERSION
    res = ffi.RiskOptimiseResult.init()
    ffi.lib().risk_account_optimise(account._require(), ctypes.byref(spec), arr, n, ctypes.byref(res), moves)
    out = {"outcome": _OUTCOMES.get(res.outcome, res.outcome), "iterations": res.iterations,
           "baseline_feasible": bool(res.baseline_feasible)}
    out.update((name, getattr(res, name)) for name in _RESULT_FIELDS)
    out["moves"] = []
    for m in moves[:n]:
        d = {"asset": engine.asset_symbol(m.asset) or m.asset}
        d.update((name, getattr(m, name)) for name in _MOVE_FIELDS)
        out["moves"].append(d)
    return out
