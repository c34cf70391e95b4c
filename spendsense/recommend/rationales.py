"""Rationales at scale: pick each recommendation's template (with fallbacks) and fill it for many rows at once.

The per-row reference is `spendsense.content.render_with_fallback` (with `format_value` and `template_values`);
this module produces the same template choice, text and facts for whole columns of rows:

- requirements and missing values are vector masks per template, so the fallback chain is resolved per column;
- numbers are rounded with integer arithmetic in numpy and turned into text with Arrow string kernels; values
  whose decimal rounding is not certain in floating point (exact halves such as 2.675, negative zero, huge
  values) are formatted by `format_value` itself;
- texts, facts and template values are joined from their pieces by Arrow (no Python per row), once per
  (user-window, template) however many items share that template;
- the tone check runs Arrow's RE2 over the normalized texts as a pre-filter (the same normalization and
  patterns as spendsense.guardrails.tone), then the exact `check_tone` on the few hits and on non-ASCII texts.
"""

from __future__ import annotations

import json
import string
from collections.abc import Mapping
from dataclasses import dataclass, fields

import numpy as np
import pandas as pd
import pyarrow as pa
import pyarrow.compute as pc

from spendsense.content import RationaleTemplate, format_value
from spendsense.guardrails import check_tone
from spendsense.guardrails.tone import APOSTROPHES, _alternation, _chunked
from spendsense.recommend.memo import by_identity

LIST_FORMAT = "list"
NUMERIC_FORMATS = ("usd", "pct", "rate", "months", "days", "count")
_BIG = 1e13  # beyond this the float fast path is not trusted
SMALL = 8  # up to this many values, numbers are formatted by format_value one by one (same strings)
STRING = pa.string()
# RE2 runs the tone rules several times faster as a few alternations of about this many pattern characters than as
# one (measured on 20,000 rationales: one 21,000-character regex 3.9 s; two of ~10,000 characters 0.085 s)
RE2_CHUNK_CHARS = 10_000


# --------------------------------------------------------------------------------------- arrow helpers


def _s(value) -> pa.Array | pa.Scalar:
    """A string array or scalar for Arrow kernels."""
    if isinstance(value, pa.Array | pa.ChunkedArray | pa.Scalar):
        return value
    if isinstance(value, str):
        return pa.scalar(value, STRING)
    return pa.array(value, STRING)


def join(*parts) -> pa.Array:
    """Element-wise concatenation of string arrays and literal strings."""
    return pc.binary_join_element_wise(*[_s(p) for p in parts], "")


def where(mask: np.ndarray, a, b) -> pa.Array:
    """Element-wise choice between two string arrays or literals."""
    return pc.if_else(pa.array(np.asarray(mask, dtype=bool)), _s(a), _s(b))


def _digits(n: np.ndarray) -> pa.Array:
    return pc.cast(pa.array(np.asarray(n, dtype=np.int64)), STRING)


def grouped(n: np.ndarray) -> pa.Array:
    """Non-negative integers with thousands separators ('3,400'), as Arrow strings."""
    n = np.asarray(n, dtype=np.int64)
    out = _digits(n % 1000)
    rest = n // 1000
    k = 0
    while rest.any():
        has = rest > 0
        head = _digits(rest % 1000)
        out = where(has, pc.binary_join_element_wise(head, pc.utf8_lpad(out, 3 + 4 * k, "0"), ","), out)
        rest = rest // 1000
        k += 1
    return out


# --------------------------------------------------------------------------------------------- formatting


def _half_up(x: np.ndarray, places: int) -> tuple[np.ndarray, np.ndarray]:
    """x rounded half away from zero at `places` decimals exactly as format_value rounds (half up on the
    shortest decimal spelling of x), as integers of 10**-places; plus an 'unsure' mask (non-finite or huge values)
    where the caller must use format_value itself.

    With n = floor(|x| * 10**places) (a float estimate, off by at most one next to an integer), the decimal
    halfway point t = (2n + 1) / (2 * 10**places) is compared with |x| as doubles: the shortest spelling of x
    lies on the same side of t as x does unless x is the double nearest to t, and then it is t itself, a tie
    that rounds up. So |x| >= double(t) decides exactly, with no per-value Python.
    """
    a = np.abs(x)
    scale = 10.0 ** places
    finite = np.isfinite(a) & (a * scale < _BIG)
    a = np.where(finite, a, 0.0)
    n = np.floor(a * scale)
    halfway = (2.0 * n + 1.0) / (2.0 * scale)
    rounded = (n + (a >= halfway)).astype(np.int64)
    return np.where(x < 0, -rounded, rounded), ~finite


