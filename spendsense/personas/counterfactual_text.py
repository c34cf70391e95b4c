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
_SIDE = {"<": ("below {}", "under {}"), "<=": ("{} or less", "{} or less"), ">": ("above {}", "over {}"),
         ">=": ("{} or more", "{} or more"), "==": ("{}", "{}"), "!=": ("other than {}", "other than {}")}


def _join(*parts: pa.Array | pa.Scalar | str) -> pa.Array:
    """Element-wise concatenation (null where any part is null)."""
    return pc.binary_join_element_wise(*[pa.scalar(p) if isinstance(p, str) else p for p in parts], "")


def _side(op: str, threshold: np.ndarray, phrase: SignalPhrase, customer: bool) -> pa.Array:
    """'below 50%', '$0', '46 days or more': the side of the threshold a new value is on, per row."""
    t = threshold.astype(float)
    if phrase.format == "count" and op in ("<", ">") and np.all(t == np.round(t)):
        t, op = (t - 1, "<=") if op == "<" else (t + 1, ">=")  # whole numbers: "1 or fewer", not "below 2"
    text = format_values(t, phrase.format)
    template = _SIDE[op][customer]
    if phrase.format == "count":
        template = template.replace("or less", "or fewer")
    bound = phrase.min if op == "<=" else phrase.max if op == ">=" else None
    before, _, after = template.partition("{}")
    if bound is None:
        return _join(before, text, after)
    return pc.if_else(pa.array(t == bound), text, _join(before, text, after))  # "to $0", not "to $0 or less"


def _pieces(flip: Flip, want_pass: bool) -> tuple[pa.Array, pa.Array, pa.Array]:
    """Operator piece, customer piece and JSON object of one condition flipped to pass (or fail), every row."""
    ev, phrase = flip.evaluated, flip.phrase
    op = ev.condition.op if want_pass else NEGATED_OPS[ev.condition.op]
    to = flip.to_pass if want_pass else flip.to_fail
    values = np.asarray(ev.value, dtype=object) if phrase.format == "text" else flip.numeric_value()
    now = format_values(values, phrase.format)
    if ev.condition.op in NULL_OPS or (ev.threshold is not None and ev.threshold.dtype == object):
        shown_to = pa.array(np.full(len(to), phrase.null_label)) if op == "is_null" else format_values(to, "text")
        side_op = side_customer = shown_to
    else:
        if phrase.format == "flag":
            side_op = format_values(to, "flag")
            side_customer = pc.if_else(pa.array(to == 1), phrase.customer_states[1], phrase.customer_states[0])
        else:
            side_op = _side(op, ev.threshold, phrase, customer=False)
            side_customer = _side(op, ev.threshold, phrase, customer=True)
    now = pc.fill_null(now, phrase.null_label)
    operator = _join(phrase.label, " from ", now, " to ", side_op)
    customer = side_customer if phrase.format == "flag" else _join(phrase.customer_label, " went from ", now,
                                                                     " to ", side_customer)
    head = (f'{{"persona_id":{json.dumps(ev.persona_id)},"rule":{json.dumps(ev.rule)},'
            f'"signal":{json.dumps(ev.condition.signal)},"label":{json.dumps(phrase.label)},'
            f'"op":{json.dumps(ev.condition.op)},"threshold":')
    to_json = _json_values(pd.Series(to, dtype=object if to.dtype == object else float))
    obj = pc.binary_join_element_wise(head, _json_threshold(ev.threshold), ',"value":', _json_values(ev.value),
                                      ',"to":', to_json, f',"passes":{json.dumps(want_pass)}}}', "")
    return operator, customer, obj


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


def _choose(condition: np.ndarray, when_true: pa.Array, when_false: pa.Array) -> pa.Array:
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
        sep = np.select([k == 1, last & (total == 2), last], ["", " and ", ", and "], ", ")
        sep_json = np.where(k == 1, "", ",")
        op_p, cust_p, obj_p = _pieces(flip, True)
        op_f, cust_f, obj_f = _pieces(flip, False)
        on = pa.array(flipped)
        ops.append(pc.if_else(on, _join(pa.array(sep), _choose(want_pass, op_p, op_f)), None))
        customers.append(pc.if_else(on, _join(pa.array(sep), _choose(want_pass, cust_p, cust_f)), None))
        objects.append(pc.if_else(on, _join(pa.array(sep_json), _choose(want_pass, obj_p, obj_f)), None))
        step_back |= flipped & _step_back(flip, want_pass)

    def joined(parts: list[pa.Array]) -> pa.Array:
        empty = pa.array(np.full(n, ""), pa.string())
        return pc.binary_join_element_wise(empty, *parts, "", null_handling="replace", null_replacement="")

    op_text, cust_text, json_text = joined(ops), joined(customers), joined(objects)
    keys = [p.id for p in cfg.personas] + [NONE_PERSONA_ID]
    focus = np.array([phrases.personas[k].focus for k in keys], dtype=object)
    steady = np.array([phrases.personas[k].steady for k in keys], dtype=object)
    concern = np.array([phrases.personas[k].concern for k in keys])
    now_i = pd.Index(keys).get_indexer(current)
    reached = pd.notna(target)
    to_i = pd.Index(keys).get_indexer(np.where(reached, target, NONE_PERSONA_ID))

    distance = format_number(np.nan_to_num(cost), 2)
    first = pc.utf8_upper(pc.utf8_slice_codeunits(op_text, 0, 1))
    operator = _join(first, pc.utf8_slice_codeunits(op_text, 1), " → ", pa.array(target.astype(str), pa.string()),
                     " (distance ", distance, ")")
    stuck = pa.array(np.where(want_pass, "No single signal change would give this user a persona",
                              np.char.add("No single signal change would move this user out of ",
                                          current.astype(str))), pa.string())
    customer = _join("If ", cust_text, ", your focus would move from ", pa.array(focus[now_i], pa.string()), " to ",
                     pa.array(focus[to_i], pa.string()), ".")
    supportive = step_back | (want_pass & concern[to_i])
    customer = _choose(supportive, pa.array(steady[now_i], pa.string()), customer)
    no_move = np.where(want_pass, steady[now_i], "No single change in your recent activity would move your focus "
                       "away from " + focus[now_i].astype(str) + ".")
    customer = _choose(reached, customer, pa.array(no_move.astype(str), pa.string()))
    return {
        "changes": _join("[", json_text, "]").to_pandas(),
        "text_operator": _choose(reached, operator, stuck).to_pandas(),
        "text_customer": customer.to_pandas(),
    }
