# SPDX-License-Identifier: Apache-2.0
"""Command line: ``python3 -m librisk evaluate BOOK.json``, ``python3 -m librisk report BOOK.json`` and the
subcommands of the other modules (``stress``: librisk.stress; ``risk-matrix``: librisk.riskmatrix).

Exit status: 0 success; 2 bad input (one line on stderr naming the field, nothing on stdout);
1 when the library cannot be loaded; 141 (128 + SIGPIPE, as other Unix tools report it) when
the reader of stdout went away (``... | head``), quietly.
"""

from __future__ import annotations

import argparse
import json
import math
import os
import sys

from . import book as _book
from . import ffi
from typing import Any, NoReturn, Sequence, TYPE_CHECKING

if TYPE_CHECKING:
    from .backtest import BacktestError
    from .book import Book, BookError
    from .funding import FundingError
    from .options import OptionsCliError
    from .vol import VolCliError

EXIT_OK = 0
EXIT_FAILURE = 1
EXIT_BAD_INPUT = 2
EXIT_BROKEN_PIPE = 128 + 13  # SIGPIPE


class _Parser(argparse.ArgumentParser):
    def error(self, message: str) -> NoReturn:
        self.print_usage(sys.stderr)
        sys.stderr.write("%s: error: %s\n" % (self.prog, message))
        sys.exit(EXIT_BAD_INPUT)


def _parser() -> _Parser:
    p = _Parser(prog="python3 -m librisk",
                description="Evaluate a librisk book (docs/book-format.md) with the librisk C library.")
    p.add_argument("--version", action="store_true", help="print the bindings' and the library's version")
    sub = p.add_subparsers(dest="command", metavar="COMMAND")
    ev = sub.add_parser("evaluate", help="print every account's summary and every position's liquidation "
                                         "and bankruptcy price as one JSON document (librisk-result/1)")
    ev.add_argument("book", metavar="BOOK.json")
    ev.add_argument("--threads", type=int, default=1, help="worker threads for the batch evaluation (default 1)")
    ev.add_argument("--compact", action="store_true", help="print the JSON on one line")
    ev.add_argument("--ndjson", action="store_true",
                    help="print one account per line (newline-delimited JSON, each line an account object of the "
                         "result), written as it is computed: for big books")
    rp = sub.add_parser("report", help="print a readable report of the book")
    rp.add_argument("book", metavar="BOOK.json")
    rp.add_argument("--threads", type=int, default=1, help=argparse.SUPPRESS)
    from . import vol as _vol
    _vol.add_cli_parser(sub)
    from . import liquidation as _liq
    _liq.add_cli_parser(sub)
    from . import whatif as _whatif
    _whatif.add_subcommands(sub)
    from . import backtest as _backtest
    _backtest.add_cli_parser(sub)
    from . import funding as _funding
    _funding.add_cli_parser(sub)
    from . import snapshot as _snapshot
    _snapshot.add_cli_parser(sub)
    from . import options as _options
    _options.add_cli_parser(sub)
    from . import stress as _stress
    _stress.add_cli_parser(sub)
    from . import cascade as _cascade
    _cascade.add_cli_parser(sub)
    from . import riskmatrix as _riskmatrix
    _riskmatrix.add_cli_parser(sub)
    from . import var as _var
    _var.add_cli_parser(sub)
    from . import levtoken as _levtoken
    _levtoken.add_cli_parser(sub)
    from . import optimise as _optimise
    _optimise.add_cli_parser(sub)
    return p


def _money(x: float, places: int = 2) -> str:
    if x is None:
        return "-"
    if math.isinf(x):
        return "inf" if x > 0 else "-inf"
    return "{:,.{}f}".format(x, places)


def _ratio(x: float, places: int = 3) -> str:
    if x is None:
        return "-"
    if math.isinf(x):
        return "inf" if x > 0 else "-inf"
    return "{:.{}f}".format(x, places)


def _pct(x: float) -> str:
    if x is None:
        return "-"
    if math.isinf(x):
        return "inf"
    return "{:.2f}%".format(100.0 * x)


