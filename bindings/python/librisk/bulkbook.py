# SPDX-License-Identifier: Apache-2.0
"""Books at scale: a book's accounts loaded through the bulk calls, and its evaluation written
as it is computed (docs/book-format.md section 8, "Large books"; docs/performance.md, "Books at
scale").

The reader stays in Python (docs/performance.md says why): the document is parsed by the
standard library's C-accelerated ``json`` module, and the accounts' fields go straight from the
parsed objects into typed columns (``array``), which ``risk_engine_add_accounts``,
``risk_engine_set_balances``, ``risk_engine_set_leverages`` and ``risk_engine_open_positions``
take without a copy. The evaluation comes back as columns too (``risk_engine_evaluate_columns``,
``risk_engine_position_results_columns``) and is written one account at a time.

This is a fast path, never a second set of rules: it accepts only a book whose every field has
the plain shape (no duplicate key, finite numbers, known symbols, amounts and lots in range);
anything else, and any refusal by the library, sends the whole book down the ordinary reader
(``book.load``), which names the field exactly as before. The output is byte for byte the
ordinary ``json.dumps`` document (a test compares them).
"""

from __future__ import annotations

import array
import ctypes
import gc
import json
import math
import re
from itertools import repeat
from collections.abc import Sequence
from typing import Any, Callable, Iterable, Iterator, TextIO, TYPE_CHECKING, cast, overload

from . import errors, ffi
from . import book as _book
from .book import Json
from .core import Engine, Account
from .grid import on_grid_directed

if TYPE_CHECKING:
    from typing import TypeGuard
    from .grid import Grid

__all__ = ["load_bytes", "FastBook", "write_evaluation"]

_ACCOUNT_KEYS = frozenset(_book._ACCOUNT_FIELDS)
_POSITION_KEYS = frozenset(_book._POSITION_FIELDS)
_MARGIN = {"cross": ffi.MARGIN_CROSS, "isolated": ffi.MARGIN_ISOLATED}
_MODES = {"one-way": ffi.POSITION_ONE_WAY, "hedge": ffi.POSITION_HEDGE}
_LEGS = {"long": ffi.SIDE_LONG, "short": ffi.SIDE_SHORT}
_LOTS_MAX = 2.0 ** 53


class _Fallback(Exception):
    """The fast path does not take this book: the ordinary reader will (and name any problem)."""


def _objects(value: Json) -> Json:
    """A value parsed with ``object_pairs_hook=tuple`` as the ordinary reader's: objects as
    book._pairs makes them (dicts that remember duplicate keys)."""
    t = type(value)
    if t is tuple:
        return _book._pairs([(k, _objects(v)) for k, v in value])
    if t is list:
        return [_objects(v) for v in value]
    return value


def _obj(pairs: Json) -> dict[str, Json]:
    """A parsed object (a tuple of pairs) as a dict; _Fallback for anything else, or when a key
    repeats (the ordinary reader names it)."""
    if type(pairs) is not tuple:
        raise _Fallback
    d = dict(pairs)
    if len(d) != len(pairs):
        raise _Fallback
    return d


def _num(v: Json) -> float:
    """A finite JSON number as a float; _Fallback for anything else (bool, NaN, huge)."""
    t = type(v)
    if t is float:
        if v - v != 0.0:
            raise _Fallback
        return v
    if t is int:
        try:
            return float(v)
        except OverflowError:
            raise _Fallback from None
    raise _Fallback


class _Columns:
    """The accounts of a book as columns (row order: book order)."""

    _FIELDS = (("acc_id", "Q"), ("acc_mm", "I"), ("acc_pm", "I"), ("bal_acc", "Q"), ("bal_index", "I"),
               ("bal_asset", "I"), ("bal_amount", "d"), ("lev_acc", "Q"), ("lev_inst", "I"), ("lev", "d"),
               ("pos_acc", "Q"), ("pos_inst", "I"), ("pos_side", "I"), ("pos_mm", "I"), ("pos_qty", "d"),
               ("pos_entry", "d"), ("pos_iso", "d"))

    acc_id: array.array[int]
    acc_mm: array.array[int]
    acc_pm: array.array[int]
    bal_acc: array.array[int]
    bal_index: array.array[int]
    bal_asset: array.array[int]
    bal_amount: array.array[float]
    lev_acc: array.array[int]
    lev_inst: array.array[int]
    lev: array.array[float]
    pos_acc: array.array[int]
    pos_inst: array.array[int]
    pos_side: array.array[int]
    pos_mm: array.array[int]
    pos_qty: array.array[float]
    pos_entry: array.array[float]
    pos_iso: array.array[float]

    def __init__(self) -> None:
        for name, code in self._FIELDS:
            setattr(self, name, array.array(code))


