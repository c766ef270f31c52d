# SPDX-License-Identifier: Apache-2.0
"""Liquidation: policy, plans, applying them, insurance funds and ADL queues (include/risk/liquidation.h).

Every number comes from the C library; this module converts between Python values and the C
structs and names ids by symbol. See docs/liquidation.md for the algorithm and its sources.

>>> from librisk import liquidation
>>> liquidation.set_policy(engine, buffer=0.02, fee=0.01, insurance_fee=0.01)   # doctest: +SKIP
>>> plan = liquidation.plan(account)                                            # doctest: +SKIP
>>> liquidation.apply_plan(account, plan)                                       # doctest: +SKIP
"""

from __future__ import annotations

import ctypes

from . import errors, ffi
import argparse
from typing import Any, Callable, TYPE_CHECKING

if TYPE_CHECKING:
    from .book import Book
    from .core import Account, Engine
    from .ffi import RiskAdlEntry, RiskLiquidationAction, RiskLiquidationPlan, RiskLiquidationPolicy
    from .grid import Grid

__all__ = ["Policy", "Plan", "set_policy", "policy", "deposit", "insurance_fund", "plan", "apply_plan",
           "liquidate_all", "adl_ranking", "adl_merge", "EXIT_TARGETS", "PRICE_MODELS", "POLICY_FIELDS", "PLAN_FIELDS"]

EXIT_TARGETS = {"buffer": ffi.EXIT_BUFFER, "initial": ffi.EXIT_INITIAL}
PRICE_MODELS = {"mark": ffi.PRICE_MARK, "penalty": ffi.PRICE_PENALTY}
OUTCOMES = {ffi.PLAN_NONE: "none", ffi.PLAN_PARTIAL: "partial", ffi.PLAN_LIMITED: "limited",
            ffi.PLAN_CLOSE_OUT: "close_out"}
_SIDES = {ffi.ORDER_BUY: "buy", ffi.ORDER_SELL: "sell"}
_LEGS = {ffi.SIDE_BOTH: None, ffi.SIDE_LONG: "long", ffi.SIDE_SHORT: "short"}

#: Policy fields in the order of ``risk_liquidation_policy`` (the book's "liquidation" object).
POLICY_FIELDS = ("exit_target", "buffer", "fee", "insurance_fee", "price_model", "penalty", "close_factor",
                 "full_close_health", "bonus", "protocol_share", "min_notional", "deficit", "backstop_account")
DEFICITS = {"report": ffi.DEFICIT_REPORT, "socialize": ffi.DEFICIT_SOCIALIZE}
#: Fields that are not numbers: names, or an account id (None: no backstop).
_SPECIAL = ("exit_target", "price_model", "deficit", "backstop_account")


