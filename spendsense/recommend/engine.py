"""The recommendation engine's pure core: tables in, recommendations with decision records out.

`recommend()` prepares the inputs (inputs.py), runs the candidate funnel (select.py) over every consenting
user-window at once, renders the chosen items' rationales and tone-checks them (rationales.py; an item whose
rationale is rejected drops out and the next candidate takes its place), and assembles the six output tables as
Arrow tables, one builder per table (assemble/), using a cursor on the shared in-memory DuckDB (spendsense.memdb)
for ids and list-valued columns. No I/O: reading and writing live in store.py and spendsense.pipeline.
"""

from __future__ import annotations

import datetime as dt
import time

import numpy as np
import pandas as pd

from spendsense import memdb
from spendsense.content import Catalog, Guardrails, ScoringConfig, rationale_inputs
from spendsense.content.rationale import choose_templates
from spendsense.recommend.assemble import (
    Decisions,
    Rendered,
    WindowFacts,
    context_table,
    funnel_table,
    guardrail_event_table,
    recommendations_table,
    shortfall_table,
    trace_table,
)
from spendsense.recommend.inputs import (
    RecommendInputs,
    aligned,
    aligned_counterfactuals,
    aligned_personas,
    consent_by_user,
    naive_utc,
    recent_history,
    sorted_windows,
    window_features,
)
from spendsense.recommend.outputs import OUTPUT_TABLES, RecommendOutputs, empty_outputs
from spendsense.recommend.rationales import RenderedUnits, render_units
from spendsense.recommend.select import (
    KEYS,
    STAGE_CODE,
    Candidates,
    Selection,
    apply_business_rules,
    catalog_items,
    score_candidates,
)

# the engine's contract, importable from here as before
__all__ = ["OUTPUT_TABLES", "RecommendInputs", "RecommendOutputs", "consent_by_user", "empty_outputs", "naive_utc",
           "recommend", "select_and_render", "stage_codes", "window_features"]


# ----------------------------------------------------------------------------------- selection + render


def select_and_render(cands: Candidates, rin: pd.DataFrame, catalog: Catalog, scoring: ScoringConfig,
                      guardrails: Guardrails) -> tuple[Selection, Rendered]:
    """Apply the business rules, render the chosen items' rationales and tone-check them; an item whose rationale
    cannot be filled or is rejected drops out and the rules run again so the next candidate can take its place."""
    items = cands.items
    n, m = cands.shape
    alive = cands.alive()
    drop = np.zeros((n, m), dtype=np.int8)
    template_ids = list(catalog.templates)
    tpl_code = {t: i for i, t in enumerate(template_ids)}
    unit_of = np.full((n, len(template_ids)), -1, dtype=np.int64)
    cell_unit = np.full(n * m, -1, dtype=np.int64)
    requested = np.full(n * m, None, dtype=object)
    attempted = np.zeros(n * m, dtype=bool)
    parts: list[RenderedUnits] = []
    unit_ok = np.zeros(0, dtype=bool)
    while True:
        sel = apply_business_rules(cands.score, alive & (drop == 0), items, scoring)
        flat = np.flatnonzero(sel.selected.ravel())
        need = flat[~attempted[flat]]
        if not need.size:
            break
        attempted[need] = True
        r, c = np.divmod(need, m)
        requested[need] = items.template[c]
        chosen = choose_templates(catalog.templates, items.template[c], rin, r)
        none = pd.isna(chosen)
        drop[r[none], c[none]] = STAGE_CODE["rationale"]
        r_ok, c_ok, ok_cells = r[~none], c[~none], need[~none]
        codes = np.array([tpl_code[t] for t in chosen[~none]], dtype=np.int64)
        fresh = unit_of[r_ok, codes] < 0
        if fresh.any():
            key = np.unique(r_ok[fresh] * len(template_ids) + codes[fresh])
            rendered = render_units(catalog.templates, key // len(template_ids),
                                    np.array(template_ids, dtype=object)[key % len(template_ids)], rin, guardrails)
            # render_units orders units by template; map each back to its (row, template) pair
            back = np.array([tpl_code[t] for t in rendered.template_id], dtype=np.int64)
            unit_of[rendered.row, back] = len(unit_ok) + np.arange(len(rendered.row))
            parts.append(rendered)
            unit_ok = np.concatenate([unit_ok, rendered.ok])
        cell_unit[ok_cells] = unit_of[r_ok, codes]
        rejected = ~unit_ok[cell_unit[ok_cells]]
        drop[r_ok[rejected], c_ok[rejected]] = STAGE_CODE["tone"]
        if not none.any() and not rejected.any():
            break
    return sel, Rendered(RenderedUnits.concat(parts), cell_unit, drop, requested)


