# SPDX-License-Identifier: Apache-2.0
"""HTML reports of the ``stress`` and ``var`` commands (``--report DIR``): ``DIR/index.html`` and
PNG charts drawn with matplotlib (Debian's python3-matplotlib; only the report needs it).

Every number in a report's tables is the JSON document's number, printed as ``json.dumps``
prints it, so a report and the document never disagree. The charts are drawn from the same
numbers. :class:`Html` is the small writer both reports share.
"""

from __future__ import annotations

import html
import json
import math
import os
from typing import Any, Iterable, Mapping, Sequence

__all__ = ["ReportError", "Html", "check_dir", "have_matplotlib", "cell", "stress_report", "var_report",
           "HEATMAP_ROWS", "distance", "heatmap_accounts"]

#: Accounts shown in the liquidation heat map: those closest to liquidation.
HEATMAP_ROWS = 40


class ReportError(ValueError):
    """A report that cannot be written (no matplotlib, a directory that cannot be written)."""


def have_matplotlib() -> bool:
    try:
        import matplotlib  # noqa: F401
    except ImportError:
        return False
    return True


def check_dir(path: str) -> str | None:
    """Why ``--report DIR`` cannot be written (a bad-input line), or None: checked before any work."""
    if not have_matplotlib():
        return ("--report: matplotlib is not installed (Debian: apt-get install python3-matplotlib; "
                "run with /usr/bin/python3)")
    full = os.path.abspath(path)
    if os.path.exists(full):
        if not os.path.isdir(full) or not os.access(full, os.W_OK):
            return "--report: %s: not a writable directory" % path
        return None
    parent = os.path.dirname(full)
    if not os.path.isdir(parent) or not os.access(parent, os.W_OK):
        return "--report: %s: its parent directory is missing or not writable" % path
    return None


def cell(x: Any) -> str:
    """A table cell's text: numbers as ``json.dumps`` writes them (null for None)."""
    if isinstance(x, str):
        return x
    return json.dumps(x, allow_nan=False)


class Html:
    """An HTML page built in order: headings, paragraphs, tables, images; :meth:`write` saves it."""

    def __init__(self, title: str) -> None:
        self.title = title
        self.parts: list[str] = []

    def h2(self, text: str) -> None:
        self.parts.append("<h2>%s</h2>" % html.escape(text))

    def p(self, text: str) -> None:
        self.parts.append("<p>%s</p>" % html.escape(text))

    def table(self, table_id: str, header: Sequence[str], rows: Iterable[Sequence[Any]]) -> None:
        """A table; each cell holds :func:`cell` of its value."""
        out = ['<table id="%s">' % html.escape(table_id), "<tr>%s</tr>" % "".join(
            "<th>%s</th>" % html.escape(h) for h in header)]
        for row in rows:
            out.append("<tr>%s</tr>" % "".join("<td>%s</td>" % html.escape(cell(v)) for v in row))
        out.append("</table>")
        self.parts.append("\n".join(out))

    def img(self, src: str, alt: str) -> None:
        self.parts.append('<p><img src="%s" alt="%s"></p>' % (html.escape(src), html.escape(alt)))

    def text(self) -> str:
        return ("<!DOCTYPE html>\n<html lang=\"en\">\n<head>\n<meta charset=\"utf-8\">\n<title>%s</title>\n"
                "<style>body{font-family:sans-serif;max-width:1100px;margin:auto}"
                "table{border-collapse:collapse}td,th{border:1px solid #ccc;padding:2px 6px;text-align:right}"
                "img{max-width:100%%}</style>\n</head>\n<body>\n<h1>%s</h1>\n%s\n</body>\n</html>\n"
                % (html.escape(self.title), html.escape(self.title), "\n".join(self.parts)))

    def write(self, directory: str) -> str:
        path = os.path.join(directory, "index.html")
        try:
            with open(path, "w", encoding="utf-8") as f:
                f.write(self.text())
        except OSError as exc:
            raise ReportError("--report: %s: %s" % (path, exc.strerror or exc)) from None
        return path


def _pyplot(directory: str) -> Any:
    try:
        import matplotlib
        matplotlib.use("Agg")
        import matplotlib.pyplot as plt
    except ImportError:
        raise ReportError(check_dir(directory) or "--report: matplotlib is not installed") from None
    try:
        os.makedirs(directory, exist_ok=True)
    except OSError as exc:
        raise ReportError("--report: %s: %s" % (directory, exc.strerror or exc)) from None
    return plt


def _save(plt: Any, fig: Any, directory: str, name: str) -> str:
    try:
        fig.savefig(os.path.join(directory, name), dpi=100)
    except OSError as exc:
        raise ReportError("--report: %s: %s" % (name, exc.strerror or exc)) from None
    finally:
        plt.close(fig)
    return name


