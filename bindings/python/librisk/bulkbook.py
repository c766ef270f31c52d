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
import json
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
    from types import ModuleType
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
    are sequences that make their items when read; ``columns`` holds the loaded rows."""

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
    try:
        spec, cols, spans = _scan(text)
    except (ValueError, RecursionError, OverflowError):  # malformed JSON, a number Python refuses
        raise _Fallback from None
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
    return FastBook(eng, spec, _SpecAccounts(text, spans), cols)


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
    its bytes once decoded."""
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


# decimals -> fullmatch of a repr with at most that many decimals (no exponent)
_ON_GRID: dict[int, Callable[[str], re.Match[str] | None]] = {}


def _texts(values: Sequence[float], decimals: int | list[int]) -> list[str]:
    """JSON texts of grid.on_grid(x, d) for a column (``decimals``: one int, or one per row).

    repr(x) is the shortest text that reads back as x, so when it has at most d decimals (and
    no exponent), x is the double nearest a d-decimal number and round(x, d) gives x back: the
    text is repr(x) itself. Those are found with a regular expression mapped over the column
    (the loop runs in C); only the others are rounded. NaN and infinities become null and -0.0
    0.0 (what on_grid's ``+ 0.0`` and json.dumps make of them)."""
    texts = list(map(repr, values))
    if isinstance(decimals, int):
        match = _ON_GRID.get(decimals)
        if match is None:
            match = _ON_GRID[decimals] = re.compile(r"-?[0-9]+\.[0-9]{1,%d}" % max(decimals, 1)).fullmatch
        bad = [k for k, m in enumerate(map(match, texts)) if m is None or decimals == 0]
        for k in bad:
            texts[k] = repr(round(values[k], decimals))
    else:
        for k, (t, d) in enumerate(zip(texts, decimals)):
            if "." not in t or "e" in t or len(t) - t.index(".") > d + 1 or d == 0:
                texts[k] = repr(round(values[k], d))
    return list(map(_FIX.get, texts, texts))


_abs: Callable[[float], float] = abs  # the builtin, typed for map(): mypy infers no map(abs, floats)


def _quantized_texts(values: Sequence[float], decimals: int) -> list[str]:
    """_texts for a column the C library quantized to ``decimals`` (risk__quantize: a whole
    number of quanta divided by the exact 10^decimals, so the double nearest the decimal, which
    round() gives back unchanged): repr alone. Quantization stops at 2^52 quanta; a column
    reaching that far is rounded as any other."""
    if values and max(map(_abs, values)) * 10.0 ** decimals >= 2.0 ** 51:
        return _texts(values, decimals)
    texts = list(map(repr, values))
    return list(map(_FIX.get, texts, texts))


def _ratio_texts(values: Iterable[float]) -> list[str]:
    """JSON texts of book._jnum(x) for a column."""
    texts = list(map(repr, values))
    return list(map(_FIX.get, texts, texts))


_FIX = {"nan": "null", "inf": "null", "-inf": "null", "-0.0": "0.0"}


def _per_row(table: list[int], keys: Iterable[int]) -> int | list[int]:
    """``table[key]`` for each row's key: one int when every key maps alike."""
    values = set(table)
    if len(values) == 1:
        return values.pop()
    return list(map(table.__getitem__, keys))


BLOCK_ACCOUNTS = 8192  # accounts turned into text at a time: bounds the memory the text takes