def _account_columns(accounts: Iterable[Json], spec: dict[str, Any]) -> _Columns:
    """Checks the accounts' shape as book._check_account does, into columns; _Fallback when an
    account needs the ordinary reader. ``accounts`` may be any iterable of parsed accounts (a
    generator parsing them one at a time)."""
    assets = {a["symbol"]: (k, _book._amount_max(a["decimals"])) for k, a in enumerate(spec["assets"])}
    instruments: dict[str, tuple[int, float, float]] = {}
    for k, ins in enumerate(spec["instruments"]):
        settle = assets.get(ins["settle"])
        if settle is None:
            raise _Fallback
        instruments[ins["symbol"]] = (k, ins["lot_size"], settle[1])
    fresh = _Columns()  # typed arrays, not lists: a row costs its bytes, not a Python object
    lists: dict[str, array.array[Any]] = {name: getattr(fresh, name) for name, _ in _Columns._FIELDS}
    acc_id, acc_mm, acc_pm = lists["acc_id"], lists["acc_mm"], lists["acc_pm"]
    bal_acc, bal_index, bal_asset, bal_amount = lists["bal_acc"], lists["bal_index"], lists["bal_asset"], \
        lists["bal_amount"]
    lev_acc, lev_inst, levs = lists["lev_acc"], lists["lev_inst"], lists["lev"]
    pos_acc, pos_inst, pos_side, pos_mm = lists["pos_acc"], lists["pos_inst"], lists["pos_side"], lists["pos_mm"]
    pos_qty, pos_entry, pos_iso = lists["pos_qty"], lists["pos_entry"], lists["pos_iso"]
    price_min, price_max = _book.PRICE_MIN, _book.PRICE_MAX
    isolated, both, default = ffi.MARGIN_ISOLATED, ffi.SIDE_BOTH, ffi.MARGIN_DEFAULT
    account_keys, position_keys = _ACCOUNT_KEYS, _POSITION_KEYS
    try:
        for i, acc in enumerate(accounts):
            acc = _obj(acc)
            if not account_keys.issuperset(acc):
                raise _Fallback
            aid = acc["id"]
            if type(aid) is not int or not 0 <= aid < 2 ** 64:
                raise _Fallback
            mm = _MARGIN[acc.get("margin_mode", "cross")]
            hedge = _MODES[acc.get("position_mode", "one-way")] == ffi.POSITION_HEDGE
            acc_id.append(aid)
            acc_mm.append(mm)
            acc_pm.append(ffi.POSITION_HEDGE if hedge else ffi.POSITION_ONE_WAY)
            bal = acc.get("balances")
            if bal is not None:
                for sym, v in _obj(bal).items():
                    asset_id, top = assets[sym]
                    x = v if type(v) is float and v - v == 0.0 else _num(v)
                    if abs(x) > top:
                        raise _Fallback
                    bal_acc.append(aid)
                    bal_index.append(i)
                    bal_asset.append(asset_id)
                    bal_amount.append(x)
            lev = acc.get("leverage")
            if lev is not None:
                for sym, v in _obj(lev).items():
                    lev_acc.append(aid)
                    lev_inst.append(instruments[sym][0])
                    levs.append(_num(v))
            positions = acc.get("positions")
            if positions is None:
                continue
            if type(positions) is not list:
                raise _Fallback
            for pos in positions:
                pos = _obj(pos)
                if not position_keys.issuperset(pos):
                    raise _Fallback
                inst, lot, settle_top = instruments[pos["instrument"]]
                qty = pos["qty"]
                if type(qty) is not float or qty - qty != 0.0:
                    qty = _num(qty)
                entry = pos["entry"]
                if type(entry) is not float or entry - entry != 0.0:
                    entry = _num(entry)
                if qty == 0.0 or not price_min <= entry <= price_max or abs(qty) / lot > _LOTS_MAX:
                    raise _Fallback
                if hedge:
                    side = _LEGS[pos["side"]]
                elif "side" in pos:
                    raise _Fallback
                else:
                    side = both
                pmode = pos.get("margin_mode")
                pm = default if pmode is None else _MARGIN[pmode]
                if (pm or mm) == isolated:
                    iso = _num(pos["isolated_margin"])
                    if iso < 0.0 or iso > settle_top:
                        raise _Fallback
                elif "isolated_margin" in pos:
                    raise _Fallback
                else:
                    iso = 0.0
                pos_acc.append(aid)
                pos_inst.append(inst)
                pos_side.append(side)
                pos_mm.append(pm)
                pos_qty.append(qty)
                pos_entry.append(entry)
                pos_iso.append(iso)
    except (KeyError, TypeError, OverflowError):  # a missing field, an unknown symbol or choice, a bad type
        raise _Fallback from None
    out = _Columns()
    for name, _ in _Columns._FIELDS:
        setattr(out, name, lists[name])
    return out


class _SpecAccounts(Sequence[dict[str, Any]]):
    """``book.spec["accounts"]`` of a fast book: each account parsed again from the book's text
    and checked (book._check_account) when first read."""

    def __init__(self, text: str, spans: array.array[int]) -> None:
        self._text = text
        self._spans = spans  # start and end offsets of each account's object, interleaved
        self._done: dict[int, dict[str, Any]] = {}

    def __len__(self) -> int:
        return len(self._spans) // 2

    @overload
    def __getitem__(self, i: int) -> dict[str, Any]: ...
    @overload
    def __getitem__(self, i: slice) -> list[dict[str, Any]]: ...

    def __getitem__(self, i: int | slice) -> dict[str, Any] | list[dict[str, Any]]:
        if isinstance(i, slice):
            return [self[j] for j in range(*i.indices(len(self)))]
        i = range(len(self))[i]
        got = self._done.get(i)
        if got is None:
            raw, _ = _DECODER.raw_decode(self._text, self._spans[2 * i])
            got = self._done[i] = _book._check_account(_objects(raw), "accounts[%d]" % i)
        return got


