# SPDX-License-Identifier: Apache-2.0
"""Liquidation cascades and insurance-fund adequacy (include/risk/cascade.h; docs/stress.md).

Every number comes from the C library: :func:`cascade` is ``risk_engine_cascade`` (it MUTATES
the engine: load the book again, or restore a snapshot, to get the original back),
:func:`cover2` is ``risk_engine_cover2`` and :func:`fund_survival` is
``risk_engine_fund_survival``. This module turns their results into dicts, holds the
``cascade`` command-line subcommand and writes its ``--report`` HTML page (charts with Debian's
matplotlib when it is installed).
"""

from __future__ import annotations

import argparse
import ctypes
import html
import math
import os
import sys
from typing import Any, Callable, Mapping, Sequence, TYPE_CHECKING

from . import errors, ffi

if TYPE_CHECKING:
    from .book import Book
    from .core import Engine
    from .stress import ScenarioSet

__all__ = ["Impact", "CascadeResult", "cascade", "cover2", "fund_survival", "insurance_funds_value",
           "CASCADE_FORMAT", "parse_shock", "parse_impact", "write_report"]

CASCADE_FORMAT = "librisk-cascade/1"

_ROUND_MONEY = ("market_volume", "adl_volume", "backstop_volume", "fund_drawn", "fund_paid_in", "socialized",
                "uncovered", "liquidator_gain", "fund_after", "bad_debt")
_ROUND_COUNTS = ("n_liquidated", "n_close_outs", "n_adl_fills", "n_backstop_fills")


class Impact:
    """The impact model of one instrument (``risk_impact``): ``model`` is ``"none"``,
    ``"sqrt"`` (log move -sign(Q) y sigma sqrt(|Q| / volume), ``volume`` in contracts a day) or
    ``"linear"`` (log move 0.01 Q / depth, ``depth`` in contracts within 1 % of the mark)."""

    MODELS = {"none": ffi.IMPACT_NONE, "sqrt": ffi.IMPACT_SQRT, "linear": ffi.IMPACT_LINEAR}

    def __init__(self, model: str = "none", y: float = 0.7, sigma: float = 0.04, volume: float = 1.0,
                 depth: float = 1.0) -> None:
        if model not in self.MODELS:
            raise ValueError("impact model %r is not none, sqrt or linear" % model)
        self.model = model
        self.y = float(y)
        self.sigma = float(sigma)
        self.volume = float(volume)
        self.depth = float(depth)

    def to_struct(self) -> ffi.RiskImpact:
        s = ffi.RiskImpact.init()
        s.model = self.MODELS[self.model]
        s.y, s.sigma, s.volume, s.depth = self.y, self.sigma, self.volume, self.depth
        return s

    def as_dict(self) -> dict[str, Any]:
        if self.model == "sqrt":
            return {"model": "sqrt", "y": self.y, "sigma": self.sigma, "volume": self.volume}
        if self.model == "linear":
            return {"model": "linear", "depth": self.depth}
        return {"model": "none"}


class CascadeResult:
    """What :func:`cascade` returns: ``totals`` (a dict), ``rounds`` (a list of dicts, each with
    ``marks`` and ``flow`` by instrument symbol), the ``start`` and ``final`` marks and prices, the
    exogenous-only prices ``exogenous`` (the start prices times the shock path) and
    ``n_records`` (rounds recorded; ``rounds`` holds all of them)."""

    def __init__(self, totals: dict[str, Any], rounds: list[dict[str, Any]], start: dict[str, Any],
                 final: dict[str, Any], exogenous: dict[str, float]) -> None:
        self.totals = totals
        self.rounds = rounds
        self.start = start
        self.final = final
        self.exogenous = exogenous

    def amplification(self) -> dict[str, dict[str, float | None]]:
        """Per moved asset: the exogenous move (the shock path alone), the total move (impact
        included), the impact-induced extra move (total - exogenous) and the amplification
        total / exogenous (None when the exogenous move is 0)."""
        out: dict[str, dict[str, float | None]] = {}
        for sym, p0 in self.start["prices"].items():
            exo = self.exogenous.get(sym, p0) / p0 - 1.0
            tot = self.final["prices"][sym] / p0 - 1.0
            if exo == 0.0 and tot == 0.0:
                continue
            out[sym] = {"exogenous_move": exo, "total_move": tot, "impact_move": tot - exo,
                        "amplification": tot / exo if exo != 0.0 else None}
        return out


