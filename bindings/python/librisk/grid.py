# SPDX-License-Identifier: Apache-2.0
"""Numbers on their grid for printing: quantities in whole lots, prices on the tick, money in
the asset's decimals.

The C library quantizes its results (docs/formulas.md), but a double such as 0.1 x 139453 is
13.945300000000001, not 13.9453. Rounding to the grid's decimal places before printing gives
the double nearest the grid value, whose shortest representation (what ``repr`` and ``json``
write) is the grid value itself, so ``json.loads`` of the output gives grid values. Values the
library leaves unrounded (notional) are printed at the asset's decimals too; a spot balance's
liquidation price, a price in the valuation asset, on the valuation asset's decimals, rounded
against the account (:meth:`Grid.value_against`); ratios (health factor, margin ratio, LTV,
leverage) have no grid and are printed as computed.
"""

from __future__ import annotations

import decimal
import math
from typing import Any

__all__ = ["step_decimals", "on_grid", "on_grid_directed", "Grid"]


def step_decimals(step: float) -> int:
    """Decimal places of a grid step: 0.001 -> 3, 0.5 -> 1, 1 -> 0, 2.5e-05 -> 6."""
    exp = decimal.Decimal(repr(float(step))).normalize().as_tuple().exponent
    assert isinstance(exp, int)  # a finite step (the grids are checked finite and > 0)
    return max(0, -exp)


def on_grid(x: float | None, decimals: int) -> float | None:
    """``x`` rounded to ``decimals`` places (None for None, NaN and infinities; -0.0 as 0.0)."""
    if x is None or not math.isfinite(x):
        return None
    return round(float(x), decimals) + 0.0


def on_grid_directed(x: float | None, decimals: int, up: bool) -> float | None:
    """``x`` rounded up (``up``) or down to ``decimals`` places, on its shortest decimal form (so
    0.3, whose double lies below 0.3, stays 0.3 rounded up; 0.1 + 0.2 = 0.30000000000000004 goes
    up to 0.4 at one place): None for None, NaN and infinities."""
    if x is None or not math.isfinite(x):
        return None
    q = decimal.Decimal(repr(float(x))).quantize(decimal.Decimal(1).scaleb(-decimals),
                                                 rounding=decimal.ROUND_CEILING if up else decimal.ROUND_FLOOR)
    return float(q) + 0.0


class Grid:
    """The grids of a book: decimals of every asset, lot and tick decimals of every instrument.

    ``Grid(spec)`` takes the checked book (``book.spec``); ``Grid.of_engine(engine)`` asks an
    engine's registry. Lookups by symbol.
    """

    def __init__(self, spec: dict[str, Any]) -> None:
        self.asset_decimals = {a["symbol"]: a["decimals"] for a in spec["assets"]}
        self.lot_decimals = {i["symbol"]: step_decimals(i["lot_size"]) for i in spec["instruments"]}
        self.tick_decimals = {i["symbol"]: step_decimals(i["tick_size"]) for i in spec["instruments"]}
        self.settle = {i["symbol"]: i["settle"] for i in spec["instruments"]}
        # options: liquidation prices are prices of the underlying, on its tick
        self.underlying_tick_decimals = {i["symbol"]: step_decimals(i["underlying_tick"])
                                         for i in spec["instruments"] if i.get("kind") == "option"}
        v = spec.get("valuation_asset") or spec["assets"][0]["symbol"]
        self.valuation = v

    def qty(self, instrument: str | None, x: float | None) -> float | None:
        """Contracts of an instrument, in whole lots."""
        return on_grid(x, self.lot_decimals.get(instrument, 8))

    def price(self, instrument: str | None, x: float | None) -> float | None:
        """A price of an instrument, on its tick."""
        return on_grid(x, self.tick_decimals.get(instrument, 8))

    def liquidation_price(self, instrument: str | None, x: float | None) -> float | None:
        """A liquidation or bankruptcy price of a position: on the instrument's tick, or for an
        option on the underlying's tick (it is a price of the underlying)."""
        if instrument in self.underlying_tick_decimals:
            return on_grid(x, self.underlying_tick_decimals[instrument])
        return self.price(instrument, x)

    def money(self, asset: str | None, x: float | None) -> float | None:
        """An amount of an asset, in its decimals."""
        return on_grid(x, self.asset_decimals.get(asset or "", 8))

    def settle_money(self, instrument: str | None, x: float | None) -> float | None:
        """An amount of an instrument's settle asset."""
        return self.money(self.settle.get(instrument), x)

    def value(self, x: float | None) -> float | None:
        """An amount of the valuation asset."""
        return self.money(self.valuation, x)

    def value_against(self, x: float | None, up: bool) -> float | None:
        """A price or amount in the valuation asset on its decimals, rounded up (``up``) or down:
        the spot liquidation price of a collateral balance is rounded up, a debt's down, so that
        the printed price is never past the true one (against the account, as position
        liquidation prices are on the tick)."""
        return on_grid_directed(x, self.asset_decimals.get(self.valuation, 8), up)

    def text(self, x: float | None, decimals: int, min_decimals: int = 0) -> str:
        """``x`` for a person: thousands separators, at most ``decimals`` places, trailing zeros
        dropped down to ``min_decimals``; "-" for None, "inf"/"-inf" for infinities."""
        if x is None or (isinstance(x, float) and math.isnan(x)):
            return "-"
        if math.isinf(x):
            return "inf" if x > 0 else "-inf"
        s = "{:,.{}f}".format(round(x, decimals) + 0.0, decimals)
        if "." in s:
            head, tail = s.split(".")
            tail = tail.rstrip("0")
            if len(tail) < min_decimals:
                tail = tail + "0" * (min_decimals - len(tail))
            s = head + ("." + tail if tail else "")
        return s