def write_evaluation(book: FastBook, out: TextIO, compact: bool = False, threads: int = 1,
                     ndjson: bool = False) -> None:
    """Writes the "librisk-result/1" document of a :class:`FastBook` to ``out``: byte for byte
    what ``json.dumps(book.evaluate(...), indent=2 or None)`` gives, plus a newline. ``ndjson``:
    one account object per line instead (compact), no enclosing document.

    The C library writes every result into columns; they are turned into text a block of
    :data:`BLOCK_ACCOUNTS` accounts at a time, column by column (map() over the column, so the
    loop runs in C), then joined per position and per account, and written."""
    from .grid import Grid, step_decimals
    eng = book.engine
    spec = book.spec
    try:
        s = eng.summary_columns(fields=("state", "n_positions") + _ACCOUNT_MONEY + _ACCOUNT_RATIOS, threads=threads,
                                use_numpy=False)
        p = eng.position_columns(fields=("instrument", "side", "leg", "margin_mode", "flags", "qty", "notional",
                                         "unrealized_pnl", "initial_margin", "maintenance_margin", "isolated_margin",
                                         "liquidation_price", "bankruptcy_price"),
                                 threads=threads, use_numpy=False)
    except errors.RiskError as exc:
        raise _book.BookError("accounts", _book._problem(exc)) from None
    grid = Grid(spec)
    vdec = grid.asset_decimals.get(grid.valuation, 8)
    vid = eng.valuation_asset
    instruments = spec["instruments"]
    lay = _Layout(compact or ndjson)
    cols = book.columns
    n_acc = len(cols.acc_id)
    write = out.write
    if not ndjson and n_acc == 0:
        write(lay.doc_empty + "\n")
        return
    w = _Writer(book, lay, ndjson, grid, vdec, vid, instruments, step_decimals, ctypes)
    if not ndjson:
        write(lay.doc_open)
    n_positions = s["n_positions"]
    p0 = 0
    for a0 in range(0, n_acc, BLOCK_ACCOUNTS):
        a1 = min(n_acc, a0 + BLOCK_ACCOUNTS)
        p1 = p0 + sum(n_positions[a0:a1])
        write(w.block(a0, a1, {k: v[a0:a1] for k, v in s.items()}, {k: v[p0:p1] for k, v in p.items()}))
        p0 = p1
    if not ndjson:
        write(lay.doc_close + "\n")