def _round_dict(r: ffi.RiskCascadeRound) -> dict[str, Any]:
    d: dict[str, Any] = {"step": r.step, "round": r.round, "capped": bool(r.capped)}
    for k in _ROUND_COUNTS:
        d[k] = int(getattr(r, k))
    for k in _ROUND_MONEY:
        d[k] = float(getattr(r, k))
    return d


def _market(engine: Engine) -> dict[str, Any]:
    return {"prices": {engine.asset_info(a)["symbol"]: engine.asset_info(a)["price"]
                       for a in range(engine.asset_count)},
            "marks": {engine.instrument_info(i)["symbol"]: engine.mark(i) for i in range(engine.instrument_count)}}


def cascade(engine: Engine, shocks: Sequence[Mapping[str, float]], impact: Mapping[str, Impact] | None = None,
            max_rounds: int = 100, on_copy: bool = False,
            progress: Callable[[dict[str, Any], int], None] | None = None) -> CascadeResult:
    """``risk_engine_cascade``: pushes the shock path ``shocks`` (one {asset symbol: relative
    move} per step) through the book, with ``impact`` {instrument symbol: :class:`Impact`}, at
    most ``max_rounds`` rounds per step. MUTATES ``engine``, unless ``on_copy``: then it runs on
    a copy made by a snapshot round trip (``Engine.from_snapshot(engine.snapshot())``), freed
    after, and ``engine`` is left as it was. ``progress(round, n_steps)`` is called after every
    round with the round as a dict (step, round, counts and money, as in the records); an
    exception it raises is reported after the cascade ends (the C call cannot be unwound)."""
    if on_copy:
        from .core import Engine as _Engine
        data = engine.snapshot()
        assert data is not None  # no path: the bytes
        clone = _Engine.from_snapshot(data)
        try:
            return cascade(clone, shocks, impact, max_rounds, progress=progress)
        finally:
            clone.close()
    L = ffi.lib()
    eng = engine._require()
    na, ni = engine.asset_count, engine.instrument_count
    steps = list(shocks)
    if not steps:
        raise errors.make(errors.InvalidError, "cascade: no shock step")
    table = (ctypes.c_double * max(len(steps) * na, 1))()
    for t, step in enumerate(steps):
        for sym, m in step.items():
            table[t * na + engine._asset_id(sym)] = float(m)
    imp = (ffi.RiskImpact * max(ni, 1))()
    for i in range(ni):
        imp[i] = ffi.RiskImpact.init()
    for sym, model in (impact or {}).items():
        imp[engine._instrument_id(sym)] = model.to_struct()
    o = ffi.RiskCascadeOptions.init()
    o.max_rounds = int(max_rounds)
    o.n_steps = len(steps)
    o.n_assets = na
    o.shocks = ctypes.cast(table, ctypes.POINTER(ctypes.c_double))
    o.impact = ctypes.cast(imp, ctypes.POINTER(ffi.RiskImpact))
    o.n_impact = ni
    raised: list[BaseException] = []
    if progress is not None:
        report = progress  # narrowed for the closure

        def _seen(_user: int | None, rec: int | None, n_steps: int) -> None:
            if raised or rec is None:
                return
            try:
                report(_round_dict(ctypes.cast(rec, ctypes.POINTER(ffi.RiskCascadeRound)).contents), n_steps)
            except BaseException as exc:  # noqa: BLE001 - carried across the C frame, raised below
                raised.append(exc)
        o.progress = ffi.CascadeProgressFn(_seen)  # kept alive by o until the call returns
    start = _market(engine)
    exo = dict(start["prices"])
    for step in steps:
        for sym, m in step.items():
            exo[sym] *= 1.0 + float(m)
    # the engine is mutated by the call, so the record arrays are sized at once: at most
    # max_rounds records per step, and at most 65,536 kept (the rest counted in n_records)
    cap = max(1, min(len(steps) * max(int(max_rounds), 1), 1 << 16))
    recs = (ffi.RiskCascadeRound * cap)()
    recs[0].version = ffi.CASCADE_ROUND_VERSION
    marks = (ctypes.c_double * max(cap * ni, 1))()
    flow = (ctypes.c_double * max(cap * ni, 1))()
    tot = ffi.RiskCascadeRound.init()
    n = ctypes.c_size_t()
    L.risk_engine_cascade(eng, ctypes.byref(o), ctypes.byref(tot), recs, marks, flow, cap, ctypes.byref(n))
    if raised:
        raise raised[0]
    syms = [engine.instrument_info(i)["symbol"] for i in range(ni)]
    rounds = []
    for r in range(min(n.value, cap)):
        d = _round_dict(recs[r])
        d["marks"] = {syms[i]: marks[r * ni + i] for i in range(ni)}
        d["flow"] = {syms[i]: flow[r * ni + i] for i in range(ni)}
        rounds.append(d)
    totals = _round_dict(tot)
    totals["steps"] = totals.pop("step")
    totals["rounds"] = totals.pop("round")
    totals["n_records"] = n.value
    return CascadeResult(totals, rounds, start, _market(engine), exo)