class Policy:
    """A liquidation policy; defaults are ``RISK_LIQUIDATION_POLICY_INIT``'s.

    ``exit_target`` is ``'buffer'`` or ``'initial'``, ``price_model`` ``'mark'`` or ``'penalty'``,
    ``deficit`` ``'report'`` or ``'socialize'``, ``backstop_account`` an account id or None;
    the other fields are numbers (see docs/book-format.md).
    """
    __slots__ = POLICY_FIELDS

    def __init__(self, **fields: float | str) -> None:
        c = ffi.RiskLiquidationPolicy.init()
        self.exit_target = "buffer"
        self.price_model = "mark"
        self.deficit = "report"
        self.backstop_account = None
        for k in POLICY_FIELDS:
            if k not in _SPECIAL:
                setattr(self, k, getattr(c, k))
        for k, v in fields.items():
            if k not in POLICY_FIELDS:
                raise TypeError("unknown policy field %r" % k)
            setattr(self, k, v)

    def _struct(self) -> RiskLiquidationPolicy:
        c = ffi.RiskLiquidationPolicy.init()
        if self.exit_target not in EXIT_TARGETS:
            raise errors.make(errors.InvalidError, "exit_target must be 'buffer' or 'initial' (got %r)"
                              % (self.exit_target,))
        if self.price_model not in PRICE_MODELS:
            raise errors.make(errors.InvalidError, "price_model must be 'mark' or 'penalty' (got %r)"
                              % (self.price_model,))
        if self.deficit not in DEFICITS:
            raise errors.make(errors.InvalidError, "deficit must be 'report' or 'socialize' (got %r)"
                              % (self.deficit,))
        b = self.backstop_account
        if b is not None and (isinstance(b, bool) or not isinstance(b, int) or not 0 <= b < 2 ** 64):
            raise errors.make(errors.InvalidError, "backstop_account must be an account id or None (got %r)" % (b,))
        c.exit_target = EXIT_TARGETS[self.exit_target]
        c.price_model = PRICE_MODELS[self.price_model]
        c.deficit = DEFICITS[self.deficit]
        c.has_backstop = b is not None
        c.backstop_account = b or 0
        for k in POLICY_FIELDS:
            if k not in _SPECIAL:
                setattr(c, k, float(getattr(self, k)))
        return c

    @classmethod
    def _from_struct(cls, c: RiskLiquidationPolicy) -> Policy:
        p = cls()
        p.exit_target = next(k for k, v in EXIT_TARGETS.items() if v == c.exit_target)
        p.price_model = next(k for k, v in PRICE_MODELS.items() if v == c.price_model)
        p.deficit = next(k for k, v in DEFICITS.items() if v == c.deficit)
        p.backstop_account = c.backstop_account if c.has_backstop else None
        for k in POLICY_FIELDS:
            if k not in _SPECIAL:
                setattr(p, k, getattr(c, k))
        return p

    def as_dict(self) -> Any:
        return {k: getattr(self, k) for k in POLICY_FIELDS}

    def __repr__(self) -> str:
        return "Policy(%s)" % ", ".join("%s=%r" % kv for kv in self.as_dict().items())


def set_policy(engine: Engine, policy: Policy | None = None, instrument: str | int | None = None,
               **fields: str | float) -> None:
    """Sets the engine's policy, or an instrument's override (``instrument=`` symbol or id).

    Pass a :class:`Policy` or its fields as keywords. ``set_policy(engine, None, instrument=X)``
    with no fields removes X's override.
    """
    if policy is None and fields:
        policy = Policy(**fields)
    elif policy is not None and fields:
        raise TypeError("pass a Policy or keyword fields, not both")
    L = ffi.lib()
    if instrument is None:
        if policy is None:
            raise TypeError("the engine's policy cannot be removed; pass a Policy")
        L.risk_engine_set_liquidation_policy(engine._require(), ctypes.byref(policy._struct()))
        return
    iid = engine._instrument_id(instrument)
    ptr = ctypes.byref(policy._struct()) if policy is not None else None
    L.risk_engine_set_instrument_liquidation_policy(engine._require(), iid, ptr)


def policy(engine: Engine, instrument: str | None = None) -> Policy:
    """The engine's policy, or the one that applies to an instrument's positions."""
    c = ffi.RiskLiquidationPolicy.init()
    L = ffi.lib()
    if instrument is None:
        L.risk_engine_liquidation_policy(engine._require(), ctypes.byref(c))
    else:
        L.risk_engine_instrument_liquidation_policy(engine._require(), engine._instrument_id(instrument),
                                                    ctypes.byref(c))
    return Policy._from_struct(c)


def deposit(engine: Engine, asset: str | int, amount: float) -> None:
    """Adds ``amount`` (>= 0) to the insurance fund of ``asset``."""
    ffi.lib().risk_engine_insurance_fund_deposit(engine._require(), engine._asset_id(asset), float(amount))


def insurance_fund(engine: Engine, asset: str | int) -> dict[str, float]:
    """The insurance fund of ``asset``: ``{"balance", "deposits", "contributions", "draws"}``."""
    c = ffi.RiskInsuranceFund.init()
    ffi.lib().risk_engine_insurance_fund(engine._require(), engine._asset_id(asset), ctypes.byref(c))
    return {"balance": c.balance, "deposits": c.deposits, "contributions": c.contributions, "draws": c.draws}