def _plural_forms(unit: str) -> tuple[str, str]:
    one, _, many = unit.partition("|")
    return one, many or f"{one}s"


def _numeric(values) -> np.ndarray:
    """Values as float64 (nulls as NaN)."""
    s = values if isinstance(values, pd.Series) else pd.Series(np.asarray(values, dtype=object))
    return pd.to_numeric(s, errors="coerce").to_numpy(dtype=float, na_value=np.nan)


def _sign(neg: np.ndarray) -> pa.Array:
    return where(neg, "-", "")


def format_values(values, fmt: str) -> pa.Array:
    """Vectorized `spendsense.content.format_value` over non-missing values: the same strings, as Arrow strings."""
    base, _, unit = fmt.partition(":")
    if base in (LIST_FORMAT, "text"):
        if base == "text" and _all_strings(values):
            return _string_array(values)
        if base == LIST_FORMAT and isinstance(values, pd.Series):
            return format_lists(values)
        raw = values.to_numpy(dtype=object) if isinstance(values, pd.Series) else np.asarray(values, dtype=object)
        memo: dict = {}
        return pa.array([_memo_format(v, fmt, memo) for v in raw], STRING)
    if base not in NUMERIC_FORMATS:
        raise ValueError(f"unknown format {fmt!r}")
    x = _numeric(values)
    if len(x) <= SMALL:  # a few values: format_value itself is cheaper than the kernels' fixed cost
        return pa.array([format_value(float(v), fmt) for v in x], STRING)
    if base == "usd":
        cents, unsure = _half_up(x, 2)
        ac = np.abs(cents)
        dollars, unsure_d = _half_up(x, 0)
        unsure |= unsure_d
        whole = _digits(ac // 100)
        small = where(ac % 100 == 0, whole, join(whole, ".", pc.utf8_lpad(_digits(ac % 100), 2, "0")))
        body = where(ac >= 10000, grouped(np.abs(dollars)), small)
        out = join(where(cents < 0, "-$", "$"), body)
    elif base == "pct":
        p, unsure = _half_up(x * 100, 0)
        out = where((p == 0) & (x != 0), "less than 1%", join(_sign(p < 0), grouped(np.abs(p)), "%"))
        unsure = unsure | ((x == 0) & np.signbit(x))
    elif base == "rate":
        c, unsure = _half_up(x, 2)
        ac = np.abs(c)
        frac = ac % 100
        tail = where(frac == 0, "", where(frac % 10 == 0, join(".", _digits(frac // 10)),
                                          join(".", pc.utf8_lpad(_digits(frac), 2, "0"))))
        out = join(_sign(c < 0), grouped(ac // 100), tail, "%")
        unsure = unsure | ((c == 0) & ((x < 0) | np.signbit(x)))
    elif base == "months":
        t, unsure = _half_up(x, 1)
        at = np.abs(t)
        out = join(_sign(t < 0), grouped(at // 10), ".", _digits(at % 10), where(t == 10, " month", " months"))
        unsure = unsure | ((t == 0) & ((x < 0) | np.signbit(x)))
    else:  # days, count
        d, unsure = _half_up(x, 0)
        body = join(_sign(d < 0), grouped(np.abs(d)))
        if base == "days":
            out = join(body, where(d == 1, " day", " days"))
        elif unit:
            one, many = _plural_forms(unit)
            out = join(body, where(d == 1, " " + one, " " + many))
        else:
            out = body
        unsure = unsure | ((d == 0) & ((x < 0) | np.signbit(x)))
    if unsure.any():
        exact = pa.array([format_value(float(v), fmt) for v in x[unsure]], STRING)
        out = pc.replace_with_mask(out, pa.array(unsure), exact)
    return out


def _all_strings(values) -> bool:
    """Whether every value is a string (no nulls), checked without a Python loop."""
    if isinstance(values, pd.Series):
        if pd.api.types.is_string_dtype(values.dtype) and values.dtype != object:
            return not values.isna().any()
        values = values.to_numpy(dtype=object)
    return pd.api.types.infer_dtype(np.asarray(values, dtype=object), skipna=False) == "string"


def _string_array(values) -> pa.Array:
    arr = pa.array(values, STRING) if not isinstance(values, pd.Series) else pa.array(values, STRING, from_pandas=True)
    return arr.combine_chunks() if isinstance(arr, pa.ChunkedArray) else arr


def format_lists(values: pd.Series) -> pa.Array:
    """format_value(..., 'list') over a column of lists of texts: 'A', 'A and B', 'A, B, and C'."""
    lists = pa.array([list(v) if isinstance(v, list | tuple | np.ndarray) else None for v in values],
                     pa.list_(pa.string()))
    if lists.null_count:  # callers only format renderable rows; keep the exact rule for anything odd
        return pa.array([format_value(v, "list") for v in values], STRING)
    length = pc.list_value_length(lists).to_numpy(zero_copy_only=False)
    if (length == 0).any():
        return pa.array([format_value(v, "list") for v in values], STRING)
    offsets = lists.offsets.to_numpy()
    flat = lists.values
    first = flat.take(pa.array(offsets[:-1].astype(np.int64)))
    last = flat.take(pa.array((offsets[1:] - 1).astype(np.int64)))
    heads = pc.binary_join(_list_head(lists, length), ", ")
    two = join(first, " and ", last)
    many = join(heads, ", and ", last)
    return where(length == 1, first, where(length == 2, two, many))


def _list_head(lists: pa.Array, length: np.ndarray) -> pa.Array:
    """Each list without its last element."""
    offsets = lists.offsets.to_numpy()
    starts, ends = offsets[:-1], offsets[:-1] + np.maximum(length - 1, 0)
    keep = np.zeros(len(lists.values), dtype=bool)
    idx = np.repeat(np.arange(len(length)), np.maximum(length - 1, 0))
    pos = starts[idx] + (np.arange(len(idx)) - np.repeat(np.cumsum(np.maximum(length - 1, 0)) -
                                                         np.maximum(length - 1, 0), np.maximum(length - 1, 0)))
    keep[pos] = True
    new_offsets = np.concatenate([[0], np.cumsum(ends - starts)]).astype(np.int32)
    return pa.ListArray.from_arrays(pa.array(new_offsets), lists.values.filter(pa.array(keep)))


def _memo_format(value: object, fmt: str, memo: dict) -> str:
    if isinstance(value, np.ndarray):
        value = value.tolist()
    key = tuple(value) if isinstance(value, list) else value
    try:
        return memo[key]
    except KeyError:
        memo[key] = text = format_value(value, fmt)
        return text
    except TypeError:  # unhashable
        return format_value(value, fmt)


def json_values(values) -> pa.Array:
    """JSON literals of non-missing values (numbers, booleans, strings, lists of strings), as Arrow strings.

    Floats use the shortest decimal that round-trips (as Python's json/repr)."""
    s = values if isinstance(values, pd.Series) else pd.Series(np.asarray(values, dtype=object))
    if pd.api.types.is_bool_dtype(s.dtype):
        return where(s.to_numpy(dtype=bool), "true", "false")
    if pd.api.types.is_integer_dtype(s.dtype):
        return _digits(s.to_numpy(dtype=np.int64))
    if pd.api.types.is_float_dtype(s.dtype):
        return pc.cast(pa.array(s.to_numpy(dtype=float, na_value=np.nan)), STRING)
    return json_strings(s.to_numpy(dtype=object))


def json_strings(values) -> pa.Array:
    """JSON literals of strings (escaped once per distinct value) or, for other values, json.dumps per value."""
    arr = values if isinstance(values, pa.Array) else None
    if arr is None and _all_strings(values):
        arr = _string_array(values)
    if arr is not None and pa.types.is_string(arr.type):
        enc = arr.dictionary_encode()
        dumped = pa.array([json.dumps(v) for v in enc.dictionary.to_pylist()], STRING)
        return dumped.take(enc.indices)
    out = []
    for v in np.asarray(values, dtype=object):
        if isinstance(v, np.ndarray):
            v = v.tolist()
        if isinstance(v, list | tuple):
            v = [x.item() if isinstance(x, np.generic) else x for x in v]
        elif isinstance(v, np.generic):
            v = v.item()
        out.append(json.dumps(v))
    return pa.array(out, STRING)


def _quoted(texts: pa.Array, fmt: str) -> pa.Array:
    """JSON string literals of formatted texts: numbers only need quotes; names and lists are escaped."""
    base, _, unit = fmt.partition(":")
    if base in NUMERIC_FORMATS and json.dumps(unit)[1:-1] == unit:
        return join('"', texts, '"')
    return json_strings(texts)


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
    return ~np.isfinite(_numeric(series))


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
    from spendsense.recommend.select import ConditionMasks

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
    rows = np.asarray(rows, dtype=np.int64)
    values = template_value_columns(plan, inputs, rows)
    texts = {h.name: format_values(values[h.name], h.fmt) for h in plan.placeholders}
    literals = {h.name: json_values(values[h.name]) for h in plan.placeholders}
    pieces: list = []
    for literal, name in plan.pieces:
        if literal:
            pieces.append(literal)
        if name is not None:
            pieces.append(texts[name])
    n = len(rows)
    text = join(*pieces) if pieces else pa.array([""] * n, STRING)
    facts: list = ["["]
    vals: list = ["{"]
    for i, h in enumerate(plan.placeholders):
        sep = "," if i else ""
        facts += [f'{sep}{{"signal":{json.dumps(h.column)},"value":', literals[h.name], ',"text":',
                  _quoted(texts[h.name], h.fmt), "}"]
        vals += [f"{sep}{json.dumps(h.name)}:", literals[h.name]]
    facts.append("]")
    vals.append("}")
    if n == 0:
        empty = pa.array([], STRING)
        return {"text": empty, "facts": empty, "values": empty}
    return {"text": text, "facts": join(*facts), "values": join(*vals)}


# -------------------------------------------------------------------------------------------------- tone


def _raw_pattern(pattern: str) -> str:
    """A tone pattern written for normalized text, made to run on lower-cased raw text: every space (one run of
    punctuation or spacing after normalization) matches one or more characters other than a-z and 0-9."""
    return pattern.replace(" ", "(?:[^a-z0-9]+)")


def tone_candidates(texts: pa.Array, guardrails) -> np.ndarray:
    """Texts that need the exact tone check: those where a rule could match, found with Arrow's RE2 on the
    lower-cased text (apostrophes deleted, '_' spaced, each pattern space allowed to match any run of non
    a-z0-9 characters, which is what normalization collapses to one space), plus every non-ASCII text (where
    case folding can differ from lower-casing). A superset of check_tone's hits: false positives only cost the
    exact check."""
    if not len(texts):
        return np.zeros(0, dtype=bool)
    patterns = [p for rule in guardrails.tone_rules for p in rule.patterns]
    odd = ~pc.string_is_ascii(texts).to_numpy(zero_copy_only=False)
    low = pc.utf8_lower(texts)
    for ch in APOSTROPHES:
        if ch.isascii():
            low = pc.replace_substring(low, ch, "")
    low = pc.replace_substring(low, "_", " ")
    hit = np.zeros(len(texts), dtype=bool)
    for chunk in _chunked(patterns, RE2_CHUNK_CHARS):
        try:
            hit |= pc.match_substring_regex(low, _raw_pattern(_alternation(chunk).pattern)) \
                .to_numpy(zero_copy_only=False)
        except pa.ArrowInvalid:  # a pattern RE2 cannot run: check everything exactly
            return np.ones(len(texts), dtype=bool)
    return hit | odd


def tone_outcomes(texts: pa.Array, facts: pa.Array, guardrails) -> dict[str, object]:
    """The tone check of every text: action (pass | rewrite | reject), final text (None on reject), matches (JSON)
    and the matched rule ids. A rewrite that would alter a quoted value (so a fact no longer appears in the
    text) is a rejection: the facts must be quoted exactly."""
    n = len(texts)
    action = np.full(n, "pass", dtype=object)
    final = texts
    matches = np.full(n, "[]", dtype=object)
    rules = np.full(n, "", dtype=object)
    check = np.flatnonzero(tone_candidates(texts, guardrails))
    if check.size:
        text_list = texts.take(pa.array(check)).to_pylist()
        fact_list = facts.take(pa.array(check)).to_pylist()
        new_final = []
        for i, text, fj in zip(check, text_list, fact_list, strict=True):
            res = check_tone(text, guardrails)
            act, out = res.action, res.final_text
            if act == "rewrite" and any(f["text"] not in out for f in json.loads(fj)):
                act, out = "reject", None
            action[i] = act
            new_final.append(out)
            if res.matches:
                matches[i] = json.dumps([m.as_dict() for m in res.matches])
                rules[i] = ",".join(dict.fromkeys(m.rule_id for m in res.matches))
        mask = np.zeros(n, dtype=bool)
        mask[check] = True
        final = pc.replace_with_mask(texts, pa.array(mask), pa.array(new_final, STRING))
    return {"action": action, "final": final, "matches": pa.array(matches, STRING), "rules": pa.array(rules, STRING)}


# ------------------------------------------------------------------------------------------------ units


@dataclass(frozen=True)
class RenderedUnits:
    """Rendered rationales, one per (row, template) unit, with their tone outcome."""

    row: np.ndarray  # row of inputs
    template_id: np.ndarray
    text: pa.Array  # as rendered
    final_text: pa.Array  # after the tone check (rewrite applied); null when rejected
    facts: pa.Array  # JSON
    values: pa.Array  # JSON
    tone_action: np.ndarray  # pass | rewrite | reject
    tone_matches: pa.Array  # JSON list of matches
    tone_rules: pa.Array  # matched rule ids, ',' joined ('' on pass)
    ok: np.ndarray  # may be shown

    @staticmethod
    def concat(parts: list[RenderedUnits]) -> RenderedUnits:
        """One RenderedUnits from several (in order)."""
        if not parts:
            e = pa.array([], STRING)
            return RenderedUnits(np.zeros(0, np.int64), np.zeros(0, object), e, e, e, e, np.zeros(0, object), e, e,
                                 np.zeros(0, bool))
        out = {}
        for f in fields(RenderedUnits):
            vals = [getattr(p, f.name) for p in parts]
            out[f.name] = pa.concat_arrays(vals) if isinstance(vals[0], pa.Array) else np.concatenate(vals)
        return RenderedUnits(**out)


def render_units(templates: Mapping[str, RationaleTemplate], rows: np.ndarray, template_ids: np.ndarray,
                 inputs: pd.DataFrame, guardrails) -> RenderedUnits:
    """Render (row, template) units grouped by template, then tone-check every text at once."""
    rows = np.asarray(rows, dtype=np.int64)
    template_ids = np.asarray(template_ids, dtype=object)
    codes, vocab = pd.factorize(template_ids, sort=True)
    order = np.argsort(codes, kind="stable")
    rows, template_ids, codes = rows[order], template_ids[order], codes[order]
    bounds = np.searchsorted(codes, np.arange(len(vocab) + 1))
    chunks = {"text": [], "facts": [], "values": []}
    for k, tid in enumerate(vocab):
        sel = np.arange(bounds[k], bounds[k + 1])
        out = render_template_rows(template_plan(templates[tid]), inputs, rows[sel])
        for key, value in out.items():
            chunks[key].append(value)
    if not len(rows):
        return RenderedUnits.concat([])
    text, facts, values = (pa.concat_arrays(chunks[k]) for k in ("text", "facts", "values"))
    tone = tone_outcomes(text, facts, guardrails)
    return RenderedUnits(rows, template_ids, text, tone["final"], facts, values, tone["action"], tone["matches"],
                         tone["rules"], tone["action"] != "reject")
