# SPDX-License-Identifier: Apache-2.0
"""bench_sweep_numpy: the engine's sweep against numpy running the same formula (issue 13 section 2).

    PYTHONPATH=bindings/python python3 bench/bench_sweep_numpy.py [accounts] [rounds]

Builds bench_columns.py's book (accounts x 8 linear perpetuals, 3-tier schedule 50k / 250k /
unbounded, MMR 0.4 / 0.5 / 1 %, max leverage 125 / 100 / 50, a USDT balance; default 200,000
accounts) and times, best of `rounds`, interleaved:
  c_sweep      risk_engine_evaluate_columns with equity, IM, MM, health factor and state, 1
               thread, into caller columns (one foreign call: the library's time);
  c_sweep_all  risk_engine_evaluate_all, 1 thread: the full 17-field summary of every account
               (the batch sweep, which takes the SIMD path on AVX-512 CPUs), checked bit for bit
               against c_sweep's columns;
  numpy_sweep  the same formula vectorised with numpy on the position columns: notional =
               |q| cs mark, uPnL = q cs (mark - entry), the tier by comparing the notional with
               the caps, MM = N mmr_t - cum_t, IM = N max(user rate, 1 / max leverage_t), sums per
               account (np.add.reduceat), equity and requirements quantized to 10^-6 (down / up),
               health factor, state.
numpy is not bit-identical to the engine (its sums are in another order); the check requires
equity, IM and MM within 2e-6 and the same state for every account. Prints `result` lines: the
ratios numpy / C for both C calls (target >= 10) and the check. Without numpy it prints the skip and exits 0.
"""

import os
import sys
import time

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "bindings", "python"))
sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))

try:
    import numpy as np
except ImportError:
    np = None

N_POS = 8
CAPS = (50000.0, 250000.0)
MMR = (0.004, 0.005, 0.01)
LEV = (125.0, 100.0, 50.0)


def cums():
    c = [0.0]
    for t in range(1, len(MMR)):
        c.append(c[-1] + CAPS[t - 1] * (MMR[t] - MMR[t - 1]))
    return c


def numpy_sweep(book):
    """The sweep's formula on columns; returns equity, IM, MM, health factor, state per account."""
    q, entry, inst, user_rate, starts, bal, mark, cs = book
    m = mark[inst]
    notional = np.abs(q) * cs[inst] * m
    upnl = q * cs[inst] * (m - entry)
    tier = (notional > CAPS[0]).astype(np.intp) + (notional > CAPS[1])
    mmr = np.asarray(MMR)[tier]
    cum = np.asarray(cums())[tier]
    tier_rate = 1.0 / np.asarray(LEV)[tier]
    mm = notional * mmr - cum
    im = notional * np.maximum(user_rate, tier_rate)
    upnl_a = np.add.reduceat(upnl, starts)
    im_a = np.add.reduceat(im, starts)
    mm_a = np.add.reduceat(mm, starts)
    equity = np.floor((bal + upnl_a) * 1e6 + 8.9e-16) / 1e6
    r_init = np.ceil(im_a * 1e6 - 8.9e-16) / 1e6
    r_maint = np.ceil(mm_a * 1e6 - 8.9e-16) / 1e6
    with np.errstate(divide="ignore", invalid="ignore"):
        hf = np.where(r_maint > 0.0, equity / r_maint, np.inf)
    state = np.where(equity <= 0.0, 3, np.where(hf < 1.0, 2, np.where(hf < 1.2, 1, 0)))
    return equity, r_init, r_maint, hf, state


