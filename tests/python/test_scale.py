# SPDX-License-Identifier: Apache-2.0
"""Books at scale (librisk.bulkbook): the bulk-loaded book and the streamed evaluation against the
ordinary reader and json.dumps, byte for byte; every bad book refused with the ordinary reader's
message; the bulk loaders and the column results of the bindings."""

import array
import io
import json
import math
import os
import subprocess
import sys
import unittest

import support
import librisk
from librisk import book as _book, bulkbook, errors, ffi

GEN = os.path.join(support.ROOT, "tools", "gen_book.py")


def generated(accounts, positions=5, seed=3):
    """tools/gen_book.py's book as a dict."""
    text = subprocess.check_output([sys.executable, GEN, "--accounts", str(accounts), "--positions", str(positions),
                                    "--seed", str(seed)], universal_newlines=True)
    return json.loads(text)


def ordinary(raw, compact=False):
    """The result document as the ordinary reader and json.dumps make it (or the BookError text)."""
    try:
        with _book.load(_book.read("book", raw)) as b:
            return json.dumps(_book.evaluate(b), indent=None if compact else 2, allow_nan=False) + "\n"
    except _book.BookError as exc:
        return "error: %s" % exc


def streamed(raw, compact=False, ndjson=False):
    """The same through bulkbook (asserting that the fast path took the book)."""
    try:
        b = bulkbook.load_bytes("book", raw)
    except _book.BookError as exc:
        return "error: %s" % exc
    with b:
        assert isinstance(b, bulkbook.FastBook), "the fast path refused the book"
        out = io.StringIO()
        bulkbook.write_evaluation(b, out, compact=compact, ndjson=ndjson)
        return out.getvalue()


def fast_or_error(raw):
    """bulkbook's answer: the result text, or the BookError text (fast path or not)."""
    try:
        b = bulkbook.load_bytes("book", raw)
    except _book.BookError as exc:
        return "error: %s" % exc
    with b:
        if not bulkbook.streamable(b):
            return json.dumps(_book.evaluate(b), indent=2, allow_nan=False) + "\n"
        out = io.StringIO()
        bulkbook.write_evaluation(b, out)
        return out.getvalue()