def _qty(x: float) -> str:
    return "{:,.8f}".format(x).rstrip("0").rstrip(".")


def report_text(book: Book, result: dict[str, Any], source: str = "") -> str:
    """A readable report of an evaluated book (the text `make demo` prints).

    Quantities are printed in whole lots, prices on the tick and money in its asset's decimals
    (trailing zeros dropped to two places), as the result document has them (librisk.grid).
    """
    from .grid import Grid
    spec = book.spec
    eng = book.engine
    grid = Grid(spec)
    vid = eng.valuation_asset
    v = eng.asset_symbol(vid) if vid is not None else "?"
    vdec = grid.asset_decimals.get(v, 2)

    def money(x: float | None, asset: str | None = v) -> str:
        return grid.text(x, grid.asset_decimals.get(asset, 8), min(2, grid.asset_decimals.get(asset, 8)))

    def qty(ins: str, x: float) -> str:
        d = grid.lot_decimals.get(ins, 8)
        return grid.text(x, d, d)

    def price(ins: str, x: float | None) -> str:
        d = grid.tick_decimals.get(ins, 8)
        return grid.text(x, d, d)

    def liq_price(ins: str, x: float | None) -> str:  # an option's are prices of the underlying, on its tick
        d = grid.underlying_tick_decimals.get(ins, grid.tick_decimals.get(ins, 8))
        return grid.text(x, d, d)

    lines = []
    from .core import version
    lines.append("librisk %s report%s" % (version(), " for " + source if source else ""))
    lines.append("valuation asset: %s" % v)
    lines.append("")
    lines.append("Prices (%s per unit): " % v + "  ".join(
        "%s %s" % (a["symbol"], _money(eng.price(a["symbol"]), 2 if eng.price(a["symbol"]) >= 1 else 6))
        for a in spec["assets"]))
    if spec["instruments"]:
        lines.append("Instruments:")
        for ins in spec["instruments"]:
            kind = ins["kind"] + (" " + ins["expiry"].strftime("%Y-%m-%d %H:%M UTC") if ins["expiry"] else "")
            style = "inverse" if ins["inverse"] else "linear"
            if ins["kind"] == "option":
                vol = eng.mark_vol(ins["symbol"])
                lines.append("  %-14s %-8s %-27s %s, settle %s, contract %s, %s %s, mark %s%s, standard option margin"
                             % (ins["symbol"], style, kind, ins["underlying"], ins["settle"], _qty(ins["contract_size"]),
                                ins["option_type"], _qty(ins["strike"]), price(ins["symbol"], eng.mark(ins["symbol"])),
                                "" if vol is None else " (vol %.2f%%)" % (100 * vol)))
                continue
            tiers = eng.instrument_tiers(ins["symbol"])
            lines.append("  %-14s %-8s %-27s %s, settle %s, contract %s, mark %s, %d tier%s (MMR %s..%s, max %gx)" % (
                ins["symbol"], style, kind, ins["underlying"], ins["settle"], _qty(ins["contract_size"]),
                price(ins["symbol"], eng.mark(ins["symbol"])), len(tiers), "" if len(tiers) == 1 else "s",
                _pct(tiers[0].mmr), _pct(tiers[-1].mmr), tiers[0].max_leverage))
    lines.append("")
    from .riskmatrix import holds_options, risk_matrix, text_table
    for a, r in zip(spec["accounts"], result["accounts"]):
        lines.append("Account %d  (%s margin, %s)  state: %s" % (
            a["id"], a["margin_mode"], a["position_mode"], r["state"].upper().replace("_", " ")))
        bal = ", ".join("%s %s%s" % (b["asset"], grid.text(b["amount"], grid.asset_decimals.get(b["asset"], 8)),
                                     "" if b["liquidation_price"] is None else
                                     " (liq. price %s)" % grid.text(b["liquidation_price"], vdec, min(2, vdec)))
                        for b in r["balances"]) or "none"
        lines.append("  balances:   %s" % bal)
        lines.append("  equity %s %s   collateral %s   unrealized PnL %s" % (
            money(r["equity"]), v, money(r["collateral_value"]), money(r["unrealized_pnl"])))
        lines.append("  IM %s   MM %s   available %s" % (
            money(r["initial_margin"]), money(r["maintenance_margin"]), money(r["available"])))
        lines.append("  health factor %s   margin ratio %s   LTV %s   LTV buffer %s   leverage %s" % (
            _ratio(r["health_factor"]) if r["health_factor"] is not None else "inf",
            _pct(r["margin_ratio"]), _pct(r["ltv"]), _pct(r["ltv_buffer"]),
            (_ratio(r["leverage"], 2) + "x") if r["leverage"] is not None else "inf"))
        if r["positions"]:
            row = "  %-14s %-5s %-8s %10s %16s %14s %14s %13s %13s %5s %13s %13s %s"
            lines.append((row % ("instrument", "side", "margin", "qty", "notional", "uPnL", "IM", "MM",
                                 "iso. margin", "in", "liq. price", "bankr. price", "")).rstrip())
            for pos in r["positions"]:
                ins = pos["instrument"]
                stl = grid.settle.get(ins, "")
                iso = pos["margin_mode"] == "isolated"
                lines.append((row % (
                    ins, pos["side"], pos["margin_mode"], qty(ins, pos["qty"]), money(pos["notional"], stl),
                    money(pos["unrealized_pnl"], stl), money(pos["initial_margin"], stl),
                    money(pos["maintenance_margin"], stl), money(pos["isolated_margin"], stl) if iso else "-", stl,
                    liq_price(ins, pos["liquidation_price"]), liq_price(ins, pos["bankruptcy_price"]),
                    "LIQUIDATABLE" if pos["liquidatable"] else "")).rstrip())
            why = [p for p in r["positions"] if p["liquidatable"]]
            if why:
                lines.append("  liquidatable: %s" % "; ".join(
                    "%s %s (%s)" % (p["instrument"], p["side"],
                                    "isolated margin + PnL under its MM" if p["margin_mode"] == "isolated"
                                    else "cross pool under its MM, health factor < 1")
                    for p in why))
        if holds_options(book, r["positions"]):  # the account's risk matrix (docs/options.md 9)
            rm = risk_matrix(book, a["id"])
            lines.append("  risk matrix: P&L in %s, price moves of %s x implied-vol moves (x (30/DTE)^p)"
                         % (v, ", ".join(rm.assets)))
            cents = min(2, vdec)
            lines.extend("    " + row for row in text_table(rm, lambda x: grid.text(x, cents, cents)))
        lines.append("")
    counts: dict[str, int] = {}
    for r in result["accounts"]:
        counts[r["state"]] = counts.get(r["state"], 0) + 1
    lines.append("%d account%s: %s" % (len(result["accounts"]), "" if len(result["accounts"]) == 1 else "s",
                                        ", ".join("%d %s" % (counts[k], k.replace("_", " "))
                                                  for k in ("healthy", "margin_call", "liquidatable", "bankrupt")
                                                  if k in counts) or "none"))
    return "\n".join(lines) + "\n"