def insurance_funds_value(engine: Engine) -> float:
    """The engine's insurance funds in the valuation asset: sum of balance x price."""
    from . import liquidation
    v = 0.0
    for a in range(engine.asset_count):
        bal = liquidation.insurance_fund(engine, a)["balance"]
        if bal:
            v += bal * engine.asset_info(a)["price"]
    return v


def cover2(engine: Engine, scenarios: ScenarioSet, threads: int = 1) -> list[dict[str, Any]]:
    """``risk_engine_cover2``: per scenario the three largest deficits (ids and amounts),
    ``cover1``, ``cover2``, ``emir`` (max(largest, second + third)), the total deficit and the
    number of accounts with one."""
    from .stress import _struct
    st, keep = _struct(engine, scenarios)
    n = st.n_scenarios
    out = (ffi.RiskCover2 * n)()
    out[0].version = ffi.COVER2_VERSION
    ffi.lib().risk_engine_cover2(engine._require(), ctypes.byref(st), out, int(threads))
    del keep
    res = []
    for s in range(n):
        c = out[s]
        res.append({"top": [{"id": int(c.top_ids[k]), "deficit": c.top_deficit[k]} for k in range(c.n_top)],
                    "cover1": c.cover1, "cover2": c.cover2, "emir": c.emir, "total_deficit": c.total_deficit,
                    "n_deficit": int(c.n_deficit)})
    return res


def fund_survival(engine: Engine, assets: Sequence[str], cov: Sequence[float], n: int, fund: float,
                  level: float = 0.99, seed: int = 1, student_t: bool = False, dof: float = 4.0,
                  horizon: float = 1.0, threads: int = 1) -> dict[str, Any]:
    """``risk_engine_fund_survival``: the share of ``n`` Monte Carlo scenarios (log returns of
    ``assets`` with per-period covariance ``cov``, k x k row-major, over ``horizon`` periods) whose
    book deficit ``fund`` covers, and the fund the ``level`` quantile needs."""
    k = len(assets)
    ids = (ctypes.c_uint32 * k)(*[engine._asset_id(a) for a in assets])
    c = (ctypes.c_double * (k * k))(*[float(x) for x in cov])
    mc = ffi.RiskVarMcOptions.init()
    mc.seed = int(seed)
    mc.distribution = ffi.VAR_MC_STUDENT_T if student_t else ffi.VAR_MC_NORMAL
    mc.dof = float(dof)
    mc.horizon_periods = float(horizon)
    out = ffi.RiskFundSurvival.init()
    ffi.lib().risk_engine_fund_survival(engine._require(), ids, c, k, int(n), ctypes.byref(mc), float(fund),
                                        float(level), int(threads), ctypes.byref(out))
    return {f: (int(getattr(out, f)) if f in ("n", "n_survived") else float(getattr(out, f)))
            for f, _ in ffi.RiskFundSurvival._fields_ if f not in ("version", "reserved")}


