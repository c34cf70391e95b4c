"""HTML building blocks for the dashboard: every piece of data text goes through `esc` (html.escape).

ipywidgets.HTML sets innerHTML, so nothing from the warehouse, the catalog or an operator may reach it
unescaped: a merchant called ``<script>alert(1)</script>`` must render as those characters. The helpers
here take raw values and return HTML strings; only the markup they write themselves is unescaped.
"""

from __future__ import annotations

import datetime as dt
import html
import json
import math
from collections.abc import Iterable, Mapping, Sequence

import numpy as np
import pandas as pd

from spendsense.dashboard.timefmt import human_time

DASH = "—"

# Signals whose value is a share in [0, 1] (shown as a percent), an amount of dollars, months or days.
_PCT_HINTS = ("utilization", "share", "rate", "_cv", "pct")
_USD_HINTS = ("balance", "spending", "spend", "amount", "income", "interest", "inflow", "limit", "total_card")
_MONTH_HINTS = ("months",)
_DAY_HINTS = ("days",)

STYLE = """
<style>
.ss-app { font-family: system-ui, -apple-system, "Segoe UI", Roboto, sans-serif; font-size: 13px; color: #1f2933; }
.ss-table { border-collapse: collapse; margin: 4px 0 10px 0; font-size: 12.5px; }
.ss-table th { background: #eef2f7; text-align: left; padding: 4px 8px; border-bottom: 1px solid #cbd2d9;
  font-weight: 600; }
.ss-table td { padding: 3px 8px; border-bottom: 1px solid #e4e7eb; vertical-align: top; }
.ss-table td.num { text-align: right; font-variant-numeric: tabular-nums; }
.ss-badge { display: inline-block; padding: 1px 7px; border-radius: 9px; font-size: 11.5px; font-weight: 600; }
.ss-pass { background: #e3f9e5; color: #05400a; }
.ss-fail { background: #ffe3e3; color: #8a041a; }
.ss-warn { background: #fff3c4; color: #5c4813; }
.ss-info { background: #e6f6ff; color: #0b4f71; }
.ss-muted { color: #7b8794; }
.ss-h { font-size: 15px; font-weight: 650; margin: 8px 0 4px 0; }
.ss-h2 { font-size: 13.5px; font-weight: 650; margin: 8px 0 2px 0; }
.ss-rec-card { border: 1px solid #cbd2d9; border-radius: 6px; padding: 6px 10px; margin: 8px 0; }
.ss-card { border: 1px solid #cbd2d9; border-radius: 6px; padding: 8px 10px; margin: 6px 0; background: #fff; }
.ss-disclosure { font-size: 11.5px; color: #52606d; font-style: italic; }
.ss-banner { padding: 6px 10px; border-radius: 5px; margin: 4px 0; }
.ss-json { font-family: ui-monospace, Menlo, monospace; font-size: 11.5px; }
.ss-cols { display: flex; gap: 18px; flex-wrap: wrap; }
.ss-cols > div { flex: 1 1 320px; min-width: 300px; overflow-x: auto; }
.ss-card-sep { border-top: 1px solid #e4e7eb; margin-top: 6px; }
</style>
"""


def esc(value: object) -> str:
    """A value as escaped HTML text; missing values render as an em dash."""
    if is_missing(value):
        return DASH
    return html.escape(str(value), quote=True)


def is_missing(value: object) -> bool:
    """True for None, NaN, NaT and pandas' NA."""
    if value is None:
        return True
    if isinstance(value, (list, tuple, dict, np.ndarray)):
        return False
    try:
        return bool(pd.isna(value))
    except (TypeError, ValueError):
        return False


def fmt_number(value: object, digits: int = 2) -> str:
    """A number with thousands separators, without trailing decimals for whole numbers."""
    if is_missing(value):
        return DASH
    if isinstance(value, (bool, np.bool_)):
        return "yes" if value else "no"
    try:
        x = float(value)
    except (TypeError, ValueError):
        return str(value)
    if math.isinf(x):
        return "∞" if x > 0 else "-∞"
    if x == int(x) and abs(x) < 1e15:
        return f"{int(x):,}"
    return f"{x:,.{digits}f}"