class _Writer:
    """Turns blocks of accounts' columns into the document's text (write_evaluation)."""

    def __init__(self, book: FastBook, lay: _Layout, ndjson: bool, grid: Grid, vdec: int, vid: int | None,
                 instruments: list[dict[str, Any]], step_decimals: Callable[[float], int],
                 ctypes: ModuleType) -> None:
        spec = book.spec
        self.book, self.lay, self.ndjson, self.vdec, self.vid = book, lay, ndjson, vdec, vid
        self.asset_names = [json.dumps(a["symbol"]) for a in spec["assets"]]
        self.asset_dec = [a["decimals"] for a in spec["assets"]]
        self.ins_names = [json.dumps(i["symbol"]) for i in instruments]
        self.lot_dec = [step_decimals(i["lot_size"]) for i in instruments]
        self.tick_dec = [step_decimals(i["tick_size"]) for i in instruments]
        self.settle_dec = [grid.asset_decimals.get(i["settle"], 8) for i in instruments]
        self.sides = {k: json.dumps(v) for k, v in _SIDE_NAMES.items()}
        self.modes = {k: json.dumps(v) for k, v in _MODE_NAMES.items()}
        keys = ("instrument", "side", "qty", "notional", "unrealized_pnl", "initial_margin", "maintenance_margin",
                "liquidation_price", "bankruptcy_price", "margin_mode", "isolated_margin", "liquidatable")
        self.item = lay.item_open + lay.item_sep.join('"%s": %%s' % k for k in keys) + lay.item_close
        akeys = ("id", "state") + _ACCOUNT_MONEY + _ACCOUNT_RATIOS + ("balances", "positions")
        acc_open, acc_close = ("{", "}") if ndjson else (lay.acc_open, lay.acc_close)
        self.acc_tpl = acc_open + lay.acc_sep.join('"%s": %%s' % k for k in akeys) + acc_close
        self.bal_tpl = lay.item_open + lay.item_sep.join('"%s": %%s' % k for k in
                                                         ("asset", "amount", "liquidation_price")) + lay.item_close
        # money the library quantized to the valuation asset, when the grid's is the engine's
        # ("available" is a difference of two quantized values: rounded)
        self.quantized: tuple[str, ...] = ()
        if vid is not None and spec["assets"][vid]["symbol"] == grid.valuation:
            self.quantized = ("equity", "collateral_value", "unrealized_pnl", "initial_margin", "maintenance_margin")
        cols = book.columns
        self.any_hedge = ffi.POSITION_HEDGE in set(cols.acc_pm)
        self.b = 0  # next balance row
        self.spot = ffi.lib().risk_account_spot_liquidation_price
        self.price = ctypes.c_double()
        self.price_ref = ctypes.byref(self.price)
        self.first = True

    def block(self, a0: int, a1: int, s: dict[str, Any], p: dict[str, Any]) -> str:
        lay, cols = self.lay, self.book.columns
        # positions: every field as text, column by column, then one text per position
        p_inst = p["instrument"]
        n_positions = s["n_positions"]
        if self.any_hedge:
            pm = cols.acc_pm
            hedge_rows = [pm[a0 + i] == ffi.POSITION_HEDGE for i, k in enumerate(n_positions) for _ in range(k)]
            side_codes = list(map(lambda h, leg, side: leg if h else side, hedge_rows, p["leg"], p["side"]))
            qty = list(map(lambda h, q: abs(q) if h else q, hedge_rows, p["qty"]))
        else:
            side_codes, qty = p["side"], p["qty"]
        lot = _per_row(self.lot_dec, p_inst)
        tick = _per_row(self.tick_dec, p_inst)
        settle = _per_row(self.settle_dec, p_inst)

        # quantized by the library to the settle asset's decimals
        def money(values: Sequence[float], decimals: int | list[int]) -> list[str]:
            return _quantized_texts(values, decimals) if isinstance(decimals, int) else _texts(values, decimals)

        fields = (list(map(self.ins_names.__getitem__, p_inst)), list(map(self.sides.__getitem__, side_codes)),
                  _texts(qty, lot), _texts(p["notional"], settle), money(p["unrealized_pnl"], settle),
                  money(p["initial_margin"], settle), money(p["maintenance_margin"], settle),
                  _texts(p["liquidation_price"], tick), _texts(p["bankruptcy_price"], tick),
                  list(map(self.modes.__getitem__, p["margin_mode"])), _texts(p["isolated_margin"], settle),
                  [("false", "true")[(f >> 2) & 1] for f in p["flags"]])
        pos_texts = list(map(self.item.__mod__, zip(*fields))) if len(p_inst) else []
        del fields
        # accounts
        vdec = self.vdec
        acc_fields = ([str(x) for x in cols.acc_id[a0:a1]], [_STATE_TEXTS[k] for k in s["state"]]) + \
            tuple((_quantized_texts if k in self.quantized else _texts)(s[k], vdec) for k in _ACCOUNT_MONEY) + \
            tuple(_ratio_texts(s[k]) for k in _ACCOUNT_RATIOS)
        list_open, list_sep, list_close = lay.list_open, lay.list_sep, lay.list_close
        bal_index, bal_asset, bal_amount = cols.bal_index, cols.bal_asset, cols.bal_amount
        n_bal = len(bal_index)
        b = self.b
        b1 = b
        while b1 < n_bal and bal_index[b1] < a1:
            b1 += 1
        amount_texts = _texts(bal_amount[b:b1], _per_row(self.asset_dec, bal_asset[b:b1])) if b1 > b else []
        vid, spot, price, price_ref = self.vid, self.spot, self.price, self.price_ref
        accounts, asset_names, bal_tpl, acc_tpl = self.book.accounts, self.asset_names, self.bal_tpl, self.acc_tpl
        doc_sep = "" if self.ndjson else lay.doc_sep
        end = "\n" if self.ndjson else ""
        chunk = []
        j = 0
        for i, row in enumerate(zip(*acc_fields), a0):
            rows = []
            while b < b1 and bal_index[b] == i:
                rows.append(b)
                b += 1
            items = []
            if len(rows) > 1:  # in the assets' order, as book.balance_fields (one row per asset)
                rows.sort(key=bal_asset.__getitem__)
            for r in rows:
                a = bal_asset[r]
                if bal_amount[r] == 0.0:  # a basket holds no zero balance
                    continue
                if a == vid:  # the valuation asset has no liquidation price
                    liq = "null"
                else:  # on the valuation asset's decimals, against the account (book.balance_fields)
                    spot(accounts.pointer(i), a, price_ref)
                    v = _book._jnum(on_grid_directed(price.value, vdec, bal_amount[r] > 0))
                    liq = "null" if v is None else repr(v)
                items.append(bal_tpl % (asset_names[a], amount_texts[r - self.b], liq))
            k = n_positions[i - a0]
            text = acc_tpl % (row + (list_open + list_sep.join(items) + list_close if items else "[]",
                                     list_open + list_sep.join(pos_texts[j:j + k]) + list_close if k else "[]"))
            j += k
            if self.first:
                self.first = False
                chunk.append(text + end)
            else:
                chunk.append(doc_sep + text + end)
        self.b = b
        return "".join(chunk)
