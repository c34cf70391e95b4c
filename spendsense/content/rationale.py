"""Rationale rendering: fill a template with the user's own numbers and record each quoted value as a fact.

Flow for the engine:
1. `rationale_inputs(signals_wide, credit_cards, recurring_streams)` -> one row per (user_id, window_days) with
   every signals_wide column plus the columns of each template source's chosen row, named `<source>.<column>`
   (e.g. `top_card_by_utilization.mask`). Vectorized; no per-user loop.
2. `render_with_fallback(catalog.templates, item.rationale_template, row)` -> RenderedRationale(template_id,
   text, facts), following `fallback` when the row lacks a value the template needs.
   (Lower level: `template_values(template, row)` then `render_rationale(template, values)`.)
3. `verify_rationale(template, text, facts)` -> list of problems (empty when the text quotes the data exactly).

A fact is {"signal": column quoted (e.g. "max_utilization" or "credit_cards.utilization"), "value": the raw
value (JSON-friendly), "text": the exact formatted string that appears in the rationale}.
"""

from __future__ import annotations

import math
import string
from collections.abc import Mapping
from dataclasses import dataclass
from decimal import ROUND_HALF_UP, Decimal

import numpy as np
import pandas as pd

from spendsense.content.models import RationaleTemplate

KEYS = ["user_id", "window_days"]
MAX_STREAMS = 5  # list-valued stream fields carry up to this many streams; templates take their `limit`


class RationaleError(ValueError):
    """A template cannot be rendered: a value it quotes is missing or cannot be formatted."""

    def __init__(self, template_id: str, missing: list[str], detail: str = ""):
        self.template_id = template_id
        self.missing = missing
        super().__init__(detail or f"template {template_id!r}: no value for {', '.join(missing)}")


@dataclass(frozen=True)
class RenderedRationale:
    """A rendered rationale: which template produced it, its text, and its facts."""

    template_id: str
    text: str
    facts: list[dict]


# --- formatting ----------------------------------------------------------------------------------------------

def _round(x: float, places: int) -> Decimal:
    """Round half away from zero on the decimal spelling of x (so 2.675 -> 2.68, 0.5 -> 1)."""
    return Decimal(repr(float(x))).quantize(Decimal(1).scaleb(-places), rounding=ROUND_HALF_UP)


def _is_missing(value: object) -> bool:
    if value is None or value is pd.NA or value is pd.NaT:
        return True
    if isinstance(value, float | np.floating) and math.isnan(value):
        return True
    if isinstance(value, str) and not value.strip():
        return True
    if isinstance(value, list | tuple | np.ndarray):
        return len(value) == 0 or any(_is_missing(v) for v in value)
    return False


def _usd(x: float) -> str:
    cents = _round(x, 2)
    sign = "-" if cents < 0 else ""
    if abs(cents) >= 100:
        return f"{sign}${abs(_round(x, 0)):,.0f}"
    if cents == cents.to_integral_value():
        return f"{sign}${abs(cents):,.0f}"
    return f"{sign}${abs(cents):,.2f}"


def _plural(n: Decimal | int, unit: str) -> str:
    one, _, many = unit.partition("|")
    many = many or f"{one}s"
    return one if n == 1 else many


