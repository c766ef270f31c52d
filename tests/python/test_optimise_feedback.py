# SPDX-License-Identifier: Apache-2.0
"""Utilisation feedback in the borrowing-cost optimiser (RISK_OPTIMISE_UTILISATION, docs/rates.md
10.9) against scipy on random instances, in the pattern of test_optimise.py:

- the same model (a debt d costs d x r_b(U(d)) a year, taken as its chords on the grid of the
  curve's kinks, 32 chords per stretch), formulated here independently (the curves re-implemented
  from their sources, one LP variable per chord) and solved by HiGHS: the same verdict and the
  same objective within 1e-9 relative;
- the exact (piecewise-quadratic) model, minimised by scipy's SLSQP from the library's plan: the
  library's objective is above the exact optimum by at most the stated chord bound
  sum over candidates of years x price x max over chords of rho h^2 / 4.

HiGHS lives in /usr/bin/python3's scipy; under an interpreter without scipy the comparison runs in a
/usr/bin/python3 subprocess (never skipped), as test_optimise.py does.
"""

import json
import math
import os
import random
import subprocess
import sys
import unittest

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import support  # noqa: E402
from support import librisk  # noqa: E402
from librisk import optimise, rates  # noqa: E402

YEAR = 31536000.0
N_INSTANCES = int(os.environ.get("FB_N", "300"))
SEED = 20261203
SUB = 32
DRIFT_BP = (0.85, 0.90, 0.95, 0.99, 0.995, 1.0)
DRIFT_W = (0.05, 0.10, 0.15, 0.20, 0.25, 0.25)


# ------------------------------------------------------------------ the curves, from their sources

def borrow_rate(m, u):
    """The variable borrow rate at utilisation u (docs/rates.md 2.1 to 2.3)."""
    u = min(max(u, 0.0), 1.0)
    k = m["kind"]
    if k == "comet":
        kb = m["comet_borrow_kink"]
        return m["comet_borrow_base"] + m["comet_borrow_slope_low"] * min(u, kb) + \
            m["comet_borrow_slope_high"] * max(u - kb, 0.0)
    if k == "aave":
        uo = m["aave_optimal_usage"]
        if u > uo:
            return m["aave_base_variable"] + m["aave_slope1"] + m["aave_slope2"] * (u - uo) / (1.0 - uo)
        return m["aave_base_variable"] + m["aave_slope1"] * u / uo
    uo, ro = m["drift_optimal_utilisation"], m["drift_optimal_rate"]
    if u <= uo:
        r = u * ro / uo
    else:
        r, start = ro, uo
        for bp, w in zip(DRIFT_BP, DRIFT_W):
            if u <= bp:
                r += (m["drift_max_rate"] - ro) * w * (u - start) / (bp - start)
                break
            r += (m["drift_max_rate"] - ro) * w
            start = bp
    return max(r, m["drift_min_rate"])


def kinks(m):
    k = m["kind"]
    if k == "comet":
        out = [m["comet_borrow_kink"]]
    elif k == "aave":
        out = [m["aave_optimal_usage"]]
    else:
        uo, ro, lo = m["drift_optimal_utilisation"], m["drift_optimal_rate"], m["drift_min_rate"]
        out = [lo * uo / ro] if lo > 0 and ro > 0 and lo * uo / ro < uo else []
        out += [uo] + [b for b in DRIFT_BP[:-1] if b > uo]
    return out + [1.0]


def grid(c):
    """The debts at which the model's cost is exact, ascending (empty without a debt range)."""
    dlo, dhi = max(-c["hi"], 0.0), max(-c["lo"], 0.0)
    if not dhi > dlo:
        return []
    cuts = [dlo]
    for u in kinks(c["model"]):
        d = u * c["S"] - c["d_other"]
        if cuts[-1] < d < dhi:
            cuts.append(d)
    cuts.append(dhi)
    pts = []
    for a, b in zip(cuts, cuts[1:]):
        pts += [a + (b - a) * (j / SUB) for j in range(SUB)]
    return pts + [dhi]


def exact(c, d):
    return d * borrow_rate(c["model"], (c["d_other"] + d) / c["S"])


# ------------------------------------------------------------------ instances

