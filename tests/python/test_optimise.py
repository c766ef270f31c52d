# SPDX-License-Identifier: Apache-2.0
"""Borrowing-cost optimisation (librisk.optimise, risk_account_optimise) against an independent
LP solver: scipy's HiGHS (Debian python3-scipy) on random instances, each formulated here from
the model of docs/rates.md section 10 in a different way from the C library (a debt variable and
one variable per value tier for each asset, the final balance bounded by rows), so that it checks
the segment construction as well as the simplex. Equal objective (MIN_COST) or size (MAX_SIZE)
within 1e-9 relative; the same verdict on feasibility; the plan meets every constraint.

HiGHS lives in /usr/bin/python3's scipy; under an interpreter without scipy the comparison runs
in a /usr/bin/python3 subprocess (it never skips: without any scipy it fails, naming the package).
"""

import json
import math
import os
import random
import shutil
import subprocess
import sys
import unittest

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import support  # noqa: E402
import test_bindings  # noqa: E402  (its struct-layout check is reused below)
from support import librisk  # noqa: E402
from librisk import errors, ffi, optimise  # noqa: E402

YEAR = 31536000.0
N_INSTANCES = 1200
SEED = 20261202


# ------------------------------------------------------------------ instances

def _round(x, decimals):
    return round(x, decimals)


def make_instance(rng):
    """A random account, candidate list and question (JSON-able)."""
    k = rng.randint(2, 10)
    assets = [{"symbol": "USDT", "price": 1.0, "decimals": 6, "w_init": 1.0, "w_maint": 1.0, "lw_init": 1.0,
               "lw_maint": 1.0, "tiers": None}]
    for i in range(1, k):
        price = round(10 ** rng.uniform(-1.0, 4.7), 4)
        w_maint = rng.uniform(0.5, 1.0)
        lw_maint = rng.uniform(1.0, 1.2)
        tiers = None
        if rng.random() < 0.4:
            tiers, up, ratio = [], 0.0, 1.0
            for _ in range(rng.randint(1, 4)):
                up += round(10 ** rng.uniform(3, 5.5) / price, 4)
                tiers.append([up, ratio])
                ratio = ratio * rng.uniform(0.6, 1.0)
            if rng.random() < 0.5:
                tiers[-1][0] = None  # unbounded last tier
        assets.append({"symbol": "A%d" % i, "price": price, "decimals": rng.choice([2, 4, 6, 8]),
                       "w_init": w_maint * rng.uniform(0.7, 1.0), "w_maint": w_maint,
                       "lw_init": lw_maint * rng.uniform(1.0, 1.15), "lw_maint": lw_maint, "tiers": tiers})
    balances = {}
    for a in assets:
        u = rng.random()
        if u < 0.55:
            balances[a["symbol"]] = _round(rng.uniform(0, 2e5) / a["price"], a["decimals"])
        elif u < 0.75:
            balances[a["symbol"]] = -_round(rng.uniform(0, 5e4) / a["price"], a["decimals"])
    cands = []
    for a in assets:
        if rng.random() > 0.8:
            continue
        p = a["price"]
        borrow = rng.uniform(0.0, 0.3)
        c = {"asset": a["symbol"], "borrow_annual": borrow, "supply_annual": borrow * rng.uniform(0.0, 1.0),
             "post_max": rng.uniform(0, 2e5) / p if rng.random() < 0.7 else 0.0,
             "withdraw_max": rng.uniform(0, 2e5) / p if rng.random() < 0.7 else 0.0,
             "borrow_max": rng.uniform(0, 1e5) / p if rng.random() < 0.6 else 0.0,
             "outside_annual": rng.uniform(0.0, 0.1) if rng.random() < 0.3 else 0.0,
             "cash": rng.random() < 0.4}
        cands.append(c)
    if not cands:
        cands.append({"asset": "USDT", "borrow_annual": 0.1, "supply_annual": 0.05, "post_max": 1e5,
                      "withdraw_max": 1e5, "borrow_max": 1e5, "outside_annual": 0.0, "cash": True})
    spec = {"mode": "max_size" if rng.random() < 0.25 else "min_cost",
            "horizon_s": rng.uniform(86400.0, 2 * YEAR), "health_init_min": rng.uniform(1.0, 2.0),
            "health_maint_min": rng.uniform(1.0, 1.5), "ltv_buffer_min": None}
    by_sym = {a["symbol"]: a for a in assets}
    if rng.random() < 0.3:
        tiered = [by_sym[c["asset"]]["w_init"] for c in cands if by_sym[c["asset"]]["tiers"]]
        spec["ltv_buffer_min"] = rng.uniform(0.0, min(tiered + [0.5]))
    im = rng.uniform(0, 1e5) if rng.random() < 0.7 else 0.0
    spec["im_value"] = im
    spec["mm_value"] = im * rng.uniform(0.3, 0.8)
    any_cash = any(c["cash"] for c in cands)
    spec["cash_value"] = rng.uniform(0, 1e5) if any_cash and rng.random() < 0.6 else 0.0
    if spec["mode"] == "max_size":
        if spec["im_value"] == 0 and spec["cash_value"] == 0:
            spec["im_value"], spec["mm_value"] = 1000.0, 500.0
        spec["im_value"] /= 10.0
        spec["mm_value"] /= 10.0
        spec["cash_value"] /= 10.0
        spec["budget_value"] = rng.uniform(-2e3, 2e4)
    if rng.random() < 0.2:  # other magnitudes: caps and targets scaled together by 1e-3 .. 1e3
        f = 10 ** rng.uniform(-3.0, 3.0)
        for c in cands:
            dec = by_sym[c["asset"]]["decimals"]
            for key in ("post_max", "withdraw_max", "borrow_max"):  # within 2^53 quanta
                c[key] = min(c[key] * f, 2.0 ** 52 / 10 ** min(dec, 8))
        for key in ("im_value", "mm_value", "cash_value", "budget_value"):
            if key in spec:
                spec[key] *= f
    return {"assets": assets, "balances": balances, "candidates": cands, "spec": spec}