def format_value(value: object, fmt: str) -> str:
    """Format one value for a rationale. Formats (the part after ':' in a placeholder):

    - usd: amounts of $100 or more in whole dollars with separators ("$3,400"); under $100 with cents
      ("$87.50"), dropping ".00" ("$15"); negatives as "-$12.50". Rounding is half away from zero.
    - pct: a fraction as a whole percent ("0.68" -> "68%"); a value that is not zero but rounds to 0 reads
      "less than 1%".
    - rate: a number already in percent units, up to two decimals ("24.99%", "20%").
    - months: one decimal with the unit ("1.5 months", "1.0 month").
    - days: whole days with the unit ("45 days", "1 day").
    - count: a whole number with separators ("3"); `count:fee` adds a pluralized unit ("1 fee", "2 fees"),
      `count:person|people` gives both forms.
    - text: the value as written (a float with no fraction is written as an integer, e.g. a mask).
    - list: a list of texts joined in plain English ("A", "A and B", "A, B, and C").
    """
    base, _, unit = fmt.partition(":")
    if base == "list":
        items = [format_value(v, "text") for v in value]  # type: ignore[union-attr]
        if len(items) <= 2:
            return " and ".join(items)
        return ", ".join(items[:-1]) + ", and " + items[-1]
    if base == "text":
        if isinstance(value, float | np.floating) and float(value).is_integer():
            return str(int(value))
        return str(value)
    x = float(value)  # type: ignore[arg-type]
    if base == "usd":
        return _usd(x)
    if base == "pct":
        p = _round(x * 100, 0)
        if p == 0 and x != 0:
            return "less than 1%"
        return f"{p:,.0f}%"
    if base == "rate":
        r = _round(x, 2).normalize()
        return f"{r:,f}%"
    if base == "months":
        m = _round(x, 1)
        return f"{m:,.1f} {'month' if m == 1 else 'months'}"
    if base == "days":
        d = _round(x, 0)
        return f"{d:,.0f} {'day' if d == 1 else 'days'}"
    if base == "count":
        n = _round(x, 0)
        return f"{n:,.0f} {_plural(n, unit)}" if unit else f"{n:,.0f}"
    raise ValueError(f"unknown format {fmt!r}")


def _jsonable(value: object) -> object:
    """A plain-Python copy of a value for the facts JSON."""
    if isinstance(value, np.ndarray | list | tuple):
        return [_jsonable(v) for v in value]
    if isinstance(value, np.generic):
        return value.item()
    if isinstance(value, pd.Timestamp):
        return value.isoformat()
    return value


# --- rendering -----------------------------------------------------------------------------------------------

def render_rationale(template: RationaleTemplate, values: Mapping[str, object]) -> tuple[str, list[dict]]:
    """Fill a template from values keyed by placeholder name; return (text, facts), one fact per placeholder.

    Raises RationaleError (with `.missing`) when any placeholder has no value (None, NaN, empty).
    """
    formats = dict(template.placeholders())
    missing = [name for name in formats if _is_missing(values.get(name))]
    if missing:
        raise RationaleError(template.id, missing)
    texts: dict[str, str] = {}
    for name, fmt in formats.items():
        try:
            texts[name] = format_value(values[name], fmt)
        except (TypeError, ValueError) as exc:
            raise RationaleError(template.id, [name], f"template {template.id!r}: cannot format {name!r} "
                                 f"value {values[name]!r} as {fmt!r}: {exc}") from None
    parts = []
    for literal, name, _, _ in string.Formatter().parse(template.text):
        parts.append(literal)
        if name is not None:
            parts.append(texts[name])
    text = "".join(parts)
    facts = [{"signal": template.fields[name], "value": _jsonable(values[name]), "text": texts[name]}
             for name in formats]
    return text, facts


def template_values(template: RationaleTemplate, row: Mapping[str, object]) -> dict[str, object]:
    """Pick a template's values from one row of rationale_inputs (keys `signal` or `<source>.<column>`)."""
    values: dict[str, object] = {}
    for name, column in template.fields.items():
        if "." in column:
            key = f"{template.source}.{column.split('.', 1)[1]}"
        else:
            key = column
        value = row.get(key)
        if template.source == "top_subscription_streams" and isinstance(value, list | tuple | np.ndarray):
            value = list(value)[: template.limit]
        values[name] = value
    return values


def render_with_fallback(templates: Mapping[str, RationaleTemplate], template_id: str,
                         row: Mapping[str, object]) -> RenderedRationale:
    """Render the first template in the chain template_id -> fallback -> ... whose `requires` conditions hold
    on the row and that has every value it needs; RationaleError if none can be rendered."""
    tried: list[str] = []
    current: str | None = template_id
    while current is not None and current not in tried:
        template = templates[current]
        tried.append(current)
        unmet = [t.describe() for t in template.requires if not t.holds(row.get(t.signal))]
        if unmet:
            last = RationaleError(current, [], f"template {current!r}: requirement(s) not met: {'; '.join(unmet)}")
            current = template.fallback
            continue
        try:
            text, facts = render_rationale(template, template_values(template, row))
            return RenderedRationale(current, text, facts)
        except RationaleError as exc:
            last = exc
        current = template.fallback
    raise RationaleError(template_id, last.missing,
                         f"no template in chain {' -> '.join(tried)} could be rendered: {last}")