class TestSameDocument(unittest.TestCase):
    """The streamed document is the ordinary one, byte for byte."""

    def check(self, doc):
        raw = json.dumps(doc).encode()
        for compact in (False, True):
            want = ordinary(raw, compact)
            self.assertFalse(want.startswith("error"), want)
            self.assertEqual(streamed(raw, compact), want)
        lines = streamed(raw, ndjson=True).splitlines()
        self.assertEqual([json.loads(x) for x in lines], json.loads(ordinary(raw))["accounts"])

    def test_sample_books(self):
        for name in sorted(os.listdir(support.BOOKS)):
            if name.endswith(".json"):
                with self.subTest(book=name):
                    doc = support.load_book(name)
                    if any("rate_model" in a for a in doc["assets"]):
                        continue  # interest: the ordinary writer (streamable() says no)
                    if any(i.get("kind") == "option" for i in doc.get("instruments", [])):
                        # options: the ordinary reader (their fields are not in the plain shape);
                        # bulkbook's answer is still the ordinary document
                        raw = json.dumps(doc).encode()
                        self.assertEqual(fast_or_error(raw), ordinary(raw))
                        continue
                    self.check(doc)

    def test_funding_book_goes_through_the_ordinary_reader(self):
        # a book's funding accrues after its positions open: the bulk loaders would open them
        # afterwards, at today's index, and lose the pending funding
        doc = support.load_book("demo.json")
        doc["instruments"][0]["funding"] = [{"rate": 0.0003, "price": 65000, "time": 1764633600}]
        raw = json.dumps(doc).encode()
        want = ordinary(raw)
        self.assertEqual(fast_or_error(raw), want)
        del doc["instruments"][0]["funding"]
        self.assertNotEqual(want, ordinary(json.dumps(doc).encode()))  # the funding is in the equity

    def test_generated_book(self):
        doc = generated(400)
        self.assertTrue(any(a.get("position_mode") == "hedge" for a in doc["accounts"]))
        self.assertTrue(any(a.get("margin_mode") == "isolated" for a in doc["accounts"]))
        self.check(doc)

    def test_blocks(self):
        """Blocks of a few accounts (their edges inside hedge accounts, multi-balance accounts)."""
        doc = generated(60, 4)
        doc["accounts"][6]["balances"] = {"C2": 0.25, "USDT": 50.0}
        saved = bulkbook.BLOCK_ACCOUNTS
        try:
            for size in (1, 7, 59):
                bulkbook.BLOCK_ACCOUNTS = size
                with self.subTest(block=size):
                    self.check(doc)
        finally:
            bulkbook.BLOCK_ACCOUNTS = saved

    def test_shapes(self):
        doc = generated(30, 3)
        doc["assets"][1].update(weight_init=0.9, weight_maint=0.95)
        accs = doc["accounts"]
        accs[0]["balances"] = {"C1": 0.5, "USDT": 1000.0, "C0": 0.0}  # not in asset order, a zero, spot prices
        accs[1]["balances"] = {}
        accs[2]["positions"] = []
        del accs[3]["balances"]
        accs[4]["positions"][0]["margin_mode"] = "isolated"
        accs[4]["positions"][0]["isolated_margin"] = 123.456789
        accs[5]["balances"]["USDT"] = -250.0  # a debt
        accs[6]["id"] = 2 ** 64 - 1
        self.check(doc)
        self.check(dict([("accounts", doc["accounts"])] + [(k, v) for k, v in doc.items() if k != "accounts"]))
        self.check({"format": "librisk-book/1", "assets": [{"symbol": "USDT", "price": 1}]})
        self.check({"format": "librisk-book/1", "assets": [{"symbol": "X", "price": 2}, {"symbol": "USDT", "price": 1}],
                    "accounts": [{"id": 1, "balances": {"X": 3, "USDT": 1}}]})

    def test_book_objects_read_lazily(self):
        raw = json.dumps(generated(50)).encode()
        fast = bulkbook.load_bytes("book", raw)
        with fast, _book.load(_book.read("book", raw)) as slow:
            self.assertIsInstance(fast, bulkbook.FastBook)
            self.assertEqual(len(fast.accounts), len(slow.accounts))
            self.assertEqual(list(fast.spec["accounts"]), list(slow.spec["accounts"]))
            self.assertEqual(fast.spec["accounts"][-1], slow.spec["accounts"][-1])
            self.assertEqual([a.id for a in fast.accounts], [a.id for a in slow.accounts])
            kept = fast.accounts[7]
            self.assertEqual(kept.evaluate(), slow.accounts[7].evaluate())
        self.assertTrue(kept.closed)