def make_model(rng):
    k = rng.choice(["comet", "aave", "drift"])
    if k == "comet":
        low = rng.uniform(0.01, 0.1)
        return {"kind": k, "comet_supply_kink": 0.8, "comet_supply_slope_low": 0.0, "comet_supply_slope_high": 0.0,
                "comet_borrow_kink": rng.uniform(0.5, 0.95), "comet_borrow_base": rng.uniform(0.0, 0.03),
                "comet_borrow_slope_low": low, "comet_borrow_slope_high": low + rng.uniform(0.0, 2.0)}
    if k == "aave":
        s1 = rng.uniform(0.01, 0.08)
        return {"kind": k, "aave_optimal_usage": rng.uniform(0.45, 0.92), "aave_base_variable": rng.uniform(0, 0.02),
                "aave_slope1": s1, "aave_slope2": rng.uniform(s1, 3.0), "aave_stable_slope1": 0.0,
                "aave_stable_slope2": 0.0, "aave_base_stable_offset": 0.0, "aave_excess_stable_offset": 0.0,
                "aave_optimal_stable_ratio": 0.2}
    # a convex curve (the optimiser refuses others): the first segment above the optimum at least as
    # steep as the line below it, which holds the later, steeper ones too when U_o <= 0.825
    ro, uo = rng.uniform(0.02, 0.2), rng.uniform(0.5, 0.82)
    top = ro + ro / uo * (0.85 - uo) / 0.05 * rng.uniform(1.0, 3.0)
    return {"kind": k, "drift_optimal_utilisation": uo, "drift_optimal_rate": ro, "drift_max_rate": top,
            "drift_min_rate": rng.choice([0.0, ro * rng.uniform(0, 0.5)])}


def make_instance(rng):
    n = rng.randint(1, 5)
    cands = []
    for i in range(n):
        price = rng.choice([1.0, round(10 ** rng.uniform(-1, 4), 4)])
        S = 10 ** rng.uniform(5, 8) / price
        d0 = round(rng.uniform(0, 0.05) * S, 4) if rng.random() < 0.4 else 0.0
        d_other = rng.uniform(0.0, 0.9) * S
        borrow_max = rng.uniform(0.0, 0.5) * S
        withdraw_max = rng.uniform(0.5, 1.0) * borrow_max + (d0 if rng.random() < 0.5 else 0.0)
        post_max = rng.uniform(0, d0) if d0 > 0 else 0.0  # repay at most the debt: never a deposit
        cands.append({"asset": "P%d" % i, "price": price, "model": make_model(rng), "S": S, "d0": d0,
                      "d_other": d_other, "lw_init": rng.uniform(1.0, 1.3), "lw_maint": 1.0,
                      "post_max": post_max, "withdraw_max": withdraw_max, "borrow_max": borrow_max,
                      "cash": rng.random() < 0.7})
    collateral = 10 ** rng.uniform(4.5, 7.5)
    cash = rng.uniform(0, 0.6) * sum(c["borrow_max"] * c["price"] for c in cands if c["cash"])
    if rng.random() < 0.1:
        cash *= 5.0  # often infeasible
    return {"candidates": cands, "btc_value": collateral, "im": rng.uniform(0, 0.3) * collateral,
            "cash": cash, "horizon_s": rng.uniform(86400.0, 2 * YEAR), "h_init": rng.uniform(1.0, 1.5),
            "h_maint": rng.uniform(1.0, 1.3)}


def bounds_of(c):
    c["lo"] = max(-c["d0"] - c["withdraw_max"], -c["borrow_max"], -(c["S"] - c["d_other"]))  # U <= 1
    c["hi"] = -c["d0"] + c["post_max"]


# ------------------------------------------------------------------ the library

def run_librisk(inst):
    eng = librisk.Engine()
    try:
        eng.add_asset("USDT", 1.0, decimals=6)
        eng.add_asset("BTC", 50000.0, decimals=8, weight_init=0.8, weight_maint=0.9)
        for c in inst["candidates"]:
            eng.add_asset(c["asset"], c["price"], decimals=6, liab_weight_init=c["lw_init"],
                          liab_weight_maint=c["lw_maint"])
            m = dict(c["model"])
            rates.set_rate_model(eng, c["asset"], m.pop("kind"), **m)
            rates.set_rate_pool(eng, c["asset"], supply=c["S"], borrow=c["d_other"] + c["d0"],
                                updated_unix_s=1704067200)
        eng.set_valuation_asset("USDT")
        acc = librisk.Account(eng, 1)
        acc.set_balance("BTC", inst["btc_value"] / 50000.0)
        for c in inst["candidates"]:
            if c["d0"]:
                acc.set_balance(c["asset"], -c["d0"])
        cands = [{"asset": c["asset"], "post_max": c["post_max"], "withdraw_max": c["withdraw_max"],
                  "borrow_max": c["borrow_max"], "cash": c["cash"], "utilisation": True}
                 for c in inst["candidates"]]
        return optimise.optimise(acc, cands, horizon_s=inst["horizon_s"], health_init_min=inst["h_init"],
                                 health_maint_min=inst["h_maint"], im_value=inst["im"], mm_value=0.0,
                                 cash_value=inst["cash"])
    finally:
        eng.close()


