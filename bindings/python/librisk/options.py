# SPDX-License-Identifier: Apache-2.0
"""Black-76 option pricing (include/risk/options.h): prices, Greeks and implied volatility, vectorised.

Every function takes its inputs as scalars (broadcast to the batch), sequences, or buffers:

* a writable, C-contiguous float64 buffer (``array('d')``, a numpy float64 array, a memoryview
  of one) is passed to C in place; option types likewise as an int32 buffer (``array('i')``,
  numpy int32) of 1 (call) and -1 (put); anything else (a list, ``"call"``/``"put"`` strings, a
  read-only buffer) is converted once;
* outputs go into caller-given writable float64 buffers when given (written in place by the C
  library, never copied), else into new ``array('d')``.

Conventions (docs/options.md): forward F, strike K, years T to expiry, vol a fraction (0.6 = 60%),
rate the continuously compounded discount rate of the premium (None = 0, Deribit's convention).
``premium="spot"`` values in the quote currency; ``premium="coin"`` values in the underlying (Deribit
BTC options): price c = V / F and delta premium-adjusted (dV/dF - c). Greeks: delta per unit of F,
gamma per unit of F squared, vega/vanna/volga per unit of vol (1.0 = 100 vol points), theta per
year, rho per unit of rate. Bad input raises :class:`librisk.InvalidError` and writes nothing.
"""

from __future__ import annotations

import array
import ctypes
import math

from . import errors, ffi
from .ffi import FloatBuffer, FloatOrBuffer
from .core import _float64_view, _typed_view
import argparse
from typing import Any, TYPE_CHECKING, TextIO

if TYPE_CHECKING:
    from .ffi import RiskOptionBatch

__all__ = [
    "CALL", "PUT", "GREEKS", "IV_OK", "IV_BELOW_INTRINSIC", "IV_ABOVE_MAXIMUM",
    "black", "implied_vol", "forward", "forward_from_future", "add_cli_parser", "cli_main", "OptionsCliError",
]

CALL = ffi.OPTION_CALL
PUT = ffi.OPTION_PUT
IV_OK = ffi.OPTION_IV_OK
IV_BELOW_INTRINSIC = ffi.OPTION_IV_BELOW_INTRINSIC
IV_ABOVE_MAXIMUM = ffi.OPTION_IV_ABOVE_MAXIMUM
#: Names of the outputs of :func:`black`, in the order of ``risk_option_greeks``.
GREEKS = ("price", "delta", "gamma", "vega", "theta", "rho", "vanna", "volga")
_PREMIUMS = {"spot": ffi.OPTION_PREMIUM_SPOT, "coin": ffi.OPTION_PREMIUM_COIN}
_TYPES = {"call": CALL, "c": CALL, "put": PUT, "p": PUT}
_IV_STATUS = {IV_OK: "ok", IV_BELOW_INTRINSIC: "below_intrinsic", IV_ABOVE_MAXIMUM: "above_maximum"}


def _length(obj: Any) -> int | None:
    if isinstance(obj, (int, float, str)):
        return None
    try:
        with memoryview(obj) as mv:
            return mv.nbytes // mv.itemsize if mv.itemsize else 0
    except TypeError:
        return len(obj)


def _count(named: dict[str, Any]) -> int:
    n = None
    for what, obj in named.items():
        m = _length(obj)
        if m is None:
            continue
        if n is not None and m != n:
            raise errors.make(errors.InvalidError, "%s: %d values, expected %d" % (what, m, n))
        n = m
    return 1 if n is None else n


def _doubles(obj: FloatBuffer, n: int, what: str) -> tuple[FloatBuffer, ctypes.Array[Any]]:
    """(keep-alive object, ctypes double array) over obj, in place when it is a float64 buffer."""
    if isinstance(obj, (int, float)):
        data = array.array("d", [float(obj)]) * n
    else:
        try:
            view, m = _float64_view(obj, what)
            return obj, view
        except errors.InvalidError:
            pass
        try:
            data = array.array("d", obj)
        except TypeError:
            try:
                data = array.array("d", (float(x) for x in obj))
            except (TypeError, ValueError):
                raise errors.make(errors.InvalidError, "%s: need numbers" % what) from None
    view, _ = _float64_view(data, what)
    return data, view


