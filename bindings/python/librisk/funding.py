# SPDX-License-Identifier: Apache-2.0
"""Funding back-test: what holding a perpetual position cost (or earned) in funding over a real
funding history, settled by the C library (``risk_engine_settle_funding``) at every funding time.

``python3 -m librisk funding --venue binance FUNDING.csv --prices PRICES.csv --qty 1 --chart f.svg``

Venues (docs/rates.md section 8.1):

- ``binance``: USDT-M BTCUSDT, linear, contract 1 BTC, settled in USDT; ``timestamp,funding_rate``
  every 8 h (``../shared/data/market/funding_binance_btcusdt.csv``); prices from ``--prices``.
- ``bitmex``: XBTUSD, inverse, contract 1 USD, settled in XBT; ``timestamp,...,fundingRate``
  (``funding_bitmex_xbtusd.csv``); prices from ``--prices``.
- ``deribit``: BTC-PERPETUAL, inverse, contract 10 USD, settled in BTC; hourly ``interest_1h``
  with the index price in the same file (``deribit_btc_perpetual_1h.csv``; epoch-ms ``timestamp``).

The position is held unchanged; at each funding time the position is valued at the price then (the
last ``close`` at or before it in ``--prices``, or Deribit's index) and the rate is settled at
that price.
Positive amounts are paid by the position, negative received. The chart is an SVG line of the
cumulative funding paid, in the settle asset.
"""

from __future__ import annotations

import bisect
import csv
import datetime as _dt
import json
import math

from . import errors
from .core import Account, Engine
from . import rates
from . import vol as _vol
import argparse
from typing import Any, TextIO

__all__ = ["FundingError", "VENUES", "read_funding", "read_prices", "backtest", "chart_svg", "add_cli_parser",
           "cli_main"]

RESULT_FORMAT = "librisk-funding/1"

# venue -> (instrument, inverse, contract size, lot size, settle symbol, rate column)
VENUES = {
    "binance": ("BTCUSDT", False, 1.0, 0.001, "USDT", "funding_rate"),
    "bitmex": ("XBTUSD", True, 1.0, 1.0, "XBT", "fundingRate"),
    "deribit": ("BTC-PERPETUAL", True, 10.0, 1.0, "BTC", "interest_1h"),
}


class FundingError(ValueError):
    """Bad input to the funding back-test (the CLI prints it and exits 2)."""


# the times an ISO 8601 UTC time can show (years 1 to 9999), so that every time read prints back
_TIME_MIN, _TIME_MAX = -62135596800.0, 253402300799.0


def _time(text: str, where: str) -> float:
    """Unix seconds of an ISO 8601 time (UTC unless it says otherwise) or of epoch seconds or
    milliseconds (above 1e11: milliseconds)."""
    s = (text or "").strip()
    if not s:
        raise FundingError("%s: empty time" % where)
    bad = FundingError("%s: %r is not a time (ISO 8601, or epoch seconds or milliseconds of years 1 to 9999)"
                       % (where, s[:40] + ("..." if len(s) > 40 else "")))
    if s.isdigit():
        if len(s) > 16:  # (beyond year 9999 in milliseconds; int() of 4,300 digits and more raises)
            raise bad from None
        x = int(s)
        t = x / 1000.0 if x > 10 ** 11 else float(x)
    else:
        try:
            d = _dt.datetime.fromisoformat(s.replace("T", " ").replace("Z", "+00:00"))
            if d.tzinfo is None:
                d = d.replace(tzinfo=_dt.timezone.utc)
            t = d.timestamp()
        except (ValueError, OverflowError):
            raise bad from None
    if not _TIME_MIN <= t <= _TIME_MAX:
        raise bad from None
    return t


def _float(text: str, where: str) -> float:
    try:
        x = float(text)
    except (TypeError, ValueError):
        raise FundingError("%s: %r is not a number" % (where, text)) from None
    if not math.isfinite(x):
        raise FundingError("%s: %r is not finite" % (where, text))
    return x


def _price(text: str, where: str, column: str) -> float:
    """A price of the CSV, within the library's price domain (docs/errors.md section 4)."""
    x = _float(text, where)
    if not _vol.PRICE_MIN <= x <= _vol.PRICE_MAX:
        raise FundingError("%s: column %s: %s is outside the price domain [1e-12, 1e12]" % (where, column, text))
    return x


def _rows(path: str) -> list[dict[str, str]]:
    try:
        with open(path, newline="", encoding="utf-8-sig") as f:
            rows = list(csv.DictReader(f))
    except OSError as exc:
        raise FundingError("%s: %s" % (path, exc.strerror or exc)) from None
    except UnicodeDecodeError:
        raise FundingError("%s: not UTF-8 text" % path) from None
    except csv.Error as exc:
        raise FundingError("%s: not a CSV file (%s)" % (path, exc)) from None
    if not rows:
        raise FundingError("%s: no rows" % path)
    return rows