class Plan:
    """A liquidation plan: ``account_id``, ``outcome`` (``'none'``, ``'partial'``, ``'limited'``,
    ``'close_out'``), ``health_before``, ``health_after``, ``equity_before``, ``equity_after``,
    ``deficit``, ``uncovered``, ``fund_drawn``, ``socialized``, ``trigger`` (a dict: ``"cross"``,
    ``"isolated"``, ``"bankrupt"`` flags and the ``"instrument"``/``"leg"`` or ``"asset"`` that
    triggered) and ``actions`` (dicts in the ``librisk-plans/2`` shape)."""
    __slots__ = ("account_id", "outcome", "health_before", "health_after", "equity_before", "equity_after",
                 "deficit", "uncovered", "fund_drawn", "socialized", "trigger", "actions", "_header", "_raw")
    account_id: int
    outcome: str
    health_before: float
    health_after: float
    equity_before: float
    equity_after: float
    deficit: float
    uncovered: float
    fund_drawn: float
    socialized: float
    trigger: dict[str, Any]
    actions: list[dict[str, Any]]
    _header: Any  # the C plan header (ffi.RiskLiquidationPlan)
    _raw: Any  # the C actions array

    def __repr__(self) -> str:
        kinds: dict[str, int] = {}
        for a in self.actions:
            kinds[a["type"]] = kinds.get(a["type"], 0) + 1
        acts = ", ".join("%d %s" % (n, k) for k, n in kinds.items()) or "no actions"
        return "<Plan account=%d %s health %r -> %r (%s)>" % (self.account_id, self.outcome, self.health_before,
                                                             self.health_after, acts)

    def as_dict(self) -> Any:
        """The plan's header fields and actions as a dict (unrounded)."""
        return {"account": self.account_id, "outcome": self.outcome, "health_before": self.health_before,
                "health_after": self.health_after, "equity_before": self.equity_before,
                "equity_after": self.equity_after, "deficit": self.deficit, "uncovered": self.uncovered,
                "fund_drawn": self.fund_drawn, "socialized": self.socialized, "trigger": dict(self.trigger),
                "actions": list(self.actions)}


def _name(table: Any, key: Any) -> Any:
    return table.get(key, key)


def _action_dict(engine: Engine, a: RiskLiquidationAction) -> dict[str, Any]:
    asset = engine.asset_symbol(a.asset) or a.asset
    if a.type == ffi.ACTION_REDUCE:
        d = {"type": "reduce", "instrument": engine.instrument_symbol(a.instrument) or a.instrument,
             "side": _SIDES[a.side], "qty": a.qty, "price": a.price, "fee": a.fee, "insurance_fee": a.insurance_fee}
    elif a.type == ffi.ACTION_SEIZE:
        d = {"type": "seize", "asset": asset, "amount": a.amount,
             "repay_asset": engine.asset_symbol(a.repay_asset) or a.repay_asset, "repay_amount": a.repay_amount,
             "bonus": a.bonus, "protocol_fee": a.protocol_fee}
    elif a.type == ffi.ACTION_INSURANCE:
        d = {"type": "insurance", "asset": asset, "amount": a.amount}
    elif a.type == ffi.ACTION_SOCIALIZE:
        d = {"type": "socialize", "counterparty": a.counterparty,
             "instrument": engine.instrument_symbol(a.instrument) or a.instrument, "asset": asset,
             "amount": a.amount}
    else:
        d = {"type": "adl" if a.type == ffi.ACTION_ADL else "backstop", "counterparty": a.counterparty,
             "instrument": engine.instrument_symbol(a.instrument) or a.instrument, "side": _SIDES[a.side],
             "qty": a.qty, "price": a.price}
    leg = _LEGS.get(a.leg)
    if leg and d["type"] in ("reduce", "adl", "backstop"):
        d["leg"] = leg
    return d


def _trigger_dict(engine: Engine, h: RiskLiquidationPlan) -> dict[str, Any]:
    """What made the account liquidatable, from a plan header."""
    d: dict[str, Any] = {"cross": bool(h.trigger & ffi.TRIGGER_CROSS), "isolated": bool(h.trigger & ffi.TRIGGER_ISOLATED),
         "bankrupt": bool(h.trigger & ffi.TRIGGER_BANKRUPT)}
    if h.trigger_instrument != ffi.ID_NONE:
        d["instrument"] = engine.instrument_symbol(h.trigger_instrument) or h.trigger_instrument
        leg = _LEGS.get(h.trigger_leg)
        if leg:
            d["leg"] = leg
    if h.trigger_asset != ffi.ID_NONE:
        d["asset"] = engine.asset_symbol(h.trigger_asset) or h.trigger_asset
    return d


