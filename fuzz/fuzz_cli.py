#!/usr/bin/env python3
# SPDX-License-Identifier: Apache-2.0
"""Fuzzer for the book reader and every subcommand of ``python3 -m librisk`` (docs/fuzzing.md).

Standard library only, seeded and deterministic: case i of a run with seed S is the same input
on every machine. Inputs are the sample books of examples/books/, the books and CSV files of
fuzz/corpus/cli/, and mutations of them: structural (a value replaced by an edge value of
another type, a huge or tiny number, a string with NUL or a lone surrogate, a key dropped or
added, an element duplicated) and textual (bytes flipped, inserted or cut, a number replaced by
thousands of digits). Each input runs through evaluate, report, liquidate, whatif, max-order,
optimise, stress, cascade, var (books), vol, backtest, var, levtoken and funding's --prices (price
CSV files), funding (funding-history CSV files of the three venues) or options (option CSV files),
in-process with stdout and stderr as strict UTF-8 streams, and the fuzzer checks:

  - the exit status is 0 or 2 and no exception escapes (no traceback);
  - exit 2 prints exactly one line on stderr and nothing on stdout;
  - exit 0 of a JSON command prints one valid JSON document, without NaN or Infinity;
  - no case runs longer than --case-timeout seconds (a hang dumps the stacks and fails; the
    input is left in build/fuzz/cli-work/).

Every 25th case also runs as a subprocess, and some with stdout closed after the first bytes
(``| head``): no traceback, nothing but the quiet exit.

usage: fuzz_cli.py --replay            the corpus, then --cases seeded mutations (make check)
       fuzz_cli.py --seconds N         mutations for N seconds (make fuzz, CI)
A failing case is written to build/fuzz/artifacts/cli-<case>.{json,csv} with the command line;
`fuzz_cli.py --run FILE COMMAND...` replays one.
"""

import argparse
import copy
import faulthandler
import io
import json
import os
import random
import subprocess
import sys
import threading
import time
import traceback

ROOT = os.path.normpath(os.path.join(os.path.dirname(os.path.abspath(__file__)), ".."))
sys.path.insert(0, os.path.join(ROOT, "bindings", "python"))

from librisk import cli  # noqa: E402

BOOKS = os.path.join(ROOT, "examples", "books")
CORPUS = os.path.join(ROOT, "fuzz", "corpus", "cli")
ARTIFACTS = os.path.join(ROOT, "build", "fuzz", "artifacts")
JSON_COMMANDS = ("evaluate", "liquidate", "whatif", "max-order", "var", "optimise", "stress", "cascade", "funding")
CSV_KINDS = ("csv", "funding", "options")  # inputs given as the command's last argument
# the price file funding's binance and bitmex cases read (its closes span 1704067200 .. 1707436800)
FUNDING_PRICES = os.path.join(CORPUS, "prices-40d.csv")

EDGE_NUMBERS = [0, -0.0, 1, -1, 0.5, 1e-300, 5e-324, 1e-12, 1e12, 1e15, 2 ** 53, 2 ** 53 + 1, 2 ** 64,
                2 ** 64 - 1, -2 ** 63, 1e300, 1e308, -1e308, 1.7976931348623157e308, 10 ** 400, -10 ** 400,
                0.001, 50000, 2664.06, 1e9]
EDGE_STRINGS = ["", "BTC", "USDT", "BTCUSDT", "BT\u0000C", "\ud800", "a\udfffb", "x" * 31, "x" * 32, "x" * 5000,
                "\u00e9t\u00e9", "\U0001f600", "cross", "isolated", "hedge", "one-way", "long", "short", "future",
                "perpetual", "2026-06-26T08:00:00Z", "2026-13-45T99:99:99Z", "NaN", " ", "\n", '"', "\\"]
EDGE_VALUES = EDGE_NUMBERS + EDGE_STRINGS + [None, True, False, [], {}, [1], {"a": 1}, [[[[]]]]]
NUMBER_TEXTS = ["NaN", "Infinity", "-Infinity", "1e999", "-1e999", "1" * 400, "9" * 5000, "1" * 100000,
                "0." + "0" * 400 + "1", "1e-400", "-0", "00", "1.", ".5", "1e", "0x10", "+1"]


def _reject_constant(name):
    raise ValueError("non-standard JSON constant %s" % name)