def _stress_options(args: argparse.Namespace) -> str | None:
    """The first bad ``stress`` option (shards, levels, report directory, matplotlib), or None."""
    if args.shards < 0 or args.shards > 4096:
        return "--shards: must be between 1 and 4096"
    if args.scheduler and not args.shards:
        return "--scheduler: only with --shards"
    for name in ("level", "es_level"):
        if not 0.0 < getattr(args, name) < 1.0:
            return "--%s: %r is outside (0, 1)" % (name.replace("_", "-"), getattr(args, name))
    if args.report:
        from . import report as _report
        return _report.check_dir(args.report)
    return None


def _stress_output(doc: dict[str, Any], args: argparse.Namespace) -> int:
    """Writes the stress document (and its report with ``--report``)."""
    if args.report:
        from . import report as _report
        try:
            _report.stress_report(doc, args.report)
        except _report.ReportError as exc:
            return _bad_input(exc)
    sys.stdout.write(json.dumps(doc, indent=None if args.compact else 2, allow_nan=False) + "\n")
    sys.stdout.flush()
    return EXIT_OK


MESSAGE_MAX = 1000  # characters of an error line: a message quoting a 100,000-character key is cut


def _one_line(text: str) -> str:
    """An error message as one line of at most MESSAGE_MAX characters (its middle left out)."""
    line = " ".join(text.split())
    if len(line) <= MESSAGE_MAX:
        return line
    cut = ""
    for _ in range(3):  # the count's own digits take room too: settles in two rounds
        cut = "... (%d characters left out) ..." % (len(line) - MESSAGE_MAX + len(cut))
    room = MESSAGE_MAX - len(cut)
    return line[:room // 2] + cut + line[len(line) - (room - room // 2):]


def _bad_input(exc: Any) -> int:
    sys.stderr.write("%s\n" % _one_line(str(exc)))
    return EXIT_BAD_INPUT


def _bad_argument(args: argparse.Namespace) -> str | None:
    """The first command-line argument that cannot reach C as UTF-8 (undecodable bytes arrive
    as lone surrogates), or containing NUL, as a bad-input line; None when all are fine."""
    for name, value in sorted(vars(args).items()):
        for item in value if isinstance(value, list) else [value]:
            if not isinstance(item, str):
                continue
            option = "--" + name.replace("_", "-") if name not in ("book", "csv", "command") else name
            if "\x00" in item:
                return "%s: contains a NUL character" % option
            try:
                item.encode("utf-8")
            except UnicodeEncodeError:
                return "%s: not valid UTF-8" % option
    return None


def main(argv: Sequence[str] | None = None) -> int:
    """Runs the command line; returns the exit status."""
    try:
        return _main(argv)
    except BrokenPipeError:
        # The reader went away: stop quietly. Point stdout at /dev/null so that the interpreter's
        # final flush does not fail again and print a warning.
        try:
            devnull = os.open(os.devnull, os.O_WRONLY)
            os.dup2(devnull, sys.stdout.fileno())
            os.close(devnull)
        except (OSError, ValueError, AttributeError):  # stdout without a file descriptor
            pass
        return EXIT_BROKEN_PIPE


def _main(argv: Sequence[str] | None) -> int:
    args = _parser().parse_args(argv)
    bad = _bad_argument(args)
    if bad is not None:
        sys.stderr.write(bad + "\n")
        return EXIT_BAD_INPUT
    try:
        if args.version:
            from .core import version
            from . import __version__
            sys.stdout.write("librisk bindings %s, library %s (%s)\n" % (__version__, version(), ffi.library_path()))
            return EXIT_OK
        if args.command is None:
            parser = _parser()
            parser.print_usage(sys.stderr)
            assert parser._subparsers is not None
            names = [n for a in parser._subparsers._group_actions for n in (a.choices or ())]
            sys.stderr.write("python3 -m librisk: error: a command is required: %s\n" % ", ".join(names))
            return EXIT_BAD_INPUT
        if args.command in ("vol", "backtest", "options", "funding", "var", "levtoken"):  # CSV in, text out: no book
            from . import vol as _vol, backtest as _backtest, options as _options, funding as _funding
            from . import var as _var, levtoken as _levtoken
            module: Any
            bad_input: type[Exception]
            module, bad_input = {"vol": (_vol, _vol.VolCliError),
                                 "var": (_var, _var.VarCliError),
                           "backtest": (_backtest, _backtest.BacktestError),
                           "options": (_options, _options.OptionsCliError),
                           "funding": (_funding, _funding.FundingError),
                           "levtoken": (_levtoken, _levtoken.LevtokenError)}[args.command]
            try:
                module.cli_main(args, sys.stdout)
            except bad_input as exc:
                return _bad_input(exc)
            return EXIT_OK
        if getattr(args, "threads", 1) < 1 or getattr(args, "threads", 1) > 256:
            sys.stderr.write("--threads: must be between 1 and 256\n")
            return EXIT_BAD_INPUT
        from . import snapshot as _snapshot
        if args.command == "stress":
            bad = _stress_options(args)
            if bad is not None:
                return _bad_input(bad)
        if args.command == "stress" and args.shards:  # the accounts are loaded on the Dask workers
            from . import dask as _dask, stress as _stress, errors as _errors
            try:
                doc = _dask.stress_document(args.book, args)
            except (_dask.ShardError, _stress.ScenarioError, _book.BookError) as exc:
                return _bad_input(exc)
            except _errors.RiskError as exc:
                return _bad_input("scenarios: %s" % exc)
            return _stress_output(doc, args)
        try:
            if args.command == "snapshot":
                _snapshot.cli_main(args, sys.stdout)
                return EXIT_OK
            loaded = _snapshot.load_path(args.book)  # a book, or a snapshot (told by its magic)
        except _book.BookError as exc:
            return _bad_input(exc)
        with loaded:
            if args.command == "liquidate":
                from . import liquidation as _liq
                try:
                    doc = _liq.plans_document(loaded, args.account)
                except KeyError as exc:
                    return _bad_input(exc.args[0])
                text = json.dumps(doc, indent=None if args.compact else 2, allow_nan=False)
                sys.stdout.write(text + "\n")
                sys.stdout.flush()
                return EXIT_OK
            if args.command == "stress":
                from . import stress as _stress
                from . import errors as _errors
                try:
                    doc = _stress.stress_document(loaded, args)
                except _stress.ScenarioError as exc:
                    return _bad_input(exc)
                except _errors.RiskError as exc:
                    return _bad_input("scenarios: %s" % exc)
                return _stress_output(doc, args)
            if args.command == "cascade":
                from . import cascade as _cascade
                from . import errors as _errors
                from . import stress as _stress
                try:
                    doc = _cascade.cascade_document(loaded, args)
                except (ValueError, _stress.ScenarioError) as exc:
                    return _bad_input(exc)
                except _errors.RiskError as exc:
                    return _bad_input("cascade: %s" % exc)
                if args.report:
                    _cascade.write_report(doc, args.report)
                sys.stdout.write(json.dumps(doc, indent=None if args.compact else 2, allow_nan=False) + "\n")
                sys.stdout.flush()
                return EXIT_OK
            if args.command == "risk-matrix":
                from . import riskmatrix as _riskmatrix
                from . import errors as _errors
                try:
                    _riskmatrix.cli_main(loaded, args, sys.stdout)
                except _riskmatrix.RiskMatrixError as exc:
                    return _bad_input(exc)
                except _errors.RiskError as exc:
                    return _bad_input("risk-matrix: %s" % exc)
                sys.stdout.flush()
                return EXIT_OK
            if args.command in ("whatif", "max-order", "optimise"):
                from . import whatif as _whatif, optimise as _optimise
                try:
                    out = (_optimise if args.command == "optimise" else _whatif).run(loaded, args)
                except _book.BookError as exc:
                    return _bad_input(exc)
                sys.stdout.write(json.dumps(out, indent=None if args.compact else 2, allow_nan=False) + "\n")
                sys.stdout.flush()
                return EXIT_OK
            if args.command == "evaluate":
                from . import bulkbook
                if bulkbook.streamable(loaded):  # written as computed, one account at a time
                    try:
                        bulkbook.write_evaluation(loaded, sys.stdout, compact=args.compact, threads=args.threads,
                                                  ndjson=args.ndjson)
                    except _book.BookError as exc:
                        return _bad_input(exc)
                    sys.stdout.flush()
                    return EXIT_OK
            try:
                result = _book.evaluate(loaded, threads=args.threads)
            except _book.BookError as exc:
                return _bad_input(exc)
            if args.command == "evaluate" and args.ndjson:
                text = "".join(json.dumps(a, allow_nan=False) + "\n" for a in result["accounts"])
            elif args.command == "evaluate":
                text = json.dumps(result, indent=None if args.compact else 2, allow_nan=False)
            else:
                text = report_text(loaded, result, args.book)
        sys.stdout.write(text)
        if not text.endswith("\n"):
            sys.stdout.write("\n")
        sys.stdout.flush()
        return EXIT_OK
    except ffi.LibraryError as exc:
        sys.stderr.write("librisk: %s\n" % _one_line(str(exc)))
        return EXIT_FAILURE
