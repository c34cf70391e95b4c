"""recommend() outputs on hand-made users: rationales, facts, disclosure, traces, ids, funnel, determinism."""

from __future__ import annotations

import hashlib
import json
import sys
from pathlib import Path

import pandas as pd
import pytest

sys.path.insert(0, str(Path(__file__).parent))

import recommend_fixtures as F

from spendsense.content import verify_rationale
from spendsense.guardrails import check_tone
from spendsense.recommend import recommend, replay_trace
from spendsense.recommend.select import STAGES
from spendsense.recommend.tables import TABLE_COLUMNS

CATALOG, SCORING, GUARDRAILS = F.config()
DISCLOSURE = ("This is educational content, not financial advice. "
              "Consult a licensed advisor for personalized guidance.")


@pytest.fixture(scope="module")
def out():
    return recommend(F.inputs(deliveries=[("u_card", "debt-paydown-planner", 12)]), CATALOG, SCORING, GUARDRAILS,
                     F.RUN_ID, F.CREATED, F.VERSIONS)


def test_tables_have_the_declared_columns(out):
    for name, frame in out.tables().items():
        assert list(frame.columns) == [c for c, _ in TABLE_COLUMNS[name]], name


def test_no_recommendation_for_a_user_without_consent(out):
    assert "u_revoked" not in set(out.recommendations["user_id"])
    assert "u_revoked" not in set(out.decision_contexts["user_id"])
    ev = out.guardrail_events
    skip = ev[(ev["guardrail"] == "consent")]
    assert skip["user_id"].tolist() == ["u_revoked"] and skip["outcome"].tolist() == ["skipped"]


def test_every_rationale_passes_tone_quotes_its_facts_and_carries_the_disclosure(out):
    recs = out.recommendations
    sw = F.signals_wide().set_index(["user_id", "window_days"])
    cards = F.credit_cards()
    streams = F.recurring_streams()
    for rec in recs.itertuples():
        assert check_tone(rec.rationale, GUARDRAILS).action == "pass"
        assert rec.disclosure == DISCLOSURE
        facts = json.loads(rec.facts)
        assert facts and verify_rationale(CATALOG.templates[rec.template_id], rec.rationale, facts) == []
        for fact in facts:
            assert fact["text"] in rec.rationale
            signal, value = fact["signal"], fact["value"]
            if signal.startswith("credit_cards."):
                col = signal.split(".", 1)[1]
                mine = cards[(cards["user_id"] == rec.user_id) & (cards["window_days"] == rec.window_days)]
                assert value in mine[col].tolist()
            elif signal.startswith("recurring_streams."):
                col = signal.split(".", 1)[1]
                mine = streams[(streams["user_id"] == rec.user_id) & (streams["window_days"] == rec.window_days)]
                quoted = value if isinstance(value, list) else [value]
                assert set(quoted) <= set(mine[col].tolist())
            else:
                assert value == pytest.approx(float(sw.loc[(rec.user_id, rec.window_days), signal]))


def test_the_example_card_rationale(out):
    recs = out.recommendations
    row = recs[(recs["user_id"] == "u_card") & (recs["item_id"] == "credit-utilization-explained")].iloc[0]
    assert row["rationale"] == ("We noticed your Visa ending in 4523 is at 68% utilization ($3,400 of a $5,000 "
                                "limit), above the 30% level many lenders see as healthy. This explainer shows how "
                                "utilization is scored and a few ways to bring a card's share of its limit down.")
    assert [f["text"] for f in json.loads(row["facts"])] == ["Visa", "4523", "68%", "$3,400", "$5,000"]


def test_recommendation_ids_hash_run_user_window_item(out):
    for rec in out.recommendations.itertuples():
        key = f"{F.RUN_ID}|{rec.user_id}|{rec.window_days}|{rec.item_id}".encode()
        assert rec.recommendation_id == hashlib.sha256(key).hexdigest()[:16]
    assert out.recommendations["recommendation_id"].is_unique
    assert (out.recommendations["created_at"] == pd.Timestamp(F.CREATED)).all()


def test_every_recommendation_has_one_full_trace(out):
    traces = out.decision_traces()
    assert sorted(traces["recommendation_id"]) == sorted(out.recommendations["recommendation_id"])
    for row in traces.itertuples():
        t = json.loads(row.trace)
        assert list(t["stages"]) == list(STAGES)
        assert all(s["passed"] for s in t["stages"].values())
        assert set(t["inputs"]) == {"signals", "persona", "eligibility_features", "consent", "history"}
        assert t["versions"] == json.loads(json.dumps(F.VERSIONS, sort_keys=True))
        assert set(t["score"]["weights"]) == {"persona", "signal", "priority", "freshness"}
        assert t["rationale"]["values"]