def fmt_usd(value: object) -> str:
    """Dollars with two decimals, e.g. $1,234.50."""
    if is_missing(value):
        return DASH
    x = float(value)
    return f"-${-x:,.2f}" if x < 0 else f"${x:,.2f}"


def fmt_pct(value: object, digits: int = 0) -> str:
    """A share in [0, 1] as a percent, e.g. 0.68 -> 68%."""
    if is_missing(value):
        return DASH
    return f"{float(value) * 100:.{digits}f}%"


def fmt_signal(name: str, value: object, value_text: object = None) -> str:
    """A signal value formatted for its kind (percent, dollars, months, days or count), as plain text."""
    if not is_missing(value_text):
        return str(value_text)
    if is_missing(value):
        return DASH
    lname = name.lower()
    if lname.startswith(("has_", "is_")) or lname in ("minimum_payment_only",):
        return "yes" if float(value) else "no"
    if any(h in lname for h in _PCT_HINTS):
        return fmt_pct(value, 1)
    if any(h in lname for h in _MONTH_HINTS):
        return f"{float(value):,.1f} months"
    if any(h in lname for h in _DAY_HINTS):
        return f"{float(value):,.1f} days"
    if any(h in lname for h in _USD_HINTS):
        return fmt_usd(value)
    return fmt_number(value)


def fmt_cell(value: object) -> str:
    """A generic table cell as plain text (numbers formatted, lists joined, dates ISO)."""
    if isinstance(value, (list, tuple, np.ndarray)):
        return ", ".join(fmt_cell(v) for v in value)
    if isinstance(value, (dict,)):
        return json.dumps(value, default=str)
    if is_missing(value):
        return DASH
    if isinstance(value, (bool, np.bool_)):
        return "yes" if value else "no"
    if isinstance(value, (int, float, np.integer, np.floating)):
        return fmt_number(value)
    if isinstance(value, (pd.Timestamp, dt.datetime)):
        return human_time(value)
    if isinstance(value, dt.date):
        return value.isoformat()
    return str(value)


def badge(text: object, kind: str = "info") -> str:
    """A small coloured label; kind is pass, fail, warn or info."""
    return f'<span class="ss-badge ss-{esc(kind)}">{esc(text)}</span>'


def pass_fail(passed: object) -> str:
    """A pass / fail badge for a boolean-ish outcome (missing renders as a dash)."""
    if is_missing(passed):
        return esc(None)
    if isinstance(passed, str):
        low = passed.strip().lower()
        ok = low in ("pass", "passed", "ok", "true", "yes", "kept", "allowed")
        bad = low in ("fail", "failed", "false", "no", "rejected", "removed", "blocked")
        return badge(passed, "pass" if ok else "fail" if bad else "warn")
    return badge("pass", "pass") if bool(passed) else badge("fail", "fail")


def heading(text: object, level: int = 1) -> str:
    """A section heading."""
    return f'<div class="ss-h{"" if level == 1 else "2"}">{esc(text)}</div>'


def banner(text: object, kind: str = "info") -> str:
    """A full-width coloured message."""
    return f'<div class="ss-banner ss-{esc(kind)}">{esc(text)}</div>'