def _type_code(x: str | int) -> int:
    if isinstance(x, str):
        try:
            return _TYPES[x.strip().lower()]
        except KeyError:
            raise errors.make(errors.InvalidError, "type: %r is not call or put" % x) from None
    return int(x)


def _types(obj: str | FloatBuffer, n: int) -> tuple[FloatBuffer, ctypes.Array[Any]]:
    if isinstance(obj, (int, str)):
        data = array.array("i", [_type_code(obj)]) * n
    else:
        try:
            view, _ = _typed_view(obj, "type", ctypes.c_int32, "i", "int32")
            return obj, view
        except errors.InvalidError:
            pass
        data = array.array("i", (_type_code(x) for x in obj))
    view, _ = _typed_view(data, "type", ctypes.c_int32, "i", "int32")
    return data, view


def _output(out: FloatBuffer, n: int, what: str) -> tuple[FloatBuffer, ctypes.Array[Any]]:
    if out is None:
        out = array.array("d", bytes(8 * n))
    view, m = _float64_view(out, what)
    if m < n:
        exc = errors.make(errors.BufferTooSmallError, "%s: %d values, need %d" % (what, m, n))
        exc.needed = n
        raise exc
    return out, view


def _premium(premium: str) -> int:
    try:
        return _PREMIUMS[premium]
    except KeyError:
        raise errors.make(errors.InvalidError, "premium: %r is not spot or coin" % (premium,)) from None


def _batch(type: str | FloatBuffer, forward: FloatBuffer, strike: FloatBuffer, years: FloatOrBuffer,
           vol: FloatOrBuffer, rate: FloatOrBuffer, premium: str,
           **extra: FloatBuffer) -> tuple[RiskOptionBatch, int, list[FloatBuffer]]:
    """(risk_option_batch, n, objects to keep alive) over the inputs; ``extra`` only counts."""
    named = {"type": type, "forward": forward, "strike": strike, "years": years}
    if vol is not None:
        named["vol"] = vol
    if rate is not None:
        named["rate"] = rate
    n = _count(dict(named, **extra))
    keep = []
    b = ffi.RiskOptionBatch.init()
    b.premium = _premium(premium)
    obj, view = _types(type, n)
    keep.append(obj)
    b.type = ctypes.cast(view, ctypes.POINTER(ctypes.c_int32))
    for field in ("forward", "strike", "years", "vol", "rate"):
        value = named.get(field)
        if value is None:
            continue
        obj, view = _doubles(value, n, field)
        keep.append(obj)
        setattr(b, field, ctypes.cast(view, ctypes.POINTER(ctypes.c_double)))
    return b, n, keep


def black(type: str | FloatBuffer, forward: FloatBuffer, strike: FloatBuffer, years: FloatOrBuffer,
          vol: FloatOrBuffer, rate: FloatOrBuffer = None, premium: str = "spot", greeks: tuple[str, ...] = GREEKS,
          out: dict[str, FloatBuffer] | None = None) -> dict[str, FloatBuffer]:
    """Black-76 price and Greeks: a dict {name: buffer} for each name in ``greeks``.

    ``out`` may map some names to caller buffers of at least n float64 values (written in place);
    the others get new ``array('d')``. Only the requested outputs are computed.
    """
    b, n, keep = _batch(type, forward, strike, years, vol, rate, premium)
    g = ffi.RiskOptionGreeks.init()
    result = {}
    for name in greeks:
        if name not in GREEKS:
            raise errors.make(errors.InvalidError, "greeks: unknown output %r" % (name,))
        buf, view = _output((out or {}).get(name), n, name)
        result[name] = buf
        setattr(g, name, ctypes.cast(view, ctypes.POINTER(ctypes.c_double)))
    ffi.lib().risk_option_black(ctypes.byref(g), ctypes.byref(b), n)
    del keep
    return result