class TestBadBooks(unittest.TestCase):
    """Whatever the ordinary reader refuses, the fast path refuses with the same message."""

    def variants(self):
        doc = generated(40, 3)
        pos = doc["accounts"][17]["positions"][1]
        text = json.dumps(doc)

        def edit(fn):
            d = json.loads(text)
            fn(d)
            return json.dumps(d)

        def at(path, value):
            def fn(d):
                obj = d
                for k in path[:-1]:
                    obj = obj[k]
                obj[path[-1]] = value
            return edit(fn)

        p = ["accounts", 17, "positions", 1]
        yield "off lot", at(p + ["qty"], 0.0005)
        yield "zero qty", at(p + ["qty"], 0)
        yield "bool qty", at(p + ["qty"], True)
        yield "string qty", at(p + ["qty"], "1")
        yield "unknown instrument", at(p + ["instrument"], "NOPE")
        yield "entry 0", at(p + ["entry"], 0)
        yield "entry huge", at(p + ["entry"], 1e13)
        yield "side one-way", at(["accounts", 20, "positions", 0, "side"], "long")
        yield "unknown field", at(p + ["colour"], 1)
        yield "cross with margin", at(p + ["isolated_margin"], 5)
        yield "margin mode", at(p + ["margin_mode"], "isolatd")
        yield "isolated no margin", at(p + ["margin_mode"], "isolated")
        yield "too many lots", at(p + ["qty"], 1e14)
        yield "balance range", at(["accounts", 3, "balances", "USDT"], 1e30)
        yield "balance asset", at(["accounts", 3, "balances", "BTC"], 1)
        yield "balance array", at(["accounts", 3, "balances"], [])
        yield "positions object", at(["accounts", 3, "positions"], {})
        yield "leverage high", at(["accounts", 4, "leverage"], {"C0USDT": 500})
        yield "leverage unknown", at(["accounts", 4, "leverage"], {"NOPE": 5})
        yield "id negative", at(["accounts", 5, "id"], -1)
        yield "id float", at(["accounts", 5, "id"], 5.0)
        yield "id big", at(["accounts", 5, "id"], 2 ** 64)
        yield "id repeated", at(["accounts", 5, "id"], doc["accounts"][2]["id"])
        yield "account mode", at(["accounts", 5, "margin_mode"], "crossed")
        yield "position mode", at(["accounts", 5, "position_mode"], "both")
        yield "account not object", at(["accounts", 5], [1])
        yield "accounts not array", at(["accounts"], {})
        yield "hedge no side", edit(lambda d: d["accounts"][3]["positions"][0].pop("side"))
        yield "hedge negative", at(["accounts", 3, "positions", 0, "qty"], -0.5)
        yield "second leg", edit(lambda d: d["accounts"][0]["positions"].append(dict(d["accounts"][0]["positions"][0])))
        dup = json.dumps(pos)[:-1] + ', "qty": %s}' % json.dumps(pos["qty"])
        yield "duplicate key", text.replace(json.dumps(pos), dup, 1)
        yield "duplicate account key", text.replace('{"id": 18,', '{"id": 18, "id": 18,', 1)
        yield "NaN", text.replace('"qty": %s' % json.dumps(pos["qty"]), '"qty": NaN', 1)
        yield "Infinity", text.replace('"qty": %s' % json.dumps(pos["qty"]), '"qty": -Infinity', 1)
        yield "overflow", text.replace('"qty": %s' % json.dumps(pos["qty"]), '"qty": 1e999', 1)
        yield "huge int", text.replace('"qty": %s' % json.dumps(pos["qty"]), '"qty": 1' + "0" * 400, 1)
        yield "malformed", text[:-3]
        yield "trailing comma", text.replace("]}", "],}", 1)
        yield "not utf-8", text.encode()[:50] + b"\xff" + text.encode()[50:]
        yield "bad asset", text.replace('"price": 1,', '"price": -1,', 1)

    def test_same_message(self):
        n = 0
        for name, text in self.variants():
            raw = text if isinstance(text, bytes) else text.encode()
            with self.subTest(variant=name):
                want = ordinary(raw)
                self.assertTrue(want.startswith("error: "), "%s: the ordinary reader accepts it" % name)
                self.assertEqual(fast_or_error(raw), want)
                n += 1
        self.assertGreaterEqual(n, 38)

    def test_cli_exit_status(self):
        doc = generated(20, 2)
        doc["accounts"][11]["positions"][0]["qty"] = 0.0005
        with support.TempBook(doc) as path:
            r = support.run_cli("evaluate", path)
        self.assertEqual(r.returncode, 2)
        self.assertEqual(r.stdout, "")
        self.assertEqual(r.stderr, "accounts[11].positions[0].qty: not a whole number of lots (lot 0.001)\n")


class TestCli(unittest.TestCase):
    def test_evaluate_and_ndjson(self):
        doc = generated(60, 4)
        with support.TempBook(doc) as path:
            r = support.run_cli("evaluate", path)
            n = support.run_cli("evaluate", "--ndjson", path)
            c = support.run_cli("evaluate", "--compact", path)
        self.assertEqual(r.returncode, 0, r.stderr)
        self.assertEqual(r.stdout, ordinary(json.dumps(doc).encode()))
        self.assertEqual(c.stdout, ordinary(json.dumps(doc).encode(), compact=True))
        self.assertEqual([json.loads(x) for x in n.stdout.splitlines()], json.loads(r.stdout)["accounts"])

    def test_ndjson_of_an_interest_book(self):
        r = support.run_cli("evaluate", "--ndjson", support.book_path("aave_hf.json"))
        full = support.run_cli("evaluate", support.book_path("aave_hf.json"))
        self.assertEqual(r.returncode, 0, r.stderr)
        self.assertEqual([json.loads(x) for x in r.stdout.splitlines()], json.loads(full.stdout)["accounts"])

    def test_liquidate_and_report_on_a_fast_book(self):
        doc = generated(40, 3)
        raw = json.dumps(doc).encode()
        from librisk import liquidation, cli
        with bulkbook.load_bytes("book", raw) as fast:
            self.assertIsInstance(fast, bulkbook.FastBook)
            got = liquidation.plans_document(fast)
            text = cli.report_text(fast, _book.evaluate(fast))
        with _book.load(_book.read("book", raw)) as slow:
            want = liquidation.plans_document(slow)
            want_text = cli.report_text(slow, _book.evaluate(slow))
        self.assertTrue(want["plans"])
        self.assertEqual(got, want)
        self.assertEqual(text, want_text)