# ------------------------------------------------------------------ the library

def run_librisk(inst):
    eng = librisk.Engine()
    try:
        for a in inst["assets"]:
            tiers = None if a["tiers"] is None else [(u if u is not None else math.inf, r) for u, r in a["tiers"]]
            eng.add_asset(a["symbol"], a["price"], decimals=a["decimals"], weight_init=a["w_init"],
                          weight_maint=a["w_maint"], liab_weight_init=a["lw_init"],
                          liab_weight_maint=a["lw_maint"], value_tiers=tiers)
        eng.set_valuation_asset("USDT")
        acc = librisk.Account(eng, 1)
        for sym, amount in inst["balances"].items():
            acc.set_balance(sym, amount)
        sp = dict(inst["spec"])
        return optimise.optimise(acc, inst["candidates"], **sp)
    finally:
        eng.close()


# ------------------------------------------------------------------ the reference model

def _pieces(a, hi):
    """(width, ratio) of each deposit piece up to the balance hi (> 0)."""
    if a["tiers"] is None:
        return [(hi, 1.0)]
    out, lower = [], 0.0
    for up, ratio in a["tiers"]:
        up = math.inf if up is None else up
        if lower >= hi:
            break
        out.append((min(up, hi) - lower, ratio))
        lower = up
    if lower < hi:
        out.append((hi - lower, 0.0))
    return out


def tiered(a, q):
    if q <= 0:
        return 0.0
    return sum(w * r for w, r in _pieces(a, q))


def model_totals(inst, bal):
    """C_init, C_maint, R_init, R_maint, CV, L and the cost of the balances bal (symbol -> amount)."""
    sp = inst["spec"]
    years = sp["horizon_s"] / YEAR
    cands = {c["asset"]: c for c in inst["candidates"]}
    t = dict(ci=0.0, cm=0.0, ri=0.0, rm=0.0, cv=0.0, liab=0.0, cost=0.0, cash=0.0)
    for a in inst["assets"]:
        s, p = a["symbol"], a["price"]
        b = bal.get(s, 0.0)
        if b > 0:
            v = p * tiered(a, b)
            t["ci"] += v * a["w_init"]
            t["cm"] += v * a["w_maint"]
            t["cv"] += v
        else:
            t["ri"] += -b * p * a["lw_init"]
            t["rm"] += -b * p * a["lw_maint"]
            t["liab"] += -b * p
        c = cands.get(s)
        if c:
            b0 = inst["balances"].get(s, 0.0)
            rate = c["borrow_annual"] if b < 0 else c["supply_annual"]
            t["cost"] += -b * rate * years * p + (b - b0) * c["outside_annual"] * years * p
            if c["cash"]:
                t["cash"] += (b0 - b) * p
    return t


