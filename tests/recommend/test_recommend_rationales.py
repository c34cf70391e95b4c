"""Vectorized formats agree exactly with the scalar reference (format_value); rendering many rows at once agrees
with rendering each row alone (the per-row API, whose few values format_value formats) and with the scalar
requirement check (Trigger.holds); and the tone pre-filter never misses what check_tone flags."""

from __future__ import annotations

import json
import sys
from pathlib import Path

import numpy as np
import pandas as pd
import pyarrow as pa
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

sys.path.insert(0, str(Path(__file__).parent))

import recommend_fixtures as F

from spendsense.content import (
    format_value,
    rationale_inputs,
    render_rationale,
    render_with_fallback,
    template_values,
)
from spendsense.content.formats import format_values, json_values
from spendsense.content.rationale import choose_templates, render_template_rows, template_plan
from spendsense.guardrails import check_tone
from spendsense.recommend.rationales import render_units, tone_candidates

CATALOG, SCORING, GUARDRAILS = F.config()
NUMERIC = ["usd", "pct", "rate", "months", "days", "count", "count:fee", "count:person|people"]

HALVES = [2.675, 0.685, 0.005, -0.005, 99.995, 100.5, 999.5, 41.005, 0.125, 2.5, -2.5, 1234.565, 0.0449999]
EDGES = [0.0, -0.0, 1.0, 0.999, 1e-9, 1e12, -1234.5, 1 / 3, 1000.0, 999.999, 0.15, 0.95]


@pytest.mark.parametrize("fmt", NUMERIC)
def test_format_values_matches_format_value_on_ties_and_edges(fmt):
    values = HALVES + EDGES
    assert format_values(pd.Series(values), fmt).to_pylist() == [format_value(v, fmt) for v in values]


@settings(max_examples=60, deadline=None)
@given(st.lists(st.one_of(st.floats(-1e9, 1e9, allow_nan=False, allow_infinity=False),
                          st.integers(-10**7, 10**7).map(lambda c: c / 100),
                          st.integers(-10**7, 10**7).map(lambda c: c / 1000),
                          st.integers(-10**6, 10**6).map(lambda c: c / 6)), min_size=1, max_size=50),
       st.sampled_from(NUMERIC))
def test_format_values_matches_format_value_property(values, fmt):
    assert format_values(pd.Series(values, dtype=float), fmt).to_pylist() == [format_value(v, fmt) for v in values]


def test_list_and_text_formats():
    lists = pd.Series([["A"], ["A", "B"], ["A", "B", "C"], ["x", 'Quote "Q"', "O'Brien", "z"]], dtype=object)
    assert format_values(lists, "list").to_pylist() == [format_value(v, "list") for v in lists]
    texts = pd.Series(["4523", "Visa Signature"])
    assert format_values(texts, "text").to_pylist() == ["4523", "Visa Signature"]
    assert format_values(pd.Series([4523.0, 12.5]), "text").to_pylist() == ["4523", "12.5"]


def test_json_values_round_trip():
    floats = pd.Series([0.1, 3.0, 1 / 3, 1e20, 0.30000000000000004])
    assert [json.loads(v) for v in json_values(floats).to_pylist()] == floats.tolist()
    ints = pd.Series([3, 0, 12], dtype="Int32")
    assert json_values(ints).to_pylist() == ["3", "0", "12"]
    texts = pd.Series(['Say "hi"', "caf\u00e9", "back\\slash"])
    assert [json.loads(v) for v in json_values(texts).to_pylist()] == texts.tolist()


@pytest.fixture(scope="module")
def inputs_rows():
    inp = F.inputs()
    sig = inp.signals_wide.sort_values(["user_id", "window_days"]).reset_index(drop=True)
    return rationale_inputs(sig, inp.credit_cards, inp.recurring_streams)