def implied_vol(type: str | FloatBuffer, forward: FloatOrBuffer, strike: FloatOrBuffer, years: FloatOrBuffer,
                price: FloatBuffer, rate: FloatOrBuffer = None, premium: str = "spot", out: Any = None,
                status: Any = None) -> tuple[FloatBuffer, FloatBuffer]:
    """Implied Black-76 volatility of prices (in the ``premium`` convention).

    Returns ``(vols, statuses)``: vols NaN where the price is below the intrinsic value or at or
    above the maximum; statuses an int32 buffer of :data:`IV_OK`, :data:`IV_BELOW_INTRINSIC`,
    :data:`IV_ABOVE_MAXIMUM` (``status`` may be a caller int32 buffer).
    """
    b, n, keep = _batch(type, forward, strike, years, None, rate, premium, price=price)
    pobj, pview = _doubles(price, n, "price")
    out, oview = _output(out, n, "out")
    if status is None:
        status = array.array("i", bytes(4 * n))
    sview, m = _typed_view(status, "status", ctypes.c_int32, "i", "int32")
    if m < n:
        exc = errors.make(errors.BufferTooSmallError, "status: %d values, need %d" % (m, n))
        exc.needed = n
        raise exc
    ffi.lib().risk_option_implied_vol(oview, sview, ctypes.byref(b), pview, n)
    del keep, pobj
    return out, status


def forward(index: float, rate: float, years: float, out: FloatBuffer | None = None) -> FloatBuffer:
    """Forwards from index prices and carry rates: index e^(rate years)."""
    named = {"index": index, "rate": rate, "years": years}
    n = _count(named)
    views = [_doubles(v, n, k) for k, v in named.items()]
    out, o = _output(out, n, "out")
    ffi.lib().risk_option_forward(o, views[0][1], views[1][1], views[2][1], n)
    return out


def forward_from_future(index: float, future_mark: float, future_years: float, years: FloatBuffer,
                        out: FloatBuffer | None = None) -> FloatBuffer:
    """Forwards to ``years`` from a future's mark at ``future_years``: index (mark/index)^(years/future_years)."""
    named = {"index": index, "future_mark": future_mark, "future_years": future_years, "years": years}
    n = _count(named)
    views = [_doubles(v, n, k) for k, v in named.items()]
    out, o = _output(out, n, "out")
    ffi.lib().risk_option_forward_from_future(o, views[0][1], views[1][1], views[2][1], views[3][1], n)
    return out


# ---------------------------------------------------------------- command line

class OptionsCliError(Exception):
    """Bad input to ``python3 -m librisk options`` (exit status 2, the message on stderr)."""


_REQUIRED = ("type", "forward", "strike", "years")


def add_cli_parser(sub: argparse._SubParsersAction[Any]) -> argparse.ArgumentParser:
    """Registers the ``options`` subcommand on the CLI's subparsers."""
    p = sub.add_parser("options", help="Black-76 price, Greeks and implied vol of a CSV of options, one row each")
    p.add_argument("csv", metavar="FILE.csv",
                   help="CSV with a header: type (call/put), forward, strike, years, vol, rate, and optionally "
                        "price (to invert) and premium (spot/coin); - reads stdin")
    return p


def _read_rows(path: str) -> tuple[list[str], list[tuple[int, Any]]]:
    import csv
    import sys
    try:
        if path == "-":
            rows = list(csv.reader(sys.stdin))
        else:
            with open(path, newline="", encoding="utf-8") as f:
                rows = list(csv.reader(f))
    except OSError as exc:
        raise OptionsCliError("%s: %s" % (path, exc.strerror or exc)) from None
    except UnicodeDecodeError:
        raise OptionsCliError("%s: not UTF-8 text" % path) from None
    if not rows:
        raise OptionsCliError("%s: empty file (a header naming %s is required)" % (path, ", ".join(_REQUIRED)))
    header = [h.strip().lower().lstrip("\ufeff") for h in rows[0]]
    for col in _REQUIRED:
        if col not in header:
            raise OptionsCliError("%s: no column named %s in the header" % (path, col))
    if "vol" not in header and "price" not in header:
        raise OptionsCliError("%s: need a vol column, a price column, or both" % path)
    return header, [(i, r) for i, r in enumerate(rows[1:], start=2) if r and any(c.strip() for c in r)]


def _cell(path: str, line: int, header: list[str], row: list[str], col: str,
          default: str | None = None) -> str | None:
    if col not in header:
        return default
    i = header.index(col)
    text = row[i].strip() if i < len(row) else ""
    return text if text else default


