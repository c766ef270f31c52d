# SPDX-License-Identifier: Apache-2.0
"""Borrowing-cost optimisation (include/risk/optimise.h, docs/rates.md section 10).

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
import math
from typing import Any, Dict, Iterable, Optional, Tuple

from . import ffi

__all__ = ["MODES", "optimise"]

MODES = {"min_cost": ffi.OPTIMISE_MIN_COST, "max_size": ffi.OPTIMISE_MAX_SIZE}
_OUTCOMES = {ffi.OPTIMISE_OPTIMAL: "optimal", ffi.OPTIMISE_INFEASIBLE: "infeasible"}
_CANDIDATE_KEYS = {"asset", "post_max", "withdraw_max", "borrow_max", "outside_annual", "cash", "utilisation",
                   "borrow_annual",
                   "supply_annual"}
_RESULT_FIELDS = [name for name, _ in ffi.RiskOptimiseResult._fields_[4:]]
_MOVE_FIELDS = [name for name, _ in ffi.RiskOptimiseMove._fields_[2:]]


def _candidate(engine: Any, c: Dict[str, Any]) -> Any:
    unknown = set(c) - _CANDIDATE_KEYS
    if unknown:
        raise TypeError("unknown candidate field(s): %s" % ", ".join(sorted(unknown)))
    a = ffi.RiskOptimiseAsset.init()
    a.asset = engine._asset_id(c["asset"])
    for key in ("post_max", "withdraw_max", "borrow_max", "outside_annual"):
        setattr(a, key, float(c.get(key, 0.0)))
    if c.get("cash"):
        a.flags |= ffi.OPTIMISE_CASH
    if c.get("utilisation"):  # the debt moves its pool's rate (docs/rates.md 10.9)
        a.flags |= ffi.OPTIMISE_UTILISATION
    if "borrow_annual" in c or "supply_annual" in c:
        a.flags |= ffi.OPTIMISE_RATES_GIVEN
        a.borrow_annual = float(c.get("borrow_annual", 0.0))
        a.supply_annual = float(c.get("supply_annual", 0.0))
    return a


def optimise(account: Any, candidates: Iterable[Dict[str, Any]], horizon_s: float = 31536000.0,
             health_init_min: float = 1.0, health_maint_min: float = 1.0, ltv_buffer_min: Optional[float] = None,
             im_value: float = 0.0, mm_value: float = 0.0, cash_value: float = 0.0, mode: str = "min_cost",
             budget_value: float = 0.0) -> Dict[str, Any]:
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


# ------------------------------------------------------------------ command line

def add_cli_parser(sub: Any) -> None:
    """Registers ``optimise`` on the CLI's subparsers."""
    p = sub.add_parser("optimise", help="print the cheapest plan of collateral to post and assets to borrow for a "
                                        "target (or, with --budget, the largest target a budget carries) and its "
                                        "saving against the account's current mix (librisk-optimise/1)")
    p.add_argument("book", metavar="BOOK.json")
    p.add_argument("--account", required=True, type=int, help="the account's id")
    p.add_argument("--target", action="append", default=[], metavar="KIND=VALUE",
                   help="im=V or mm=V (valuation asset), cash=ASSET:UNITS (taken out of the account), "
                        "position=INSTRUMENT:QTY (its IM and MM, from a what-if fill at the mark); repeatable")
    p.add_argument("--asset", action="append", default=[], metavar="SYMBOL[:key=value,...]",
                   help="a candidate: post=, withdraw=, borrow= (asset units), outside= (annual yield outside), "
                        "borrow_rate= and supply_rate= (annual, instead of the book's rate model), cash (it may "
                        "deliver the cash), utilisation (its debt moves its pool's rate); repeatable")
    p.add_argument("--horizon-days", type=float, default=365.0, help="horizon of the cost (default 365)")
    p.add_argument("--health-init", type=float, default=1.0, help="floor of C_init / R_init after (default 1)")
    p.add_argument("--health-maint", type=float, default=1.0, help="floor of C_maint / R_maint after (default 1)")
    p.add_argument("--ltv-buffer", type=float, help="floor of (C_init - liabilities) / collateral value after")
    p.add_argument("--budget", type=float, help="the reverse question: the largest multiple of the target whose "
                                                "cost over the horizon (valuation asset) is at most this")
    p.add_argument("--compact", action="store_true", help="print the JSON on one line")
    p.set_defaults(threads=1)


