# SPDX-License-Identifier: Apache-2.0
"""The tick path (``risk/tick.h``, docs/tick.md): apply marks and prices, get the state changes.

::

    tick = librisk.tick.Tick(eng)
    for change in tick.apply(marks={"BTCUSDT": 49000.0}, prices={"BTC": 49010.0}):
        print(change.account_id, change.old_state, "->", change.new_state, change.summary.equity)

A :class:`Tick` re-evaluates only the accounts whose guard band the move crossed; fills and
balance changes of an account are noticed by the library. Prices set through the engine directly,
and engine-wide changes (margin-call health, schedules, accrual, funding, expiry), need
:meth:`Tick.rebuild`.
"""

from __future__ import annotations

import ctypes
import weakref
from dataclasses import dataclass
from typing import Mapping

from . import ffi
from .core import Account, AccountSummary, Engine, _Handle, _STATES

__all__ = ["Tick", "TickChange"]


@dataclass(frozen=True)
class TickChange:
    """One account whose state changed: ids, old and new state names, the new summary."""
    account_id: int
    old_state: str
    new_state: str
    summary: AccountSummary


class Tick(_Handle):
    """The tick tracker of an engine (one per engine): ``Tick(engine)``. It keeps the engine alive."""
    __slots__ = ("_ptr", "_finalizer", "_engine", "__weakref__")

    def __init__(self, engine: Engine) -> None:
        L = ffi.lib()
        ptr = ffi.TickP()
        L.risk_tick_new(ctypes.byref(ptr), engine._require())
        self._ptr = ptr
        self._engine = engine
        self._finalizer = weakref.finalize(self, L.risk_tick_free, ptr)

    def close(self) -> None:
        """Frees the tracker (idempotent)."""
        if self._ptr:
            self._finalizer()
            self._ptr = ffi.TickP()

    def _changes(self, n: int) -> list[TickChange]:
        if n == 0:
            return []
        L = ffi.lib()
        out = (ffi.RiskTickChange * n)()
        out[0].version = ffi.TICK_CHANGE_VERSION
        count = ctypes.c_size_t()
        L.risk_tick_changes(self._require(), out, n, ctypes.byref(count))
        return [TickChange(int(c.account_id), _STATES[c.old_state], _STATES[c.new_state],
                           AccountSummary._from_struct(int(c.account_id), c.summary)) for c in out[:count.value]]

    def apply(self, marks: Mapping[str | int, float] | None = None,
              prices: Mapping[str | int, float] | None = None) -> list[TickChange]:
        """Sets marks (instrument symbol or id -> mark) and asset prices (symbol or id -> price)
        as one batch and returns the accounts whose state changed. A refused batch changes nothing."""
        L = ffi.lib()
        eng = self._engine
        marks = marks or {}
        prices = prices or {}
        mi = (ctypes.c_uint32 * len(marks))(*[eng._instrument_id(k) for k in marks])
        mv = (ctypes.c_double * len(marks))(*[float(v) for v in marks.values()])
        ai = (ctypes.c_uint32 * len(prices))(*[eng._asset_id(k) for k in prices])
        av = (ctypes.c_double * len(prices))(*[float(v) for v in prices.values()])
        n = ctypes.c_size_t()
        L.risk_tick_apply(self._require(), mi, mv, len(marks), ai, av, len(prices), ctypes.byref(n))
        return self._changes(n.value)

    def rebuild(self) -> list[TickChange]:
        """Re-evaluates every account (after changes the tracker cannot see); returns the changes."""
        n = ctypes.c_size_t()
        ffi.lib().risk_tick_rebuild(self._require(), ctypes.byref(n))
        return self._changes(n.value)

    def state(self, account: Account) -> str:
        """The tracked state of an account: ``'healthy'``, ``'margin_call'``, ``'liquidatable'`` or ``'bankrupt'``."""
        st = ctypes.c_uint32()
        ffi.lib().risk_tick_state(self._require(), account._require(), ctypes.byref(st))
        return _STATES[st.value]

    def stats(self) -> dict[str, int]:
        """Counters: accounts, evaluated and changed by the last apply, accounts per state, always, band_entries."""
        s = ffi.RiskTickStats(version=ffi.TICK_STATS_VERSION)
        ffi.lib().risk_tick_stats_get(self._require(), ctypes.byref(s))
        out = {"accounts": int(s.accounts), "evaluated": int(s.evaluated), "changed": int(s.changed),
               "always": int(s.always), "band_entries": int(s.band_entries)}
        for code, name in _STATES.items():
            out[name] = int(s.in_state[code])
        return out