def stage_codes(cands: Candidates, sel: Selection, dropped: np.ndarray) -> np.ndarray:
    """The stage where each candidate was removed (STAGE_CODE), 0 for the recommendations."""
    code = cands.removed_stage()
    alive = cands.alive()
    gone = alive & (dropped > 0)
    code[gone] = dropped[gone]
    code[alive & (dropped == 0) & ~sel.selected] = STAGE_CODE["business_rules"]
    return code


# ------------------------------------------------------------------------------------------- the engine


def recommend(inputs: RecommendInputs, catalog: Catalog, scoring: ScoringConfig, guardrails: Guardrails,
              run_id: str, created_at: dt.datetime, versions: dict) -> RecommendOutputs:
    """Recommendations for every user whose consent is granted in inputs.consent, and every window, with
    rationales, decision traces, shortfalls, the stage funnel and guardrail events."""
    timings: dict[str, float] = {}
    clock = time.perf_counter()

    def lap(name: str) -> None:
        nonlocal clock
        now = time.perf_counter()
        timings[name] = round(now - clock, 4)
        clock = now

    created = naive_utc(created_at)
    sw = sorted_windows(inputs.signals_wide)
    status = consent_by_user(inputs.consent)
    granted = set(status.loc[status["status"] == "granted", "user_id"])
    sig = sw[pd.Index(sw["user_id"].to_numpy(dtype=object)).isin(list(granted))].reset_index(drop=True)
    keys = sig[KEYS]
    personas = aligned_personas(keys, inputs.persona_assignments)
    features, subtype_bits = window_features(sig, inputs.users, inputs.accounts)
    rin = aligned(rationale_inputs(sig, inputs.credit_cards, inputs.recurring_streams), keys, "rationale inputs")
    items = catalog_items(catalog)
    history = recent_history(inputs.history, created, scoring)
    lap("prepare")
    cands = score_candidates(sig, personas, features, history, items, scoring, guardrails, created)
    lap("score")
    sel, rendered = select_and_render(cands, rin, catalog, scoring, guardrails)
    code = stage_codes(cands, sel, rendered.dropped_stage)
    lap("select_render")
    decisions = Decisions(run_id, created, scoring, items, cands, sel, rendered, code, sig)
    facts = WindowFacts(inputs.as_of, versions, personas, features, subtype_bits, history,
                        status.set_index("user_id"), aligned_counterfactuals(keys, inputs.counterfactuals))
    users = inputs.users["user_id"].astype(str) if "user_id" in inputs.users else pd.Series(dtype=object)
    with memdb.cursor() as con:
        recs, rec_rows = recommendations_table(decisions, con, catalog, guardrails, personas)
        lap("recommendations")
        traces = trace_table(decisions, rec_rows)
        lap("traces")
        contexts = context_table(decisions, con, rec_rows, facts)
        lap("contexts")
    arrow = {
        "recommendations": recs,
        "recommendation_traces": traces,
        "decision_contexts": contexts,
        "recommendation_shortfalls": shortfall_table(decisions, sw, users, granted),
        "recommendation_funnel": funnel_table(decisions, len(sw)),
        "guardrail_events": guardrail_event_table(decisions, sw, users, status),
    }
    lap("records")
    return RecommendOutputs(arrow, timings)