def highs_reference(inst):
    """(feasible, objective or size) by scipy's HiGHS on an independent formulation."""
    import numpy as np
    from scipy.optimize import linprog
    sp = inst["spec"]
    years = sp["horizon_s"] / YEAR
    max_size = sp["mode"] == "max_size"
    hi_, hm_ = sp["health_init_min"], sp["health_maint_min"]
    beta = sp["ltv_buffer_min"]
    by_sym = {a["symbol"]: a for a in inst["assets"]}
    cand_syms = {c["asset"] for c in inst["candidates"]}
    # constants: the balances of the non-candidates, and the outside term at b' = 0
    base = model_totals({**inst, "balances": inst["balances"], "candidates": []},
                        {s: b for s, b in inst["balances"].items() if s not in cand_syms})
    cols = []  # each: dict(cost, ci, cm, ri, rm, cv, liab, cash, ub, cand index, sign)
    const_cost = 0.0
    const_cash = 0.0
    box = []   # per candidate: (lo, hi, [column indices], [signs])
    for c in inst["candidates"]:
        a = by_sym[c["asset"]]
        p = a["price"]
        b0 = inst["balances"].get(c["asset"], 0.0)
        lo = max(b0 - c["withdraw_max"], -c["borrow_max"])
        hi = b0 + c["post_max"]
        if lo > hi:
            return False, None
        idx = []
        out_h = c["outside_annual"] * years
        const_cost += -b0 * out_h * p
        if c["cash"]:
            const_cash += b0 * p
        cash = -p if c["cash"] else 0.0
        if lo < 0:  # the debt v >= 0, balance -v
            cols.append(dict(cost=p * (c["borrow_annual"] * years - out_h), ci=0.0, cm=0.0, ri=p * a["lw_init"],
                             rm=p * a["lw_maint"], cv=0.0, liab=p, cash=-cash, ub=-lo))
            idx.append((len(cols) - 1, -1.0))
        if hi > 0:
            for width, ratio in _pieces(a, hi):
                cols.append(dict(cost=p * (-c["supply_annual"] * years + out_h), ci=p * a["w_init"] * ratio,
                                 cm=p * a["w_maint"] * ratio, ri=0.0, rm=0.0, cv=p * ratio, liab=0.0, cash=cash,
                                 ub=width))
                idx.append((len(cols) - 1, 1.0))
        box.append((lo, hi, idx))
    if not cols:  # nothing may move: one variable fixed at 0 keeps the LP well formed
        cols.append(dict(cost=0.0, ci=0.0, cm=0.0, ri=0.0, rm=0.0, cv=0.0, liab=0.0, cash=0.0, ub=0.0))
    n = len(cols) + (1 if max_size else 0)
    obj = np.zeros(n)
    A_ub, b_ub, A_eq, b_eq = [], [], [], []
    for j, col in enumerate(cols):
        obj[j] = 0.0 if max_size else col["cost"]
    if max_size:
        obj[-1] = -1.0
    # health rows as <= : -(C - h R) <= const
    for ck, rk, h, req in (("ci", "ri", hi_, sp["im_value"]), ("cm", "rm", hm_, sp["mm_value"])):
        row = np.zeros(n)
        for j, col in enumerate(cols):
            row[j] = -(col[ck] - h * col[rk])
        rhs = base[ck] - h * base[rk]
        if max_size:
            row[-1] = h * req
        else:
            rhs -= h * req
        A_ub.append(row)
        b_ub.append(rhs)
    if beta is not None:
        row = np.zeros(n)
        for j, col in enumerate(cols):
            row[j] = -(col["ci"] - col["liab"] - beta * col["cv"])
        A_ub.append(row)
        b_ub.append(base["ci"] - base["liab"] - beta * base["cv"])
    if sp["cash_value"] > 0:
        row = np.zeros(n)
        for j, col in enumerate(cols):
            row[j] = col["cash"]  # delivered = const_cash + sum cash_j x_j
        if max_size:
            row[-1] = -sp["cash_value"]
            A_eq.append(row)
            b_eq.append(-const_cash)
        else:
            A_eq.append(row)
            b_eq.append(sp["cash_value"] - const_cash)
    if max_size:
        row = np.zeros(n)
        for j, col in enumerate(cols):
            row[j] = col["cost"]
        A_ub.append(row)
        b_ub.append(sp["budget_value"] - const_cost - base["cost"])
    # the final balance of each candidate within [lo, hi]
    for lo, hi, idx in box:
        row = np.zeros(n)
        for j, sign in idx:
            row[j] = sign
        A_ub.append(row)
        b_ub.append(hi)
        A_ub.append(-row)
        b_ub.append(-lo)
    bounds = [(0.0, col["ub"]) for col in cols] + ([(0.0, None)] if max_size else [])
    res = linprog(obj, A_ub=np.array(A_ub), b_ub=np.array(b_ub), A_eq=np.array(A_eq) if A_eq else None,
                  b_eq=np.array(b_eq) if b_eq else None, bounds=bounds, method="highs",
                  options={"primal_feasibility_tolerance": 1e-10, "dual_feasibility_tolerance": 1e-10})
    if res.status == 2:
        return False, None
    if res.status != 0:
        raise RuntimeError("HiGHS: %s" % res.message)
    if max_size:
        return True, res.x[-1]
    return True, res.fun + const_cost + base["cost"]


