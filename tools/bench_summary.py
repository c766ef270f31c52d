# SPDX-License-Identifier: Apache-2.0
"""Turns one `make bench` log into the tables of docs/performance.md "One run against every target".

    make bench 2>&1 | tee build/bench.log
    python3 tools/bench_summary.py build/bench.log > build/bench-summary.md

Every benchmark prints stable `result KEY VALUE` lines after a `==> PROGRAM` header (the
Makefile's `bench` target writes the headers). This script reads them per program and writes,
in Markdown: the run's conditions (date, machine, load averages the log records), then one row
per target of the issues (the figure, the target, met or missed), then every result line of the
run, so that the page holds the whole run and not only the figures someone picked. A target whose
key is missing from the log (a benchmark that did not run) says so instead of guessing.
"""

from __future__ import annotations

import os
import re
import sys
from typing import Callable

# (program, key, what, target text, test) - the targets of the issues, in the units the bench prints
Target = tuple[str, str, str, str, Callable[[float], bool]]

ISSUE_RATE = 99.7e6  # issue 13's positions/s of one core when it was filed (the sweep's 3x target)

TARGETS: list[Target] = [
    ("bench_evaluate", "engine_1t_pos_per_s", "13.2 sweep, positions/s on one core", ">= 3 x 99.7 M = 299 M",
     lambda v: v >= 3 * ISSUE_RATE),
    ("bench_evaluate", "ratio_engine_triad_touched_1t", "13.2 sweep / triad over the bytes it touches",
     ">= 0.50", lambda v: v >= 0.5),
    ("bench_evaluate", "engine_image_1t_pos_per_s",
     "13.2 sweep with the sweep image (RISK_ENGINE_SWEEP_IMAGE), positions/s on one core", ">= 3 x 99.7 M = 299 M",
     lambda v: v >= 3 * ISSUE_RATE),
    ("bench_evaluate", "ratio_image_triad_touched_1t", "13.2 the same / triad over the bytes it touches", ">= 0.50",
     lambda v: v >= 0.5),
    ("bench_evaluate", "speedup_image_over_engine_1t", "13.2 sweep with the image / without it (same book, same bits)",
     "reported", lambda v: True),
    ("bench_evaluate", "mem_image_per_account_bytes", "13.2 the image's memory, bytes per account", "reported",
     lambda v: True),
    ("bench_evaluate", "speedup_engine_2t", "13.2 two threads / one", ">= 1.8", lambda v: v >= 1.8),
    ("bench_sweep_numpy.py", "numpy_over_c_all", "13.2 numpy's vectorised formula / the C sweep (evaluate_all)",
     ">= 10", lambda v: v >= 10.0),
    ("bench_sweep_numpy.py", "numpy_over_c", "13.2 the same against evaluate_columns", "reported", lambda v: True),
    ("bench_instruments", "inst400_over_inst16", "13.2 sweep of a 400-instrument engine / a 16-instrument one",
     "reported", lambda v: True),
    ("bench_instruments", "inst400_fast_over_generic", "13.2 the same 400-instrument book, fast / generic path",
     "reported", lambda v: True),
    ("bench_instruments", "pos16_over_pos8", "13.2 sweep of 16-position accounts / 8-position ones (per position)",
     "reported", lambda v: True),
    ("bench_instruments", "inverse_fast_over_generic", "13.2 a half-inverse book, fast / generic path", "reported",
     lambda v: True),
    ("bench_instruments", "funding_fast_over_generic", "13.2 a book with funding accrued, fast / generic path",
     "reported", lambda v: True),
    ("bench_instruments", "funding_over_linear", "13.2 the same book with funding / without (per position)",
     "reported", lambda v: True),
    ("bench_tick", "one_mark_0.1pct_ratio", "13.1 sweep / tick, one mark 0.1 % (wall)", ">= 100",
     lambda v: v >= 100.0),
    ("bench_tick", "cpu_one_mark_0.1pct_ratio", "13.1 the same in CPU time", ">= 100", lambda v: v >= 100.0),
    ("bench_tick", "one_mark_5pct_ratio", "13.1 sweep / tick, one mark 5 %", "reported", lambda v: True),
    ("bench_tick", "all_marks_0.1pct_ratio", "13.1 sweep / tick, all 8 marks 0.1 %", "reported", lambda v: True),
    ("bench_tick", "random_walk_0.1pct_ratio", "13.1 sweep / tick, one mark in a random walk of 0.1 % steps",
     "reported", lambda v: True),
    ("bench_tick", "cold_one_mark_0.1pct_ratio", "13.1 sweep / tick, one mark 0.1 %, caches flushed before each tick",
     "reported", lambda v: True),
    ("bench_tick", "cpu_cold_one_mark_0.1pct_ratio", "13.1 the same in CPU time", "reported", lambda v: True),
    ("bench_tick", "funded_one_mark_0.1pct_ratio", "13.1 sweep / tick, one mark 0.1 %, funding accrued on every "
     "instrument", "reported", lambda v: True),
    ("bench_columns.py", "py_summary_into_over_c", "13.3 Python summary columns / C call", "<= 1.2",
     lambda v: v <= 1.2),
    ("bench_columns.py", "py_positions_into_over_c", "13.3 Python position columns / C call", "<= 1.2",
     lambda v: v <= 1.2),
    ("bench_prices", "cross_128_ratio", "13.4 liquidation prices / evaluation, 128 positions, cross", "<= 20",
     lambda v: v <= 20.0),
    ("bench_prices", "isolated_128_ratio", "13.4 the same, isolated", "<= 20", lambda v: v <= 20.0),
    ("bench_bulk", "bulk_positions_per_s", "13.5 bulk load, positions/s", ">= 10 M", lambda v: v >= 1e7),
    ("bench_cli.py", "cli_evaluate_wall_s", "13.5 CLI evaluate, 10^5 x 5, wall s", "<= 5", lambda v: v <= 5.0),
    ("bench_cli.py", "cli_evaluate_rss_mb", "13.5 CLI evaluate, 10^5 x 5, peak RSS MB", "<= 400",
     lambda v: v <= 400.0),
    ("bench_cli.py", "cli_liquidate_cpu_ratio_10x", "13.5 CLI liquidate, CPU of 10x the accounts", "linear (~10)",
     lambda v: v <= 12.0),
    ("bench_stress", "stress_over_sweep_1t", "12.6 stress of 100 scenarios / one sweep (wall)", "< 20",
     lambda v: v < 20.0),
    ("bench_stress", "cpu_stress_over_sweep_1t", "12.6 the same in CPU time", "< 20", lambda v: v < 20.0),
    ("bench_snapshot", "load_in_place_over_cat", "9.4 snapshot load in place / cat", ">= 0.50",
     lambda v: v >= 0.5),
    ("bench_snapshot", "load_over_cat", "9.4 snapshot load (copying) / cat", ">= 0.50", lambda v: v >= 0.5),
    ("bench_snapshot", "load_in_place_parallel_over_cat", "9.4 snapshot load in place on two threads / cat", ">= 0.50",
     lambda v: v >= 0.5),
    ("bench_snapshot_image", "image_load_over_cat",
     "9.4 model: a load of the engine's image, which builds nothing / cat", "reported", lambda v: True),
    ("bench_snapshot_image", "image_load_parallel_over_cat", "9.4 model: the same on two threads / cat", "reported",
     lambda v: True),
    ("bench_portfolio", "portfolio_margin_batch_us", "10 portfolio margin, us per account (batch)", "< 50",
     lambda v: v < 50.0),
    ("bench_options", "implied_vol_mps", "10 implied volatility, M/s", ">= 5", lambda v: v >= 5.0),
]