def _number(path: str, line: int, col: str, text: str | None, positive: bool = True) -> float:
    try:
        x = float(text)  # type: ignore[arg-type]  # None raises the TypeError handled here
    except (TypeError, ValueError):
        raise OptionsCliError("%s:%d: column %s: %r is not a number" % (path, line, col, text)) from None
    if not math.isfinite(x) or (positive and x <= 0):
        raise OptionsCliError("%s:%d: column %s: %s is not a %s number" % (path, line, col, text,
                                                                        "positive" if positive else "finite"))
    return x


def _fmt(x: float | None) -> str:
    return "" if x is None or math.isnan(x) else repr(x)


def cli_main(args: argparse.Namespace, stdout: TextIO) -> None:
    """Runs ``options`` with parsed arguments, writing CSV to ``stdout``; raises OptionsCliError on bad input."""
    path = args.csv
    header, rows = _read_rows(path)
    parsed: list[dict[str, Any]] = []
    for line, row in rows:
        t = _cell(path, line, header, row, "type", "") or ""
        if t.lower() not in ("call", "put", "c", "p"):
            raise OptionsCliError("%s:%d: column type: %r is not call or put" % (path, line, t))
        rec: dict[str, Any] = {"line": line, "type": CALL if t.lower() in ("call", "c") else PUT}
        for col in ("forward", "strike", "years"):
            rec[col] = _number(path, line, col, _cell(path, line, header, row, col))
        vol = _cell(path, line, header, row, "vol")
        rec["vol"] = _number(path, line, "vol", vol) if vol is not None else None
        rate = _cell(path, line, header, row, "rate")
        rec["rate"] = _number(path, line, "rate", rate, positive=False) if rate is not None else 0.0
        price = _cell(path, line, header, row, "price")
        if price is not None:
            x = _number(path, line, "price", price, positive=False)
            if x < 0:
                raise OptionsCliError("%s:%d: column price: %s is negative" % (path, line, price))
            rec["price"] = x
        else:
            rec["price"] = None
        prem = (_cell(path, line, header, row, "premium", "spot") or "spot").lower()
        if prem not in _PREMIUMS:
            raise OptionsCliError("%s:%d: column premium: %r is not spot or coin" % (path, line, prem))
        rec["premium"] = prem
        if rec["vol"] is None and rec["price"] is None:
            raise OptionsCliError("%s:%d: need a vol or a price" % (path, line))
        parsed.append(rec)
    with_price = any(r["price"] is not None for r in parsed)
    # implied vols, per premium convention
    for prem in _PREMIUMS:
        group = [r for r in parsed if r["premium"] == prem and r["price"] is not None]
        if not group:
            continue
        vols, st = implied_vol([r["type"] for r in group], [r["forward"] for r in group],
                               [r["strike"] for r in group], [r["years"] for r in group],
                               [r["price"] for r in group], [r["rate"] for r in group], prem)
        for r, v, s in zip(group, vols, st):
            r["iv"], r["iv_status"] = v, _IV_STATUS.get(s, str(s))
    # price and Greeks at the given vol (or at the implied vol when no vol is given)
    for prem in _PREMIUMS:
        group = [r for r in parsed if r["premium"] == prem]
        for r in group:
            r["at"] = r["vol"] if r["vol"] is not None else r.get("iv")
        group = [r for r in group if r["at"] is not None and not math.isnan(r["at"]) and r["at"] > 0]
        if not group:
            continue
        res = black([r["type"] for r in group], [r["forward"] for r in group], [r["strike"] for r in group],
                    [r["years"] for r in group], [r["at"] for r in group], [r["rate"] for r in group], prem)
        for i, r in enumerate(group):
            r["out"] = [res[g][i] for g in GREEKS]
    cols = ["type", "forward", "strike", "years", "vol", "rate", "premium"] + list(GREEKS)
    if with_price:
        cols += ["market_price", "implied_vol", "iv_status"]
    lines = [",".join(cols)]
    for r in parsed:
        out = r.get("out") or [None] * len(GREEKS)
        cells = ["call" if r["type"] == CALL else "put", repr(r["forward"]), repr(r["strike"]), repr(r["years"]),
                 _fmt(r["at"]), repr(r["rate"]), r["premium"]] + [_fmt(x) for x in out]
        if with_price:
            cells += [_fmt(r["price"]), _fmt(r.get("iv")), r.get("iv_status", "")]
        lines.append(",".join(cells))
    stdout.write("\n".join(lines) + "\n")