def main():
    if np is None:
        print("bench_sweep_numpy: numpy not installed, skipped")
        return 0
    import ctypes
    from librisk import ffi
    from bench_columns import build

    n = int(sys.argv[1]) if len(sys.argv) > 1 else 200000
    rounds = int(sys.argv[2]) if len(sys.argv) > 2 else 5
    eng = build(n)
    pc = eng.position_columns(fields=["account_index", "instrument", "qty", "entry"], use_numpy=True)
    inst = pc["instrument"].astype(np.intp)
    q = np.asarray(pc["qty"], dtype=np.float64)
    entry = np.asarray(pc["entry"], dtype=np.float64)
    idx = np.asarray(pc["account_index"])
    starts = np.flatnonzero(np.r_[True, idx[1:] != idx[:-1]])
    mark = np.array([10.0 * (k + 1) for k in range(N_POS)])
    cs = np.ones(N_POS)
    user_rate = np.zeros(len(q))  # the book sets no user leverage
    # balances: equity minus uPnL of the engine's own summary is the USDT balance (price 1)
    s = eng.summary_columns(fields=["equity", "unrealized_pnl"], use_numpy=True)
    bal = np.asarray(s["equity"]) - np.asarray(s["unrealized_pnl"])
    book = (q, entry, inst, user_rate, starts, bal, mark, cs)

    L = ffi.lib()
    ptr = eng._require()
    out = {name: np.empty(n, dtype=np.float64) for name in ("equity", "initial_margin", "maintenance_margin",
                                                             "health_factor")}
    out["state"] = np.empty(n, dtype=np.uint32)
    cols = ffi.RiskSummaryColumns(ffi.SUMMARY_COLUMNS_VERSION)
    for name, buf in out.items():
        setattr(cols, name, buf.ctypes.data)
    count = ctypes.c_size_t()

    def c_sweep():
        L.risk_engine_evaluate_columns(ptr, ctypes.byref(cols), n, 1, ctypes.byref(count))

    summaries = (ffi.RiskAccountSummary * n)()
    summaries[0].version = ffi.ACCOUNT_SUMMARY_VERSION
    count_all = ctypes.c_size_t()

    def c_sweep_all():
        L.risk_engine_evaluate_all(ptr, summaries, None, n, 1, ctypes.byref(count_all))

    variants = {"c_sweep": c_sweep, "c_sweep_all": c_sweep_all, "numpy_sweep": lambda: numpy_sweep(book)}
    for fn in variants.values():
        fn()
    times = {k: float("inf") for k in variants}
    for _ in range(rounds):
        for k, fn in variants.items():
            t0 = time.perf_counter()
            fn()
            times[k] = min(times[k], time.perf_counter() - t0)
    c_sweep()
    c_sweep_all()
    # the batch sweep's summaries, as columns, must be the columns' bits
    rec = np.frombuffer(summaries, dtype=np.dtype([("version", "<u4"), ("state", "<u4"), ("f", "<f8", 15),
                                                   ("n_positions", "<u4"), ("n_iso", "<u4")]), count=n)
    same_all = (np.array_equal(rec["f"][:, 0].view(np.uint64), out["equity"].view(np.uint64))
                and np.array_equal(rec["f"][:, 3].view(np.uint64), out["initial_margin"].view(np.uint64))
                and np.array_equal(rec["f"][:, 4].view(np.uint64), out["maintenance_margin"].view(np.uint64))
                and np.array_equal(rec["f"][:, 6].view(np.uint64), out["health_factor"].view(np.uint64))
                and np.array_equal(rec["state"], out["state"]) and count_all.value == n)
    eq, ri, rm, hf, st = numpy_sweep(book)
    bad = int(np.sum(np.abs(eq - out["equity"]) > 2e-6) + np.sum(np.abs(ri - out["initial_margin"]) > 2e-6)
              + np.sum(np.abs(rm - out["maintenance_margin"]) > 2e-6) + np.sum(st != out["state"])) + (not same_all)
    print("book: %d accounts x %d positions, best of %d rounds; load average %.1f" % (n, N_POS, rounds,
                                                                                    os.getloadavg()[0]))
    for k, t in times.items():
        print("%-12s %8.1f ms  %7.1f M positions/s" % (k, 1e3 * t, n * N_POS / t / 1e6))
    print("result numpy_over_c %.2f" % (times["numpy_sweep"] / times["c_sweep"]))
    print("result numpy_over_c_all %.2f" % (times["numpy_sweep"] / times["c_sweep_all"]))
    print("result c_sweep_all_pos_per_s %.4g" % (n * N_POS / times["c_sweep_all"]))
    print("result c_sweep_pos_per_s %.4g" % (n * N_POS / times["c_sweep"]))
    print("result numpy_sweep_pos_per_s %.4g" % (n * N_POS / times["numpy_sweep"]))
    print("result evaluate_all_equals_columns %s" % ("yes" if same_all else "NO"))
    print("result checks %s (%d differences)" % ("ok" if bad == 0 else "FAILED", bad))
    eng.close()
    return 0 if bad == 0 else 1


if __name__ == "__main__":
    sys.exit(main())