def _distribution(plt: Any, directory: str, name: str, pnl: Sequence[float], var: float, es: float, unit: str,
                  title: str) -> str:
    """Histogram of the P&L (losses on the left) with -VaR and -ES marked."""
    fig, ax = plt.subplots(figsize=(8, 4))
    bins = max(5, min(60, int(math.sqrt(len(pnl))) + 1))
    ax.hist(pnl, bins=bins, color="#1f77b4", alpha=0.8)
    ax.axvline(-var, color="#d62728", label="VaR: loss %s" % cell(var))
    ax.axvline(-es, color="#000000", ls="--", label="ES: loss %s" % cell(es))
    ax.set_xlabel("P&L (%s)" % unit)
    ax.set_ylabel("scenarios")
    ax.set_title(title, fontsize=10)
    ax.legend(fontsize=8)
    fig.tight_layout()
    return _save(plt, fig, directory, name)


# ---------------------------------------------------------------- stress


#: The largest distance a liquidatable account is drawn at (an isolated position past its MM
#: makes an account liquidatable whatever its cross health factor).
LIQUIDATABLE_MAX = 0.99


def distance(h: float | None, state: str) -> float:
    """An account's distance to liquidation after a scenario, the heat map's colour: its health
    factor (maint collateral / maint requirement; liquidation below 1) clipped to [0, 2];
    infinite (None in the document) is 2; at most 0.99 when liquidatable, 0 when bankrupt."""
    d = 2.0 if h is None else max(0.0, min(2.0, h))
    if state == "bankrupt":
        return 0.0
    if state == "liquidatable":
        return min(d, LIQUIDATABLE_MAX)
    return d


def heatmap_accounts(doc: Mapping[str, Any], rows: int = HEATMAP_ROWS) -> list[Mapping[str, Any]]:
    """The accounts of the heat map: the ``rows`` closest to liquidation (smallest
    :func:`distance` under any scenario, then the smallest health factor), ties by id."""
    accounts = doc.get("accounts") or []

    def key(a: Mapping[str, Any]) -> tuple[float, float, int]:
        hs = [h for h in a["health_factor"] if h is not None]
        return (min(distance(h, st) for h, st in zip(a["health_factor"], a["state"])), min(hs) if hs else math.inf,
                a["id"])
    return sorted(accounts, key=key)[:rows]


def stress_report(doc: Mapping[str, Any], directory: str) -> str:
    """Writes the report of a ``librisk-stress/1`` document (with ``book_var``) into
    ``directory``; returns the path of index.html. ReportError when it cannot."""
    plt = _pyplot(directory)
    v = doc["valuation_asset"]
    scen = doc["scenarios"]
    names = [s["name"] for s in scen]
    page = Html("librisk stress report")
    page.p("%d scenarios; money in %s. Every number below is the JSON document's (librisk-stress/1)."
           % (len(scen), v))
    bv = doc.get("book_var")
    if bv is not None:
        page.h2("Loss distribution")
        page.table("book-var", ["method", "level", "es_level", "scenarios", "var", "es"],
                   [[bv["method"], bv["level"], bv["es_level"], bv["scenarios"], bv["var"], bv["es"]]])
        page.img(_distribution(plt, directory, "loss_distribution.png", [s["pnl"] for s in scen], bv["var"],
                               bv["es"], v, "Book P&L over the scenarios, VaR %s and ES %s (historical)"
                               % (cell(bv["level"]), cell(bv["es_level"]))), "loss distribution")
    page.h2("Loss by scenario")
    fig, ax = plt.subplots(figsize=(8, max(3.0, 0.3 * len(scen) + 1)))
    y = list(range(len(scen)))
    ax.barh(y, [s["loss"] for s in scen], color="#d62728", label="loss")
    ax.barh(y, [s["deficit"] for s in scen], color="#000000", label="deficit (insurance fund)")
    ax.set_yticks(y)
    ax.set_yticklabels(names, fontsize=7)
    ax.invert_yaxis()
    ax.set_xlabel(v)
    ax.legend(fontsize=8)
    fig.tight_layout()
    page.img(_save(plt, fig, directory, "loss_by_scenario.png"), "loss by scenario")
    page.table("scenarios", ["scenario", "pnl", "loss", "deficit", "n_liquidatable", "n_bankrupt",
                             "new_liquidatable", "new_bankrupt"],
               [[s["name"], s["pnl"], s["loss"], s["deficit"], s["n_liquidatable"], s["n_bankrupt"],
                 len(s["new_liquidatable"]), len(s["new_bankrupt"])] for s in scen])
    accounts = heatmap_accounts(doc)
    if accounts:
        page.h2("Liquidation heat map")
        page.p("Distance to liquidation after each scenario of the %d accounts closest to it: the health "
               "factor (maint collateral / maint requirement; liquidation below 1) clipped to [0, 2], drawn at "
               "most 0.99 when the account is liquidatable (an isolated position past its MM) and 0 when "
               "bankrupt. The table gives the health factors." % len(accounts))
        fig, ax = plt.subplots(figsize=(max(6.0, 0.4 * len(scen) + 3), max(3.0, 0.22 * len(accounts) + 1.5)))
        grid = [[distance(h, st) for h, st in zip(a["health_factor"], a["state"])] for a in accounts]
        im = ax.imshow(grid, aspect="auto", cmap="RdYlGn", vmin=0.0, vmax=2.0, interpolation="nearest")
        ax.set_yticks(range(len(accounts)))
        ax.set_yticklabels([str(a["id"]) for a in accounts], fontsize=7)
        ax.set_xticks(range(len(scen)))
        ax.set_xticklabels(names, fontsize=7, rotation=60, ha="right")
        ax.set_ylabel("account")
        for i, a in enumerate(accounts):
            for j, st in enumerate(a["state"]):
                if st in ("liquidatable", "bankrupt"):
                    ax.text(j, i, "L" if st == "liquidatable" else "B", ha="center", va="center", fontsize=7)
        fig.colorbar(im, ax=ax, label="health factor (L liquidatable, B bankrupt)")
        fig.tight_layout()
        page.img(_save(plt, fig, directory, "liquidation_heatmap.png"), "liquidation heat map")
        page.table("heatmap", ["account"] + names,
                   [[str(a["id"])] + list(a["health_factor"]) for a in accounts])
    exposures = doc.get("exposures") or []
    if exposures:
        page.h2("Exposure by underlying")
        page.table("exposures", ["asset", "n_accounts", "long", "short", "net", "top_share"],
                   [[x["asset"], x["n_accounts"], x["long"], x["short"], x["net"], x["top_share"]] for x in exposures])
    return page.write(directory)


