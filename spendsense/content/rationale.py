"""Rationales: pick each recommendation's template (with fallbacks) and fill it with the user's own numbers.

One implementation, vectorized, for whole columns of rows (the engine), with the per-row API a call into it for
one row (replay, explain, tests):

- `choose_templates(templates, requested, inputs, rows)`: the first template of each fallback chain whose
  `requires` conditions hold and that has every value it quotes (requirement and missing-value masks per template);
- `render_template_rows(plan, inputs, rows)`: text, facts and template values as Arrow strings, joined from their
  pieces once per (user-window, template); values are formatted by spendsense.content.formats;
- per row: `render_with_fallback(templates, template_id, row)` -> RenderedRationale(template_id, text, facts),
  `template_values(template, row)`, `render_rationale(template, values)` -> (text, facts), and
  `verify_rationale(template, text, facts)` -> problems (empty when the text quotes the data exactly).

A fact is {"signal": column quoted (e.g. "max_utilization" or "credit_cards.utilization"), "value": the raw
value (JSON-friendly), "text": the exact formatted string that appears in the rationale}. The rows come from
spendsense.content.rationale_inputs.
"""

from __future__ import annotations

import json
import string
from collections.abc import Mapping
from dataclasses import dataclass

import numpy as np
import pandas as pd
import pyarrow as pa

from spendsense.content.formats import (
    LIST_FORMAT,
    STRING,
    as_floats,
    distinct_rows,
    format_value,
    format_values,
    join,
    json_values,
    quoted_texts,
)
from spendsense.content.memo import by_identity
from spendsense.content.models import RationaleTemplate
from spendsense.content.triggers import ConditionMasks


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


# ------------------------------------------------------------------------------------------ template plans


@dataclass(frozen=True)
class Placeholder:
    """One distinct placeholder of a template: its name, format, quoted column and input-row key."""

    name: str
    fmt: str
    column: str  # the fact's `signal`: a signals_wide name or credit_cards.<col> / recurring_streams.<col>
    key: str  # the column of rationale_inputs holding the value


@dataclass(frozen=True)
class TemplatePlan:
    """A template prepared for vectorized rendering."""

    template: RationaleTemplate
    placeholders: tuple[Placeholder, ...]
    pieces: tuple[tuple[str, str | None], ...]  # (literal, placeholder name or None), in text order

    @property
    def id(self) -> str:
        return self.template.id


def input_key(template: RationaleTemplate, column: str) -> str:
    """The rationale_inputs column a template field reads (as spendsense.content.template_values does)."""
    return f"{template.source}.{column.split('.', 1)[1]}" if "." in column else column


_PLANS: dict[int, tuple[RationaleTemplate, TemplatePlan]] = {}


def template_plan(template: RationaleTemplate) -> TemplatePlan:
    """The rendering plan of a template (made once per template object)."""
    return by_identity(_PLANS, template, _make_plan, cap=4096)


def _make_plan(template: RationaleTemplate) -> TemplatePlan:
    holders = tuple(Placeholder(name, fmt, template.fields[name], input_key(template, template.fields[name]))
                    for name, fmt in template.placeholders())
    pieces = tuple((literal, name) for literal, name, _, _ in string.Formatter().parse(template.text))
    return TemplatePlan(template, holders, pieces)


def fallback_chain(templates: Mapping[str, RationaleTemplate], template_id: str) -> list[str]:
    """template_id followed by its fallbacks, in order."""
    chain: list[str] = []
    current: str | None = template_id
    while current is not None and current not in chain:
        chain.append(current)
        current = templates[current].fallback
    return chain


# ---------------------------------------------------------------------------------------------- values


def _cut_lists(series: pd.Series, limit: int) -> pd.Series:
    """List-valued inputs cut to the template's limit (non-lists stay as they are)."""
    def cut(v):
        if isinstance(v, np.ndarray):
            v = v.tolist()
        return list(v)[:limit] if isinstance(v, list | tuple) else v

    return series.map(cut) if series.dtype == object else series


def _missing(series: pd.Series, fmt: str) -> np.ndarray:
    """Where a value cannot be quoted: null, blank text, non-finite number, empty list or a list with a gap."""
    base = fmt.split(":", 1)[0]
    if base == LIST_FORMAT:
        def gap(v) -> bool:
            if not isinstance(v, list | tuple):
                return True
            return len(v) == 0 or any(x is None or (isinstance(x, float) and np.isnan(x))
                                      or (isinstance(x, str) and not x.strip()) for x in v)

        return np.fromiter((gap(v) for v in series.to_numpy(dtype=object)), dtype=bool, count=len(series))
    if base == "text":
        null = series.isna().to_numpy()
        if pd.api.types.is_numeric_dtype(series.dtype):
            return null
        text = series.astype("string")
        return null | (text.str.strip() == "").fillna(True).to_numpy(dtype=bool)
    return ~np.isfinite(as_floats(series))