class _Accounts(Sequence[Account]):
    """``book.accounts`` of a fast book: the engine's accounts (made by risk_engine_add_accounts,
    so owned by the engine) as :class:`Account` objects made when first read; each one read is
    adopted (risk_account_adopt), so that it may outlive the book."""

    def __init__(self, engine: Engine) -> None:
        self._engine = engine
        n = engine.account_count
        self._ptrs = (ffi.AccountP * n)()  # one array of handles, no Python object per account
        if n:
            count = ctypes.c_size_t()
            ffi.lib().risk_engine_accounts(engine._require(), self._ptrs, n, ctypes.byref(count))
        self._made: dict[int, Account] = {}

    def __len__(self) -> int:
        return len(self._ptrs)

    @overload
    def __getitem__(self, i: int) -> Account: ...
    @overload
    def __getitem__(self, i: slice) -> list[Account]: ...

    def __getitem__(self, i: int | slice) -> Account | list[Account]:
        if isinstance(i, slice):
            return [self[j] for j in range(*i.indices(len(self)))]
        i = range(len(self._ptrs))[i]
        acc = self._made.get(i)
        if acc is None:
            ptr = self._ptrs[i]
            ffi.lib().risk_account_adopt(ptr)
            acc = self._made[i] = Account._owning(self._engine, ptr)
        return acc

    def pointer(self, i: int) -> Any:
        """The i-th account's handle (borrowed)."""
        return self._ptrs[i]

    def close(self) -> None:
        for acc in self._made.values():
            acc.close()
        self._made.clear()
        self._ptrs = (ffi.AccountP * 0)()


class FastBook(_book.Book):
    """A :class:`book.Book` loaded through the bulk calls: ``accounts`` and ``spec["accounts"]``
    are sequences that make their items when read; ``columns`` holds the loaded account and
    balance rows (the leverage and position rows are let go once in the engine)."""

    accounts: _Accounts

    def __init__(self, engine: Engine, spec: dict[str, Any], spec_accounts: _SpecAccounts,
                 columns: _Columns) -> None:
        spec = dict(spec)
        spec["accounts"] = spec_accounts
        super().__init__(engine, _Accounts(engine), spec)
        self.columns = columns

    def close(self) -> None:
        self.accounts.close()
        self.engine.close()


_DECODER = json.JSONDecoder(object_pairs_hook=tuple)  # objects as tuples of pairs: built in C, repeats kept
# the pattern matches (possibly empty) at every offset: never None
_WS = cast(Callable[[str, int], "re.Match[str]"], re.compile(r"[ \t\n\r]*").match)


def _scan(text: str) -> tuple[dict[str, Any], _Columns, array.array[int]]:
    """Parses a book's text without holding every account's objects: the top-level object's
    other members are parsed whole; the "accounts" array is parsed one account at a time and
    each is turned into columns at once (when "format", "assets" and "instruments" came before
    it, as they do in a book written in the documented order; else the accounts are kept and
    turned into columns at the end). Returns (spec, columns, spans); _Fallback on anything but
    well-formed JSON with no repeated top-level key (the ordinary reader then says what is
    wrong)."""
    decode = _DECODER.raw_decode
    head: list[tuple[str, Json]]
    spans: array.array[int]
    cols: _Columns | None
    kept: list[Json] | None
    seen: set[str]
    head, spans, cols, kept, seen = [], array.array("Q"), None, None, set()
    i = _WS(text, 0).end()
    if text[i:i + 1] != "{":
        raise _Fallback
    i = _WS(text, i + 1).end()
    if text[i:i + 1] == "}":
        i += 1
    else:
        while True:
            if text[i:i + 1] != '"':
                raise _Fallback
            key, i = decode(text, i)
            if key in seen:
                raise _Fallback
            seen.add(key)
            i = _WS(text, i).end()
            if text[i:i + 1] != ":":
                raise _Fallback
            i = _WS(text, i + 1).end()
            if key == "accounts" and text[i:i + 1] == "[":
                spec = None
                if {"format", "assets", "instruments"} <= seen:
                    try:
                        spec = _book.check(_objects(tuple(head)))
                    except _book.BookError:
                        raise _Fallback from None

                def accounts(i: int) -> Iterator[Json]:
                    i = _WS(text, i + 1).end()
                    if text[i:i + 1] == "]":
                        yield i + 1
                        return
                    while True:
                        spans.append(i)
                        value, i = decode(text, i)
                        spans.append(i)
                        yield value
                        i = _WS(text, i).end()
                        c = text[i:i + 1]
                        if c == "]":
                            yield i + 1
                            return
                        if c != ",":
                            raise _Fallback
                        i = _WS(text, i + 1).end()

                items = accounts(i)
                values = _until_int(items)
                if spec is not None:
                    cols = _account_columns(values, spec)
                else:
                    kept = list(values)
                assert values.end is not None  # the generator yields the offset after the array, then stops
                i = values.end
            else:
                value, i = decode(text, i)
                head.append((key, value))
            i = _WS(text, i).end()
            c = text[i:i + 1]
            if c == "}":
                i += 1
                break
            if c != ",":
                raise _Fallback
            i = _WS(text, i + 1).end()
    if _WS(text, i).end() != len(text):
        raise _Fallback
    root = _objects(tuple(head))
    try:
        spec = _book.check(root)
    except _book.BookError:
        raise _Fallback from None
    if cols is None:
        cols = _account_columns(kept or [], spec)
    return spec, cols, spans