# ---------------------------------------------------------------- inputs


def kind_of(name):
    """The kind of an input file by its name: a book (.json), a funding history (funding-*.csv), an
    option CSV (options-*.csv) or a price CSV (any other .csv); None for anything else."""
    base = os.path.basename(name)
    if base.endswith(".json"):
        return "book"
    if not base.endswith(".csv"):
        return None
    return "funding" if "funding-" in base else "options" if "options-" in base else "csv"


def load_seeds():
    """(name, kind, text) of the sample books and the corpus, sorted by name."""
    seeds = []
    for d in (BOOKS, CORPUS):
        if not os.path.isdir(d):
            continue
        for name in sorted(os.listdir(d)):
            path = os.path.join(d, name)
            kind = kind_of(name)
            if kind is None:
                continue
            with open(path, "rb") as f:
                seeds.append((os.path.relpath(path, ROOT), kind, f.read()))
    return seeds


def _paths(node, prefix=()):
    """Every path (tuple of keys and indexes) into a JSON value."""
    yield prefix
    if isinstance(node, dict):
        for k, v in node.items():
            yield from _paths(v, prefix + (k,))
    elif isinstance(node, list):
        for i, v in enumerate(node):
            yield from _paths(v, prefix + (i,))


def _get(node, path):
    for k in path:
        node = node[k]
    return node


# Fields that reach the library: mutations aim at them half of the time.
TARGETS = {"symbol", "price", "mark", "qty", "entry", "id", "underlying", "settle", "instrument", "isolated_margin",
           "lot_size", "tick_size", "contract_size", "decimals", "valuation_asset", "notional_cap", "mmr",
           "max_leverage", "up_to", "ratio"}


def _targeted(path):
    return path and (path[-1] in TARGETS or (len(path) > 1 and path[-2] in ("balances", "leverage",
                                                                            "insurance_fund")))


