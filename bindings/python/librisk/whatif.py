# SPDX-License-Identifier: Apache-2.0
"""What-if fills, max order size and margin for resting orders (include/risk/whatif.h).

Every number comes from the C library: :func:`whatif` is ``risk_account_whatif``,
:func:`max_order_qty` is ``risk_account_max_order_qty`` and :func:`orders_summary` is
``risk_account_orders_summary``. The same calls are methods of :class:`librisk.Account`
(``account.whatif(...)``, ``account.max_order_qty(...)``, ``account.orders_summary(...)``).
This module also holds the ``whatif`` and ``max-order`` command-line subcommands.

Sides are ``'buy'`` or ``'sell'``; ``leg`` is ``None`` for a one-way account and ``'long'`` or
``'short'`` (the hedge leg traded) for a hedge-mode one; ``price=0`` fills at the mark.
"""

from __future__ import annotations

import ctypes
import math
from dataclasses import dataclass

from . import errors, ffi
from .core import AccountSummary, _lookup
import argparse
from typing import Any, Sequence, TYPE_CHECKING

if TYPE_CHECKING:
    from .book import Book
    from .core import Account
    from .errors import InvalidError, LimitError, LotError, TickError
    from .ffi import RiskOrder

__all__ = ["Order", "whatif", "max_order_qty", "orders_summary"]

_ORDER_SIDES = {"buy": ffi.ORDER_BUY, "sell": ffi.ORDER_SELL}
_LEGS = {"both": ffi.SIDE_BOTH, "long": ffi.SIDE_LONG, "short": ffi.SIDE_SHORT}


@dataclass(frozen=True)
class Order:
    """An order: ``instrument`` (symbol or id), ``side`` ('buy'/'sell'), ``qty`` in contracts,
    ``price`` in quote (0: the mark), ``leg`` (None one-way, 'long'/'short' hedge)."""
    instrument: str | int
    side: str
    qty: float
    price: float = 0.0
    leg: str | None = None


def _leg(leg: str | None) -> int:
    return ffi.SIDE_BOTH if leg is None else _lookup(_LEGS, leg, "leg")


def _fill_struct(account: Account, order: Sequence[Any] | dict[str, Any] | Order, out: RiskOrder) -> None:
    if isinstance(order, dict):
        order = Order(**order)
    elif not isinstance(order, Order):
        order = Order(*order)
    out.version = ffi.ORDER_VERSION
    out.instrument = account.engine._instrument_id(order.instrument)
    out.side = _lookup(_ORDER_SIDES, order.side, "side")
    out.leg = _leg(order.leg)
    out.qty = float(order.qty)
    out.price = float(order.price)


def whatif(account: Account, instrument: str | int, side: str, qty: float, price: float = 0.0,
           leg: str | None = None) -> AccountSummary:
    """The account's :class:`AccountSummary` after a hypothetical fill; the account is unchanged."""
    ptr = account._require()
    o = ffi.RiskOrder.init()
    _fill_struct(account, Order(instrument, side, qty, price, leg), o)
    s = ffi.RiskAccountSummary.init()
    L = ffi.lib()
    L.risk_account_whatif(ptr, ctypes.byref(o), ctypes.byref(s))
    return AccountSummary._from_struct(L.risk_account_id(ptr), s)


def max_order_qty(account: Account, instrument: str, side: str, price: float = 0.0, leg: str | None = None) -> float:
    """The largest whole-lot quantity (contracts) of the order that keeps ``available >= 0``
    (``math.inf`` when no quantity makes it negative); see docs/whatif.md."""
    ptr = account._require()
    out = ctypes.c_double()
    ffi.lib().risk_account_max_order_qty(ptr, account.engine._instrument_id(instrument),
                                         _lookup(_ORDER_SIDES, side, "side"), _leg(leg), float(price),
                                         ctypes.byref(out))
    return out.value


def orders_summary(account: Account, orders: list[Any]) -> tuple[AccountSummary, list[bool]]:
    """The summary with resting ``orders`` (Order objects, tuples or dicts) under each instrument's
    worse side filling; returns ``(AccountSummary, fills)`` with one bool per order."""
    ptr = account._require()
    orders = list(orders)
    arr = (ffi.RiskOrder * max(len(orders), 1))()
    for i, order in enumerate(orders):
        _fill_struct(account, order, arr[i])
    fills = (ctypes.c_uint32 * max(len(orders), 1))()
    s = ffi.RiskAccountSummary.init()
    L = ffi.lib()
    L.risk_account_orders_summary(ptr, arr, len(orders), ctypes.byref(s), fills)
    return AccountSummary._from_struct(L.risk_account_id(ptr), s), [bool(fills[i]) for i in range(len(orders))]


# ---------------------------------------------------------------- command line