# ---------------------------------------------------------------- command line


def parse_shock(specs: Sequence[str]) -> dict[str, float]:
    """``["BTC=-0.2", "ETH=-0.25"]`` -> {"BTC": -0.2, "ETH": -0.25} (ValueError on bad input)."""
    out: dict[str, float] = {}
    for spec in specs:
        sym, sep, val = str(spec).partition("=")
        if not sep or not sym:
            raise ValueError("--shock %r is not ASSET=MOVE" % spec)
        m = float(val)
        if not math.isfinite(m) or m <= -1.0:
            raise ValueError("--shock %r: the move must be finite and above -1" % spec)
        out[sym] = m
    return out


def parse_impact(specs: Sequence[str]) -> dict[str, Impact]:
    """``INSTRUMENT=sqrt:Y:SIGMA:VOLUME`` or ``INSTRUMENT=linear:DEPTH`` or ``INSTRUMENT=none``."""
    out: dict[str, Impact] = {}
    for spec in specs:
        sym, sep, val = str(spec).partition("=")
        parts = val.split(":")
        if not sep or not sym:
            raise ValueError("--impact %r is not INSTRUMENT=MODEL:..." % spec)
        if parts[0] == "sqrt" and len(parts) == 4:
            out[sym] = Impact("sqrt", y=float(parts[1]), sigma=float(parts[2]), volume=float(parts[3]))
        elif parts[0] == "linear" and len(parts) == 2:
            out[sym] = Impact("linear", depth=float(parts[1]))
        elif parts[0] == "none" and len(parts) == 1:
            out[sym] = Impact("none")
        else:
            raise ValueError("--impact %r: sqrt:Y:SIGMA:VOLUME, linear:DEPTH or none" % spec)
    return out


def add_cli_parser(sub: argparse._SubParsersAction[Any]) -> None:
    """Registers ``cascade`` on the CLI's subparsers."""
    p = sub.add_parser("cascade", help="push a price shock through the book's liquidations and a market-impact "
                                       "model round after round (librisk-cascade/1 JSON), with Cover 2 figures")
    p.add_argument("book", metavar="BOOK.json")
    p.add_argument("--shock", action="append", metavar="ASSET=MOVE", required=True,
                   help="relative move of an asset, e.g. BTC=-0.2 (repeatable)")
    p.add_argument("--impact", action="append", metavar="INSTRUMENT=MODEL",
                   help="sqrt:Y:SIGMA:VOLUME (daily volume in contracts) | linear:DEPTH (contracts within 1 %%) "
                        "| none (repeatable; default none)")
    p.add_argument("--rounds", type=int, default=100, help="most rounds (default 100)")
    p.add_argument("--historical", action="append", metavar="EPISODE",
                   help="also give Cover 2 under the worst 1/3/10-day moves of an episode (repeatable)")
    p.add_argument("--data", metavar="DIR", help="market data directory (default: ../shared/data/market)")
    p.add_argument("--threads", type=int, default=1, help="worker threads for Cover 2 (default 1)")
    p.add_argument("--report", metavar="DIR", help="write DIR/index.html with the price path and volume charts")
    p.add_argument("--compact", action="store_true", help="print the JSON on one line")
    p.add_argument("--quiet", action="store_true", help="no progress on stderr")


