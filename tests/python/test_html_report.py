# SPDX-License-Identifier: Apache-2.0
"""Issue 12 section 5: `stress --report DIR` and `var --report DIR` write index.html and PNG
charts (matplotlib), and every number in the HTML tables is the JSON document's number."""

import html.parser
import json
import os
import shutil
import sys
import tempfile
import unittest

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import support  # noqa: E402
from support import run_cli  # noqa: E402
from librisk import report as libreport  # noqa: E402

try:
    import matplotlib  # noqa: F401
    HAVE_MPL = True
except ImportError:
    HAVE_MPL = False

DEMO = support.book_path("demo.json")
SAMPLE = os.path.join(support.ROOT, "data", "sample", "btc_sample_1d.csv")
PNG = b"\x89PNG\r\n\x1a\n"


class Tables(html.parser.HTMLParser):
    """{table id: [row of cell texts]} of a page (header rows included)."""

    def __init__(self):
        super().__init__()
        self.tables, self.images = {}, []
        self._table = self._row = self._cell = None

    def handle_starttag(self, tag, attrs):
        a = dict(attrs)
        if tag == "table":
            self._table = self.tables.setdefault(a.get("id"), [])
        elif tag == "tr" and self._table is not None:
            self._row = []
            self._table.append(self._row)
        elif tag in ("td", "th") and self._row is not None:
            self._cell = []
        elif tag == "img":
            self.images.append(a["src"])

    def handle_endtag(self, tag):
        if tag in ("td", "th") and self._cell is not None:
            self._row.append("".join(self._cell))
            self._cell = None
        elif tag == "table":
            self._table = None

    def handle_data(self, data):
        if self._cell is not None:
            self._cell.append(data)


def parse(directory):
    p = Tables()
    with open(os.path.join(directory, "index.html"), encoding="utf-8") as f:
        p.feed(f.read())
    return p


def as_dicts(rows):
    return [dict(zip(rows[0], r)) for r in rows[1:]]


def value(text):
    """A cell's number (or null) as the JSON document would read it."""
    return json.loads(text)


class ReportCase(unittest.TestCase):
    def setUp(self):
        self.tmp = tempfile.mkdtemp(prefix="librisk-report-")
        self.dir = os.path.join(self.tmp, "report")

    def tearDown(self):
        shutil.rmtree(self.tmp)

    def assert_pngs(self, page, names):
        self.assertEqual(sorted(page.images), sorted(names))
        for name in names:
            with open(os.path.join(self.dir, name), "rb") as f:
                head = f.read(8)
            self.assertEqual(head, PNG, name)
            self.assertGreater(os.path.getsize(os.path.join(self.dir, name)), 2000, name)