def plan(account: Account) -> Plan:
    """The liquidation :class:`Plan` of an account (empty when it is not liquidatable)."""
    L = ffi.lib()
    ptr = account._require()
    header = ffi.RiskLiquidationPlan.init()
    n = ctypes.c_size_t(0)
    try:
        L.risk_account_liquidation_plan(ptr, ctypes.byref(header), None, 0, ctypes.byref(n))
        raw = (ffi.RiskLiquidationAction * 0)()
    except errors.BufferTooSmallError:
        raw = (ffi.RiskLiquidationAction * n.value)()
        header = ffi.RiskLiquidationPlan.init()
        L.risk_account_liquidation_plan(ptr, ctypes.byref(header), raw, n.value, ctypes.byref(n))
    return _plan_from(account.engine, header, raw)


def _plan_from(engine: Engine, header: Any, raw: Any) -> Plan:
    """A :class:`Plan` from a C plan header and its actions array (both kept)."""
    p = Plan()
    p.account_id = header.account_id
    p.outcome = OUTCOMES[header.outcome]
    for k in ("health_before", "health_after", "equity_before", "equity_after", "deficit", "uncovered",
              "fund_drawn", "socialized"):
        setattr(p, k, getattr(header, k))
    p.trigger = _trigger_dict(engine, header)
    p.actions = [_action_dict(engine, a) for a in raw[:header.n_actions]]
    p._header = header
    p._raw = raw
    return p


def apply_plan(account: Account, p: Plan) -> None:
    """Applies a :class:`Plan` made by :func:`plan` to the account, all or nothing."""
    ffi.lib().risk_account_apply_plan(account._require(), ctypes.byref(p._header), p._raw, p._header.n_actions)


def liquidate_all(engine: Engine, on_plan: Callable[[Plan], None] | None = None) -> dict[str, int]:
    """Plans and applies the plan of every liquidatable account of the engine, in creation order,
    each applied before the next is made: what :func:`plan` and :func:`apply_plan` account by
    account give, bit for bit, in one call linear in the book (``risk_engine_liquidate_all``).
    ``on_plan`` receives each applied :class:`Plan` right after it is applied (the accounts then
    show the balances after it); it must not change the engine. Returns the counts ``plans``,
    ``applied``, ``close_outs`` and ``actions``."""
    L = ffi.lib()
    failure: list[BaseException] = []

    def cb(user: Any, header_p: Any, acts_p: Any, n: int) -> int:
        try:
            if on_plan is not None:
                header = ffi.RiskLiquidationPlan.from_buffer_copy(header_p.contents)
                raw = (ffi.RiskLiquidationAction * n)()
                if n:
                    ctypes.memmove(raw, acts_p, n * ctypes.sizeof(ffi.RiskLiquidationAction))
                on_plan(_plan_from(engine, header, raw))
            return 0
        except BaseException as exc:  # raised again once the C call has returned
            failure.append(exc)
            return 2  # RISK_EINVAL: stops the batch

    opts = ffi.RiskLiquidateAllOptions.init()
    fn = ffi.LiquidateAllFn(cb)
    opts.on_plan = fn
    res = ffi.RiskLiquidateAllResult.init()
    try:
        L.risk_engine_liquidate_all(engine._require(), ctypes.byref(opts), ctypes.byref(res))
    except errors.RiskError:
        if failure:
            raise failure[0] from None
        raise
    return {"plans": res.n_plans, "applied": res.n_applied, "close_outs": res.n_close_outs,
            "actions": res.n_actions}


_ADL_SIDES = {"long": ffi.SIDE_LONG, "short": ffi.SIDE_SHORT}
_ADL_SIDE_NAMES = {v: k for k, v in _ADL_SIDES.items()}


