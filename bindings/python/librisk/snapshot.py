# SPDX-License-Identifier: Apache-2.0
"""Snapshots from Python and the command line (docs/snapshot.md).

``python3 -m librisk snapshot BOOK.json -o FILE`` loads a book and writes the engine's snapshot to
FILE (atomically: a temporary file beside it, fsync'd, renamed over it). Every command that reads
a book also reads a snapshot: :func:`load_path` tells them apart by the snapshot's magic.
"""

from __future__ import annotations

import os

from . import book as _book
from . import errors, ffi
from .core import Engine
import argparse
from typing import Any, TYPE_CHECKING, TextIO

if TYPE_CHECKING:
    from .book import Book


def is_snapshot(path: str) -> bool:
    """True when the file starts with the snapshot magic (``RISK_SNAPSHOT_MAGIC``)."""
    try:
        with open(path, "rb") as f:
            return f.read(len(ffi.SNAPSHOT_MAGIC)) == ffi.SNAPSHOT_MAGIC
    except OSError:
        return False


def load_snapshot(path: str) -> Book:
    """Restores an engine from a snapshot file; returns a :class:`librisk.book.Book` whose ``spec``
    describes the restored registry and accounts as a checked book would (balances and leverages in
    asset and instrument id order). BookError on a bad or unreadable snapshot."""
    try:
        eng = Engine.from_snapshot(path)
    except (errors.CorruptError, errors.VersionError, errors.FileError) as exc:
        raise _book.BookError("snapshot", exc.message or exc.name) from None
    try:
        return _book.Book(eng, list(eng._restored), _spec_of(eng))
    except BaseException:
        for acc in eng._restored:
            acc.close()
        eng.close()
        raise


def _spec_of(eng: Engine) -> dict[str, Any]:
    assets = [eng.asset_info(i) for i in range(eng.asset_count)]
    sym = [a["symbol"] for a in assets]
    instruments = []
    for i in range(eng.instrument_count):
        ins = eng.instrument_info(i)
        ins["underlying"] = sym[ins["underlying"]]
        ins["settle"] = sym[ins["settle"]]
        instruments.append(ins)
    isym = [ins["symbol"] for ins in instruments]
    accounts = []
    for acc in eng._restored:
        basket = acc.basket
        balances = [(sym[k], basket.balance(k)) for k in range(len(sym)) if basket.balance(k) != 0.0]
        leverage = [(isym[k], acc.leverage(k)) for k in range(len(isym)) if acc.leverage(k)]
        positions = [{"instrument": p.symbol, "qty": abs(p.qty) if acc.position_mode == "hedge" else p.qty,
                      "entry": p.entry, "side": p.leg if acc.position_mode == "hedge" else None,
                      "margin_mode": p.margin_mode, "isolated_margin": p.isolated_margin}
                     for p in acc.positions]
        accounts.append({"id": acc.id, "margin_mode": acc.margin_mode, "position_mode": acc.position_mode,
                         "balances": balances, "leverage": leverage, "positions": positions})
    vid = eng.valuation_asset
    return {"valuation_asset": sym[vid] if vid is not None and vid < len(sym) else None,
            "margin_call_health": None, "assets": assets, "instruments": instruments, "accounts": accounts,
            "liquidation": None, "insurance_fund": []}


def load_path(path: str) -> Book:
    """A book or a snapshot file (``-``: standard input), told apart by the magic, loaded into a
    fresh engine."""
    if path == "-":
        raw = _book.read_bytes(path)
        if not raw.startswith(ffi.SNAPSHOT_MAGIC):
            from . import bulkbook
            return bulkbook.load_bytes(path, raw)
        import tempfile
        fd, tmp = tempfile.mkstemp(prefix="librisk-stdin-", suffix=".snap")
        try:
            with os.fdopen(fd, "wb") as f:
                f.write(raw)
            return load_snapshot(tmp)
        finally:
            os.unlink(tmp)
    if is_snapshot(path):
        return load_snapshot(path)
    from . import bulkbook
    return bulkbook.load_file(path)


def add_cli_parser(sub: argparse._SubParsersAction[Any]) -> None:
    """The ``snapshot`` subcommand."""
    sp = sub.add_parser("snapshot", help="load a book (or a snapshot) and write the engine's snapshot "
                                         "(docs/snapshot.md) to a file, atomically")
    sp.add_argument("book", metavar="BOOK.json")
    sp.add_argument("-o", "--output", required=True, metavar="FILE", help="the snapshot file to write")


def cli_main(args: argparse.Namespace, out: TextIO) -> None:
    """Runs ``snapshot``: BookError on bad input."""
    with load_path(args.book) as loaded:
        try:
            loaded.engine.snapshot(args.output)
        except errors.RiskError as exc:
            raise _book.BookError("-o", exc.message or exc.name) from None
        size = os.path.getsize(args.output)
        out.write("%s: %d accounts, %d bytes\n" % (args.output, loaded.engine.account_count, size))
