# SPDX-License-Identifier: Apache-2.0
"""The risk matrix (librisk.riskmatrix, `python3 -m librisk risk-matrix`; docs/options.md section 9):
every CSV cell is the P&L that risk_account_scenario_pnl gives for that cell's scenario alone,
on the valuation asset's decimals; Deribit's default grid; the report's table for accounts
holding options; bad input; the PNG heat map (matplotlib, run under Debian's python by
`make check-python`)."""

import copy
import csv
import io
import os
import sys
import tempfile
import unittest

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import support  # noqa: E402
from support import run_cli  # noqa: E402
from librisk import book as bookmod, riskmatrix, stress  # noqa: E402
from librisk.grid import on_grid  # noqa: E402

BOOK = support.book_path("options_deribit.json")

try:
    import matplotlib  # noqa: F401
    HAVE_MPL = True
except ImportError:
    HAVE_MPL = False


def parse_csv(text):
    rows = list(csv.reader(io.StringIO(text)))
    head = rows[0]
    return [float(x) for x in head[1:]], [(float(r[0]), r[1:]) for r in rows[1:]], head


class TestRiskMatrixCli(unittest.TestCase):
    def test_cells_are_scenario_pnl_calls(self):
        r = run_cli("risk-matrix", BOOK, "--account", "2")
        self.assertEqual(r.returncode, 0, r.stderr)
        moves, rows, head = parse_csv(r.stdout)
        self.assertEqual(head[0], "vol_move")
        # Deribit's grid: +-15 % in 4 steps each side, vol up 0.5 / same / down 0.25
        self.assertEqual(moves, [0.15 * k / 4 for k in range(-4, 5)])
        self.assertEqual([v for v, _ in rows], [0.5, 0.0, -0.25])
        with bookmod.load(bookmod.read(BOOK)) as b:
            acc = b.accounts[1]
            self.assertEqual(b.spec["accounts"][1]["id"], 2)
            worst = 0.0
            for v, cells in rows:
                for m, cell in zip(moves, cells):
                    sset = stress.ScenarioSet([stress.Scenario("cell", {"BTC": m}, {"BTC": v})], "relative", 30.0,
                                              0.30, 0.13)
                    want = stress.scenario_pnl(acc, sset)[0]
                    self.assertEqual(cell, "%.6f" % on_grid(want, 6), (v, m))  # USD: 6 decimals
                    worst = min(worst, want)
                    if m == 0.0 and v == 0.0:
                        self.assertEqual(want, 0.0)  # no move: exactly 0
            self.assertLess(worst, -1000.0)  # a short strangle loses on both wings
            rm = riskmatrix.risk_matrix(b, 2)
            self.assertEqual(rm.worst, worst)
            self.assertEqual(rm.assets, ["BTC"])
        # the vol moves matter: a short strangle loses when vol rises, at every price move
        up, same = rows[0][1], rows[1][1]
        for a, c in zip(up, same):
            self.assertLess(float(a), float(c))

    def test_custom_grid_and_output_file(self):
        fd, path = tempfile.mkstemp(suffix=".csv")
        os.close(fd)
        try:
            r = run_cli("risk-matrix", BOOK, "--account", "1", "--price-range", "0.3", "--price-steps", "2",
                        "--vol-moves", "1,0", "-o", path)
            self.assertEqual((r.returncode, r.stdout), (0, ""), r.stderr)
            with open(path) as f:
                moves, rows, _ = parse_csv(f.read())
        finally:
            os.unlink(path)
        self.assertEqual(moves, [-0.3, -0.15, 0.0, 0.15, 0.3])
        self.assertEqual([v for v, _ in rows], [1.0, 0.0])
        self.assertEqual(rows[1][1][2], "0.000000")

    def test_bad_input_names_the_option(self):
        cases = [(("--account", "99"), "--account"),
                 (("--account", "2", "--price-range", "1.5"), "--price-range"),
                 (("--account", "2", "--price-steps", "0"), "--price-steps"),
                 (("--account", "2", "--vol-moves", "0.5,-2"), "--vol-moves"),
                 (("--account", "2", "--asset", "DOGE"), "--asset"),
                 (("--account", "2", "--asset", "USD"), "--asset"),
                 (("--account", "2", "-o", "/nonexistent/dir/x.csv"), "--output"),
                 (("--account", "2", "--png", "/nonexistent/dir/x.png"), "--png")]
        for args, option in cases:
            r = run_cli("risk-matrix", BOOK, *args)
            self.assertEqual(r.returncode, 2, (args, r.stderr))
            self.assertEqual(r.stdout, "")
            self.assertTrue(r.stderr.startswith(option), (args, r.stderr))

    def test_account_without_positions_is_flat(self):
        doc = copy.deepcopy(support.load_book("options_deribit.json"))
        doc["accounts"].append({"id": 9, "margin_mode": "cross", "balances": {"USDC": 5}})
        with support.TempBook(doc) as path:
            r = run_cli("risk-matrix", path, "--account", "9")
        self.assertEqual(r.returncode, 0, r.stderr)
        _, rows, _ = parse_csv(r.stdout)
        self.assertTrue(all(c == "0.000000" for _, cells in rows for c in cells))

    def test_report_shows_the_matrix_for_option_accounts(self):
        r = run_cli("report", BOOK)
        self.assertEqual(r.returncode, 0, r.stderr)
        self.assertEqual(r.stdout.count("risk matrix: P&L in USD"), 3)  # accounts 1-3; 4 holds nothing now
        with bookmod.load(bookmod.read(BOOK)) as b:
            rm = riskmatrix.risk_matrix(b, 2)
        # the report's cells are the matrix's, in cents
        block = r.stdout.split("Account 2 ")[1].split("Account 3 ")[0]
        row = [line for line in block.splitlines() if line.strip().startswith("vol +50%")][0]
        self.assertEqual(row.split()[2:], ["{:,.2f}".format(x) for x in rm.pnl[0]])
        demo = run_cli("report", support.book_path("demo.json"))
        self.assertEqual(demo.returncode, 0, demo.stderr)
        self.assertNotIn("risk matrix", demo.stdout)

    @unittest.skipUnless(HAVE_MPL, "matplotlib not installed")
    def test_png(self):
        fd, png = tempfile.mkstemp(suffix=".png")
        os.close(fd)
        try:
            r = run_cli("risk-matrix", BOOK, "--account", "2", "--png", png)
            self.assertEqual(r.returncode, 0, r.stderr)
            with open(png, "rb") as f:
                self.assertEqual(f.read(8), b"\x89PNG\r\n\x1a\n")
            self.assertGreater(os.path.getsize(png), 10000)
        finally:
            os.unlink(png)

    @unittest.skipIf(HAVE_MPL, "matplotlib installed")
    def test_png_without_matplotlib_is_bad_input(self):
        r = run_cli("risk-matrix", BOOK, "--account", "2", "--png", os.path.join(tempfile.gettempdir(), "rm.png"))
        self.assertEqual(r.returncode, 2)
        self.assertIn("matplotlib", r.stderr)


class TestPriceMoves(unittest.TestCase):
    def test_grid(self):
        self.assertEqual(riskmatrix.price_moves(0.16, 4), [0.16 * k / 4 for k in range(-4, 5)])
        self.assertEqual(riskmatrix.price_moves(0.1, 1), [-0.1, 0.0, 0.1])
        for bad in ((0.0, 4), (1.0, 4), (float("nan"), 4), (0.1, 0), (0.1, 51)):
            with self.assertRaises(riskmatrix.RiskMatrixError):
                riskmatrix.price_moves(*bad)


if __name__ == "__main__":
    unittest.main()