def test_template_choice_text_and_facts_match_render_with_fallback(inputs_rows):
    rows = inputs_rows
    records = rows.to_dict("records")
    for entry in (*CATALOG.education, *CATALOG.offers):
        requested = np.full(len(rows), entry.rationale_template, dtype=object)
        chosen = choose_templates(CATALOG.templates, requested, rows, np.arange(len(rows)))
        for i, rec in enumerate(records):
            ref = render_with_fallback(CATALOG.templates, entry.rationale_template, rec)
            assert chosen[i] == ref.template_id, (entry.id, rec["user_id"])
    for tid, template in CATALOG.templates.items():
        plan = template_plan(template)
        ok = [i for i, rec in enumerate(records) if _renders(template, rec)]
        if not ok:
            continue
        out = render_template_rows(plan, rows, np.array(ok))
        for k, i in enumerate(ok):
            text, facts = render_rationale(template, template_values(template, records[i]))
            assert out["text"][k].as_py() == text, tid
            assert json.loads(out["facts"][k].as_py()) == json.loads(json.dumps(facts)), tid
            values = json.loads(out["values"][k].as_py())
            assert render_rationale(template, values)[0] == text  # what replay re-renders from the trace


def _renders(template, rec) -> bool:
    try:
        if any(not t.holds(rec.get(t.signal)) for t in template.requires):
            return False
        render_rationale(template, template_values(template, rec))
        return True
    except ValueError:
        return False


SHAMING = [
    "You're overspending on takeout", "YOU ARE OVER-SPENDING", "you  are   irresponsible", "Irresponsibly spent",
    "bad with money", "Bad   With   Money!", "stop wasting cash", "You wasted your paycheck", "a total waste of money",
    "living beyond your means", "your spending is out of control", "reckless choices", "Careless spending",
    "lazy budgeting", "foolish purchases", "stupid fees", "you should be ashamed", "pathetic savings",
    "no self-control", "you're broke", "a spendthrift", "shopaholic habits", "mismanaged funds", "no excuses",
    "throwing money away", "blew your budget", "poor financial choices", "you're a failure",
    "frivolous spending", "you_are_irresponsible", "you`re overspending", "Ur overspending", "out-of-control debt",
]
NEUTRAL = ["Waste Management bill", "payment failure notice", "Avoid paying interest", "living within your means",
           "Your spending has averaged $2,000 a month.", "there's no shame in asking", "a foolproof plan"]


def test_tone_prefilter_never_misses_a_flagged_text():
    texts = SHAMING + NEUTRAL + [f"Your largest recurring charge is {s}, at about $40 each time." for s in SHAMING]
    texts += ["Caf\u00e9 Stra\u00dfe is RECKLESS", "na\u00efve"]  # non-ASCII texts always get the exact check
    flagged = np.array([bool(check_tone(t, GUARDRAILS).matches) for t in texts])
    candidates = tone_candidates(pa.array(texts), GUARDRAILS)
    assert flagged[: len(SHAMING)].all()
    assert not (flagged & ~candidates).any(), [t for t, f, c in zip(texts, flagged, candidates) if f and not c]
    assert not candidates[len(SHAMING): len(SHAMING) + len(NEUTRAL)].any()


def test_rejected_or_fact_altering_rewrites_are_not_shown(inputs_rows):
    rows = inputs_rows
    subs = np.flatnonzero((rows["user_id"] == "u_subs").to_numpy())
    units = render_units(CATALOG.templates, subs, np.full(len(subs), "subscription_largest", dtype=object), rows,
                         GUARDRAILS)
    assert (units.tone_action == "reject").all() and not units.ok.any()
    assert all(t is None for t in units.final_text.to_pylist())
    # a merchant whose name would be rewritten ("Wasting Co" -> "spending Co") is rejected too: the fact
    # would no longer appear in the text
    rows2 = rows.copy()
    key = "top_subscription_stream.merchant"
    rows2[key] = rows2[key].astype(object)
    rows2.loc[subs, key] = "Wasting Co"
    units2 = render_units(CATALOG.templates, subs, np.full(len(subs), "subscription_largest", dtype=object), rows2,
                          GUARDRAILS)
    assert (units2.tone_action == "reject").all()