def template_value_columns(plan: TemplatePlan, inputs: pd.DataFrame,
                           rows: np.ndarray | None = None) -> dict[str, pd.Series]:
    """The raw value of each placeholder (keyed by placeholder name) for every row of inputs (or the given row
    positions)."""
    out = {}
    for h in plan.placeholders:
        if h.key not in inputs.columns:
            col = pd.Series(np.nan, index=pd.RangeIndex(len(inputs) if rows is None else len(rows)), dtype=object)
        else:
            col = inputs[h.key] if rows is None else inputs[h.key].iloc[rows]
        if plan.template.source == "top_subscription_streams":
            col = _cut_lists(col, plan.template.limit)
        out[h.name] = col.reset_index(drop=True)
    return out


def template_values_frame(plan: TemplatePlan, inputs: pd.DataFrame) -> pd.DataFrame:
    """The raw value of each placeholder (columns named like the placeholders) for every row of inputs."""
    return pd.DataFrame(template_value_columns(plan, inputs))


def needed_columns(plan: TemplatePlan, inputs: pd.DataFrame) -> list[str]:
    """The columns of rationale_inputs a template reads (requirements and placeholders)."""
    cols = [r.signal for r in plan.template.requires] + [h.key for h in plan.placeholders]
    return [c for c in dict.fromkeys(cols) if c in inputs.columns]


def renderable(plan: TemplatePlan, inputs: pd.DataFrame, rows: np.ndarray | None = None) -> np.ndarray:
    """Rows of rationale_inputs (all, or those at the given positions) on which the template's requirements hold
    and every value it quotes exists."""
    masks = ConditionMasks(inputs, rows)
    ok = np.ones(masks.n, dtype=bool)
    for req in plan.template.requires:
        ok &= masks(req)
    values = template_value_columns(plan, inputs, rows)
    for h in plan.placeholders:
        ok &= ~_missing(values[h.name], h.fmt)
    return ok


def choose_templates(templates: Mapping[str, RationaleTemplate], requested: np.ndarray, inputs: pd.DataFrame,
                     rows: np.ndarray) -> np.ndarray:
    """For each (requested template id, row of inputs) pair, the first template of the fallback chain that can be
    rendered on that row (as render_with_fallback chooses), or None when none can. Each template is checked only
    on the rows that reach it in a chain."""
    requested = np.asarray(requested, dtype=object)
    rows = np.asarray(rows, dtype=np.int64)
    chosen = np.full(len(rows), None, dtype=object)
    known: dict[str, np.ndarray] = {}  # template -> per input row: -1 unknown, 0 no, 1 yes
    codes, vocab = pd.factorize(requested)
    for k, req in enumerate(vocab):
        sel = np.flatnonzero(codes == k)
        todo = np.ones(len(sel), dtype=bool)
        for tid in fallback_chain(templates, req):
            state = known.setdefault(tid, np.full(len(inputs), -1, dtype=np.int8))
            want = rows[sel[todo]]
            unknown = np.unique(want[state[want] < 0])
            if unknown.size:
                plan = template_plan(templates[tid])
                state[unknown] = renderable(plan, inputs, unknown)
            hit = todo & (state[rows[sel]] == 1)
            chosen[sel[hit]] = tid
            todo &= ~hit
            if not todo.any():
                break
    return chosen


# --------------------------------------------------------------------------------------------- rendering


def render_template_rows(plan: TemplatePlan, inputs: pd.DataFrame, rows: np.ndarray) -> dict[str, pa.Array]:
    """Render one template on the given rows of inputs (all assumed renderable).

    Returns Arrow strings: text, facts (JSON list of {signal, value, text}) and values (JSON object placeholder
    -> raw value: what `render_rationale` needs to reproduce the text), one per entry of `rows`.
    """
    return render_values(plan, template_value_columns(plan, inputs, np.asarray(rows, dtype=np.int64)))


def render_values(plan: TemplatePlan, values: Mapping[str, pd.Series]) -> dict[str, pa.Array]:
    """Render one template from its placeholders' value columns (all present): text, facts and values as Arrow
    strings, one per row. Each distinct set of values (by their JSON literals, exact: floats round-trip) is
    formatted and joined once and taken back to every row that has it."""
    literals = {h.name: json_values(values[h.name]) for h in plan.placeholders}
    n = len(next(iter(values.values()))) if values else 0
    if n == 0:
        empty = pa.array([], STRING)
        return {"text": empty, "facts": empty, "values": empty}
    first, back = distinct_rows([literals[h.name].dictionary_encode().indices.to_numpy(zero_copy_only=False)
                                 for h in plan.placeholders])
    if len(first) < n:
        pick = pa.array(first)
        values = {k: v.iloc[first].reset_index(drop=True) for k, v in values.items()}
        literals = {k: v.take(pick) for k, v in literals.items()}
    vals: list = ["{"]
    for i, h in enumerate(plan.placeholders):
        vals += [f"{',' if i else ''}{json.dumps(h.name)}:", literals[h.name]]
    vals.append("}")
    out = {**_text_and_facts(plan, values, literals), "values": join(*vals)}
    return out if len(first) == n else {k: v.take(pa.array(back)) for k, v in out.items()}