class TestBindings(unittest.TestCase):
    def market(self, eng):
        eng.add_asset("USDT", 1.0, 6)
        eng.add_asset("BTC", 50000.0, 8)
        return eng.add_instrument("BTCUSDT", 1, 0, [{"notional_cap": 50000, "mmr": 0.004, "max_leverage": 125},
                                                    {"notional_cap": None, "mmr": 0.01, "max_leverage": 50}],
                                  lot_size=0.001, tick_size=0.1, mark=50000.0)

    def test_bulk_loaders_and_columns(self):
        with librisk.Engine() as eng:
            self.market(eng)
            ids = array.array("Q", [11, 12, 13])
            eng.add_accounts(ids, position_modes=array.array("I", [0, 1, 0]))
            eng.set_balances(array.array("Q", [11, 12, 13]), array.array("I", [0, 0, 1]),
                             array.array("d", [1000.0, 500.0, 0.1]))
            eng.set_leverages(array.array("Q", [11]), array.array("I", [0]), array.array("d", [10.0]))
            eng.open_positions(array.array("Q", [11, 12, 12]), array.array("I", [0, 0, 0]),
                               array.array("d", [0.5, 0.2, 0.1]), array.array("d", [49000.0, 50100.0, 49900.0]),
                               sides=array.array("I", [0, 1, 2]))
            self.assertEqual(eng.account_count, 3)
            s = eng.summary_columns(use_numpy=False)
            summaries = eng.evaluate_all()
            self.assertEqual(list(s["ids"]), [11, 12, 13])
            for k, x in enumerate(summaries):
                for name in librisk.SUMMARY_COLUMNS:
                    self.assertEqual(s[name][k].hex(), getattr(x, name).hex(), name)
            p = eng.position_columns(use_numpy=False)
            self.assertEqual(list(p["account_ids"]), [11, 12, 12])
            self.assertEqual(list(p["account_index"]), [0, 1, 1])
            self.assertEqual(list(p["leg"]), [ffi.SIDE_BOTH, ffi.SIDE_LONG, ffi.SIDE_SHORT])
            row = 0
            for acc in eng.accounts():
                for r in acc.position_results():
                    for name in ("notional", "unrealized_pnl", "initial_margin", "maintenance_margin"):
                        self.assertEqual(p[name][row], getattr(r, name))
                    for name in ("liquidation_price", "bankruptcy_price"):
                        want = getattr(r, name)
                        self.assertTrue(math.isnan(p[name][row]) if want is None else p[name][row] == want)
                    row += 1
            self.assertEqual(row, 3)

    def test_bad_row_raises_and_changes_nothing(self):
        with librisk.Engine() as eng:
            self.market(eng)
            eng.add_accounts(array.array("Q", [1, 2]))
            with self.assertRaises(librisk.LotError) as cm:
                eng.open_positions(array.array("Q", [1, 2]), array.array("I", [0, 0]), array.array("d", [0.5, 0.0005]),
                                   array.array("d", [50000.0, 50000.0]))
            self.assertTrue(cm.exception.message.startswith("row 1 (account 2): BTCUSDT"), cm.exception.message)
            self.assertEqual([len(a.positions) for a in eng.accounts()], [0, 0])
            with self.assertRaises(librisk.DuplicateError):
                eng.add_accounts(array.array("Q", [3, 1]))
            self.assertEqual(eng.account_count, 2)
            with self.assertRaises(librisk.InvalidError):
                eng.set_balances(array.array("Q", [1]), array.array("I", [0]), array.array("f", [1.0]))
            with self.assertRaises(librisk.BufferTooSmallError):
                eng.set_balances(array.array("Q", [1, 2]), array.array("I", [0]), array.array("d", [1.0, 2.0]))


if __name__ == "__main__":
    unittest.main()