class _until_int:
    """Iterates the values of a generator until it yields an int (the offset after the array),
    kept as ``end``."""

    def __init__(self, gen: Iterator[Json]) -> None:
        self.gen = gen
        self.end: int | None = None

    def __iter__(self) -> _until_int:
        return self

    def __next__(self) -> Json:
        value = next(self.gen)
        if type(value) is int:
            self.end = value
            raise StopIteration
        return value


def _try_fast(text: str) -> FastBook:
    collecting = gc.isenabled()
    gc.disable()  # parsed JSON makes no cycles: no collector passes over the parsed objects
    try:
        spec, cols, spans = _scan(text)
    except (ValueError, RecursionError, OverflowError):  # malformed JSON, a number Python refuses
        raise _Fallback from None
    finally:
        if collecting:
            gc.enable()
    if any(ins.get("funding") for ins in spec["instruments"]):
        # _load_into accrues a book's funding after its accounts' positions (docs/rates.md 8.2);
        # the bulk loaders open them afterwards, which would start them at today's index
        raise _Fallback
    eng = Engine()
    try:
        _book._load_into(eng, spec, [])
        if len(cols.acc_id):
            eng.add_accounts(cols.acc_id, cols.acc_mm, cols.acc_pm)
        if len(cols.bal_acc):
            eng.set_balances(cols.bal_acc, cols.bal_asset, cols.bal_amount)
        if len(cols.lev_acc):
            eng.set_leverages(cols.lev_acc, cols.lev_inst, cols.lev)
        if len(cols.pos_acc):
            eng.open_positions(cols.pos_acc, cols.pos_inst, cols.pos_qty, cols.pos_entry, sides=cols.pos_side,
                               margin_modes=cols.pos_mm, isolated_margin=cols.pos_iso)
    except (errors.RiskError, _book.BookError):
        eng.close()
        raise _Fallback from None
    except BaseException:
        eng.close()
        raise
    for name in ("lev_acc", "lev_inst", "lev", "pos_acc", "pos_inst", "pos_side", "pos_mm", "pos_qty", "pos_entry",
                 "pos_iso"):  # in the engine now: their memory goes back before the evaluation's columns come
        setattr(cols, name, array.array(getattr(cols, name).typecode))
    return FastBook(eng, spec, _SpecAccounts(text, spans), cols)


def account_ids(book: _book.Book) -> Sequence[int]:
    """The ids of a book's accounts in book order, without making an :class:`Account` per
    account when the book was bulk-loaded."""
    if isinstance(book, FastBook):
        return book.columns.acc_id
    return [acc.id for acc in book.accounts]


def load_bytes(path: str, raw: bytes) -> _book.Book:
    """A book file's bytes loaded into a fresh engine: through the bulk calls when the book has
    the plain shape, else through :func:`book.load` (which names any bad field)."""
    try:
        text = raw.decode("utf-8-sig")
    except UnicodeDecodeError:
        return _book.load(_book.read(path, raw))
    return _load_text(path, text)


def load_file(path: str) -> _book.Book:
    """A book file (``-``: standard input) loaded as :func:`load_bytes` does, without keeping
    its bytes once decoded (a regular file is decoded straight from its mapping: no copy of its
    bytes is made)."""
    text = None
    if path != "-":
        import mmap
        try:
            with open(path, "rb") as f, mmap.mmap(f.fileno(), 0, access=mmap.ACCESS_READ) as m:
                text = str(m, "utf-8-sig")
        except (OSError, ValueError, UnicodeDecodeError):  # not mappable (empty, a pipe), or not UTF-8
            text = None
    if text is None:
        raw = _book.read_bytes(path)
        try:
            text = raw.decode("utf-8-sig")
        except UnicodeDecodeError:
            return _book.load(_book.read(path, raw))
        del raw
    return _load_text(path, text)


def _load_text(path: str, text: str) -> _book.Book:
    try:
        return _try_fast(text)
    except _Fallback:
        pass
    return _book.load(_book.parse(text))


# ---------------------------------------------------------------- evaluation, streamed

_STATE_NAMES = ("healthy", "margin_call", "liquidatable", "bankrupt")
_SIDE_NAMES = {ffi.SIDE_LONG: "long", ffi.SIDE_SHORT: "short", ffi.SIDE_BOTH: "both"}
_MODE_NAMES = {ffi.MARGIN_CROSS: "cross", ffi.MARGIN_ISOLATED: "isolated"}
_ACCOUNT_MONEY = ("equity", "collateral_value", "unrealized_pnl", "initial_margin", "maintenance_margin",
                  "available")
_ACCOUNT_RATIOS = ("health_factor", "margin_ratio", "ltv", "ltv_buffer", "leverage")
_STATE_TEXTS = tuple(json.dumps(x) for x in _STATE_NAMES)


