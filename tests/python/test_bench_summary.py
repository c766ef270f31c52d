# SPDX-License-Identifier: Apache-2.0
"""tools/bench_summary.py: a `make bench` log into the target table of docs/performance.md."""

import os
import sys
import unittest

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, os.path.join(HERE, "..", "..", "tools"))

import bench_summary  # noqa: E402

LOG = """==> conditions
Wed Dec  2 18:00:00 UTC 2026
 18:00:00 up 1:00,  0 user,  load average: 0.31, 0.40, 0.52
==> build/bench/bench_evaluate
engine, 1 thread: whatever people read
result engine_1t_pos_per_s 3.1e+08
result speedup_engine_2t 1.75
==> build/bench/bench_stress
result stress_over_sweep_1t 19.9
result cpu_stress_over_sweep_1t 20
==> bench/bench_cli.py
result cli_evaluate_wall_s 4.20
result checks ok
==> build/bench/bench_tick 1000000
result random_walk_0.1pct_ratio 812.5
result cold_one_mark_0.1pct_ratio 95.1
"""


class TestBenchSummary(unittest.TestCase):
    def test_results_by_program(self):
        results, order, loads = bench_summary.parse(LOG.splitlines())
        self.assertEqual(order, ["conditions", "bench_evaluate", "bench_stress", "bench_cli.py", "bench_tick"])
        self.assertEqual(results["bench_evaluate"], {"engine_1t_pos_per_s": "3.1e+08", "speedup_engine_2t": "1.75"})
        self.assertEqual(len(loads), 1)

    def test_verdicts(self):
        rows = {line.split(" | ")[0][2:]: line for line in bench_summary.summary(LOG.splitlines()).splitlines()
                if line.startswith("| 1")}
        self.assertTrue(rows["13.2 sweep, positions/s on one core"].endswith("| 3.1e+08 | >= 3 x 99.7 M = 299 M | **met** |"))
        self.assertIn("| 1.75 | >= 1.8 | **missed** |", rows["13.2 two threads / one"])
        self.assertIn("**met**", rows["12.6 stress of 100 scenarios / one sweep (wall)"])
        self.assertIn("| 20 | < 20 | **missed** |", rows["12.6 the same in CPU time"])  # strict
        self.assertIn("| 4.2 | <= 5 | **met** |", rows["13.5 CLI evaluate, 10^5 x 5, wall s"])
        self.assertIn("not in this run (`bench_tick` one_mark_0.1pct_ratio)", rows["13.1 sweep / tick, one mark 0.1 % (wall)"])
        self.assertIn("not in this run (`bench_sweep_numpy.py` numpy_over_c_all)",
                      rows["13.2 numpy's vectorised formula / the C sweep (evaluate_all)"])
        # the tick path's new cases are reported, not judged
        self.assertIn("| 812.5 | reported | reported |",
                      rows["13.1 sweep / tick, one mark in a random walk of 0.1 % steps"])
        self.assertIn("| 95.1 | reported | reported |",
                      rows["13.1 sweep / tick, one mark 0.1 %, caches flushed before each tick"])
        self.assertIn("not in this run (`bench_tick` cpu_cold_one_mark_0.1pct_ratio)",
                      bench_summary.summary(LOG.splitlines()))
        # the same-run ratio to the baseline's sweep: missing here, judged when the baseline ran
        self.assertIn("not in this run (`bench_evaluate` engine_1t_pos_per_s over `bench_evaluate_baseline`",
                      rows["13.2 sweep / the sweep of the code the issue measured (same run, same book)"])
        for base, verdict in (("1.0e+08", "| 3.1 | >= 3 | **met** |"), ("1.1e+08", "| 2.818 | >= 3 | **missed** |")):
            log = LOG.replace("==> build/bench/bench_stress", "==> bench_evaluate_baseline (12729ab)\n"
                              "result engine_1t_pos_per_s %s\n==> build/bench/bench_stress" % base)
            row = [line for line in bench_summary.summary(log.splitlines()).splitlines()
                   if line.startswith("| 13.2 sweep / the sweep of the code")][0]
            self.assertTrue(row.endswith(verdict), row)
        # a non-number (the checks line) is listed but judged nothing
        self.assertIn("checks ok", bench_summary.summary(LOG.splitlines()))


if __name__ == "__main__":
    unittest.main()
