# SPDX-License-Identifier: Apache-2.0
"""Exceptions: one subclass of :class:`RiskError` per status code of include/risk/status.h.

Every exception carries ``code`` (the C status number), ``name`` (its constant, such as
``"RISK_EINVAL"``) and ``message`` (the message the failing handle recorded, from
``risk_engine_errmsg``, ``risk_account_errmsg`` or ``risk_basket_errmsg``; position calls
record theirs on the owning account).
"""

from __future__ import annotations

from typing import Any, TypeVar

_E = TypeVar("_E", bound="RiskError")

__all__ = [
    "RiskError", "NullError", "InvalidError", "NotFoundError", "DuplicateError", "LotError",
    "TickError", "LeverageError", "TiersError", "StateError", "VersionError",
    "BufferTooSmallError", "EngineMismatchError", "LimitError", "NoPriceError", "OutOfMemoryError",
    "ThreadError", "InternalError", "from_code", "CODES",
]


class RiskError(Exception):
    """A librisk call failed. ``code``, ``name`` and ``message`` describe the failure."""

    code: int | None = None
    name: str = "RISK_UNKNOWN"
    message: str
    #: BufferTooSmallError: the number of elements the call needs.
    needed: int | None = None

    def __init__(self, code: int | None = None, name: str | None = None, message: str = "") -> None:
        if code is not None:
            self.code = code
        if name is not None:
            self.name = name
        self.message = message
        super().__init__(code, name, message)

    def __str__(self) -> str:
        if self.message:
            return "%s (%s)" % (self.message, self.name)
        return self.name

    def __repr__(self) -> str:
        return "%s(code=%r, name=%r, message=%r)" % (type(self).__name__, self.code, self.name, self.message)


class NullError(RiskError):
    """RISK_ENULL: a required handle or output was NULL (or the Python object is closed)."""
    code, name = 1, "RISK_ENULL"


class InvalidError(RiskError, ValueError):
    """RISK_EINVAL: an argument is out of range, NaN or infinite."""
    code, name = 2, "RISK_EINVAL"


class NotFoundError(RiskError, LookupError):
    """RISK_ENOTFOUND: an asset, instrument, account or position names nothing."""
    code, name = 3, "RISK_ENOTFOUND"


class DuplicateError(RiskError):
    """RISK_EDUPLICATE: a symbol, account id or position leg already exists."""
    code, name = 4, "RISK_EDUPLICATE"


class LotError(RiskError, ValueError):
    """RISK_ELOT: a quantity is not a whole number of lots."""
    code, name = 5, "RISK_ELOT"


class TickError(RiskError, ValueError):
    """RISK_ETICK: a price is not a whole number of ticks."""
    code, name = 6, "RISK_ETICK"


class LeverageError(RiskError, ValueError):
    """RISK_ELEVERAGE: a user leverage is above the schedule's highest maximum."""
    code, name = 7, "RISK_ELEVERAGE"


class TiersError(RiskError, ValueError):
    """RISK_ETIERS: tiers not strictly increasing, or a tier field out of range."""
    code, name = 8, "RISK_ETIERS"


class StateError(RiskError):
    """RISK_ESTATE: the call does not fit the object's state or mode."""
    code, name = 9, "RISK_ESTATE"


class VersionError(RiskError):
    """RISK_EVERSION: a versioned struct carries an unknown version."""
    code, name = 10, "RISK_EVERSION"


class BufferTooSmallError(RiskError):
    """RISK_EBUFFER: an output array is too small. ``needed`` tells the length, when known."""
    code, name = 11, "RISK_EBUFFER"


class EngineMismatchError(RiskError):
    """RISK_EENGINE: handles of two different engines were mixed."""
    code, name = 12, "RISK_EENGINE"


class LimitError(RiskError, ValueError):
    """RISK_ELIMIT: a fill would leave a position above its instrument's maximum notional."""
    code, name = 13, "RISK_ELIMIT"


class CorruptError(RiskError):
    """RISK_ECORRUPT: a snapshot is truncated, fails its checksum or is not a snapshot."""
    code, name = 14, "RISK_ECORRUPT"


class NoPriceError(RiskError):
    """RISK_ENOPRICE: a price needed by the calculation is missing or not positive."""
    code, name = 100, "RISK_ENOPRICE"


class OutOfMemoryError(RiskError, MemoryError):
    """RISK_ENOMEM: memory allocation failed."""
    code, name = 200, "RISK_ENOMEM"


class ThreadError(RiskError):
    """RISK_ETHREAD: a worker thread could not be started."""
    code, name = 201, "RISK_ETHREAD"


class FileError(RiskError):
    """RISK_EIO: a file could not be opened, read, written, synced or renamed."""
    code, name = 202, "RISK_EIO"


class InternalError(RiskError):
    """RISK_EINTERNAL: an internal invariant failed (a bug in librisk)."""
    code, name = 900, "RISK_EINTERNAL"


#: Status code -> exception class.
CODES = {cls.code: cls for cls in (
    NullError, InvalidError, NotFoundError, DuplicateError, LotError, TickError, LeverageError,
    TiersError, StateError, VersionError, BufferTooSmallError, EngineMismatchError, LimitError, CorruptError,
    NoPriceError, OutOfMemoryError, ThreadError, FileError, InternalError)}


def from_code(code: int, message: str = "") -> RiskError:
    """The exception for status ``code`` carrying ``message`` (unknown codes give RiskError)."""
    cls = CODES.get(code)
    if cls is None:
        return RiskError(code, "RISK_UNKNOWN", message)
    return cls(code, cls.name, message)


def make(cls: type[_E], message: str) -> _E:
    """An exception of class ``cls`` raised by the bindings themselves (not by a C call)."""
    return cls(cls.code, cls.name, message)