def rel(a, b):
    return abs(a - b) / max(abs(a), abs(b), 1.0)


def check_instances(n, seed):
    """Runs n random instances; returns a JSON-able report."""
    rng = random.Random(seed)
    report = {"n": 0, "optimal": 0, "infeasible": 0, "max_size": 0, "worst_rel": 0.0, "failures": [],
              "worst_gap": 0.0}
    for i in range(n):
        inst = make_instance(rng)
        mine = run_librisk(inst)
        feasible, ref = highs_reference(inst)
        report["n"] += 1
        ok_mine = mine["outcome"] == "optimal"
        if feasible != ok_mine:
            # a verdict may differ only on a knife edge: both sides within 1e-9 of feasibility
            report["failures"].append({"i": i, "why": "feasibility", "librisk": mine["outcome"], "highs": feasible})
            continue
        if not feasible:
            report["infeasible"] += 1
            continue
        report["optimal"] += 1
        sp = inst["spec"]
        if sp["mode"] == "max_size":
            report["max_size"] += 1
            got = mine["size"]
        else:
            got = mine["cost_horizon"]
        r = rel(got, ref)
        report["worst_rel"] = max(report["worst_rel"], r)
        report["worst_gap"] = max(report["worst_gap"], mine["duality_gap"])
        if r > 1e-9:
            report["failures"].append({"i": i, "why": "objective", "librisk": got, "highs": ref, "rel": r})
            continue
        # the plan meets the model's constraints, recomputed here
        bal = dict(inst["balances"])
        for mv in mine["moves"]:
            bal[mv["asset"]] = mv["balance_after"]
        t = model_totals(inst, bal)
        s = mine["size"]
        scale = 1e-9 * (1.0 + t["ci"] + t["ri"] + t["cm"] + t["rm"] + sp["im_value"] * s)
        hi_row = t["ci"] - sp["health_init_min"] * (t["ri"] + s * sp["im_value"])
        hm_row = t["cm"] - sp["health_maint_min"] * (t["rm"] + s * sp["mm_value"])
        bad = hi_row < -scale or hm_row < -scale
        if sp["ltv_buffer_min"] is not None:
            bad |= t["ci"] - t["liab"] - sp["ltv_buffer_min"] * t["cv"] < -scale
        if sp["cash_value"] > 0:
            bad |= abs(t["cash"] - s * sp["cash_value"]) > 1e-9 * (1.0 + abs(t["cash"]))
        if rel(t["cost"], mine["cost_horizon"]) > 1e-9:
            bad = True
        if bad:
            report["failures"].append({"i": i, "why": "constraints", "rows": [hi_row, hm_row], "cost": t["cost"],
                                       "librisk_cost": mine["cost_horizon"]})
    return report


def _have_scipy():
    try:
        import scipy.optimize  # noqa: F401
        return True
    except ImportError:
        return False


class TestOptimiseAgainstHighs(unittest.TestCase):
    def test_optimise_random_instances_match_highs(self):
        if _have_scipy():
            report = check_instances(N_INSTANCES, SEED)
        else:
            debian = "/usr/bin/python3"
            proc = subprocess.run([debian, os.path.abspath(__file__), "--highs", str(N_INSTANCES), str(SEED)],
                                  capture_output=True, text=True, env=support.cli_env())
            self.assertEqual(proc.returncode, 0, "no scipy here and %s could not run HiGHS (install python3-scipy, "
                             "tools/ensure-deps.sh): %s" % (debian, proc.stderr[-2000:]))
            report = json.loads(proc.stdout)
        self.assertEqual(report["failures"], [], report["failures"][:5])
        self.assertEqual(report["n"], N_INSTANCES)
        # the draw covers both verdicts and both modes
        self.assertGreater(report["optimal"], 400, report)
        self.assertGreater(report["infeasible"], 50, report)
        self.assertGreater(report["max_size"], 100, report)
        self.assertLessEqual(report["worst_rel"], 1e-9)


