"""The changes JSON and the operator and customer texts of counterfactuals, built with Arrow kernels on one element
per (row, flipped condition) and joined per row as lists, so the work grows with the changes stated, not with
rows x conditions."""

from __future__ import annotations

import json
from typing import TYPE_CHECKING

import numpy as np
import pandas as pd
import pyarrow as pa
import pyarrow.compute as pc

from spendsense.content.formats import distinct_rows
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
    """format_values on the distinct values only (by bit pattern, so -0.0 stays itself), taken back to every row."""
    values = np.ascontiguousarray(values, dtype=float)
    _, first, where = np.unique(values.view(np.int64), return_index=True, return_inverse=True)
    return pc.take(format_values(values[first], fmt), pa.array(where.ravel()))


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


def _pieces(flip: Flip, want_pass: bool, rows: np.ndarray, first: np.ndarray) -> tuple[pa.Array, pa.Array, pa.Array]:
    """Operator piece, customer piece and JSON object of one condition flipped to pass (or fail), on `rows`
    (the operator piece capitalized where it opens its row's text)."""
    ev, phrase = flip.evaluated, flip.phrase
    op = ev.condition.op if want_pass else NEGATED_OPS[ev.condition.op]
    to = flip.to(want_pass)[rows]
    value = ev.value.iloc[rows]
    threshold = None if ev.threshold is None else ev.threshold[rows]
    numbers = flip.number[rows]
    now = format_values(np.asarray(value, dtype=object), "text") if phrase.format == "text" else \
        _distinct_formatted(numbers, phrase.format)
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
    label = pc.if_else(pa.array(first), phrase.label[:1].upper() + phrase.label[1:], phrase.label)
    operator = _join(label, " from ", now, " to ", side_op)
    customer = side_customer if phrase.format == "flag" else _join(phrase.customer_label, " went from ", now,
                                                                     " to ", side_customer)
    head = (f'{{"persona_id":{json.dumps(ev.persona_id)},"rule":{json.dumps(ev.rule)},'
            f'"signal":{json.dumps(ev.condition.signal)},"label":{json.dumps(phrase.label)},'
            f'"op":{json.dumps(ev.condition.op)},"threshold":')
    to_json = _json_values(pd.Series(to, dtype=object if to.dtype == object else float))
    obj = pc.binary_join_element_wise(head, _json_threshold(threshold), ',"value":', _json_values(value),
                                      ',"to":', to_json, f',"passes":{json.dumps(want_pass)}}}', "")
    return operator, customer, obj


def _elements(flat: list[Flip], rep: np.ndarray, mask: np.ndarray,
              want_pass: np.ndarray) -> tuple[list[pa.Array], np.ndarray]:
    """The operator pieces (with separators), customer pieces (with separators) and JSON objects of every flipped
    condition, one element per (row, condition) in row then config order, and per element whether it steps back
    (rows of mask and want_pass are the flips' rows `rep`)."""
    rows, leaf = np.nonzero(mask)  # row-major: each row's conditions in config order
    total = mask.sum(axis=1)[rows]
    k = np.arange(len(rows)) - np.searchsorted(rows, rows) + 1  # 1-based position within its row
    first, last = k == 1, k == total
    sep = pc.take(_SEPARATORS, pa.array(np.select([first, last & (total == 2), last], [0, 1, 2], 3)))
    direction = want_pass[rows]
    parts: list[list[pa.Array]] = [[], [], []]
    placed: list[np.ndarray] = []
    step_back = np.zeros(len(rows), dtype=bool)
    for flip in flat:
        for d in (True, False):
            at = np.flatnonzero((leaf == flip.index) & (direction == d))
            if not len(at):
                continue
            for part, piece in zip(parts, _pieces(flip, d, rep[rows[at]], first[at])):
                part.append(piece.cast(pa.string()))
            placed.append(at)
            step_back[at] = ~flip.better(d)[rep[rows[at]]]
    if not placed:
        return [pa.array([], pa.string())] * 3, step_back
    order = np.empty(len(rows), dtype=np.int64)
    order[np.concatenate(placed)] = np.arange(len(rows))
    where = pa.array(order)
    operator, customer, objects = (pc.take(pa.concat_arrays(part), where) for part in parts)
    return [_join(sep, operator), _join(sep, customer), objects], step_back


def _per_row(elements: pa.Array, counts: np.ndarray, separator: str) -> pa.Array:
    """Each row's consecutive elements joined with the separator ('' for a row without any)."""
    offsets = pa.array(np.concatenate([[0], np.cumsum(counts)]), pa.int64())
    return pc.binary_join(pa.LargeListArray.from_arrays(offsets, elements), separator)