def add_subcommands(sub: argparse._SubParsersAction[Any]) -> None:
    """Registers ``whatif`` and ``max-order`` on the CLI's subparsers."""
    w = sub.add_parser("whatif", help="print an account's summary after a hypothetical fill (the shape of one "
                                      "account of `evaluate`, positions after the fill)")
    m = sub.add_parser("max-order", help="print the largest whole-lot order that keeps available >= 0: "
                                         "{\"qty\": Q} (null when unbounded)")
    for p in (w, m):
        p.add_argument("book", metavar="BOOK.json")
        p.add_argument("--account", required=True, type=int, help="the account's id")
        p.add_argument("--instrument", required=True, help="instrument symbol")
        p.add_argument("--side", required=True, choices=("buy", "sell"))
        p.add_argument("--price", type=float, default=0.0, help="fill price on the tick (default: the mark)")
        p.add_argument("--leg", choices=("long", "short"), help="the hedge leg traded (hedge-mode accounts)")
        p.add_argument("--compact", action="store_true", help="print the JSON on one line")
        p.set_defaults(threads=1)
    w.add_argument("--qty", required=True, type=float, help="contracts, a whole number of lots")


def _target(loaded: Book, args: argparse.Namespace) -> Account:
    from .book import BookError
    spec = loaded.spec
    for acc, a in zip(loaded.accounts, spec["accounts"]):
        if a["id"] == args.account:
            break
    else:
        raise BookError("--account", "no account %d in the book" % args.account)
    if args.instrument not in {ins["symbol"] for ins in spec["instruments"]}:
        raise BookError("--instrument", "unknown instrument %r" % args.instrument)
    if not math.isfinite(args.price) or args.price < 0:
        raise BookError("--price", "must be finite and >= 0 (0: the mark)")
    if args.leg is None and a["position_mode"] == "hedge":
        raise BookError("--leg", "a hedge-mode account needs --leg long or short")
    if args.leg is not None and a["position_mode"] != "hedge":
        raise BookError("--leg", "only a hedge-mode account has legs")
    return acc


def _option_of(exc: Any) -> str:
    msg = (exc.message or "").lower()
    if isinstance(exc, errors.LotError) or "qty" in msg:
        return "--qty"
    if isinstance(exc, errors.TickError) or "price" in msg:
        return "--price"
    return "--leg" if isinstance(exc, errors.StateError) else "order"


def _real_fill(acc: Account, args: argparse.Namespace, price: float) -> None:
    """The calls the what-if stands for, on the CLI's own copy of the book: the taker fee from the
    settle balance, the fill, then the isolated top-up (include/risk/whatif.h, risk/trading.h)."""
    sign = 1.0 if args.side == "buy" else -1.0
    leg = args.leg or "both"
    eng = acc.engine
    fee = eng.fill_fee(args.instrument, args.qty, price)
    if fee:
        acc.basket.add_balance(eng.instrument_settle(args.instrument), -fee)
    try:
        pos = acc.find_position(args.instrument, None if leg == "both" else leg)
    except errors.NotFoundError:
        qty = sign * args.qty if leg == "both" else args.qty
        pos = acc.open_position(args.instrument, qty, price, side=None if leg == "both" else leg)
    else:
        pos.adjust(sign * args.qty, price)
        if pos.closed:
            return
    if pos.margin_mode == "isolated":
        for p, r in zip(acc.positions, acc.position_results()):
            if p is pos and r.initial_margin > r.isolated_margin:
                pos.set_isolated_margin(r.initial_margin)


def run(loaded: Book, args: argparse.Namespace) -> dict[str, Any]:
    """Runs ``whatif`` or ``max-order`` on a loaded book; returns the JSON document (BookError on bad input)."""
    from . import book as _book
    acc = _target(loaded, args)
    try:
        if args.command == "max-order":
            q = max_order_qty(acc, args.instrument, args.side, args.price, args.leg)
            from .grid import Grid
            return {"qty": Grid(loaded.spec).qty(args.instrument, q) if math.isfinite(q) else None}
        s = whatif(acc, args.instrument, args.side, args.qty, args.price, args.leg)
    except errors.RiskError as exc:
        raise _book.BookError(_option_of(exc), exc.message or exc.name) from None
    price = args.price or loaded.engine.mark(args.instrument)
    try:
        _real_fill(acc, args, price)
    except errors.RiskError as exc:  # the mark off the tick: positions as they are
        raise _book.BookError("--price", "cannot fill at %r: %s" % (price, exc.message or exc.name)) from None
    doc = _book.evaluate(loaded)
    entry = next(e for e in doc["accounts"] if e["id"] == args.account)
    from .grid import Grid
    entry.update(_book.account_fields(s, Grid(loaded.spec)))
    return entry