def verify_rationale(template: RationaleTemplate, text: str, facts: list[dict]) -> list[str]:
    """Problems with a rendered rationale: facts whose text is not in the rationale or does not format the value."""
    problems = []
    formats = dict(template.placeholders())
    expected = {template.fields[n]: f for n, f in formats.items()}
    seen = set()
    for fact in facts:
        signal, value, quoted = fact["signal"], fact["value"], fact["text"]
        seen.add(signal)
        if signal not in expected:
            problems.append(f"fact {signal!r} is not a field of template {template.id!r}")
            continue
        if format_value(value, expected[signal]) != quoted:
            problems.append(f"fact {signal!r}: {quoted!r} does not format value {value!r}")
        if quoted not in text:
            problems.append(f"fact {signal!r}: {quoted!r} does not appear in the rationale")
    for signal in expected:
        if signal not in seen:
            problems.append(f"no fact for {signal!r}")
    return problems


# --- inputs --------------------------------------------------------------------------------------------------

def _key_positions(left: pd.DataFrame, right: pd.DataFrame) -> np.ndarray:
    """For each row of left, the row of right with the same (user_id, window_days) (right's keys are unique),
    -1 where there is none."""
    if not len(right):
        return np.full(len(left), -1, dtype=np.int64)
    lu, ru = left["user_id"].to_numpy(dtype=object), right["user_id"].to_numpy(dtype=object)
    lw, rw = left["window_days"].to_numpy(), right["window_days"].to_numpy()
    if len(lu) == len(ru) and (lu == ru).all() and (lw == rw).all():
        return np.arange(len(left), dtype=np.int64)
    users = pd.Index(pd.unique(right["user_id"].to_numpy(dtype=object)))
    windows = pd.Index(pd.unique(right["window_days"].to_numpy()))
    width = len(windows) + 1
    code = lambda f: (users.get_indexer(pd.Index(f["user_id"].to_numpy(dtype=object))) * width
                      + windows.get_indexer(pd.Index(f["window_days"].to_numpy())))
    rk, lk = code(right), code(left)
    pos = pd.Index(rk).get_indexer(pd.Index(lk))
    pos[(lk < 0) | (lk % width == width - 1)] = -1  # unknown user or window (get_indexer gave -1)
    return pos


def _without(frame: pd.DataFrame, columns: list[str]) -> pd.DataFrame:
    """frame without the given columns (those present), as frame.drop(columns=...) but cheaper for small frames."""
    keep = [i for i, c in enumerate(frame.columns) if c not in columns]
    return frame if len(keep) == frame.shape[1] else frame.take(keep, axis=1)


def _left_joined(left: pd.DataFrame, right: pd.DataFrame, prefix: str) -> pd.DataFrame:
    """right's non-key columns (prefixed) aligned to left's rows as `left.merge(right, on=KEYS, how='left')` aligns
    them (right has one row per key; missing rows are nulls, with the same dtype promotion as the merge)."""
    values = _without(right, KEYS).reset_index(drop=True)
    pos = _key_positions(left, right)
    if len(values) != len(left) or not (pos == np.arange(len(left))).all():
        values = values.reindex(pos)
    out = values.set_axis([f"{prefix}.{c}" for c in values.columns], axis=1)
    return out.reset_index(drop=True)