# ------------------------------------------------------------------ the references

def rows(inst, debts):
    """(init row, maint row, cash delivered) at the debts (one per candidate)."""
    ci, cm = inst["btc_value"] * 0.8, inst["btc_value"] * 0.9
    ri = sum(c["lw_init"] * c["price"] * d for c, d in zip(inst["candidates"], debts))
    rm = sum(c["lw_maint"] * c["price"] * d for c, d in zip(inst["candidates"], debts))
    cash = sum((d - c["d0"]) * c["price"] for c, d in zip(inst["candidates"], debts) if c["cash"])
    return ci - inst["h_init"] * (ri + inst["im"]), cm - inst["h_maint"] * rm, cash


def highs_reference(inst):
    """(feasible, objective) of the chord model by HiGHS: one variable per chord of each debt."""
    import numpy as np
    from scipy.optimize import linprog
    years = inst["horizon_s"] / YEAR
    cols, const, lows = [], 0.0, []
    for k, c in enumerate(inst["candidates"]):
        if c["lo"] > c["hi"]:
            return False, None
        g = grid(c)
        dlo = max(-c["hi"], 0.0)
        lows.append(dlo)
        const += years * c["price"] * exact(c, dlo)
        for a, b in zip(g, g[1:]):
            cols.append((k, (exact(c, b) - exact(c, a)) / (b - a) * years * c["price"], b - a))
    n = max(len(cols), 1)
    obj = np.zeros(n)
    A_ub, b_ub, A_eq, b_eq = [], [], [], []
    r_i, r_m, cash_row = np.zeros(n), np.zeros(n), np.zeros(n)
    for j, (k, slope, _) in enumerate(cols):
        c = inst["candidates"][k]
        obj[j] = slope
        r_i[j] = inst["h_init"] * c["lw_init"] * c["price"]
        r_m[j] = inst["h_maint"] * c["lw_maint"] * c["price"]
        cash_row[j] = c["price"] if c["cash"] else 0.0
    i0, m0, cash0 = rows(inst, lows)
    A_ub += [r_i, r_m]
    b_ub += [i0, m0]
    if inst["cash"] > 0:
        A_eq.append(cash_row)
        b_eq.append(inst["cash"] - cash0)
    bounds = [(0.0, w) for _, _, w in cols] or [(0.0, 0.0)]
    res = linprog(obj, A_ub=np.array(A_ub), b_ub=np.array(b_ub), A_eq=np.array(A_eq) if A_eq else None,
                  b_eq=np.array(b_eq) if b_eq else None, bounds=bounds, method="highs",
                  options={"primal_feasibility_tolerance": 1e-10, "dual_feasibility_tolerance": 1e-10})
    if res.status == 2:
        return False, None
    if res.status != 0:
        raise RuntimeError("HiGHS: %s" % res.message)
    return True, res.fun + const


def chord_bound(inst):
    """Sum over candidates of years x price x the largest chord error rho h^2 / 4, rho the rate's
    rise per unit of debt on the chord's stretch (measured from the curve)."""
    years = inst["horizon_s"] / YEAR
    total = 0.0
    for c in inst["candidates"]:
        g = grid(c)
        worst = 0.0
        for a, b in zip(g, g[1:]):
            ua, ub = (c["d_other"] + a) / c["S"], (c["d_other"] + b) / c["S"]
            rho = (borrow_rate(c["model"], ub) - borrow_rate(c["model"], ua)) / (b - a)
            worst = max(worst, rho * (b - a) ** 2 / 4.0)
        total += years * c["price"] * worst
    return total