def cascade_document(loaded: Book, args: argparse.Namespace) -> dict[str, Any]:
    """The ``librisk-cascade/1`` document of a loaded book (ValueError, ScenarioError, RiskError).
    Cover 2 is computed first, on the book before the cascade."""
    from .grid import Grid
    from .stress import Scenario, ScenarioSet, historical
    engine = loaded.engine
    grid = Grid(loaded.spec)
    shock = parse_shock(args.shock)
    impact = parse_impact(args.impact or [])
    if not 1 <= args.rounds <= ffi.CASCADE_ROUNDS_MAX:
        raise ValueError("--rounds must be between 1 and %d" % ffi.CASCADE_ROUNDS_MAX)
    scen = [Scenario("shock " + " ".join("%s %+g%%" % (k, 100 * v) for k, v in shock.items()), shock)]
    sset = ScenarioSet(scen)
    for ep in args.historical or ():
        sset = ScenarioSet(list(sset) + list(historical(ep, args.data, engine)))
    covers = cover2(engine, sset, threads=args.threads)
    fund = insurance_funds_value(engine)
    cov_doc = []
    for sc, c in zip(sset, covers):
        cov_doc.append({"scenario": sc.name, "cover1": grid.value(c["cover1"]), "cover2": grid.value(c["cover2"]),
                        "emir": grid.value(c["emir"]), "total_deficit": grid.value(c["total_deficit"]),
                        "n_deficit": c["n_deficit"],
                        "top": [{"id": t["id"], "deficit": grid.value(t["deficit"])} for t in c["top"]]})
    needed = max(c["cover2"] for c in covers)
    from .progress import Progress
    shown = Progress(sys.stderr, "cascade", quiet=getattr(args, "quiet", False))

    def on_round(r: dict[str, Any], n_steps: int) -> None:
        # one line per round that liquidated (a bar on a terminal): the rounds are not known ahead
        if r["n_liquidated"]:
            shown(r["round"], args.rounds, "step %d round %d: %d liquidated" % (r["step"] + 1, r["round"],
                                                                                 r["n_liquidated"]))

    try:
        res = cascade(engine, [shock], impact, max_rounds=args.rounds, progress=on_round)
    except BaseException:
        shown.abandon()
        raise
    shown(args.rounds, args.rounds, "done")

    def marks(m: Mapping[str, float]) -> dict[str, float | None]:
        return {s: grid.price(s, x) for s, x in m.items()}

    rounds = []
    for r in res.rounds:
        d = {k: r[k] for k in ("step", "round", "capped") + _ROUND_COUNTS}
        d.update({k: grid.value(r[k]) for k in _ROUND_MONEY})
        d["marks"] = marks(r["marks"])
        d["flow"] = {s: grid.qty(s, x) for s, x in r["flow"].items()}
        rounds.append(d)
    totals = {k: res.totals[k] for k in ("steps", "rounds", "n_records", "capped") + _ROUND_COUNTS}
    totals.update({k: grid.value(res.totals[k]) for k in _ROUND_MONEY})
    amp = {}
    for sym, a in res.amplification().items():
        amp[sym] = {k: (None if v is None else round(v, 6)) for k, v in a.items()}
    return {"format": CASCADE_FORMAT, "valuation_asset": grid.valuation, "shock": shock,
            "impact": {s: m.as_dict() for s, m in impact.items()}, "max_rounds": args.rounds,
            "rounds": rounds, "totals": totals,
            "start_marks": marks(res.start["marks"]), "final_marks": marks(res.final["marks"]),
            "amplification": amp,
            "cover2": {"insurance_fund": grid.value(fund), "fund_needed": grid.value(needed),
                       "covered": fund >= needed, "scenarios": cov_doc}}


def _have_matplotlib() -> bool:
    try:
        import matplotlib  # noqa: F401
    except ImportError:
        return False
    return True