# Ratios of two programs' results in the same run: (what, target text, (program, key) over
# (program, key), test). The baseline is issue 13's code built from history (Makefile BASELINE_REV).
RATIOS: list[tuple[str, str, tuple[str, str], tuple[str, str], Callable[[float], bool]]] = [
    ("13.2 sweep / the sweep of the code the issue measured (same run, same book)", ">= 3",
     ("bench_evaluate", "engine_1t_pos_per_s"), ("bench_evaluate_baseline", "engine_1t_pos_per_s"),
     lambda v: v >= 3.0),
    ("13.2 sweep with the sweep image / the sweep of the code the issue measured (same run, same book)", ">= 3",
     ("bench_evaluate", "engine_image_1t_pos_per_s"), ("bench_evaluate_baseline", "engine_1t_pos_per_s"),
     lambda v: v >= 3.0),
]

HEADER = re.compile(r"^==> (\S+)")
RESULT = re.compile(r"^result (\S+) (\S+)")
LOAD = re.compile(r"load average[s]?:? *([0-9.]+),? *([0-9.]+),? *([0-9.]+)")


def parse(lines: list[str]) -> tuple[dict[str, dict[str, str]], list[str], list[str]]:
    """{program: {key: value}}, the programs in order, and the lines that record the load."""
    results: dict[str, dict[str, str]] = {}
    order: list[str] = []
    loads: list[str] = []
    program = "?"
    for line in lines:
        m = HEADER.match(line)
        if m:
            program = os.path.basename(m.group(1))
            if program not in results:
                results[program] = {}
                order.append(program)
            continue
        m = RESULT.match(line)
        if m:
            results.setdefault(program, {})[m.group(1)] = m.group(2)
            if program not in order:
                order.append(program)
            continue
        if LOAD.search(line):
            loads.append(line.strip())
    return results, order, loads