def exact_minimum(inst, start):
    """The exact model's minimum by SLSQP, started from the library's plan (a convex programme)."""
    import numpy as np
    from scipy.optimize import minimize
    years = inst["horizon_s"] / YEAR
    cs = inst["candidates"]
    scale = max(1.0, sum(years * c["price"] * exact(c, d) for c, d in zip(cs, start)))

    def f(x):
        return sum(years * c["price"] * exact(c, d) for c, d in zip(cs, x)) / scale

    cons = [{"type": "ineq", "fun": lambda x: rows(inst, x)[0] / max(1.0, inst["btc_value"])},
            {"type": "ineq", "fun": lambda x: rows(inst, x)[1] / max(1.0, inst["btc_value"])}]
    if inst["cash"] > 0:
        cons.append({"type": "eq", "fun": lambda x: (rows(inst, x)[2] - inst["cash"]) / max(1.0, inst["cash"])})
    bnds = [(max(-c["hi"], 0.0), max(-c["lo"], 0.0)) for c in cs]
    res = minimize(f, np.array(start), method="SLSQP", bounds=bnds, constraints=cons,
                   options={"ftol": 1e-14, "maxiter": 500})
    return res.fun * scale, res.success


def check_instances(n, seed):
    rng = random.Random(seed)
    report = {"n": 0, "optimal": 0, "infeasible": 0, "worst_rel": 0.0, "worst_excess_over_bound": 0.0,
              "worst_rel_to_exact": 0.0, "failures": []}
    for i in range(n):
        inst = make_instance(rng)
        for c in inst["candidates"]:
            bounds_of(c)
        mine = run_librisk(inst)
        feasible, ref = highs_reference(inst)
        report["n"] += 1
        if feasible != (mine["outcome"] == "optimal"):
            report["failures"].append({"i": i, "why": "feasibility", "librisk": mine["outcome"], "highs": feasible})
            continue
        if not feasible:
            report["infeasible"] += 1
            continue
        report["optimal"] += 1
        got = mine["cost_horizon"]
        r = abs(got - ref) / max(abs(got), abs(ref), 1.0)
        report["worst_rel"] = max(report["worst_rel"], r)
        if r > 1e-9:
            report["failures"].append({"i": i, "why": "objective", "librisk": got, "highs": ref, "rel": r})
            continue
        debts = []
        after = {mv["asset"]: mv["balance_after"] for mv in mine["moves"]}
        for c in inst["candidates"]:
            debts.append(max(-after[c["asset"]], 0.0))
        best, ok = exact_minimum(inst, debts)
        bound = chord_bound(inst)
        tol = 1e-7 * max(1.0, abs(got))
        if ok:
            excess = got - best
            report["worst_excess_over_bound"] = max(report["worst_excess_over_bound"], excess - bound)
            report["worst_rel_to_exact"] = max(report["worst_rel_to_exact"], excess / max(1.0, abs(best)))
            if excess < -tol or excess > bound + tol:
                report["failures"].append({"i": i, "why": "exact", "librisk": got, "exact": best, "bound": bound})
    return report


def _have_scipy():
    try:
        import scipy.optimize  # noqa: F401
        return True
    except ImportError:
        return False


class TestOptimiseFeedbackAgainstScipy(unittest.TestCase):
    def test_random_instances(self):
        if _have_scipy():
            report = check_instances(N_INSTANCES, SEED)
        else:
            debian = "/usr/bin/python3"
            proc = subprocess.run([debian, os.path.abspath(__file__), "--scipy", str(N_INSTANCES), str(SEED)],
                                  capture_output=True, text=True, env=support.cli_env())
            self.assertEqual(proc.returncode, 0, "no scipy here and %s could not run it (install python3-scipy, "
                             "tools/ensure-deps.sh): %s" % (debian, proc.stderr[-2000:]))
            report = json.loads(proc.stdout)
        self.assertEqual(report["failures"], [], report["failures"][:5])
        self.assertEqual(report["n"], N_INSTANCES)
        self.assertGreater(report["optimal"], 100, report)
        self.assertGreater(report["infeasible"], 5, report)
        self.assertLessEqual(report["worst_rel"], 1e-9)


if __name__ == "__main__":
    if len(sys.argv) == 4 and sys.argv[1] == "--scipy":
        print(json.dumps(check_instances(int(sys.argv[2]), int(sys.argv[3]))))
    else:
        unittest.main()
