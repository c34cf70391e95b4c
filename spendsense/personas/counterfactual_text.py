"""The changes JSON and the operator and customer texts of counterfactuals, built column-wise with Arrow kernels."""

from __future__ import annotations

import json
from typing import TYPE_CHECKING

import numpy as np
import pandas as pd
import pyarrow as pa
import pyarrow.compute as pc

from spendsense.personas.assign import _json_threshold, _json_values
from spendsense.personas.config import NEGATED_OPS, NONE_PERSONA_ID, NULL_OPS, PersonaConfig
from spendsense.personas.phrases import SignalPhrase, SignalPhrases, format_number, format_values

if TYPE_CHECKING:
    from spendsense.personas.counterfactual import Flip

# how the new value's side of the threshold reads, per operator it must satisfy: (operator, customer) wording
_SEPARATORS = pa.array(["", " and ", ", and ", ", "])  # before the 1st, the 2nd of 2, the last of 3+, others
_SIDE = {"<": ("below {}", "under {}"), "<=": ("{} or less", "{} or less"), ">": ("above {}", "over {}"),
         ">=": ("{} or more", "{} or more"), "==": ("{}", "{}"), "!=": ("other than {}", "other than {}")}


def _join(*parts: pa.Array | pa.Scalar | str) -> pa.Array:
    """Element-wise concatenation (null where any part is null)."""
    return pc.binary_join_element_wise(*[pa.scalar(p) if isinstance(p, str) else p for p in parts], "")


def _distinct_formatted(values: np.ndarray, fmt: str) -> pa.Array:
    """format_values on the distinct values only (thresholds take one or two), taken back to every row."""
    distinct, where = np.unique(values, return_inverse=True)
    return pc.take(format_values(distinct, fmt), pa.array(where.ravel()))


def _side(op: str, threshold: np.ndarray, phrase: SignalPhrase, customer: bool) -> pa.Array:
    """'below 50%', '$0', '46 days or more': the side of the threshold a new value is on, per row."""
    t = threshold.astype(float)
    if phrase.format == "count" and op in ("<", ">") and np.all(t == np.round(t)):
        t, op = (t - 1, "<=") if op == "<" else (t + 1, ">=")  # whole numbers: "1 or fewer", not "below 2"
    text = _distinct_formatted(t, phrase.format)
    template = _SIDE[op][customer]
    if phrase.format == "count":
        template = template.replace("or less", "or fewer")
    bound = phrase.min if op == "<=" else phrase.max if op == ">=" else None
    before, _, after = template.partition("{}")
    if bound is None:
        return _join(before, text, after)
    return pc.if_else(pa.array(t == bound), text, _join(before, text, after))  # "to $0", not "to $0 or less"


def _pieces(flip: Flip, want_pass: bool, rows: np.ndarray) -> tuple[pa.Array, pa.Array, pa.Array]:
    """Operator piece, customer piece and JSON object of one condition flipped to pass (or fail), on `rows`."""
    ev, phrase = flip.evaluated, flip.phrase
    op = ev.condition.op if want_pass else NEGATED_OPS[ev.condition.op]
    to = (flip.to_pass if want_pass else flip.to_fail)[rows]
    value = ev.value.iloc[rows]
    threshold = None if ev.threshold is None else ev.threshold[rows]
    numbers = flip.numeric_value()[rows]
    now = format_values(np.asarray(value, dtype=object) if phrase.format == "text" else numbers, phrase.format)
    if ev.condition.op in NULL_OPS or (threshold is not None and threshold.dtype == object):
        shown_to = pa.array(np.full(len(to), phrase.null_label)) if op == "is_null" else format_values(to, "text")
        side_op = side_customer = shown_to
    elif phrase.format == "flag":
        side_op = format_values(to, "flag")
        side_customer = pc.if_else(pa.array(to == 1), phrase.customer_states[1], phrase.customer_states[0])
    else:
        side_op = _side(op, threshold, phrase, customer=False)
        side_customer = _side(op, threshold, phrase, customer=True)
    now = pc.fill_null(now, phrase.null_label)
    operator = _join(phrase.label, " from ", now, " to ", side_op)
    customer = side_customer if phrase.format == "flag" else _join(phrase.customer_label, " went from ", now,
                                                                     " to ", side_customer)
    head = (f'{{"persona_id":{json.dumps(ev.persona_id)},"rule":{json.dumps(ev.rule)},'
            f'"signal":{json.dumps(ev.condition.signal)},"label":{json.dumps(phrase.label)},'
            f'"op":{json.dumps(ev.condition.op)},"threshold":')
    to_json = _json_values(pd.Series(to, dtype=object if to.dtype == object else float))
    obj = pc.binary_join_element_wise(head, _json_threshold(threshold), ',"value":', _json_values(value),
                                      ',"to":', to_json, f',"passes":{json.dumps(want_pass)}}}', "")
    return operator, customer, obj