class _Layout:
    """Where json.dumps puts the separators of the result document, for indent 2 or none."""

    def __init__(self, compact: bool) -> None:
        if compact:
            self.acc_open, self.acc_sep, self.acc_close = "{", ", ", "}"
            self.item_open, self.item_sep, self.item_close = "{", ", ", "}"
            self.list_open, self.list_sep, self.list_close = "[", ", ", "]"
            self.doc_open = '{"format": %s, "accounts": [' % json.dumps(_book.RESULT_FORMAT)
            self.doc_sep, self.doc_close = ", ", "]}"
        else:
            self.acc_open, self.acc_sep, self.acc_close = "    {\n      ", ",\n      ", "\n    }"
            self.item_open, self.item_sep, self.item_close = "{\n          ", ",\n          ", "\n        }"
            self.list_open, self.list_sep, self.list_close = "[\n        ", ",\n        ", "\n      ]"
            self.doc_open = '{\n  "format": %s,\n  "accounts": [\n' % json.dumps(_book.RESULT_FORMAT)
            self.doc_sep, self.doc_close = ",\n", "\n  ]\n}"
        self.doc_empty = (json.dumps({"format": _book.RESULT_FORMAT, "accounts": []}, indent=None if compact else 2))


def streamable(book: _book.Book) -> TypeGuard[FastBook]:
    """Whether :func:`write_evaluation` can write this book (a fast book without interest
    models, whose result has no per-account "interest")."""
    return isinstance(book, FastBook) and not any(a.get("rate_model") is not None for a in book.spec["assets"])


BLOCK_ACCOUNTS = 4096  # accounts turned into text at a time: bounds the memory the text takes


def _address(column: Any, row: int = 0) -> int:
    """Address of ``column[row]`` (an array.array or a writable memoryview; no copy)."""
    if type(column) is array.array:
        return column.buffer_info()[0] + row * column.itemsize
    if not column.nbytes:  # an empty view (no rows to read)
        return 0
    return ctypes.addressof(ctypes.c_char.from_buffer(column)) + row * column.itemsize


def _zeros(fields: Iterable[tuple[str, Any]], n: int) -> dict[str, Any]:
    """Fresh columns of ``n`` elements for the column calls, in anonymous memory (zero pages
    the C library touches once, rather than zeros written and copied by Python)."""
    import mmap
    out = {}
    for name, ctype in fields:
        size = n * ctypes.sizeof(ctype)
        if size == 0:
            continue
        code = {ctypes.c_double: "d", ctypes.c_uint32: "I", ctypes.c_uint64: "Q"}[ctype]
        out[name] = memoryview(mmap.mmap(-1, size)).cast(code)
    return out


class _Rows:
    """One row template of risk_text_rows (include/risk/bulk.h): the pieces around the columns,
    and a reusable output buffer."""

    def __init__(self, pieces: Sequence[str]) -> None:
        raw = [x.encode("ascii") for x in pieces]
        self.fixed = sum(map(len, raw))
        self.pieces = (ctypes.c_char_p * len(raw))(*raw)
        self.keep: list[Any] = []  # label tables the columns point to
        self.buf = bytearray(0)
        self.rows_n = ctypes.c_size_t()
        self.bytes_n = ctypes.c_size_t()
        self.offsets = array.array("Q")

    def labels(self, texts: Sequence[str]) -> tuple[int, int]:
        """A label table (address, length) kept alive with the template."""
        raw = [t.encode("ascii") for t in texts]
        table = (ctypes.c_char_p * len(raw))(*raw)
        self.keep.append(table)
        return ctypes.addressof(table), len(raw)

    def write(self, columns: list[ffi.RiskTextColumn], n_rows: int, bound: int,
              offsets: bool = False) -> memoryview:
        """The text of ``n_rows`` rows (``bound``: bytes they may take at most); with ``offsets``,
        their offsets are left in ``self.offsets`` (n_rows + 1 of them)."""
        cols = (ffi.RiskTextColumn * len(columns))(*columns)
        if offsets:
            if len(self.offsets) < n_rows + 1:
                self.offsets = array.array("Q", bytes(8 * (n_rows + 1)))
            off = _address(self.offsets)
        else:
            off = None
        L = ffi.lib()
        while True:
            if len(self.buf) < bound:
                self.buf = bytearray(bound)
            out = (ctypes.c_char * len(self.buf)).from_buffer(self.buf)
            try:
                L.risk_text_rows(ctypes.addressof(self.pieces), cols, len(columns), n_rows, out, len(self.buf),
                                 ctypes.byref(self.rows_n), ctypes.byref(self.bytes_n), off)
            except errors.BufferTooSmallError:  # the bound was short (it should not be): more room
                bound = 2 * max(bound, len(self.buf), 64)
                continue
            finally:
                del out
            return memoryview(self.buf)[:self.bytes_n.value]


def _column(kind: int, values: int, decimals: int = 0, keys: int | None = None,
            table: tuple[int, int] | None = None, labels: tuple[int, int] | None = None,
            items: int | None = None, item_offsets: int | None = None, n_items: int = 0) -> ffi.RiskTextColumn:
    col = ffi.RiskTextColumn(ffi.TEXT_COLUMN_VERSION, kind, values, decimals)
    if keys is not None and table is not None:
        col.keys, col.decimals_of, col.n_keys = keys, table[0], table[1]
    if labels is not None:
        col.labels, col.n_keys = labels
    if items is not None:
        col.items, col.item_offsets, col.n_items = items, item_offsets, n_items
    return col