def rationale_inputs(signals_wide: pd.DataFrame, credit_cards: pd.DataFrame,
                     recurring_streams: pd.DataFrame) -> pd.DataFrame:
    """One row per (user_id, window_days) of signals_wide with the values every template source can quote.

    Row choice per source (ties broken so the result is deterministic):
    - top_card_by_utilization: highest utilization, then highest balance, then account_id.
    - top_card_by_interest: among cards with interest_charges > 0, the most interest, then highest
      utilization, then account_id (users with no interest get nulls, so such templates fall back).
    - top_subscription_stream: among streams with is_subscription, the most amount_in_window, then highest
      mean_amount, then merchant.
    - top_subscription_streams: the first MAX_STREAMS streams in that order; `merchant` as a list.
    """
    base = signals_wide.reset_index(drop=True)
    parts = [base]
    cards = _without(credit_cards, ["transaction_ids"])
    by_util = _grouped_order(cards, [("utilization", False), ("balance", False), ("account_id", True)])
    parts.append(_left_joined(base, _first_per_key(by_util), "top_card_by_utilization"))
    paying = cards[pd.to_numeric(cards["interest_charges"], errors="coerce").fillna(0) > 0]
    by_int = _grouped_order(paying, [("interest_charges", False), ("utilization", False), ("account_id", True)])
    parts.append(_left_joined(base, _first_per_key(by_int), "top_card_by_interest"))

    streams = _without(recurring_streams, ["transaction_ids"])
    subs = streams[streams["is_subscription"].fillna(False).astype(bool)]
    subs = _grouped_order(subs, [("amount_in_window", False), ("mean_amount", False), ("merchant", True)])
    parts.append(_left_joined(base, _first_per_key(subs), "top_subscription_stream"))
    text_cols = ["merchant"]  # the only stream text a template lists today; add columns here when needed
    top = subs.groupby(KEYS, sort=False).head(MAX_STREAMS).reset_index(drop=True)
    parts.append(_left_joined(base, _lists_per_key(top, text_cols), "top_subscription_streams"))
    return pd.concat(parts, axis=1)


def _grouped_order(frame: pd.DataFrame, by: list[tuple[str, bool]]) -> pd.DataFrame:
    """Rows grouped by (user_id, window_days) and, within a group, ordered by `by` (column, ascending).

    Numeric columns sort with nulls last; text columns sort by their value. One np.lexsort over integer
    and float keys (much faster than sorting the string columns themselves).
    """
    keys = []
    for col, ascending in reversed(by):  # np.lexsort: the last key is the primary one
        values = frame[col]
        if pd.api.types.is_numeric_dtype(values) or pd.api.types.is_bool_dtype(values):
            v = pd.to_numeric(values, errors="coerce").to_numpy(dtype=float)
            keys.append(v if ascending else -v)
        else:
            codes = pd.factorize(values, sort=True)[0]
            keys.append(codes if ascending else -codes)
    keys.append(frame["window_days"].to_numpy())
    keys.append(pd.factorize(frame["user_id"])[0])
    return frame.iloc[np.lexsort(keys)].reset_index(drop=True)


def _first_per_key(frame: pd.DataFrame) -> pd.DataFrame:
    """The first row of each consecutive (user_id, window_days) run of a grouped frame."""
    if frame.empty:
        return frame
    starts = _run_starts(frame)
    return frame.iloc[starts].reset_index(drop=True)


def _run_starts(frame: pd.DataFrame) -> np.ndarray:
    """Positions where a new (user_id, window_days) run begins."""
    user = frame["user_id"].to_numpy(dtype=object)
    window = frame["window_days"].to_numpy()
    return np.flatnonzero(np.r_[True, (user[1:] != user[:-1]) | (window[1:] != window[:-1])])


def _lists_per_key(frame: pd.DataFrame, columns: list[str]) -> pd.DataFrame:
    """One row per consecutive (user_id, window_days) run of a sorted frame, each column as a list in order.

    Group boundaries are found with numpy; only the final list objects are built per group.
    """
    if frame.empty:
        return pd.DataFrame({**{k: frame[k] for k in KEYS}, **{c: pd.Series(dtype=object) for c in columns}})
    starts = _run_starts(frame)
    out = frame.iloc[starts][KEYS].reset_index(drop=True)
    bounds = list(zip(starts.tolist(), np.r_[starts[1:], len(frame)].tolist(), strict=True))
    for c in columns:
        values = frame[c].to_numpy(dtype=object).tolist()
        out[c] = pd.Series([values[a:b] for a, b in bounds], dtype=object)
    return out
