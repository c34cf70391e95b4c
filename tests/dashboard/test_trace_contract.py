"""The decision-trace contract (spendsense.recommend.trace_contract): what recommend renders, and what the dashboard
reads (the fixture run, the replacement options), match it key for key."""

from __future__ import annotations

import json
from pathlib import Path

import duckdb
import pandas as pd
import pytest

from spendsense import runs
from spendsense.dashboard.data.catalog import load_entries
from spendsense.dashboard.data.replacements import replacement_options
from spendsense.recommend import create_tables
from spendsense.recommend.trace_contract import (
    STAGE_ORDER,
    TRACE_KEYS,
    TraceContractError,
    business_rule_cuts,
    validate_trace,
)

GOLDEN = Path(__file__).resolve().parents[1] / "golden" / "default"
RENDERED_FROM = ("recommendations", "recommendation_traces", "decision_contexts")


@pytest.fixture(scope="module")
def rendered() -> dict[str, dict]:
    """Every trace of the golden run, rendered by recommend's own decision_traces view from its stored tables."""
    con = duckdb.connect()
    try:
        create_tables(con)
        for table in RENDERED_FROM:
            con.execute(f"insert into {table} by name select * from read_parquet($path)",
                        {"path": str(GOLDEN / f"{table}.parquet")})
        rows = con.execute("select recommendation_id, trace from decision_traces").fetchall()
        recs = con.execute("select * from recommendations").df()
    finally:
        con.close()
    assert len(rows) > 1000
    return {"traces": {r: json.loads(t) for r, t in rows}, "recs": recs}


def test_every_trace_recommend_renders_meets_the_contract(rendered):
    for trace in rendered["traces"].values():
        checked = validate_trace(trace)
        assert tuple(checked) == TRACE_KEYS  # the contract lists the keys in the order recommend writes them
        assert tuple(checked["stages"]) == STAGE_ORDER


def test_every_trace_of_the_dashboard_fixture_run_meets_the_contract(make_data):
    data = make_data("admin")
    con = duckdb.connect(str(data.run_dir / runs.WAREHOUSE), read_only=True)
    stored = con.execute("select recommendation_id, trace from decision_traces").fetchall()
    con.close()
    assert len(stored) == 11
    for _, text in stored:
        validate_trace(text)
    for user in ("u001", "u002", "u003"):  # and what the dashboard hands its views (masked copies)
        for trace in make_data("operator").traces(user).values():
            validate_trace(trace)


@pytest.mark.parametrize("change", ["drop stages.business_rules.filtered_out", "drop what_would_change",
                                    "add runners_up", "add eligible_alternatives", "stages as a list"])
def test_a_missing_renamed_or_guessed_key_fails(rendered, change):
    trace = json.loads(json.dumps(next(iter(rendered["traces"].values()))))
    if change == "drop stages.business_rules.filtered_out":
        del trace["stages"]["business_rules"]["filtered_out"]
    elif change == "drop what_would_change":
        del trace["what_would_change"]
    elif change == "stages as a list":
        trace["stages"] = [{"stage": k, **v} for k, v in trace["stages"].items()]
    else:
        trace[change.split()[1]] = [{"item_id": "x"}]
    with pytest.raises(TraceContractError, match="breaks the contract"):
        validate_trace(trace)


def test_replacements_are_the_business_rule_cuts_of_the_same_kind_and_the_other_window(rendered):
    """On real traces: an override may pick an item the business rules cut (it passed every other filter) of the
    recommendation's kind, or the user's same-kind recommendation of the other window; never one shown in the
    same window. Nothing else (no guessed trace keys)."""
    catalog = load_entries()
    recs: pd.DataFrame = rendered["recs"]
    traces = rendered["traces"]
    checked = 0
    for user_id, user_recs in recs.groupby("user_id"):
        user_recs = user_recs.reset_index(drop=True)
        options = replacement_options(user_recs, traces, catalog)
        for rec in user_recs.to_dict("records"):
            trace = traces[rec["recommendation_id"]]
            shown = set(user_recs.loc[user_recs["window_days"] == rec["window_days"], "item_id"])
            cuts = {c["item_id"] for c in business_rule_cuts(trace)}
            other = set(user_recs.loc[(user_recs["kind"] == rec["kind"]), "item_id"])
            expected = {i for i in cuts | other if i not in shown and catalog.get(i, {}).get("kind", rec["kind"])
                        == rec["kind"]}
            got = {item for _, item in options[rec["recommendation_id"]]}
            assert got == expected, (user_id, rec["recommendation_id"])
            assert all(catalog[i]["kind"] == rec["kind"] for i in got if i in catalog)
            checked += bool(cuts - shown)
        if checked > 50:
            break
    assert checked > 50  # real traces do carry business-rule cuts


def test_replacement_labels_use_catalog_titles(rendered):
    catalog = load_entries()
    recs: pd.DataFrame = rendered["recs"]
    rec = next(r for r in recs.to_dict("records")
               if any(c["item_id"] in catalog for c in business_rule_cuts(rendered["traces"][r["recommendation_id"]])))
    user_recs = recs[recs["user_id"] == rec["user_id"]].reset_index(drop=True)
    options = replacement_options(user_recs, rendered["traces"], catalog)[rec["recommendation_id"]]
    labels = {item: label for label, item in options}
    for item, label in labels.items():
        assert label == f"{catalog.get(item, {}).get('title') or item} ({item})" or item in set(user_recs["item_id"])