def number_texts(values: Sequence[float], decimals: int | None = None) -> list[str]:
    """The JSON texts ``risk_text_rows`` writes for a column of doubles: ``repr(round(x,
    decimals) + 0.0)`` on a grid of ``decimals`` places (0..22), ``repr(x + 0.0)`` when
    ``decimals`` is None; "null" for NaN and infinities. (What the streamed evaluation writes;
    the test suite checks it against ``repr``.)"""
    column = array.array("d", values)
    rows = _Rows(["", "\n"])
    kind = ffi.TEXT_SHORTEST if decimals is None else ffi.TEXT_GRID
    text = rows.write([_column(kind, _address(column), decimals=decimals or 0)], len(column),
                      len(column) * (ffi.TEXT_NUMBER_MAX + 1))
    return str(text, "ascii").split("\n")[:-1]


_ASCII = frozenset(("utf-8", "utf8", "ascii", "us-ascii", "ansi_x3.4-1968", "latin-1", "latin1", "iso-8859-1",
                    "iso8859-1"))


def write_evaluation(book: FastBook, out: TextIO, compact: bool = False, threads: int = 1,
                     ndjson: bool = False) -> None:
    """Writes the "librisk-result/1" document of a :class:`FastBook` to ``out``: byte for byte
    what ``json.dumps(book.evaluate(...), indent=2 or None)`` gives, plus a newline. ``ndjson``:
    one account object per line instead (compact), no enclosing document.

    The C library writes every result into columns, and turns them into text a block of
    :data:`BLOCK_ACCOUNTS` accounts at a time (``risk_text_rows``: positions, balances, then the
    accounts with their lists, numbers on their grids as ``repr`` writes them); the text goes
    to ``out``'s binary buffer when it has one (the text is ASCII), else to ``out``."""
    from .grid import Grid
    eng = book.engine
    spec = book.spec
    s_fields = ("state", "n_positions") + _ACCOUNT_MONEY + _ACCOUNT_RATIOS
    p_fields = ("instrument", "side", "leg", "margin_mode", "flags", "qty", "notional", "unrealized_pnl",
                "initial_margin", "maintenance_margin", "isolated_margin", "liquidation_price", "bankruptcy_price")
    try:
        types = dict(ffi.SUMMARY_COLUMN_FIELDS)
        s = eng.summary_columns(fields=s_fields, threads=threads, use_numpy=False,
                                out=_zeros(((k, types[k]) for k in s_fields), eng.account_count))
        n_pos = ctypes.c_size_t()
        try:  # how many positions (every column NULL)
            ffi.lib().risk_engine_position_results_columns(
                eng._require(), ctypes.byref(ffi.RiskPositionResultColumns(ffi.POSITION_RESULT_COLUMNS_VERSION)), 0, 1,
                ctypes.byref(n_pos))
        except errors.BufferTooSmallError:
            pass
        types = dict(ffi.POSITION_RESULT_COLUMN_FIELDS)
        p = eng.position_columns(fields=p_fields, threads=threads, use_numpy=False,
                                 out=_zeros(((k, types[k]) for k in p_fields), n_pos.value))
    except errors.RiskError as exc:
        raise _book.BookError("accounts", _book._problem(exc)) from None
    grid = Grid(spec)
    lay = _Layout(compact or ndjson)
    n_acc = len(book.columns.acc_id)
    raw = getattr(out, "buffer", None)
    if raw is not None and str(getattr(out, "encoding", "")).lower() in _ASCII:
        out.flush()
        put: Callable[[memoryview], Any] = raw.write
    else:
        def put(text: memoryview) -> Any:
            return out.write(str(text, "ascii"))
    if not ndjson and n_acc == 0:
        out.write(lay.doc_empty + "\n")
        return
    w = _Writer(book, lay, ndjson, grid, s, p)
    if not ndjson:
        put(memoryview(lay.doc_open.encode("ascii")))
    n_positions = s["n_positions"]
    p0 = 0
    for a0 in range(0, n_acc, BLOCK_ACCOUNTS):
        a1 = min(n_acc, a0 + BLOCK_ACCOUNTS)
        p1 = p0 + sum(n_positions[a0:a1])
        put(w.block(a0, a1, p0, p1))
        p0 = p1
    if not ndjson:
        put(memoryview((lay.doc_close + "\n").encode("ascii")))