def adl_ranking(engine: Engine, instrument: str | int, side: str) -> list[dict[str, Any]]:
    """The ADL queue of one side (``'long'`` or ``'short'``) of an instrument, best first: dicts
    ``{"account", "leg", "qty", "pnl_pct", "effective_leverage", "score", "instrument", "side"}``
    (``instrument`` the symbol, ``side`` the side ranked)."""
    if side not in _ADL_SIDES:
        raise errors.make(errors.InvalidError, "side must be 'long' or 'short' (got %r)" % (side,))
    L = ffi.lib()
    iid = engine._instrument_id(instrument)
    n = ctypes.c_size_t(0)
    try:
        L.risk_engine_adl_ranking(engine._require(), iid, _ADL_SIDES[side], None, 0, ctypes.byref(n))
        return []
    except errors.BufferTooSmallError:
        pass
    out = (ffi.RiskAdlEntry * n.value)()
    out[0].version = ffi.ADL_ENTRY_VERSION
    L.risk_engine_adl_ranking(engine._require(), iid, _ADL_SIDES[side], out, n.value, ctypes.byref(n))
    symbol = engine.instrument_symbol(iid) or iid
    return [_adl_dict(e, symbol) for e in out[:n.value]]


def _adl_dict(e: RiskAdlEntry, instrument: str | int) -> dict[str, Any]:
    return {"account": e.account_id, "leg": _LEGS.get(e.leg), "qty": e.qty, "pnl_pct": e.pnl_pct,
            "effective_leverage": e.effective_leverage, "score": e.score, "instrument": instrument,
            "side": _ADL_SIDE_NAMES.get(e.side, e.side)}