def write_report(doc: Mapping[str, Any], directory: str) -> list[str]:
    """Writes ``directory/index.html`` (and, with matplotlib, ``price_path.png`` and
    ``volume.png``) for a ``librisk-cascade/1`` document; returns the files written."""
    os.makedirs(directory, exist_ok=True)
    files = []
    rounds = doc["rounds"]
    charts = _have_matplotlib() and bool(rounds)
    if charts:
        import matplotlib
        matplotlib.use("Agg")
        import matplotlib.pyplot as plt
        x = list(range(len(rounds) + 1))
        fig, ax = plt.subplots(figsize=(8, 4))
        for sym, m0 in doc["start_marks"].items():
            series = [r["marks"][sym] for r in rounds] + [doc["final_marks"][sym]]
            if m0 and any(p != m0 for p in series):
                ax.plot(x, [p / m0 for p in series], marker="o", label=sym)
        ax.set_xlabel("round (0 = right after the shock; last point = final marks)")
        ax.set_ylabel("mark / mark before the shock")
        ax.set_title("Cascade price path")
        ax.grid(True, alpha=0.3)
        ax.legend()
        fig.tight_layout()
        fig.savefig(os.path.join(directory, "price_path.png"), dpi=100)
        plt.close(fig)
        fig, ax = plt.subplots(figsize=(8, 4))
        ax.bar(range(len(rounds)), [r["market_volume"] or 0.0 for r in rounds], label="market")
        ax.bar(range(len(rounds)), [r["adl_volume"] or 0.0 for r in rounds],
               bottom=[r["market_volume"] or 0.0 for r in rounds], label="ADL")
        ax.set_xlabel("round")
        ax.set_ylabel("liquidated notional (%s)" % doc["valuation_asset"])
        ax.set_title("Liquidated volume per round")
        ax.legend()
        fig.tight_layout()
        fig.savefig(os.path.join(directory, "volume.png"), dpi=100)
        plt.close(fig)
        files += [os.path.join(directory, "price_path.png"), os.path.join(directory, "volume.png")]
    e = html.escape
    t = doc["totals"]
    rows = "".join("<tr><td>%d</td><td>%d</td><td>%d</td><td>%d</td><td>%s</td><td>%s</td><td>%s</td><td>%s</td></tr>"
                   % (r["step"], r["round"], r["n_liquidated"], r["n_close_outs"], r["market_volume"],
                      r["adl_volume"], r["fund_drawn"], r["bad_debt"]) for r in rounds)
    amp = "".join("<tr><td>%s</td><td>%s</td><td>%s</td><td>%s</td></tr>"
                  % (e(s), a["exogenous_move"], a["total_move"], a["amplification"])
                  for s, a in doc["amplification"].items())
    c2 = doc["cover2"]
    covers = "".join("<tr><td>%s</td><td>%s</td><td>%s</td><td>%s</td></tr>"
                     % (e(c["scenario"]), c["cover1"], c["cover2"], c["emir"]) for c in c2["scenarios"])
    img = ('<p><img src="price_path.png" alt="price path"></p><p><img src="volume.png" alt="volume"></p>'
           if charts else "<p>Charts left out: matplotlib not installed (Debian python3-matplotlib).</p>")
    page = """<!DOCTYPE html>
<html><head><meta charset="utf-8"><title>librisk cascade</title></head><body>
<h1>Liquidation cascade</h1>
<p>Shock: %s. Rounds that liquidated: %d; accounts liquidated: %d; close-outs: %d; market volume %s %s;
bad debt left %s %s.</p>
%s
<h2>Amplification</h2><table border="1"><tr><th>asset</th><th>exogenous move</th><th>total move</th>
<th>amplification</th></tr>%s</table>
<h2>Rounds</h2><table border="1"><tr><th>step</th><th>round</th><th>liquidated</th><th>close-outs</th>
<th>market volume</th><th>ADL volume</th><th>fund drawn</th><th>bad debt</th></tr>%s</table>
<h2>Insurance fund: Cover 2</h2><p>Fund %s, needed (largest Cover 2) %s: %s.</p>
<table border="1"><tr><th>scenario</th><th>Cover 1</th><th>Cover 2</th><th>EMIR</th></tr>%s</table>
</body></html>
""" % (e(", ".join("%s %+g%%" % (k, 100 * v) for k, v in doc["shock"].items())), t["rounds"], t["n_liquidated"],
       t["n_close_outs"], t["market_volume"], e(doc["valuation_asset"]), t["bad_debt"], e(doc["valuation_asset"]),
       img, amp, rows, c2["insurance_fund"], c2["fund_needed"], "covered" if c2["covered"] else "NOT covered",
       covers)
    path = os.path.join(directory, "index.html")
    with open(path, "w", encoding="utf-8") as f:
        f.write(page)
    files.insert(0, path)
    return files