@unittest.skipUnless(shutil.which(os.environ.get("CC", "cc")), "no C compiler")
class TestOptimiseStructLayout(unittest.TestCase):
    """The optimise.h mirrors have the C structs' sizes and offsets (the check of test_bindings)."""

    STRUCTS = {"risk_optimise_asset": ffi.RiskOptimiseAsset, "risk_optimise_spec": ffi.RiskOptimiseSpec,
               "risk_optimise_result": ffi.RiskOptimiseResult, "risk_optimise_move": ffi.RiskOptimiseMove}
    test_sizes_and_offsets_match_the_headers = \
        test_bindings.TestStructLayout.test_sizes_and_offsets_match_the_headers


class TestOptimiseBindings(unittest.TestCase):
    def setUp(self):
        self.eng = librisk.Engine()
        self.eng.add_asset("USDT", 1, decimals=6)
        self.eng.add_asset("BTC", 50000, decimals=8, weight_init=0.9, weight_maint=0.95)
        self.eng.set_valuation_asset("USDT")
        self.acc = librisk.Account(self.eng, 7)
        self.acc.set_balance("BTC", 1)

    def tearDown(self):
        self.eng.close()

    def test_optimise_cash_from_the_cheaper_of_two_borrows(self):
        # Hand-solved: 1 BTC (C_init 45,000, C_maint 47,500), no debt; 20,000 of cash from USDT
        # (borrow 8 %) and nothing else: the debt is 20,000 USDT, HF = 47,500 / 20,000 = 2.375;
        # cost per year 20,000 x 8 % = 1,600; over one year the same (simple interest).
        plan = optimise.optimise(self.acc, [{"asset": "USDT", "withdraw_max": 1e6, "borrow_max": 1e6, "cash": True,
                                             "borrow_annual": 0.08, "supply_annual": 0.02}], cash_value=20000)
        self.assertEqual(plan["outcome"], "optimal")
        self.assertAlmostEqual(plan["moves"][0]["balance_after"], -20000.0, places=6)
        self.assertAlmostEqual(plan["cost_annual"], 1600.0, places=6)
        self.assertAlmostEqual(plan["health_maint"], 2.375, places=12)
        self.assertAlmostEqual(plan["dual_cash"], 0.08, places=12)  # one more USDT of cash costs 8 %
        self.assertLess(plan["duality_gap"], 1e-9)

    def test_optimise_bad_input_raises(self):
        with self.assertRaises(errors.InvalidError):
            optimise.optimise(self.acc, [{"asset": "USDT", "post_max": float("nan")}])
        with self.assertRaises(errors.InvalidError):
            optimise.optimise(self.acc, [{"asset": "USDT", "post_max": -1}])
        with self.assertRaises(errors.NotFoundError):
            optimise.optimise(self.acc, [{"asset": "DOGE", "post_max": 1}])
        with self.assertRaises(errors.InvalidError):
            optimise.optimise(self.acc, [{"asset": "USDT"}], health_maint_min=float("inf"))
        with self.assertRaises(errors.InvalidError):
            optimise.optimise(self.acc, [{"asset": "USDT", "borrow_annual": 0.01, "supply_annual": 0.02}])
        with self.assertRaises(errors.InvalidError):
            optimise.optimise(self.acc, [{"asset": "USDT"}, {"asset": "USDT"}])
        with self.assertRaises(ValueError):
            optimise.optimise(self.acc, [], mode="cheapest")
        self.assertEqual(self.acc.basket.balance("BTC"), 1.0)  # nothing changed