def _choose(condition: np.ndarray, when_true: pa.Array | pa.Scalar, when_false: pa.Array) -> pa.Array:
    """Row-wise pick between two text arrays."""
    return pc.if_else(pa.array(condition, pa.bool_()), when_true, when_false)


def _text_inputs(flat: list[Flip], mask: np.ndarray, now: np.ndarray, target: np.ndarray, cost: np.ndarray,
                 windows: np.ndarray) -> list[np.ndarray]:
    """Everything a row's texts depend on: persona codes, cost, window (it sets thresholds), which conditions
    flip, and the flipped signals' values (floats by bit pattern, other values as they are)."""
    columns = [now, target, np.ascontiguousarray(cost, dtype=float).view(np.int64), windows]
    weights = np.int64(1) << np.arange(62, dtype=np.int64)
    columns += [mask[:, i:i + 62].astype(np.int64) @ weights[:mask[:, i:i + 62].shape[1]]
                for i in range(0, mask.shape[1], 62)]
    for flip in flat:
        flipped = mask[:, flip.index]
        if flipped.any():
            numeric = flip.evaluated.value.dtype != object and flip.phrase.format != "text"
            value = flip.number.view(np.int64) if numeric else pd.factorize(flip.evaluated.value)[0]
            columns.append(np.where(flipped, value, 0))
    return columns


def counterfactual_texts(cfg: PersonaConfig, phrases: SignalPhrases, flat: list[Flip], mask: np.ndarray,
                         want_pass: np.ndarray, now: np.ndarray, target: np.ndarray, cost: np.ndarray,
                         windows: np.ndarray) -> dict[str, pd.Series]:
    """changes (JSON list), text_operator and text_customer for every row, built once per distinct row of inputs
    and taken to every row; `now` and `target` are persona codes (config order, then `none`; target -1 where
    nothing is reached)."""
    rep, back = distinct_rows(_text_inputs(flat, mask, now, target, cost, windows))
    texts = _texts(cfg, phrases, flat, rep, mask[rep], want_pass[rep], now[rep], target[rep], cost[rep])
    where = pa.array(back)
    return {name: pc.take(text, where).to_pandas() for name, text in texts.items()}


def _texts(cfg: PersonaConfig, phrases: SignalPhrases, flat: list[Flip], rep: np.ndarray, mask: np.ndarray,
           want_pass: np.ndarray, now: np.ndarray, target: np.ndarray, cost: np.ndarray) -> dict[str, pa.Array]:
    """The three texts of the rows `rep` (mask ... cost given on those rows)."""
    counts = mask.sum(axis=1)
    (op_el, customer_el, json_el), step_back_el = _elements(flat, rep, mask, want_pass)
    op_text, cust_text = _per_row(op_el, counts, ""), _per_row(customer_el, counts, "")
    json_text = _per_row(json_el, counts, ",")
    step_back = np.zeros(len(mask), dtype=bool)
    step_back[np.nonzero(mask)[0][step_back_el]] = True

    keys = [p.id for p in cfg.personas] + [NONE_PERSONA_ID]
    concern = np.array([phrases.personas[k].concern for k in keys])
    reached = target >= 0
    to_codes = np.where(reached, target, len(keys) - 1)
    now_i, to_i = pa.array(now), pa.array(to_codes)

    def per_persona(texts: list[str], codes: pa.Array) -> pa.Array:
        """One text per persona, taken to every row by persona index."""
        return pc.take(pa.array(texts, pa.string()), codes)

    focus = [phrases.personas[k].focus for k in keys]
    steady = per_persona([phrases.personas[k].steady for k in keys], now_i)
    distance = format_number(np.nan_to_num(cost), 2)
    operator = _join(op_text, " → ", per_persona(keys, to_i), " (distance ", distance, ")")
    stuck = _choose(want_pass, pa.scalar("No single signal change would give this user a persona"),
                    per_persona([f"No single signal change would move this user out of {k}" for k in keys], now_i))
    customer = _join("If ", cust_text, ", your focus would move from ", per_persona(focus, now_i), " to ",
                     per_persona(focus, to_i), ".")
    customer = _choose(step_back | (want_pass & concern[to_codes]), steady, customer)
    no_move = _choose(want_pass, steady, per_persona(
        [f"No single change in your recent activity would move your focus away from {f}." for f in focus], now_i))
    return {
        "changes": _join("[", json_text, "]"),
        "text_operator": _choose(reached, operator, stuck),
        "text_customer": _choose(reached, customer, no_move),
    }