def _num(text: str, where: str) -> float:
    from .book import BookError
    try:
        x = float(text)
    except ValueError:
        raise BookError(where, "%r is not a number" % text) from None
    if not math.isfinite(x):
        raise BookError(where, "%r is not finite" % text)
    return x


_ASSET_KEYS = {"post": "post_max", "withdraw": "withdraw_max", "borrow": "borrow_max", "outside": "outside_annual",
               "borrow_rate": "borrow_annual", "supply_rate": "supply_annual"}


def _parse_asset(text: str, symbols: Any) -> Dict[str, Any]:
    from .book import BookError
    sym, _, rest = text.partition(":")
    if sym not in symbols:
        raise BookError("--asset", "unknown asset %r" % sym)
    c: Dict[str, Any] = {"asset": sym}
    for item in filter(None, rest.split(",")):
        key, eq, value = item.partition("=")
        if key == "cash" and not eq:
            c["cash"] = True
        elif key == "utilisation" and not eq:  # the debt moves its pool's rate (docs/rates.md 10.9)
            c["utilisation"] = True
        elif key in _ASSET_KEYS and eq:
            c[_ASSET_KEYS[key]] = _num(value, "--asset %s %s" % (sym, key))
        else:
            raise BookError("--asset", "%r: expected post=, withdraw=, borrow=, outside=, borrow_rate=, "
                                       "supply_rate=, cash or utilisation" % item)
    return c


def _parse_targets(loaded: Any, acc: Any, args: Any, symbols: Any) -> Tuple[float, float, float, Optional[str]]:
    """(im, mm, cash value, cash asset or None) of the --target options."""
    from .book import BookError
    im = mm = cash = 0.0
    cash_asset = None
    eng = loaded.engine
    if not args.target:
        raise BookError("--target", "at least one of im=, mm=, cash=, position=")
    for t in args.target:
        kind, eq, value = t.partition("=")
        if not eq:
            raise BookError("--target", "%r: expected KIND=VALUE" % t)
        if kind in ("im", "mm"):
            x = _num(value, "--target " + kind)
            if x < 0:
                raise BookError("--target", "%s must be >= 0" % kind)
            im, mm = (im + x, mm) if kind == "im" else (im, mm + x)
        elif kind == "cash":
            sym, _, units = value.partition(":")
            if sym not in symbols:
                raise BookError("--target", "cash: unknown asset %r" % sym)
            if cash_asset is not None:
                raise BookError("--target", "one cash target (list other assets that may deliver it with "
                                            "--asset SYMBOL:cash)")
            u = _num(units, "--target cash")
            if u < 0:
                raise BookError("--target", "cash must be >= 0")
            cash, cash_asset = u * eng.price(sym), sym
        elif kind == "position":
            from .whatif import whatif
            from . import errors
            ins, _, qty = value.partition(":")
            q = _num(qty, "--target position")
            try:
                before = acc.evaluate()
                after = whatif(acc, ins, "buy" if q > 0 else "sell", abs(q))
            except errors.RiskError as exc:
                raise BookError("--target", "position %s: %s" % (value, exc.message or exc.name)) from None
            im += max(after.initial_margin - before.initial_margin, 0.0)
            mm += max(after.maintenance_margin - before.maintenance_margin, 0.0)
        else:
            raise BookError("--target", "%r: the kinds are im, mm, cash, position" % kind)
    return im, mm, cash, cash_asset