def _text_and_facts(plan: TemplatePlan, values: Mapping[str, pd.Series],
                    literals: Mapping[str, pa.Array]) -> dict[str, pa.Array]:
    """The text and facts (JSON list of {signal, value, text}) of each row of value columns and their literals."""
    texts = {h.name: format_values(values[h.name], h.fmt) for h in plan.placeholders}
    pieces: list = []
    for literal, name in plan.pieces:
        if literal:
            pieces.append(literal)
        if name is not None:
            pieces.append(texts[name])
    facts: list = ["["]
    for i, h in enumerate(plan.placeholders):
        facts += [f'{"," if i else ""}{{"signal":{json.dumps(h.column)},"value":', literals[h.name], ',"text":',
                  quoted_texts(texts[h.name], h.fmt), "}"]
    facts.append("]")
    n = len(next(iter(literals.values())))
    return {"text": join(*pieces) if pieces else pa.array([""] * n, STRING), "facts": join(*facts)}


# ------------------------------------------------------------------------------------ one row (per-row API)


def _one_row(row: Mapping[str, object]) -> pd.DataFrame:
    """A rationale_inputs row (Series or mapping) as a one-row frame of object columns."""
    items = row.items() if isinstance(row, Mapping) else zip(row.index, row.to_numpy(dtype=object), strict=True)
    return pd.DataFrame({k: pd.Series([v], dtype=object) for k, v in items})


def _value_series(value: object) -> pd.Series:
    """One placeholder value as a one-row object column (arrays as lists)."""
    return pd.Series([value.tolist() if isinstance(value, np.ndarray) else value], dtype=object)


def template_values(template: RationaleTemplate, row: Mapping[str, object]) -> dict[str, object]:
    """Pick a template's values from one row of rationale_inputs (keys `signal` or `<source>.<column>`)."""
    columns = template_value_columns(template_plan(template), _one_row(row))
    return {name: col.iat[0] for name, col in columns.items()}


def render_rationale(template: RationaleTemplate, values: Mapping[str, object]) -> tuple[str, list[dict]]:
    """Fill a template from values keyed by placeholder name; return (text, facts), one fact per placeholder.

    Raises RationaleError (with `.missing`) when any placeholder has no value (None, NaN, empty) or a value its
    format cannot quote. One row of the vectorized renderer (a few values are formatted by format_value itself).
    """
    plan = template_plan(template)
    columns = {h.name: _value_series(values.get(h.name)) for h in plan.placeholders}
    missing = [h.name for h in plan.placeholders if _missing(columns[h.name], h.fmt)[0]]
    if missing:
        raise RationaleError(template.id, missing)
    out = render_values(plan, columns)
    return out["text"][0].as_py(), json.loads(out["facts"][0].as_py())


def render_with_fallback(templates: Mapping[str, RationaleTemplate], template_id: str,
                         row: Mapping[str, object]) -> RenderedRationale:
    """Render the first template in the chain template_id -> fallback -> ... whose `requires` conditions hold
    on the row and that has every value it needs (choose_templates on one row); RationaleError if none can."""
    frame = _one_row(row)
    chosen = choose_templates(templates, np.array([template_id], dtype=object), frame, np.zeros(1, np.int64))[0]
    if chosen is None:
        chain = fallback_chain(templates, template_id)
        last = templates[chain[-1]]
        plan = template_plan(last)
        unmet = [t.describe() for t in last.requires if not ConditionMasks(frame)(t)[0]]
        values = template_value_columns(plan, frame)
        missing = [h.name for h in plan.placeholders if _missing(values[h.name], h.fmt)[0]]
        why = (f"requirement(s) not met: {'; '.join(unmet)}" if unmet else f"no value for {', '.join(missing)}")
        raise RationaleError(template_id, missing, f"no template in chain {' -> '.join(chain)} could be rendered: "
                                                   f"template {last.id!r}: {why}")
    out = render_template_rows(template_plan(templates[chosen]), frame, np.zeros(1, np.int64))
    return RenderedRationale(chosen, out["text"][0].as_py(), json.loads(out["facts"][0].as_py()))


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