def adl_merge(*queues: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """Merges the ADL queues of several engines (shards), as :func:`adl_ranking` returns them,
    into the queue of one engine holding every account (``risk_adl_merge``): score descending,
    then account id, then leg. The queues must be of one instrument (by symbol) and side, each in
    ranking order, with no position twice (InvalidError otherwise)."""
    legs = {v: k for k, v in _LEGS.items()}
    symbols: dict[Any, int] = {}
    arrays, counts = [], []
    for q in queues:
        arr = (ffi.RiskAdlEntry * max(len(q), 1))()
        for i, d in enumerate(q):
            x = arr[i]
            x.version = ffi.ADL_ENTRY_VERSION
            x.account_id = int(d["account"])
            x.leg = legs.get(d["leg"], ffi.SIDE_BOTH)
            x.qty, x.pnl_pct = float(d["qty"]), float(d["pnl_pct"])
            x.effective_leverage, x.score = float(d["effective_leverage"]), float(d["score"])
            x.instrument = symbols.setdefault(d["instrument"], len(symbols))  # same symbol, same id
            x.side = _ADL_SIDES.get(d["side"], 0)
        arrays.append(arr)
        counts.append(len(q))
    k = len(arrays)
    total = sum(counts)
    ptrs = (ctypes.POINTER(ffi.RiskAdlEntry) * max(k, 1))(
        *[ctypes.cast(a, ctypes.POINTER(ffi.RiskAdlEntry)) for a in arrays])
    c_counts = (ctypes.c_size_t * max(k, 1))(*counts)
    out = (ffi.RiskAdlEntry * max(total, 1))()
    n = ctypes.c_size_t(0)
    ffi.lib().risk_adl_merge(out, total, ptrs, c_counts, k, ctypes.byref(n))
    names = {v: s for s, v in symbols.items()}
    return [_adl_dict(e, names.get(e.instrument, e.instrument)) for e in out[:n.value]]


# ---------------------------------------------------------------- command line: liquidate

PLANS_FORMAT = "librisk-plans/2"


def _round_action(d: dict[str, Any], grid: Grid) -> dict[str, Any]:
    """An action dict with its numbers on their grids: qty in lots, price on the tick, money in
    the decimals of the asset it is in (the settle asset for reduce fees)."""
    out = dict(d)
    ins = d.get("instrument")
    for k, v in d.items():
        if not isinstance(v, float):
            continue
        if k == "qty":
            out[k] = grid.qty(ins, v)
        elif k == "price":
            out[k] = grid.price(ins, v)
        elif k in ("fee", "insurance_fee"):
            out[k] = grid.settle_money(ins, v)
        elif k == "repay_amount":
            out[k] = grid.money(d.get("repay_asset"), v)
        else:  # amount, bonus, protocol_fee: in the action's asset
            out[k] = grid.money(d.get("asset"), v)
    return out


def _balances_after(book: Book, acc: Account, spec_account: dict[str, Any]) -> dict[str, float]:
    """The account's balances once its plan is applied, ``{asset: amount}`` in the book's asset
    order: every asset held before or after (0 when the plan took all of it)."""
    held_before = {sym for sym, _ in spec_account["balances"]}
    out = {}
    for a in book.spec["assets"]:
        sym = a["symbol"]
        amount = acc.basket.balance(sym)
        if amount != 0.0 or sym in held_before:
            out[sym] = amount
    return out


#: The fields of one plan of ``librisk-plans/2``, in output order: (key, value from the Plan, the
#: account's balances after it and the book's grids). A new plan field is one line here (and one
#: row in docs/book-format.md section 6.1).
PLAN_FIELDS = (
    ("account", lambda p, after, g: p.account_id),
    ("outcome", lambda p, after, g: p.outcome),
    ("health_before", lambda p, after, g: _jnum(p.health_before)),
    ("health_after", lambda p, after, g: _jnum(p.health_after)),
    ("equity_before", lambda p, after, g: g.value(p.equity_before)),
    ("equity_after", lambda p, after, g: g.value(p.equity_after)),
    ("deficit", lambda p, after, g: g.value(p.deficit)),
    ("uncovered", lambda p, after, g: g.value(p.uncovered)),
    ("fund_drawn", lambda p, after, g: g.value(p.fund_drawn)),
    ("socialized", lambda p, after, g: g.value(p.socialized)),
    ("trigger", lambda p, after, g: dict(p.trigger)),
    ("balances_after", lambda p, after, g: {sym: g.money(sym, x) for sym, x in after.items()}),
    ("actions", lambda p, after, g: [_round_action(a, g) for a in p.actions]),
)


def _jnum(x: float) -> float | None:
    from .book import _jnum as jnum
    return jnum(x)


def add_cli_parser(sub: argparse._SubParsersAction[Any]) -> None:
    """Registers ``liquidate`` on the CLI's subparsers."""
    lq = sub.add_parser("liquidate", help="print the liquidation plan of every liquidatable account as one JSON "
                                          "document (librisk-plans/2); plans are made in book order, each "
                                          "applied before the next")
    lq.add_argument("book", metavar="BOOK.json")
    lq.add_argument("--account", type=int, action="append", metavar="ID",
                    help="plan only this account (repeatable); an id not in the book is bad input")
    lq.add_argument("--compact", action="store_true", help="print the JSON on one line")


def plans_document(book: Book, account_ids: list[int] | None = None) -> dict[str, Any]:
    """Plans of every liquidatable account of a loaded book (or of ``account_ids``), in book
    order, each applied before the next is made (fund draws and ADL fills of earlier plans are
    seen by later ones). An id not in the book raises ``KeyError``. Each plan has the fields of
    :data:`PLAN_FIELDS`; ``balances_after`` are read from the account once its plan is applied."""
    from .grid import Grid
    wanted = None
    if account_ids:
        known = {acc.id for acc in book.accounts}
        for aid in account_ids:
            if aid not in known:
                raise KeyError("--account: no account %d in the book" % aid)
        wanted = set(account_ids)
    grid = Grid(book.spec)
    plans: list[dict[str, Any]] = []
    if wanted is None:  # the whole book: one batch call, linear in the book
        # account id -> row, from the ids alone: a bulk-loaded book makes the account and spec
        # objects of the planned accounts only (a tenth of a typical book), not of every account
        from .bulkbook import account_ids as book_ids
        row_of = {aid: i for i, aid in enumerate(book_ids(book))}

        def record(p: Plan) -> None:
            i = row_of[p.account_id]
            acc, spec_account = book.accounts[i], book.spec["accounts"][i]
            after = _balances_after(book, acc, spec_account)
            plans.append({key: value(p, after, grid) for key, value in PLAN_FIELDS})
        liquidate_all(book.engine, record)
        return {"format": PLANS_FORMAT, "plans": plans}
    for acc, spec_account in zip(book.accounts, book.spec["accounts"]):
        if acc.id not in wanted:
            continue
        p = plan(acc)
        if p.outcome == "none":
            continue
        apply_plan(acc, p)
        after = _balances_after(book, acc, spec_account)
        plans.append({key: value(p, after, grid) for key, value in PLAN_FIELDS})
    return {"format": PLANS_FORMAT, "plans": plans}