def run(loaded: Any, args: Any) -> Dict[str, Any]:
    """Runs ``optimise`` on a loaded book; returns the JSON document (BookError on bad input)."""
    from .book import BookError
    from .grid import Grid
    from . import errors
    spec = loaded.spec
    for acc, a in zip(loaded.accounts, spec["accounts"]):
        if a["id"] == args.account:
            break
    else:
        raise BookError("--account", "no account %d in the book" % args.account)
    symbols = {x["symbol"] for x in spec["assets"]}
    im, mm, cash, cash_asset = _parse_targets(loaded, acc, args, symbols)
    cands = [_parse_asset(t, symbols) for t in args.asset]
    if cash_asset is not None:
        c = next((c for c in cands if c["asset"] == cash_asset), None)
        if c is None:
            raise BookError("--asset", "the cash asset %s needs an --asset entry (withdraw=, borrow=)" % cash_asset)
        c["cash"] = True
    if not cands:
        raise BookError("--asset", "at least one candidate asset")
    days = _num(repr(args.horizon_days), "--horizon-days")
    kw = dict(horizon_s=days * 86400.0, health_init_min=args.health_init, health_maint_min=args.health_maint,
              ltv_buffer_min=args.ltv_buffer, im_value=im, mm_value=mm, cash_value=cash)
    if args.budget is not None:
        kw.update(mode="max_size", budget_value=args.budget)
    try:
        plan = optimise(acc, cands, **kw)
    except errors.RiskError as exc:
        raise BookError("optimise", exc.message or exc.name) from None
    g = Grid(spec)
    size = plan["size"]
    out = {"format": "librisk-optimise/1", "account": args.account,
           "mode": "max_size" if args.budget is not None else "min_cost", "outcome": plan["outcome"],
           "horizon_days": days,
           "target": {"initial_margin": g.value(im), "maintenance_margin": g.value(mm), "cash": g.value(cash)}}
    if args.budget is not None:
        out["size"] = size
        out["budget"] = g.value(args.budget)
    moves = []
    for mv in plan["moves"]:
        sym = mv["asset"]
        before, d = mv["balance_before"], mv["delta_grid"]
        after = before + d
        post = max(d, 0.0)
        repay = min(post, max(-before, 0.0))
        taken = max(-d, 0.0)
        withdraw = min(taken, max(before, 0.0))
        moves.append({"asset": sym, "post": g.money(sym, post - repay), "repay": g.money(sym, repay),
                      "withdraw": g.money(sym, withdraw), "borrow": g.money(sym, taken - withdraw),
                      "balance_before": g.money(sym, before), "balance_after": g.money(sym, after),
                      "rate_annual": mv["rate_annual"], "cost_per_year": g.value(mv["cost_annual_value"])})
    out["plan"] = moves
    out["cost_per_year"] = g.value(plan["cost_annual"])
    out["cost_horizon"] = g.value(plan["cost_horizon"])
    out["current_mix"] = {"feasible": plan["baseline_feasible"], "cost_per_year": g.value(plan["baseline_cost_annual"]),
                          "cost_horizon": g.value(plan["baseline_cost_horizon"])}
    ok = plan["outcome"] == "optimal" and plan["baseline_feasible"] and args.budget is None
    out["saving_per_year"] = g.value(plan["baseline_cost_annual"] - plan["cost_annual"]) if ok else None
    out["saving_horizon"] = g.value(plan["saving_horizon"]) if ok else None
    # health after: the engine's own evaluation of the account with the plan on its grid applied
    # (on the CLI's copy of the book), the target's requirements added
    try:
        if plan["outcome"] == "optimal":
            for mv in plan["moves"]:
                if mv["delta_grid"]:
                    acc.basket.add_balance(mv["asset"], mv["delta_grid"])
        s = acc.evaluate()
    except errors.RiskError as exc:  # a plan the account cannot hold (a balance past 2^53 quanta)
        raise BookError("optimise", "the plan cannot be applied: %s" % (exc.message or exc.name)) from None
    ri, rm = s.initial_margin + size * im, s.maintenance_margin + size * mm
    out["health_after"] = {"init": s.collateral_init / ri if ri > 0 else None,
                           "maint": s.collateral_maint / rm if rm > 0 else None,
                           "ltv_buffer": s.ltv_buffer if math.isfinite(s.ltv_buffer) else None,
                           "health_factor_without_target": s.health_factor if math.isfinite(s.health_factor)
                           else None}
    out["certificate"] = {k: plan[k] for k in ("iterations", "duality_gap", "dual_infeasibility", "dual_health_init",
                                               "dual_health_maint", "dual_ltv", "dual_cash", "dual_budget")}
    return _finite(out)


def _finite(x: Any) -> Any:
    """The document with every number that is not finite as None (JSON has no NaN or infinity)."""
    if isinstance(x, dict):
        return {k: _finite(v) for k, v in x.items()}
    if isinstance(x, list):
        return [_finite(v) for v in x]
    if isinstance(x, float) and not math.isfinite(x):
        return None
    return x