def _scatter(n: int, rows: np.ndarray, values: pa.Array) -> pa.Array:
    """A length-n text array holding values at rows and null elsewhere."""
    where = np.full(n, len(rows))
    where[rows] = np.arange(len(rows))
    return pc.take(pa.concat_arrays([values.cast(pa.string()), pa.nulls(1, pa.string())]), pa.array(where))


def _flip_pieces(flip: Flip, flipped: np.ndarray, want_pass: np.ndarray) -> list[pa.Array]:
    """Operator piece, customer piece and JSON object of one condition on the rows that flip it (null elsewhere)."""
    n = len(flipped)
    out = [pa.nulls(n, pa.string())] * 3
    for direction in (True, False):
        rows = np.flatnonzero(flipped & (want_pass == direction))
        if len(rows):
            out = [pc.coalesce(old, _scatter(n, rows, new)) for old, new in zip(out, _pieces(flip, direction, rows))]
    return out


def _step_back(flip: Flip, want_pass: np.ndarray) -> np.ndarray:
    """Per row, whether the change moves the signal the wrong way for the person (or from / to a missing value)."""
    value = flip.numeric_value()
    to = np.where(want_pass, flip.to_pass, flip.to_fail)
    if to.dtype == object:
        return np.ones(len(value), dtype=bool)
    with np.errstate(invalid="ignore"):
        delta = to - value
    wrong = delta > 0 if flip.phrase.better == "lower" else delta < 0
    return wrong | np.isnan(delta)


def _choose(condition: np.ndarray, when_true: pa.Array | pa.Scalar, when_false: pa.Array) -> pa.Array:
    """Row-wise pick between two text arrays."""
    return pc.if_else(pa.array(condition, pa.bool_()), when_true, when_false)


def counterfactual_texts(frame: pd.DataFrame, cfg: PersonaConfig, phrases: SignalPhrases, flat: list[Flip],
                         mask: np.ndarray, want_pass: np.ndarray, current: np.ndarray, target: np.ndarray,
                         cost: np.ndarray) -> dict[str, pd.Series]:
    """changes (JSON list), text_operator and text_customer for every row."""
    n = len(frame)
    order = np.cumsum(mask, axis=1)
    total = mask.sum(axis=1)
    ops, customers, objects = [], [], []
    step_back = np.zeros(n, dtype=bool)
    for flip in flat:
        flipped = mask[:, flip.index]
        if not flipped.any():
            continue
        k = order[:, flip.index]
        last = k == total
        sep = pc.take(_SEPARATORS, pa.array(np.select([k == 1, last & (total == 2), last], [0, 1, 2], 3)))
        op_piece, customer_piece, json_piece = _flip_pieces(flip, flipped, want_pass)
        ops.append(_join(sep, op_piece))
        customers.append(_join(sep, customer_piece))
        objects.append(_join(pc.if_else(pa.array(k == 1), "", ","), json_piece))
        step_back |= flipped & _step_back(flip, want_pass)

    def joined(parts: list[pa.Array]) -> pa.Array:
        empty = pa.array(np.full(n, ""), pa.string())
        return pc.binary_join_element_wise(empty, *parts, "", null_handling="replace", null_replacement="")

    op_text, cust_text, json_text = joined(ops), joined(customers), joined(objects)
    keys = [p.id for p in cfg.personas] + [NONE_PERSONA_ID]
    concern = np.array([phrases.personas[k].concern for k in keys])
    reached = pd.notna(target)
    now_i = pa.array(pd.Index(keys).get_indexer(current))
    to_codes = pd.Index(keys).get_indexer(np.where(reached, target, NONE_PERSONA_ID))
    to_i = pa.array(to_codes)

    def per_persona(texts: list[str], codes: pa.Array) -> pa.Array:
        """One text per persona, taken to every row by persona index."""
        return pc.take(pa.array(texts, pa.string()), codes)

    focus = [phrases.personas[k].focus for k in keys]
    steady = per_persona([phrases.personas[k].steady for k in keys], now_i)
    distance = format_number(np.nan_to_num(cost), 2)
    first = pc.utf8_upper(pc.utf8_slice_codeunits(op_text, 0, 1))
    operator = _join(first, pc.utf8_slice_codeunits(op_text, 1), " → ", per_persona(keys, to_i),
                     " (distance ", distance, ")")
    stuck = _choose(want_pass, pa.scalar("No single signal change would give this user a persona"),
                    per_persona([f"No single signal change would move this user out of {k}" for k in keys], now_i))
    customer = _join("If ", cust_text, ", your focus would move from ", per_persona(focus, now_i), " to ",
                     per_persona(focus, to_i), ".")
    customer = _choose(step_back | (want_pass & concern[to_codes]), steady, customer)
    no_move = _choose(want_pass, steady, per_persona(
        [f"No single change in your recent activity would move your focus away from {f}." for f in focus], now_i))
    return {
        "changes": _join("[", json_text, "]").to_pandas(),
        "text_operator": _choose(reached, operator, stuck).to_pandas(),
        "text_customer": _choose(reached, customer, no_move).to_pandas(),
    }