def test_trace_lists_the_filtered_out_candidates_with_reasons(out):
    traces = {r.recommendation_id: json.loads(r.trace) for r in out.decision_traces().itertuples()}
    recs = out.recommendations
    rid = recs[(recs["user_id"] == "u_lowincome") & (recs["window_days"] == 30)]["recommendation_id"].iat[0]
    t = traces[rid]
    elig = {f["item_id"]: f["reason"] for f in t["stages"]["eligibility"]["filtered_out"]}
    assert "credit score 600 below minimum 670" in elig["northwind-balance-transfer"]
    nr = t["stages"]["signal_triggers"]["filtered_out"][0]
    assert nr["count"] == len(nr["items"]) > 0 and nr["reason"].startswith("not relevant")
    card = recs[(recs["user_id"] == "u_card") & (recs["window_days"] == 30)]["recommendation_id"].iat[0]
    recency = traces[card]["stages"]["recency"]["filtered_out"]
    assert recency == [{"item_id": "debt-paydown-planner",
                        "reason": "delivered 12 days ago; not shown again within 30 days"}]
    assert traces[card]["inputs"]["history"][0]["item_id"] == "debt-paydown-planner"


def test_tone_rejections_are_recorded_and_replaced(out):
    ev = out.guardrail_events
    tone = ev[ev["guardrail"] == "tone"]
    assert set(tone["user_id"]) == {"u_subs"} and set(tone["outcome"]) == {"rejected"}
    recs = out.recommendations
    assert not recs["rationale"].str.contains("Reckless").any()
    ctx = out.decision_contexts.set_index(["user_id", "window_days"]).loc[("u_subs", 30)]
    dropped = [f for f in ctx["filtered_out"] if f["stage"] == "tone"]
    assert dropped and all("Reckless" in f["reason"] for f in dropped)


def test_funnel_adds_up(out):
    f = out.funnel
    for kind, g in f.groupby("kind"):
        g = g.sort_values("stage_order")
        assert g["stage"].tolist() == list(STAGES)
        assert (g["candidates_in"] - g["removed"] == g["remaining"]).all()
        assert (g["remaining"].iloc[:-1].to_numpy() == g["candidates_in"].iloc[1:].to_numpy()).all()
        shown = (out.recommendations["kind"] == kind).sum()
        assert g["remaining"].iloc[-1] == shown
    consent = f[f["stage"] == "consent"]
    n_items = {"education": len(CATALOG.education), "offer": len(CATALOG.offers)}
    for row in consent.itertuples():
        assert row.removed == 2 * n_items[row.kind]  # u_revoked's two windows


def test_same_inputs_give_identical_outputs(out):
    again = recommend(F.inputs(deliveries=[("u_card", "debt-paydown-planner", 12)]), CATALOG, SCORING, GUARDRAILS,
                      F.RUN_ID, F.CREATED, F.VERSIONS)
    for name in out.tables():
        assert out.arrow(name).equals(again.arrow(name)), name
    assert out.decision_traces().equals(again.decision_traces())


def test_replay_reproduces_every_recommendation_from_its_trace(out):
    traces = {r.recommendation_id: json.loads(r.trace) for r in out.decision_traces().itertuples()}
    for rec in out.recommendations.to_dict("records"):
        rec["facts"] = json.loads(rec["facts"])
        result = replay_trace(rec, traces[rec["recommendation_id"]], CATALOG, GUARDRAILS)
        assert result.ok, result


def test_replay_notices_a_changed_rationale(out):
    traces = {r.recommendation_id: json.loads(r.trace) for r in out.decision_traces().itertuples()}
    rec = out.recommendations.to_dict("records")[0]
    rec["facts"] = json.loads(rec["facts"])
    rec["rationale"] = rec["rationale"].replace("68%", "58%")
    rec["rank"] = 2
    result = replay_trace(rec, traces[rec["recommendation_id"]], CATALOG, GUARDRAILS)
    assert not result.ok
    assert any(d.startswith("rationale") for d in result.differences)
    assert any(d.startswith("rank") for d in result.differences)


def test_empty_inputs_give_empty_tables():
    none = recommend(F.inputs(statuses={u: "revoked" for u in F.USERS}), CATALOG, SCORING, GUARDRAILS, F.RUN_ID,
                     F.CREATED, F.VERSIONS)
    assert none.recommendations.empty and none.decision_contexts.empty and none.shortfalls.empty
    assert len(none.guardrail_events) == len(F.USERS)