# ---------------------------------------------------------------- var


def var_report(doc: Mapping[str, Any], pnl: Sequence[float] | None, directory: str) -> str:
    """Writes the report of a ``librisk-var/1`` document into ``directory``: the P&L of the
    scenarios (``pnl``; None for the delta-normal method, drawn as its normal density) with
    VaR and ES marked, and the back-test table when there is one."""
    plt = _pyplot(directory)
    page = Html("librisk VaR report: %s" % os.path.basename(str(doc.get("series", ""))))
    page.p("Method %s, horizon %s, window %s; %s. Every number below is the JSON document's (librisk-var/1)."
           % (doc["method"], cell(doc["horizon"]), cell(doc["window"]), doc["unit"]))
    page.h2("Loss distribution")
    page.table("var", ["method", "level", "es_level", "scenarios", "var", "es", "sigma_now"],
               [[doc["method"], doc["level"], doc["es_level"], doc["scenarios"], doc["var"], doc["es"],
                 doc["sigma_now"]]])
    title = "P&L of a long 1 over %s period(s), VaR %s and ES %s" % (cell(doc["horizon"]), cell(doc["level"]),
                                                                   cell(doc["es_level"]))
    if pnl is not None:
        img = _distribution(plt, directory, "loss_distribution.png", pnl, doc["var"], doc["es"], "fraction", title)
    else:  # delta-normal: the normal density of sigma sqrt(h)
        s = (doc["sigma_now"] or 0.0) * math.sqrt(doc["horizon"])
        fig, ax = plt.subplots(figsize=(8, 4))
        xs = [s * (-4.0 + 8.0 * i / 400) for i in range(401)]
        ax.plot(xs, [math.exp(-0.5 * (x / s) ** 2) / (s * math.sqrt(2 * math.pi)) if s > 0 else 0.0 for x in xs])
        ax.axvline(-doc["var"], color="#d62728", label="VaR: loss %s" % cell(doc["var"]))
        ax.axvline(-doc["es"], color="#000000", ls="--", label="ES: loss %s" % cell(doc["es"]))
        ax.set_xlabel("P&L (fraction)")
        ax.set_title(title, fontsize=10)
        ax.legend(fontsize=8)
        fig.tight_layout()
        img = _save(plt, fig, directory, "loss_distribution.png")
    page.img(img, "loss distribution")
    bt = doc.get("backtest")
    if bt is not None:
        page.h2("Back-test")
        keys = ["n", "breaches", "expected", "breach_rate", "kupiec_lr", "kupiec_p", "christoffersen_ind_lr",
                "christoffersen_ind_p", "christoffersen_cc_lr", "christoffersen_cc_p"]
        page.table("backtest", keys, [[bt[k] for k in keys]])
    return page.write(directory)