def number(text: str) -> float | None:
    try:
        return float(text)
    except ValueError:
        return None


def summary(lines: list[str]) -> str:
    results, order, loads = parse(lines)
    out = []
    if loads:
        out.append("Load recorded in the log: " + "; ".join(loads) + "\n")
    out.append("| target | figure | target | verdict |")
    out.append("|---|---|---|---|")
    for program, key, what, target, test in TARGETS:
        raw = results.get(program, {}).get(key)
        value = None if raw is None else number(raw)
        if value is None:
            out.append("| %s | not in this run (`%s` %s) | %s | - |" % (what, program, key, target))
            continue
        verdict = "reported" if target == "reported" else ("**met**" if test(value) else "**missed**")
        out.append("| %s | %s | %s | %s |" % (what, "%.4g" % value, target, verdict))
    for what, target, (p1, k1), (p2, k2), test in RATIOS:
        a, b = (number(results.get(p, {}).get(k, "")) for p, k in ((p1, k1), (p2, k2)))
        if a is None or b is None or b == 0.0:
            out.append("| %s | not in this run (`%s` %s over `%s` %s) | %s | - |" % (what, p1, k1, p2, k2, target))
            continue
        out.append("| %s | %.4g | %s | %s |" % (what, a / b, target, "**met**" if test(a / b) else "**missed**"))
    out.append("")
    out.append("Every `result` line of the run, by program:")
    out.append("")
    for program in order:
        items = results[program]
        if not items:
            continue
        out.append("- `%s`: %s" % (program, ", ".join("%s %s" % (k, v) for k, v in items.items())))
    return "\n".join(out) + "\n"


def main(argv: list[str]) -> int:
    if len(argv) != 2:
        sys.stderr.write("usage: bench_summary.py BENCH.log\n")
        return 2
    try:
        with open(argv[1], encoding="utf-8", errors="replace") as f:
            lines = f.read().splitlines()
    except OSError as exc:
        sys.stderr.write("bench_summary.py: %s\n" % exc)
        return 2
    sys.stdout.write(summary(lines))
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv))