@unittest.skipUnless(HAVE_MPL, "matplotlib not installed")
class TestStressReport(ReportCase):
    def test_files_and_numbers(self):
        r = run_cli("stress", DEMO, "--hypothetical", "crypto=-0.3", "--hypothetical", "asset=BTC:-0.5",
                    "--hypothetical", "depeg=USDC:0.9", "--hypothetical", "crypto=0.15", "--report", self.dir,
                    "--compact")
        self.assertEqual(r.returncode, 0, r.stderr)
        doc = json.loads(r.stdout)
        page = parse(self.dir)
        self.assert_pngs(page, ["loss_distribution.png", "loss_by_scenario.png", "liquidation_heatmap.png"])
        # --report implies the book VaR/ES; the table shows the document's numbers
        bv = as_dicts(page.tables["book-var"])[0]
        for k in ("level", "es_level", "scenarios", "var", "es"):
            self.assertEqual(value(bv[k]), doc["book_var"][k], k)
        self.assertEqual(doc["book_var"]["var"], max(-s["pnl"] for s in doc["scenarios"]))  # 4 scenarios: the worst
        rows = as_dicts(page.tables["scenarios"])
        self.assertEqual(len(rows), len(doc["scenarios"]))
        for row, s in zip(rows, doc["scenarios"]):
            self.assertEqual(row["scenario"], s["name"])
            for k in ("pnl", "loss", "deficit", "n_liquidatable", "n_bankrupt"):
                self.assertEqual(value(row[k]), s[k], (s["name"], k))
            self.assertEqual(value(row["new_liquidatable"]), len(s["new_liquidatable"]))
        heat = page.tables["heatmap"]
        self.assertEqual(heat[0][1:], [s["name"] for s in doc["scenarios"]])
        by_id = {str(a["id"]): a for a in doc["accounts"]}
        self.assertEqual(len(heat) - 1, min(len(by_id), libreport.HEATMAP_ROWS))
        closest = []
        for row in heat[1:]:
            a = by_id[row[0]]
            self.assertEqual([value(c) for c in row[1:]], a["health_factor"])
            d = [2.0 if h is None else max(0.0, min(2.0, h)) for h in a["health_factor"]]
            d = [0.0 if st == "bankrupt" else min(x, 0.99) if st == "liquidatable" else x
                 for x, st in zip(d, a["state"])]
            closest.append(min(d))
        self.assertEqual(closest, sorted(closest))  # closest to liquidation first
        self.assertEqual(closest[0], 0.0)  # a bankrupt account under some scenario
        ex = as_dicts(page.tables["exposures"])
        self.assertEqual([(e["asset"], value(e["net"])) for e in ex], [(x["asset"], x["net"]) for x in doc["exposures"]])

    def test_bad_directory(self):
        with open(os.path.join(self.tmp, "file"), "w") as f:
            f.write("x")
        for where in (os.path.join(self.tmp, "file"), os.path.join(self.tmp, "no", "such")):
            r = run_cli("stress", DEMO, "--hypothetical", "crypto=-0.3", "--report", where)
            self.assertEqual(r.returncode, 2, r.stderr)
            self.assertEqual(r.stdout, "")
            self.assertIn("--report", r.stderr)


@unittest.skipUnless(HAVE_MPL, "matplotlib not installed")
class TestVarReport(ReportCase):
    def test_files_and_numbers(self):
        for method in ("hs", "normal", "mc"):
            with self.subTest(method=method):
                shutil.rmtree(self.dir, ignore_errors=True)
                r = run_cli("var", SAMPLE, "--method", method, "--backtest", "--report", self.dir, "--compact")
                self.assertEqual(r.returncode, 0, r.stderr)
                doc = json.loads(r.stdout)
                page = parse(self.dir)
                self.assert_pngs(page, ["loss_distribution.png"])
                v = as_dicts(page.tables["var"])[0]
                for k in ("level", "es_level", "scenarios", "var", "es", "sigma_now"):
                    self.assertEqual(value(v[k]), doc[k], k)
                bt = as_dicts(page.tables["backtest"])[0]
                for k, text in bt.items():
                    self.assertEqual(value(text), doc["backtest"][k], k)

    def test_the_report_changes_nothing(self):
        plain = run_cli("var", SAMPLE, "--method", "mc", "--compact")
        rep = run_cli("var", SAMPLE, "--method", "mc", "--compact", "--report", self.dir)
        self.assertEqual(plain.returncode, 0, plain.stderr)
        self.assertEqual(rep.stdout, plain.stdout)


class TestHtmlWriter(unittest.TestCase):
    def test_escapes_and_cells(self):
        page = libreport.Html("a <b> & c")
        page.table("t", ["x<"], [[0.1 + 0.2], [None], ["<i>"]])
        text = page.text()
        self.assertIn("<title>a &lt;b&gt; &amp; c</title>", text)
        self.assertIn("<td>0.30000000000000004</td>", text)
        self.assertIn("<td>null</td>", text)
        self.assertIn("<td>&lt;i&gt;</td>", text)
        p = Tables()
        p.feed(text)
        self.assertEqual(p.tables["t"], [["x<"], ["0.30000000000000004"], ["null"], ["<i>"]])


if __name__ == "__main__":
    unittest.main()