class _Writer:
    """Turns blocks of accounts' columns into the document's text (write_evaluation)."""

    def __init__(self, book: FastBook, lay: _Layout, ndjson: bool, grid: Grid, s: dict[str, Any],
                 p: dict[str, Any]) -> None:
        from .grid import step_decimals
        spec = book.spec
        instruments = spec["instruments"]
        self.book, self.lay, self.ndjson, self.s, self.p = book, lay, ndjson, s, p
        self.vdec = grid.asset_decimals.get(grid.valuation, 8)
        self.vid = book.engine.valuation_asset
        self.asset_dec = array.array("i", [a["decimals"] for a in spec["assets"]] or [0])
        self.lot_dec = array.array("i", [step_decimals(i["lot_size"]) for i in instruments] or [0])
        self.tick_dec = array.array("i", [step_decimals(i["tick_size"]) for i in instruments] or [0])
        self.settle_dec = array.array("i", [grid.asset_decimals.get(i["settle"], 8) for i in instruments] or [0])
        pkeys = ("instrument", "side", "qty", "notional", "unrealized_pnl", "initial_margin", "maintenance_margin",
                 "liquidation_price", "bankruptcy_price", "margin_mode", "isolated_margin", "liquidatable")
        self.pos = _Rows(self._pieces(lay.item_open, lay.item_sep, lay.item_close, pkeys))
        self.ins_labels = self.pos.labels([json.dumps(i["symbol"]) for i in instruments] or ["null"])
        sides = ["null"] * (max(_SIDE_NAMES) + 1)
        for k, v in _SIDE_NAMES.items():
            sides[k] = json.dumps(v)
        self.side_labels = self.pos.labels(sides)
        modes = ["null"] * (max(_MODE_NAMES) + 1)
        for k, v in _MODE_NAMES.items():
            modes[k] = json.dumps(v)
        self.mode_labels = self.pos.labels(modes)
        flags = p["flags"]
        top = max(flags) if len(flags) else 0
        self.flag_table = top < 4096  # a label per flags value: "true" where bit 2 (liquidatable) is set
        if self.flag_table:
            self.flag_labels = self.pos.labels([("false", "true")[(f >> 2) & 1] for f in range(top + 1)])
        else:
            self.flag_labels = self.pos.labels(["false", "true"])
        self.bal = _Rows(self._pieces(lay.item_open, lay.item_sep, lay.item_close,
                                      ("asset", "amount", "liquidation_price")))
        self.asset_labels = self.bal.labels([json.dumps(a["symbol"]) for a in spec["assets"]] or ["null"])
        akeys = ("id", "state") + _ACCOUNT_MONEY + _ACCOUNT_RATIOS + ("balances", "positions")
        acc_open, acc_close = ("{", "}") if ndjson else (lay.acc_open, lay.acc_close)
        pieces = self._pieces(acc_open, lay.acc_sep, acc_close + ("\n" if ndjson else ""), akeys)
        self.acc = _Rows([""] + pieces)  # a first column: the separator before every account but the first
        self.prefix_labels = self.acc.labels(["", "" if ndjson else lay.doc_sep])
        self.state_labels = self.acc.labels(list(_STATE_TEXTS))
        self.list_labels = self.acc.labels([lay.list_open, lay.list_sep, lay.list_close, "[]"])
        cols = book.columns
        self.hedge = ffi.POSITION_HEDGE in set(cols.acc_pm)
        self.b = 0  # next balance row
        self.spot = ffi.lib().risk_account_spot_liquidation_price
        self.price = ctypes.c_double()
        self.price_ref = ctypes.byref(self.price)
        self.first = True

    @staticmethod
    def _pieces(open_: str, sep: str, close: str, keys: Sequence[str]) -> list[str]:
        """The pieces of an object template with one column per key."""
        return [open_ + '"%s": ' % keys[0]] + [sep + '"%s": ' % k for k in keys[1:]] + [close]

    def _positions(self, a0: int, a1: int, p0: int, p1: int) -> memoryview:
        p, n = self.p, p1 - p0
        inst = _address(p["instrument"], p0)
        side, qty = p["side"], p["qty"]
        side_at, qty_at = _address(side, p0), _address(qty, p0)
        if self.hedge:  # a hedge account's legs: the leg as side, the quantity without its sign
            pm = self.book.columns.acc_pm
            n_positions, leg = self.s["n_positions"], p["leg"]
            side, qty = side[p0:p1], qty[p0:p1]
            r = 0
            for i in range(a0, a1):
                k = n_positions[i]
                if pm[i] == ffi.POSITION_HEDGE:
                    for j in range(r, r + k):
                        side[j] = leg[p0 + j]
                        qty[j] = abs(qty[j])
                r += k
            self.keep_block = (side, qty)
            side_at, qty_at = _address(side), _address(qty)
        flags = p["flags"]
        if self.flag_table:
            flags_at = _address(flags, p0)
        else:
            bits = array.array("I", [(f >> 2) & 1 for f in flags[p0:p1]])
            self.keep_flags = bits
            flags_at = _address(bits)
        lot, settle, tick = (_address(self.lot_dec), len(self.lot_dec)), \
            (_address(self.settle_dec), len(self.settle_dec)), (_address(self.tick_dec), len(self.tick_dec))
        grid = ffi.TEXT_GRID
        columns = [_column(ffi.TEXT_LABEL, inst, labels=self.ins_labels),
                   _column(ffi.TEXT_LABEL, side_at, labels=self.side_labels),
                   _column(grid, qty_at, keys=inst, table=lot)] + \
            [_column(grid, _address(p[k], p0), keys=inst, table=settle)
             for k in ("notional", "unrealized_pnl", "initial_margin", "maintenance_margin")] + \
            [_column(grid, _address(p[k], p0), keys=inst, table=tick) for k in ("liquidation_price", "bankruptcy_price")] + \
            [_column(ffi.TEXT_LABEL, _address(p["margin_mode"], p0), labels=self.mode_labels),
             _column(grid, _address(p["isolated_margin"], p0), keys=inst, table=settle),
             _column(ffi.TEXT_LABEL, flags_at, labels=self.flag_labels)]
        labels = max(map(len, (json.dumps(i["symbol"]) for i in self.book.spec["instruments"])), default=4)
        bound = n * (self.pos.fixed + 9 * ffi.TEXT_NUMBER_MAX + labels + 3 * 16) + 64
        return self.pos.write(columns, n, bound, offsets=True)

    def _balances(self, a0: int, a1: int) -> tuple[memoryview, array.array[int], int]:
        """The text of the balances of accounts a0..a1 (in the assets' order, zeros left out),
        the count of each account's, and their number."""
        cols = self.book.columns
        bal_index, bal_asset, bal_amount = cols.bal_index, cols.bal_asset, cols.bal_amount
        n_bal = len(bal_index)
        b = b1 = self.b
        while b1 < n_bal and bal_index[b1] < a1:
            b1 += 1
        self.b = b1
        counts = array.array("I", bytes(4 * (a1 - a0)))
        vid = self.vid
        if b1 > b and set(bal_asset[b:b1]) == {vid} and 0.0 not in bal_amount[b:b1]:
            # every balance in the valuation asset (one per account at most), none zero: as loaded
            for i in bal_index[b:b1]:
                counts[i - a0] += 1
            asset, amount, n = bal_asset[b:b1], bal_amount[b:b1], b1 - b
            liq = array.array("d", [math.nan]) * n
        else:
            rows: list[int] = []
            for r in range(b, b1):
                if bal_amount[r] != 0.0:  # a basket holds no zero balance
                    rows.append(r)
            rows.sort(key=lambda r: (bal_index[r], bal_asset[r]))  # in the assets' order (book.balance_fields)
            asset = array.array("I", [bal_asset[r] for r in rows])
            amount = array.array("d", [bal_amount[r] for r in rows])
            liq = array.array("d", [math.nan]) * len(rows)
            accounts, spot, price, price_ref = self.book.accounts, self.spot, self.price, self.price_ref
            for j, r in enumerate(rows):
                i = bal_index[r]
                counts[i - a0] += 1
                a = bal_asset[r]
                if a != vid:  # on the valuation asset's decimals, against the account (book.balance_fields)
                    spot(accounts.pointer(i), a, price_ref)
                    v = _book._jnum(on_grid_directed(price.value, self.vdec, bal_amount[r] > 0))
                    if v is not None:
                        liq[j] = v
            n = len(rows)
        self.keep_bal = (asset, amount, liq)
        if n == 0:
            return memoryview(b""), counts, 0
        columns = [_column(ffi.TEXT_LABEL, _address(asset), labels=self.asset_labels),
                   _column(ffi.TEXT_GRID, _address(amount), keys=_address(asset),
                           table=(_address(self.asset_dec), len(self.asset_dec))),
                   _column(ffi.TEXT_SHORTEST, _address(liq))]
        labels = max(map(len, (json.dumps(a["symbol"]) for a in self.book.spec["assets"])), default=4)
        bound = n * (self.bal.fixed + 2 * ffi.TEXT_NUMBER_MAX + labels) + 64
        return self.bal.write(columns, n, bound, offsets=True), counts, n

    def block(self, a0: int, a1: int, p0: int, p1: int) -> memoryview:
        n, s = a1 - a0, self.s
        pos_text = self._positions(a0, a1, p0, p1)
        pos_offsets = self.pos.offsets
        bal_text, bal_counts, n_bal = self._balances(a0, a1)
        bal_offsets = self.bal.offsets
        prefix = array.array("I", [1]) * n
        if self.first:
            prefix[0] = 0
            self.first = False
        pos_buf = (ctypes.c_char * len(pos_text)).from_buffer(pos_text) if len(pos_text) else None
        bal_buf = (ctypes.c_char * len(bal_text)).from_buffer(bal_text) if len(bal_text) else None
        grid, shortest = ffi.TEXT_GRID, ffi.TEXT_SHORTEST
        columns = [_column(ffi.TEXT_LABEL, _address(prefix), labels=self.prefix_labels),
                   _column(ffi.TEXT_UINT, _address(self.book.columns.acc_id, a0)),
                   _column(ffi.TEXT_LABEL, _address(s["state"], a0), labels=self.state_labels)] + \
            [_column(grid, _address(s[k], a0), decimals=self.vdec) for k in _ACCOUNT_MONEY] + \
            [_column(shortest, _address(s[k], a0)) for k in _ACCOUNT_RATIOS] + \
            [_column(ffi.TEXT_LIST, _address(bal_counts), labels=self.list_labels,
                     items=ctypes.addressof(bal_buf) if bal_buf is not None else None,
                     item_offsets=_address(bal_offsets), n_items=n_bal),
             _column(ffi.TEXT_LIST, _address(s["n_positions"], a0), labels=self.list_labels,
                     items=ctypes.addressof(pos_buf) if pos_buf is not None else None,
                     item_offsets=_address(pos_offsets), n_items=p1 - p0)]
        lay = self.lay
        per_list = len(lay.list_open) + len(lay.list_close) + 2
        bound = (n * (self.acc.fixed + 11 * ffi.TEXT_NUMBER_MAX + 20 + 20 + len(lay.doc_sep) + 2 * per_list)
                 + len(pos_text) + (p1 - p0) * len(lay.list_sep) + len(bal_text) + n_bal * len(lay.list_sep) + 64)
        try:
            return self.acc.write(columns, n, bound)
        finally:
            del pos_buf, bal_buf
