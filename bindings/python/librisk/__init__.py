# SPDX-License-Identifier: Apache-2.0
"""librisk: Python bindings (ctypes, standard library only) for the librisk C risk engine.

Quick start::

    import librisk
    with librisk.Engine() as eng:
        eng.add_asset("USDT", 1, decimals=6)
        eng.add_asset("BTC", 50000)
        eng.add_instrument("BTCUSDT", "BTC", "USDT", [(50000, 0.004, 125), (250000, 0.005, 100)],
                           lot_size=0.001, tick_size=0.1, mark=50000)
        with librisk.Account(eng, 1) as acc:
            acc.basket.set_balance("USDT", 10000)
            acc.open_position("BTCUSDT", 0.5, 48000)
            print(acc.evaluate().health_factor)

See docs/python.md. The shared library is loaded on first use from the copy bundled in the
installed package, ``$LIBRISK_LIBRARY``, the build tree's ``lib/``, or the system
(``ctypes.util.find_library('risk')``).
"""

from __future__ import annotations

from .errors import (RiskError, NullError, InvalidError, NotFoundError, DuplicateError, LotError, TickError,
                     LeverageError, TiersError, StateError, VersionError, BufferTooSmallError,
                     EngineMismatchError, LimitError, NoPriceError, OutOfMemoryError, ThreadError, InternalError,
                     CorruptError, FileError)
from .ffi import LibraryError
from .core import (Engine, Basket, Account, Position, AccountSummary, BasketSummary, PositionResult, MarginTier,
                   MarginFactor, AssetVolState, SUMMARY_COLUMNS, columns, to_pandas, version, version_number)

from . import vol  # volatility estimators (librisk.vol)
from . import options  # Black-76 pricing, Greeks, implied vol (librisk.options)
from . import var  # Value-at-Risk, Expected Shortfall, back-tests (librisk.var)

__version__ = "0.2.0"

__all__ = [
    "Engine", "Basket", "Account", "Position", "AccountSummary", "BasketSummary", "PositionResult", "MarginTier",
    "MarginFactor", "AssetVolState",
    "SUMMARY_COLUMNS", "version", "version_number", "LibraryError",
    "RiskError", "NullError", "InvalidError", "NotFoundError", "DuplicateError", "LotError", "TickError",
    "LeverageError", "TiersError", "StateError", "VersionError", "BufferTooSmallError", "EngineMismatchError", "LimitError",
    "NoPriceError", "OutOfMemoryError", "ThreadError", "InternalError", "CorruptError", "FileError",
]
