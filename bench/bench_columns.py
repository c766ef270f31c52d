# SPDX-License-Identifier: Apache-2.0
"""bench_columns: what the Python binding costs on top of the C column calls.

    PYTHONPATH=bindings/python python3 bench/bench_columns.py [accounts] [rounds]

Builds bench_evaluate's book shape (accounts x 8 linear perpetuals, default 200,000 accounts)
through the bulk loaders from numpy columns (array.array without numpy), then times, best of
`rounds` and interleaved:
  c_summary        risk_engine_evaluate_columns called directly through ctypes with every field
                   (the C call: one foreign call, so the time is the library's);
  py_summary       Engine.summary_columns() with every field, into fresh columns;
  py_summary_into  Engine.summary_columns(out=...) into the caller's columns;
  struct_scatter   the previous binding: risk_engine_evaluate_all into structs, then a strided
                   copy per column (evaluate_all_into before this change);
  c_positions / py_positions  the same for risk_engine_position_results_columns;
  to_pandas        Engine.to_pandas() (a DataFrame of every summary field).
Prints `result key value` lines: the ratios py / c (target <= 1.2) and the checks (the columns
equal evaluate_all() bit for bit).
"""

import array
import ctypes
import os
import random
import sys
import time

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "bindings", "python"))

import librisk  # noqa: E402
from librisk import ffi  # noqa: E402

try:
    import numpy
except ImportError:
    numpy = None

N_POS = 8


def column(code, values):
    if numpy is not None:
        return numpy.array(values, dtype={"Q": numpy.uint64, "I": numpy.uint32, "d": numpy.float64}[code])
    return array.array(code, values)


def build(n):
    eng = librisk.Engine()
    eng.add_asset("USDT", 1.0, 6)
    tiers = [{"notional_cap": 50000, "mmr": 0.004, "max_leverage": 125},
             {"notional_cap": 250000, "mmr": 0.005, "max_leverage": 100},
             {"notional_cap": None, "mmr": 0.01, "max_leverage": 50}]
    for u in range(N_POS):
        a = eng.add_asset("C%d" % u, 10.0 * (u + 1), 8)
        eng.add_instrument("C%dUSDT" % u, a, 0, tiers, lot_size=0.001, tick_size=0.001, mark=10.0 * (u + 1))
    rnd = random.Random(7)
    ids = list(range(17, 17 + n))
    pos_acc, inst, qty, entry, bal = [], [], [], [], []
    for k in ids:
        gross = 0.0
        for p in range(N_POS):
            mark = 10.0 * (p + 1)
            lots = int(100.0 * (1.0 + 999.0 * rnd.random()) / mark / 0.001) + 1
            pos_acc.append(k)
            inst.append(p)
            qty.append((1 if rnd.random() < 0.5 else -1) * lots / 1000.0)
            entry.append(mark * (0.97 + 0.06 * rnd.random()))
            gross += lots * 0.001 * mark
        bal.append(round(gross * (0.005 + 0.05 * rnd.random()), 6))
    eng.add_accounts(column("Q", ids))
    eng.set_balances(column("Q", ids), column("I", [0] * n), column("d", bal))
    eng.open_positions(column("Q", pos_acc), column("I", inst), column("d", qty), column("d", entry))
    return eng


def best(fn, rounds):
    t = float("inf")
    for _ in range(rounds):
        t0 = time.perf_counter()
        fn()
        t = min(t, time.perf_counter() - t0)
    return t


def main():
    n = int(sys.argv[1]) if len(sys.argv) > 1 else 200000
    rounds = int(sys.argv[2]) if len(sys.argv) > 2 else 5
    eng = build(n)
    L = ffi.lib()
    ptr = eng._require()
    out = eng.summary_columns(use_numpy=numpy is not None)
    pout = eng.position_columns(use_numpy=numpy is not None)
    n_pos = len(pout["qty"])

    def c_call(struct_type, version, fields, buffers, fn, cap):
        cols = struct_type(version)
        for name, _ in fields:
            buf = buffers[name]
            setattr(cols, name, buf.ctypes.data if numpy is not None else buf.buffer_info()[0])
        count = ctypes.c_size_t()
        return lambda: fn(ptr, ctypes.byref(cols), cap, 1, ctypes.byref(count))

    c_summary = c_call(ffi.RiskSummaryColumns, ffi.SUMMARY_COLUMNS_VERSION, ffi.SUMMARY_COLUMN_FIELDS, out,
                       L.risk_engine_evaluate_columns, n)
    c_positions = c_call(ffi.RiskPositionResultColumns, ffi.POSITION_RESULT_COLUMNS_VERSION,
                         ffi.POSITION_RESULT_COLUMN_FIELDS, pout, L.risk_engine_position_results_columns, n_pos)

    def struct_scatter():  # the binding before risk_engine_evaluate_columns
        scratch = eng._scratch_for(n)
        count = ctypes.c_size_t()
        ids = out["ids"]
        L.risk_engine_evaluate_all(ptr, scratch, None, len(scratch), 1, ctypes.byref(count))
        size = ctypes.sizeof(ffi.RiskAccountSummary)
        as_d = memoryview(scratch).cast("B")[: n * size].cast("d")
        for name in librisk.SUMMARY_COLUMNS:
            dst = memoryview(out[name]).cast("B").cast("d")
            dst[:n] = as_d[getattr(ffi.RiskAccountSummary, name).offset // 8::size // 8]
        return ids

    variants = {
        "c_summary": c_summary,
        "py_summary": lambda: eng.summary_columns(),
        "py_summary_into": lambda: eng.summary_columns(out=out),
        "struct_scatter": struct_scatter,
        "c_positions": c_positions,
        "py_positions": lambda: eng.position_columns(),
        "py_positions_into": lambda: eng.position_columns(out=pout),
    }
    have_pandas = True
    try:
        import pandas  # noqa: F401
        variants["to_pandas"] = lambda: eng.to_pandas()
    except ImportError:
        have_pandas = False
    for fn in variants.values():  # warm-up
        fn()
    times = {k: float("inf") for k in variants}
    for _ in range(rounds):
        for k, fn in variants.items():
            times[k] = min(times[k], best(fn, 1))
    ok = True
    summaries = eng.evaluate_all()
    cols = eng.summary_columns(out=out)
    for k in range(0, n, max(1, n // 997)):
        ok &= all(cols[name][k] == getattr(summaries[k], name) or (cols[name][k] != cols[name][k])
                  for name in librisk.SUMMARY_COLUMNS)
    print("book: %d accounts x %d positions, best of %d rounds, %s columns%s" % (
        n, N_POS, rounds, "numpy" if numpy is not None else "array", "" if have_pandas else ", no pandas"))
    for k, t in times.items():
        print("%-18s %8.1f ms" % (k, 1e3 * t))
    print("result py_summary_over_c %.3f" % (times["py_summary"] / times["c_summary"]))
    print("result py_summary_into_over_c %.3f" % (times["py_summary_into"] / times["c_summary"]))
    print("result struct_scatter_over_c %.3f" % (times["struct_scatter"] / times["c_summary"]))
    print("result py_positions_over_c %.3f" % (times["py_positions"] / times["c_positions"]))
    print("result py_positions_into_over_c %.3f" % (times["py_positions_into"] / times["c_positions"]))
    if have_pandas:
        print("result to_pandas_over_c %.3f" % (times["to_pandas"] / times["c_summary"]))
    print("result checks %s" % ("ok" if ok else "FAILED"))
    eng.close()
    return 0 if ok else 1


if __name__ == "__main__":
    sys.exit(main())