def _time_key(row: dict[str, str], path: str) -> str:
    for key in ("timestamp", "time", "date", "time_dt"):
        if key in row:
            return key
    raise FundingError("%s: no timestamp column" % path)


def read_funding(path: str, venue: str) -> list[tuple[float, float, float | None]]:
    """[(unix_s, rate, price or None)] in time order, from a venue's funding CSV."""
    rate_col = VENUES[venue][5]
    rows = _rows(path)
    key = _time_key(rows[0], path)
    if rate_col not in rows[0]:
        raise FundingError("%s: no %s column (venue %s)" % (path, rate_col, venue))
    out = []
    for i, r in enumerate(rows):
        where = "%s:%d" % (path, i + 2)
        price = _price(r["index_price"], where, "index_price") if r.get("index_price") else None
        out.append((_time(r[key], where), _float(r[rate_col], where), price))
    out.sort(key=lambda x: x[0])
    return out


def read_prices(path: str) -> tuple[list[float], list[float]]:
    """(times, closes) in time order from an OHLC CSV with a close column."""
    rows = _rows(path)
    key = _time_key(rows[0], path)
    if "close" not in rows[0]:
        raise FundingError("%s: no close column" % path)
    pts = sorted((_time(r[key], "%s:%d" % (path, i + 2)), _price(r["close"], "%s:%d" % (path, i + 2), "close"))
                 for i, r in enumerate(rows))
    return [t for t, _ in pts], [c for _, c in pts]


def backtest(funding: list[tuple[float, float, float | None]], venue: str, qty: float,
             prices: tuple[list[float], list[float]] | None = None, start: Any = None,
             end: Any = None) -> tuple[dict[str, Any], list[tuple[float, float]]]:
    """Settles every funding event of ``funding`` (from :func:`read_funding`) within [start, end]
    to one position of ``qty`` contracts (long > 0); returns the result document (a dict) and
    the series [(unix_s, cumulative paid)] for the chart."""
    inst, inverse, cs, lot, settle, _ = VENUES[venue]
    if not (math.isfinite(qty) and qty != 0.0):
        raise FundingError("--qty: must be a non-zero number of contracts")
    events = [e for e in funding if (start is None or e[0] >= start) and (end is None or e[0] <= end)]
    if not events:
        raise FundingError("no funding event in the period")
    quote = "USD" if inverse else "USDT"
    series, n, paid_usd, paid_settle = [], 0, 0.0, 0.0
    with Engine() as eng:
        eng.add_asset(quote, 1, decimals=6)
        base = settle if inverse else "BTC"  # (asset prices play no part in funding)
        eng.add_asset(base, 1.0, decimals=8)
        eng.add_instrument(inst, base, settle if inverse else quote, [(1e15, 0.005, 100)], inverse=inverse,
                           contract_size=cs, lot_size=lot, tick_size=0.5 if inverse else 0.1, mark=1.0)
        with Account(eng, 1) as acc:
            q = round(qty / lot) * lot
            if q == 0.0:
                raise FundingError("--qty: less than one lot (%g)" % lot)
            acc.open_position(inst, q, 1.0)
            before = 0.0
            for t, rate, own_price in events:
                p = own_price
                if p is None:
                    if prices is None:
                        raise FundingError("--prices: needed for venue %s" % venue)
                    k = bisect.bisect_right(prices[0], t) - 1
                    if k < 0:
                        continue  # before the first price: not settled
                    p = prices[1][k]
                if not p > 0.0:
                    continue
                if abs(rate) > 1.0:
                    raise FundingError("funding rate %r at %s is beyond 100 %%" % (rate, t))
                rates.settle_funding(eng, inst, rate, price=p)
                bal = acc.basket.balance(settle)
                pay = before - bal
                before = bal
                paid_settle += pay
                paid_usd += pay * (p if inverse else 1.0)
                n += 1
                series.append((t, 0.0 - bal))  # (not -bal: a balance of 0 would print as -0.0)
    if not series:
        raise FundingError("no funding event with a price in the period")
    cum = [c for _, c in series]
    years = max(series[-1][0] - series[0][0], 1.0) / (365.0 * 86400.0)
    doc = {"format": RESULT_FORMAT, "venue": venue, "instrument": inst, "inverse": inverse,
           "contract_size": cs, "qty": q, "settle": settle,
           "from": _iso(series[0][0]), "to": _iso(series[-1][0]), "settlements": n,
           "funding_paid": round(paid_settle, 8 if inverse else 6),
           "funding_paid_usd": round(paid_usd, 2),
           "max_cumulative": round(max(cum), 8), "min_cumulative": round(min(cum), 8),
           # a statistic, not a ledger amount: 10 significant digits, not the float's 17
           "mean_rate": float("%.10g" % (math.fsum(r for _, r, _ in events) / len(events))),
           "years": round(years, 4)}
    return doc, series