def _moved(value, k):
    """A number moved: x 10^k, negated, / 3, + 1e-9, x 1e300, or 0. An integer too large for a double
    (400 digits, or a number already scaled) stays an integer where float arithmetic would overflow."""
    out = []
    for f, big in ((lambda v: v * 10 ** k, lambda v: v), (lambda v: -v, None), (lambda v: v / 3, lambda v: v // 3),
                   (lambda v: v + 1e-9, lambda v: v + 1), (lambda v: v * 1e300, lambda v: v * 10 ** 300)):
        try:
            out.append(f(value))
        except OverflowError:
            out.append(big(value))
    return out + [0]


def mutate_doc(rng, doc):
    doc = copy.deepcopy(doc)
    for _ in range(1 + rng.randrange(3)):
        paths = list(_paths(doc))
        if rng.randrange(2):
            paths = [p for p in paths if _targeted(p)] or paths
        path = rng.choice(paths)
        if not path:
            continue
        parent, key = _get(doc, path[:-1]), path[-1]
        op = rng.randrange(10)
        if op < 4:  # an edge value, of the same type most of the time
            value = parent[key]
            same = EDGE_STRINGS if isinstance(value, str) else EDGE_NUMBERS \
                if isinstance(value, (int, float)) and not isinstance(value, bool) else EDGE_VALUES
            parent[key] = rng.choice(same if rng.randrange(4) else EDGE_VALUES)
        elif op < 6:
            value = parent[key]
            if isinstance(value, (int, float)) and not isinstance(value, bool):
                parent[key] = rng.choice(_moved(value, rng.randrange(1, 310)))
            else:
                parent[key] = rng.choice(EDGE_VALUES)
        elif op == 6:
            del parent[key]
        elif op == 7 and isinstance(parent, list):
            parent.insert(key, copy.deepcopy(parent[key]))
        elif op == 8 and isinstance(parent, dict):
            parent[rng.choice(EDGE_STRINGS + ["extra", "symbol", "qty", "BTC", "USDT"])] = rng.choice(EDGE_VALUES)
        else:
            value = parent[key]
            if isinstance(value, str) and value:
                i = rng.randrange(len(value) + 1)
                parent[key] = value[:i] + rng.choice(["\u0000", "\ud800", "\udc80", "'", "\u2028", "é"]) + value[i:]
            else:
                parent[key] = rng.choice(EDGE_VALUES)
    return doc


def mutate_bytes(rng, data):
    data = bytearray(data)
    for _ in range(1 + rng.randrange(4)):
        op = rng.randrange(6)
        i = rng.randrange(len(data) + 1)
        if op == 0 and data:
            data[min(i, len(data) - 1)] ^= 1 << rng.randrange(8)
        elif op == 1:
            data[i:i] = bytes([rng.randrange(256)])
        elif op == 2:
            del data[i:i + rng.randrange(1, 16)]
        elif op == 3:
            data = data[:i]
        elif op == 4:
            data[i:i] = rng.choice(NUMBER_TEXTS).encode()
        else:
            data[i:i] = rng.choice([b"\xff", b"\xc3", b"\xed\xa0\x80", b"\x00", b"\\u0000", b"\\ud800", b"\r\n",
                                    b"\xef\xbb\xbf", b"[" * 50, b"{" * 50])
    return bytes(data)


def make_csv(rng):
    """A price CSV: time, open, high, low, close rows (sometimes with broken values)."""
    n = rng.choice([0, 1, 2, 5, 12, 40, 120])
    p = rng.choice([0.01, 1.0, 100.0, 50000.0])
    rows = ["time,open,high,low,close"]
    for i in range(n):
        o = p
        p = max(1e-9, p * (1 + rng.uniform(-0.1, 0.1)))
        hi, lo = max(o, p) * 1.01, min(o, p) * 0.99
        rows.append("2024-01-%02dT00:00:00Z,%r,%r,%r,%r" % (i % 28 + 1, o, hi, lo, p) if n <= 28 else
                    "%d,%r,%r,%r,%r" % (1704067200 + 86400 * i, o, hi, lo, p))
    return ("\n".join(rows) + "\n").encode()


def make_funding_csv(rng):
    """A funding history in one venue's columns (Binance, BitMEX or Deribit), times around the
    corpus price file's, rates and index prices sometimes at the edges."""
    venue = rng.choice(["binance", "bitmex", "deribit"])
    n = rng.choice([0, 1, 2, 5, 30])
    t0 = 1704067200 + rng.choice([-86400 * 30, -3600, 0, 86400 * 3])
    step = rng.choice([3600, 28800, 86400])
    rates = [0.0001, -0.0003, 0.00375, 0.0, -0.0, 1.0, -1.0, 1.0000001, 1e-300, 5e-324]
    prices = [50000.0, 1e-12, 1e12, 1e12 * 1.0000001, 1e-13, 1e300, 0.0, 31836.08]
    head = {"binance": "timestamp,funding_rate",
            "bitmex": "timestamp,symbol,fundingInterval,fundingRate,fundingRateDaily",
            "deribit": "time_dt,timestamp,prev_index_price,interest_8h,interest_1h,index_price"}[venue]
    rows = [head]
    for i in range(n):
        t = t0 + step * i
        r = rng.choice(rates) if rng.randrange(4) == 0 else rng.uniform(-0.001, 0.001)
        if venue == "binance":
            rows.append("%s,%r" % (t * 1000 if rng.randrange(2) else "2024-01-%02d 00:00:00.000" % (i % 28 + 1), r))
        elif venue == "bitmex":
            rows.append("2024-01-%02dT%02d:00:00Z,XBTUSD,2000-01-01T08:00:00Z,%r,%r" % (i % 28 + 1, i % 24, r, 3 * r))
        else:
            p = rng.choice(prices) if rng.randrange(4) == 0 else rng.uniform(20000.0, 60000.0)
            rows.append("x,%d,,0,%r,%r" % (t * 1000, r, p))
    return venue, ("\n".join(rows) + "\n").encode()


def make_options_csv(rng):
    """An option CSV: type, forward, strike, years, vol, rate, price, premium, values sometimes at
    the edges."""
    edge = ["0", "-1", "1e-300", "5e-324", "1e300", "nan", "inf", "", "1e-12", "1e12", "abc"]
    rows = ["type,forward,strike,years,vol,rate,price,premium"]
    for _ in range(rng.choice([0, 1, 3, 10])):
        f = rng.uniform(100.0, 100000.0)
        cells = [rng.choice(["call", "put", "c", "p", "x"]), "%r" % f, "%r" % (f * rng.uniform(0.5, 1.5)),
                 "%r" % rng.uniform(0.001, 3.0), "%r" % rng.uniform(0.05, 2.0), "%r" % rng.uniform(-0.01, 0.1),
                 "%r" % (f * rng.uniform(0.0, 0.5)) if rng.randrange(2) else "", rng.choice(["spot", "coin", ""])]
        for _ in range(rng.choice([0, 0, 1, 2])):
            cells[rng.randrange(1, 7)] = rng.choice(edge)
        rows.append(",".join(cells))
    return ("\n".join(rows) + "\n").encode()


def commands(rng, kind, doc):
    """Command lines (without the file) to run on an input."""
    if kind == "options":
        return [["options"]]
    if kind == "funding":
        venue = rng.choice(["binance", "bitmex", "deribit"])
        if doc in ("binance", "bitmex", "deribit") and rng.randrange(4):
            venue = doc  # (a generated history's own venue, most of the time)
        cmd = ["funding", "--venue", venue, "--qty", rng.choice(["1", "-2", "0.001", "10000", "1e-300", "1e300", "nan",
                                                                 "0"]), "--compact"]
        if venue != "deribit" or rng.randrange(4) == 0:
            cmd += ["--prices", FUNDING_PRICES]
        if rng.randrange(4) == 0:
            cmd += [rng.choice(["--from", "--to"]), rng.choice(["2024-01-03", "2024-02-30", "1704067200", "x"])]
        return [cmd]
    if kind == "csv":
        method = rng.choice(["ewma", "realized", "garch", "parkinson", "garman-klass", "rogers-satchell",
                             "yang-zhang"])
        var = ["var", "--method", rng.choice(["hs", "fhs", "normal", "mc"]), "--window", "20", "--scenarios", "100",
               "--level", rng.choice(["0.99", "0.5", "1e-300", "0.999999999"])]
        if rng.randrange(2) == 0:
            var.append("--backtest")
        lev = ["levtoken", "--leverage", rng.choice(["3", "-1", "0.5", "20", "2"])]
        if rng.randrange(2):
            lev += ["--band=" + rng.choice(["2.5,3.5", "-1.5,-0.5", "0.4,0.6", "1,30"])]
        if rng.randrange(3) == 0:
            lev += ["--cost", rng.choice(["0.001", "0.05", "nan"]), "--fee", rng.choice(["0.01", "2"])]
        funding = ["funding", "--venue", "binance", os.path.join(CORPUS, "funding-binance.csv"), "--qty", "1",
                   "--compact", "--prices"]  # the input is the price file (for Binance's history)
        return [["vol", "--method", method, "--window", str(rng.choice([2, 5, 30]))], ["backtest"], var, lev, funding]
    ids, syms = [1], ["BTCUSDT"]
    if isinstance(doc, dict):
        accounts = doc.get("accounts") if isinstance(doc.get("accounts"), list) else []
        ids = [a["id"] for a in accounts if isinstance(a, dict) and isinstance(a.get("id"), int)] or ids
        inst = doc.get("instruments") if isinstance(doc.get("instruments"), list) else []
        syms = [x["symbol"] for x in inst if isinstance(x, dict) and isinstance(x.get("symbol"), str)] or syms
    acc, sym = str(rng.choice(ids)), rng.choice(syms)
    side = rng.choice(["buy", "sell"])
    order = ["--account", acc, "--instrument", sym, "--side", side]
    if rng.randrange(4) == 0:
        order += ["--leg", rng.choice(["long", "short"])]
    if rng.randrange(3) == 0:
        order += ["--price", rng.choice(["0", "50000", "1e308", "nan", "-1", "2664.05"])]
    qty = rng.choice(["0.001", "1", "0.5", "1e15", "1e-300", "0", "-1", "inf", "3"])
    target = rng.choice(["im=1000", "mm=nan", "cash=USDT:100", "cash=BTC:1e308", "position=%s:%s" % (sym, qty),
                         "im=-1", "cash=USDT", "im"])
    cand = rng.choice(["USDT:post=1000,withdraw=1000,borrow=1000,cash", "BTC:post=1", "USDT:post=-1",
                       "BTC:borrow_rate=0.1,supply_rate=0.2", "USDT:post=1e308", "X:post=1", "USDT:lend=1"])
    extra = rng.choice([[], ["--budget", rng.choice(["100", "nan", "-1e308"])], ["--health-init", "0.5"],
                        ["--ltv-buffer", "0.9"], ["--horizon-days", rng.choice(["0", "1e9", "inf", "30"])]])
    stress = ["stress", "--hypothetical", rng.choice(["crypto=-0.3", "asset=BTC:-0.5", "depeg=USDC:0.9", "vol=1.5",
                                                      "crypto=-1", "asset=XYZ:0.1", "crypto=1e308"]),
              "--compact", "--quiet"] + rng.choice([[], ["--var"], ["--no-accounts"], ["--top-k", "99"]])
    cascade = ["cascade", "--shock", rng.choice(["BTC=-0.2", "ETH=-0.5", "BTC=-1", "XYZ=0.1", "BTC=nan"]),
               "--impact", "%s=%s" % (sym, rng.choice(["linear:0.5", "sqrt:0.7:0.04:1000", "none", "linear:-1",
                                                       "sqrt:1e308:1:1"])),
               "--rounds", rng.choice(["1", "5", "0"]), "--compact", "--quiet"]
    cmds = [["evaluate", "--compact"], ["report"], ["liquidate"], ["whatif"] + order + ["--qty", qty],
            ["max-order"] + order, ["optimise", "--account", acc, "--target", target, "--asset", cand] + extra,
            stress, cascade]
    if rng.randrange(8) == 0:  # a book's VaR reads the market data: one case in eight
        cmds.append(["var", "--method", rng.choice(["hs", "fhs", "mc", "normal"]), "--window", "20",
                     "--scenarios", "100", "--compact", "--quiet"]
                    + rng.choice([[], ["--as-of", "2022-11-15"], ["--horizon", "3"], ["--as-of", "1999-01-01"]]))
    return cmds


def cases(seed, count=None):
    """Yields (case number, kind, bytes, doc or None) forever (or count of them), deterministically."""
    seeds = load_seeds()
    books = [(name, _doc_of(kind, data)) for name, kind, data in seeds if kind == "book"]
    books = [(name, doc) for name, doc in books if doc is not None]
    i = 0
    while count is None or i < count:
        rng = random.Random("%d:%d" % (seed, i))
        r = rng.randrange(12)
        if r < 5 and books:
            _, doc = rng.choice(books)
            doc = mutate_doc(rng, doc)
            data = json.dumps(doc, ensure_ascii=rng.randrange(2) == 0).encode("utf-8", "surrogatepass")
            yield i, "book", data, doc, rng
        elif r < 8 and books:
            name, doc = rng.choice(books)
            data = json.dumps(doc).encode()
            yield i, "book", mutate_bytes(rng, data), doc, rng
        elif r < 9:
            yield i, "csv", make_csv(rng), None, rng
        elif r < 10:
            yield i, "csv", mutate_bytes(rng, make_csv(rng)), None, rng
        elif r < 11:
            venue, data = make_funding_csv(rng)
            yield i, "funding", data if rng.randrange(3) else mutate_bytes(rng, data), venue, rng
        else:
            data = make_options_csv(rng)
            yield i, "options", data if rng.randrange(3) else mutate_bytes(rng, data), None, rng
        i += 1


# ---------------------------------------------------------------- running and checking


class Failure(Exception):
    pass


def run_inprocess(argv):
    """Runs cli.main(argv) with strict UTF-8 stdout and stderr (as a terminal or pipe would be
    under a UTF-8 locale); returns (status, stdout text, stderr text)."""
    out_b, err_b = io.BytesIO(), io.BytesIO()
    out = io.TextIOWrapper(out_b, encoding="utf-8", errors="strict", newline="\n")
    err = io.TextIOWrapper(err_b, encoding="utf-8", errors="backslashreplace", newline="\n")
    saved = sys.stdout, sys.stderr
    sys.stdout, sys.stderr = out, err
    try:
        try:
            status = cli.main(argv)
        except SystemExit as exc:  # argparse
            status = exc.code if isinstance(exc.code, int) else 2
        except BaseException:
            err.flush()
            raise Failure("exception escaped:\n" + traceback.format_exc())
        try:
            out.flush()
            err.flush()
        except UnicodeEncodeError:
            raise Failure("output cannot be written as UTF-8:\n" + traceback.format_exc())
    finally:
        sys.stdout, sys.stderr = saved
    return status, out_b.getvalue().decode("utf-8"), err_b.getvalue().decode("utf-8")


def _has_nul(node):
    if isinstance(node, str):
        return "\x00" in node
    if isinstance(node, list):
        return any(_has_nul(v) for v in node)
    if isinstance(node, dict):
        return any(_has_nul(k) or _has_nul(v) for k, v in node.items())
    return False


MONEY = ("equity", "collateral_value", "unrealized_pnl", "initial_margin", "maintenance_margin", "available")


def check_meaning(argv, status, out, doc):
    """What a successful run must not do: accept a NUL (C would cut the string there), or
    report an account with a money field that is not a number (an overflow)."""
    if status == 0 and argv[0] == "options":
        for line in out.splitlines()[1:]:
            for cell in line.split(","):
                if cell.strip().lower() in ("nan", "inf", "-inf", "infinity", "-infinity"):
                    raise Failure("options printed %r: %r" % (cell, line[:500]))
    if status != 0 or doc is None:
        return
    if _has_nul(doc):
        raise Failure("exit 0 for a book with a NUL character in a string")
    if argv[0] == "evaluate":
        for acc in json.loads(out)["accounts"]:
            for k in MONEY:
                if not isinstance(acc.get(k), (int, float)):
                    raise Failure("account %r: %s is %r (state %s)" % (acc.get("id"), k, acc.get(k), acc.get("state")))


def check(argv, status, out, err):
    if status not in (0, 2):
        raise Failure("exit status %r (stderr: %r)" % (status, err[-2000:]))
    if "Traceback" in err:
        raise Failure("traceback on stderr:\n" + err[-4000:])
    if status == 2:
        if argv[0] in ("vol", "backtest", "whatif", "max-order", "var", "optimise") and err.startswith("usage:"):
            return  # argparse: usage line and error line
        if err.count("\n") != 1 or not err.endswith("\n") or len(err) < 2:
            raise Failure("exit 2 with %d stderr lines: %r" % (err.count("\n"), err[:2000]))
        if out:
            raise Failure("exit 2 with output on stdout: %r" % out[:500])
    elif argv[0] in JSON_COMMANDS:
        try:
            json.loads(out, parse_constant=_reject_constant)
        except ValueError as exc:
            raise Failure("stdout is not valid JSON (%s): %r" % (exc, out[:500]))


def _passable(argv):
    """Whether argv can be given to a program (a lone surrogate outside U+DC80..U+DCFF, which
    undecodable bytes become, has no bytes to pass; a NUL ends a C string, so exec refuses it with
    ValueError); in-process runs take any string."""
    try:
        for a in argv:
            if "\0" in os.fsencode(a).decode("latin-1"):
                return False
    except UnicodeEncodeError:
        return False
    return True


def run_subprocess(argv, head=False, timeout=120):
    env = dict(os.environ)
    env["PYTHONPATH"] = os.path.join(ROOT, "bindings", "python")
    cmd = [sys.executable, "-m", "librisk"] + argv
    if not head:
        r = subprocess.run(cmd, cwd=ROOT, env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE, timeout=timeout)
        return r.returncode, r.stdout.decode("utf-8", "replace"), r.stderr.decode("utf-8", "replace")
    # `| head -c 1`: read one byte, then close the pipe
    p = subprocess.Popen(cmd, cwd=ROOT, env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE)
    err = []  # drained meanwhile: a program writing more than a pipe holds to stderr first would
    drain = threading.Thread(target=lambda: err.append(p.stderr.read()))  # block, and so would we
    drain.start()
    p.stdout.read(1)
    p.stdout.close()
    p.wait(timeout=timeout)
    drain.join()
    return p.returncode, "", b"".join(err).decode("utf-8", "replace")


def save(case, kind, data, argv, why):
    os.makedirs(ARTIFACTS, exist_ok=True)
    prefix = "cli-%s-" % kind if kind in ("funding", "options") else "cli-"  # (kind_of reads it back)
    base = os.path.join(ARTIFACTS, prefix + os.path.splitext(os.path.basename(str(case)))[0])
    path = base + (".csv" if kind in CSV_KINDS else ".json")
    with open(path, "wb") as f:
        f.write(data)
    with open(base + ".txt", "w", encoding="utf-8", errors="backslashreplace") as f:
        f.write("python3 fuzz/fuzz_cli.py --run %s %s\n\n%s\n" % (path, " ".join(argv), why))
    return path


def _doc_of(kind, data):
    """The parsed book as the CLI reads it (None when it is not JSON)."""
    if kind != "book":
        return None
    try:
        return json.loads(data.decode("utf-8-sig"), parse_int=lambda t: 0 if len(t) > 4000 else int(t))
    except (ValueError, RecursionError):
        return None


def _every(case, n):
    """Whether case (a number, or a name for --run and the seeds) is one of every n-th (n 0: none)."""
    if not n:
        return False
    return case % n == 0 if isinstance(case, int) else n == 1


def run_case(case, kind, data, argv_list, tmpdir, subprocess_every=25, head_every=50, timeout=60):
    doc = _doc_of(kind, data)
    path = os.path.join(tmpdir, "input.csv" if kind in CSV_KINDS else "input.json")
    with open(path, "wb") as f:
        f.write(data)
    failures = 0
    for argv in argv_list:
        full = argv + [path] if kind in CSV_KINDS or argv[0] in ("evaluate", "report", "liquidate") \
            else [argv[0], path] + argv[1:]
        faulthandler.dump_traceback_later(timeout, exit=True)
        try:
            if kind == "book" and argv[0] == "evaluate" and _every(case, head_every) and _passable(full):
                status, _, err = run_subprocess(full[:1] + full[2:] if full[1] == "--compact" else full, head=True)
                if "Traceback" in err or "Exception" in err or status not in (0, 2, 141):
                    raise Failure("| head: exit %d, stderr %r" % (status, err[-2000:]))
            status, out, err = run_inprocess(full)
            check(full, status, out, err)
            check_meaning(full, status, out, doc)
            if _every(case, subprocess_every) and _passable(full):
                s2, out2, err2 = run_subprocess(full)
                check(full, s2, out2, err2)
                if s2 != status:
                    raise Failure("subprocess exit %d, in-process %d" % (s2, status))
        except Failure as exc:
            where = save(case, kind, data, argv, str(exc))  # the command without the work file
            sys.stdout.write("FAIL case %s: %s\n  %s\n  input: %s\n" % (case, " ".join(full), str(exc)[:3000], where))
            failures += 1
        finally:
            faulthandler.cancel_dump_traceback_later()
    return failures


def main():
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--replay", action="store_true", help="the seeds, then --cases mutations")
    ap.add_argument("--seconds", type=float, help="mutations for this long")
    ap.add_argument("--cases", type=int, default=120, help="mutations of --replay (default 120)")
    ap.add_argument("--seed", type=int, default=0, help="seed of the mutations (default 0; --seconds: 1)")
    ap.add_argument("--case-timeout", type=float, default=60.0)
    ap.add_argument("--run", nargs=argparse.REMAINDER, metavar="FILE COMMAND", help="replay one saved case")
    args = ap.parse_args()
    failures = 0
    n = 0
    started = time.time()
    # The current input lives in build/fuzz/cli-work/: after a hang (the stacks dumped, the run
    # stopped) it is still there.
    tmp = os.path.join(ROOT, "build", "fuzz", "cli-work")
    os.makedirs(tmp, exist_ok=True)
    if True:
        if args.run:
            path, argv = args.run[0], args.run[1:]
            with open(path, "rb") as f:
                data = f.read()
            kind = kind_of(path) or "book"
            failures += run_case("run", kind, data, [argv], tmp, subprocess_every=1, head_every=0)
            n = 1
        elif args.replay:
            for name, kind, data in load_seeds():
                rng = random.Random(name)
                doc = _doc_of(kind, data)
                failures += run_case(name, kind, data, commands(rng, kind, doc), tmp, subprocess_every=0,
                                     head_every=0)
                n += 1
            for case, kind, data, doc, rng in cases(args.seed, args.cases):
                failures += run_case(case, kind, data, commands(rng, kind, doc), tmp, timeout=args.case_timeout)
                n += 1
        else:
            seconds = args.seconds if args.seconds is not None else 30.0
            seed = args.seed or 1
            for case, kind, data, doc, rng in cases(seed):
                if time.time() - started >= seconds:
                    break
                failures += run_case(case, kind, data, commands(rng, kind, doc), tmp, timeout=args.case_timeout)
                n += 1
    sys.stdout.write("cli fuzz: %d inputs in %.0f s, %d failures\n" % (n, time.time() - started, failures))
    return 1 if failures else 0


if __name__ == "__main__":
    sys.exit(main())