def table(rows: pd.DataFrame | Sequence[Mapping], columns: Sequence[tuple[str, str]] | None = None,
          formatters: Mapping[str, callable] | None = None, css: str = "", empty: str = "none",
          raw_html: Iterable[str] = ()) -> str:
    """An HTML table of rows; columns are (key, label) pairs, every cell escaped.

    formatters map a key to a function value -> plain text (escaped afterwards); keys in raw_html are
    columns whose formatter already returns safe HTML built with these helpers (e.g. badges).
    """
    records = rows.to_dict("records") if isinstance(rows, pd.DataFrame) else [dict(r) for r in rows]
    if columns is None:
        keys: list[str] = []
        for r in records:
            keys.extend(k for k in r if k not in keys)
        if isinstance(rows, pd.DataFrame):
            keys = list(rows.columns)
        columns = [(k, k) for k in keys]
    if not records:
        return f'<div class="ss-muted">{esc(empty)}</div>'
    formatters = dict(formatters or {})
    raw = set(raw_html)
    head = "".join(f"<th>{esc(label)}</th>" for _, label in columns)
    body = []
    for r in records:
        cells = []
        for key, _ in columns:
            value = r.get(key)
            if key in raw:
                cells.append(f"<td>{formatters[key](value)}</td>")
                continue
            text = formatters[key](value) if key in formatters else fmt_cell(value)
            numeric = (isinstance(value, (int, float, np.integer, np.floating)) and not isinstance(value, bool)
                       and not is_missing(value))
            cells.append(f'<td class="num">{esc(text)}</td>' if numeric else f"<td>{esc(text)}</td>")
        body.append("<tr>" + "".join(cells) + "</tr>")
    return f'<table class="ss-table {esc(css)}"><thead><tr>{head}</tr></thead><tbody>{"".join(body)}</tbody></table>'


def kv_table(pairs: Mapping[str, object] | Sequence[tuple[str, object]], css: str = "") -> str:
    """A two-column table of labels and values (values formatted and escaped)."""
    items = pairs.items() if isinstance(pairs, Mapping) else pairs
    rows = "".join(f"<tr><th>{esc(k)}</th><td>{esc(fmt_cell(v))}</td></tr>" for k, v in items)
    return f'<table class="ss-table {esc(css)}">{rows}</table>'


def json_html(obj: object, depth: int = 0, max_depth: int = 6) -> str:
    """Any JSON-like value as nested, escaped HTML: dicts as key/value tables, lists of dicts as tables."""
    if depth > max_depth:
        return f'<span class="ss-json">{esc(json.dumps(obj, default=str))}</span>'
    if isinstance(obj, Mapping):
        if not obj:
            return f'<span class="ss-muted">{esc("(empty)")}</span>'
        rows = "".join(f"<tr><th>{esc(k)}</th><td>{json_html(v, depth + 1)}</td></tr>" for k, v in obj.items())
        return f'<table class="ss-table">{rows}</table>'
    if isinstance(obj, (list, tuple, np.ndarray)):
        items = list(obj)
        if not items:
            return f'<span class="ss-muted">{esc("(none)")}</span>'
        if all(isinstance(i, Mapping) for i in items):
            keys: list[str] = []
            for i in items:
                keys.extend(k for k in i if k not in keys)
            head = "".join(f"<th>{esc(k)}</th>" for k in keys)
            body = "".join(
                "<tr>" + "".join(f"<td>{json_html(i.get(k), depth + 1)}</td>" for k in keys) + "</tr>"
                for i in items)
            return f'<table class="ss-table"><thead><tr>{head}</tr></thead><tbody>{body}</tbody></table>'
        if all(not isinstance(i, (Mapping, list, tuple)) for i in items):
            return esc(", ".join(fmt_cell(i) for i in items))
        return "<ul>" + "".join(f"<li>{json_html(i, depth + 1)}</li>" for i in items) + "</ul>"
    if isinstance(obj, bool):
        return pass_fail(obj)
    return esc(fmt_cell(obj))


def parse_json(value: object) -> object:
    """A JSON column value as Python data (strings parsed; already-parsed values returned as they are)."""
    if is_missing(value):
        return None
    if isinstance(value, (bytes, bytearray)):
        value = value.decode("utf-8")
    if isinstance(value, str):
        try:
            return json.loads(value)
        except json.JSONDecodeError:
            return value
    return value


def css_token(value: object) -> str:
    """A value reduced to a safe CSS class suffix (letters, digits, - and _)."""
    return "".join(c if c.isalnum() or c in "-_" else "-" for c in str(value))[:60]