def _iso(t: float) -> str:
    return _dt.datetime.fromtimestamp(t, _dt.timezone.utc).strftime("%Y-%m-%dT%H:%M:%SZ")


def chart_svg(series: list[tuple[float, float]], title: str, unit: str, width: int = 900, height: int = 360) -> str:
    """An SVG line chart of [(unix_s, value)] (stdlib only)."""
    xs = [t for t, _ in series]
    ys = [v for _, v in series]
    x0, x1 = xs[0], max(xs[-1], xs[0] + 1)
    y0, y1 = min(min(ys), 0.0), max(max(ys), 0.0)
    if y1 == y0:
        y1 = y0 + 1.0
    L, R, T, B = 70, 20, 30, 40

    def px(t: float) -> float:
        return L + (t - x0) / (x1 - x0) * (width - L - R)

    def py(v: float) -> float:
        return T + (y1 - v) / (y1 - y0) * (height - T - B)

    step = max(1, len(series) // 4000)  # at most ~4000 points
    pts = " ".join("%.1f,%.1f" % (px(t), py(v)) for t, v in series[::step] + [series[-1]])
    out = ['<svg xmlns="http://www.w3.org/2000/svg" width="%d" height="%d" font-family="sans-serif" '
           'font-size="12">' % (width, height),
           '<rect width="100%" height="100%" fill="white"/>',
           '<text x="%d" y="18" font-size="14">%s</text>' % (L, _esc(title)),
           '<line x1="%d" y1="%.1f" x2="%d" y2="%.1f" stroke="#999"/>' % (L, py(0.0), width - R, py(0.0)),
           '<line x1="%d" y1="%d" x2="%d" y2="%d" stroke="#333"/>' % (L, T, L, height - B)]
    for v in (y0, (y0 + y1) / 2, y1):
        out.append('<text x="%d" y="%.1f" text-anchor="end">%s</text>' % (L - 5, py(v) + 4, _esc("%.6g" % v)))
    out.append('<text x="12" y="%d" transform="rotate(-90 12 %d)">cumulative funding paid (%s)</text>'
               % (height // 2, height // 2, _esc(unit)))
    for t in (x0, (x0 + x1) / 2, x1):
        out.append('<text x="%.1f" y="%d" text-anchor="middle">%s</text>' % (px(t), height - B + 18, _iso(t)[:10]))
    out.append('<polyline fill="none" stroke="#1f77b4" stroke-width="1.2" points="%s"/>' % pts)
    out.append("</svg>")
    return "\n".join(out) + "\n"


def _esc(s: str) -> str:
    return str(s).replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;")


def add_cli_parser(sub: argparse._SubParsersAction[Any]) -> argparse.ArgumentParser:
    """Registers the ``funding`` subcommand on the CLI's subparsers."""
    p = sub.add_parser("funding", help="back-test the funding a perpetual position paid over a funding history "
                                       "CSV (Binance, BitMEX, Deribit), with an SVG chart")
    p.add_argument("csv", metavar="FUNDING.csv")
    p.add_argument("--venue", choices=sorted(VENUES), required=True)
    p.add_argument("--qty", required=True, help="contracts held, long > 0 (Binance: BTC; BitMEX: USD; "
                                                "Deribit: 10-USD contracts)")
    p.add_argument("--prices", metavar="PRICES.csv", help="OHLC CSV with close prices (Binance, BitMEX)")
    p.add_argument("--from", dest="start", metavar="TIME", help="first funding time (ISO 8601 UTC)")
    p.add_argument("--to", dest="end", metavar="TIME", help="last funding time (ISO 8601 UTC)")
    p.add_argument("--chart", metavar="FILE.svg", help="write the cumulative funding as an SVG chart")
    p.add_argument("--compact", action="store_true", help="print the JSON on one line")
    return p


def cli_main(args: argparse.Namespace, out: TextIO) -> None:
    """Runs the ``funding`` subcommand: one JSON document on ``out``."""
    qty = _float(args.qty, "--qty")
    funding = read_funding(args.csv, args.venue)
    prices = read_prices(args.prices) if args.prices else None
    start = _time(args.start, "--from") if args.start else None
    end = _time(args.end, "--to") if args.end else None
    try:
        doc, series = backtest(funding, args.venue, qty, prices, start, end)
    except errors.RiskError as exc:
        raise FundingError(exc.message or str(exc)) from None
    if args.chart:
        title = "%s %s %g contracts: funding paid %s %s" % (args.venue, doc["instrument"], doc["qty"],
                                                            doc["funding_paid"], doc["settle"])
        try:
            with open(args.chart, "w") as f:
                f.write(chart_svg(series, title, doc["settle"]))
        except OSError as exc:
            raise FundingError("--chart: %s" % (exc.strerror or exc)) from None
        doc["chart"] = args.chart
    out.write(json.dumps(doc, indent=None if args.compact else 2, allow_nan=False) + "\n")