class TestOptimiseCli(unittest.TestCase):
    BOOK = "examples/books/optimise.json"

    def run_ok(self, *args):
        proc = support.run_cli("optimise", self.BOOK, "--account", "1", "--compact", *args)
        self.assertEqual(proc.returncode, 0, proc.stderr)
        return json.loads(proc.stdout)

    def test_cli_refinances_the_debt_into_the_cheaper_asset(self):
        # Hand-solved on examples/books/optimise.json: USDT (Aave A1's curve) at U = 80 % borrows
        # at 4 %, USDC (Comet C2's curves) at U = 10 % at 1 % + 5 % x 0.1 = 1.5 %. The account owes
        # 10,000 USDT and needs 20,000 of cash. Current mix: the cash from USDT, 30,000 at 4 % =
        # 1,200 a year. Optimum: repay the USDT, borrow 30,000 USDC: 450; saving 750 a year.
        # Health after: C_maint = 1 BTC x 50,000 x 0.98 x 0.9 + PnL 1,000 = 45,100 against
        # 30,000 x 1.0 + MM 100 = 30,100: 1.4983...
        doc = self.run_ok("--target", "cash=USDT:20000", "--asset", "USDT:post=10000,borrow=100000,withdraw=100000",
                          "--asset", "USDC:borrow=100000,withdraw=100000,cash", "--asset", "BTC:post=2",
                          "--health-maint", "1.3")
        self.assertEqual(doc["format"], "librisk-optimise/1")
        self.assertEqual(doc["outcome"], "optimal")
        plan = {m["asset"]: m for m in doc["plan"]}
        self.assertEqual(plan["USDT"]["repay"], 10000.0)
        self.assertEqual(plan["USDT"]["balance_after"], 0.0)
        self.assertEqual(plan["USDC"]["borrow"], 30000.0)
        self.assertEqual(plan["BTC"]["post"], 0.0)
        self.assertEqual(doc["cost_per_year"], 450.0)
        self.assertEqual(doc["current_mix"]["cost_per_year"], 1200.0)
        self.assertTrue(doc["current_mix"]["feasible"])
        self.assertEqual(doc["saving_per_year"], 750.0)
        self.assertAlmostEqual(doc["health_after"]["maint"], 45100.0 / 30100.0, places=12)
        self.assertLess(doc["certificate"]["duality_gap"], 1e-9)

    def test_cli_amounts_sit_on_their_grid(self):
        doc = self.run_ok("--target", "position=BTCUSDT:1", "--asset", "BTC:post=5,outside=0.01",
                          "--asset", "ETH:post=20,outside=0.02", "--health-init", "1.2")
        self.assertEqual(doc["target"]["initial_margin"], 5000.0)  # 50,000 / 10x
        self.assertEqual(doc["target"]["maintenance_margin"], 225.0)  # 75,000 x 0.5 % - 50, less 100
        for m in doc["plan"]:
            for key in ("post", "repay", "withdraw", "borrow", "balance_after"):
                self.assertEqual(m[key], round(m[key], 8))
        self.assertGreaterEqual(doc["health_after"]["init"], 1.2)
        self.assertEqual(doc["cost_per_year"], round(doc["cost_per_year"], 6))

    def test_cli_max_size_for_a_budget(self):
        doc = self.run_ok("--target", "position=BTCUSDT:1", "--asset", "BTC:post=5,outside=0.01", "--budget", "500",
                          "--health-init", "1.2")
        self.assertEqual(doc["mode"], "max_size")
        self.assertGreater(doc["size"], 1.0)
        self.assertLessEqual(doc["cost_horizon"], 500.0)

    def test_cli_bad_input_exits_2(self):
        for args in (["--target", "cash=USDT:nan", "--asset", "USDT:borrow=1"],
                     ["--target", "cash=DOGE:1", "--asset", "USDT:borrow=1"],
                     ["--target", "im=100", "--asset", "USDT:post=-1"],
                     ["--target", "im=100", "--asset", "USDT:lend=1"],
                     ["--target", "im=100"],
                     ["--asset", "USDT:post=1"],
                     ["--target", "im=100", "--asset", "USDT:post=1", "--health-init", "0.5"],
                     ["--target", "cash=USDT:100", "--asset", "USDC:borrow=1"]):
            proc = support.run_cli("optimise", self.BOOK, "--account", "1", *args)
            self.assertEqual(proc.returncode, 2, (args, proc.stdout, proc.stderr))
            self.assertEqual(proc.stdout, "")
            self.assertEqual(len(proc.stderr.strip().splitlines()), 1, proc.stderr)
        proc = support.run_cli("optimise", self.BOOK, "--account", "9", "--target", "im=1", "--asset", "USDT:post=1")
        self.assertEqual(proc.returncode, 2)


if __name__ == "__main__":
    if len(sys.argv) == 4 and sys.argv[1] == "--highs":
        print(json.dumps(check_instances(int(sys.argv[2]), int(sys.argv[3]))))
        sys.exit(0)
    unittest.main()
