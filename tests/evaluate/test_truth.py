"""Strict relevance and rationale truth on hand-made recommendations with hand-computed answers."""

from __future__ import annotations

import pandas as pd
import pytest

from spendsense.content import load_catalog
from spendsense.evaluate.truth import recommendation_truth, truth_by_item, truth_metrics

CATALOG = load_catalog()
GENERAL = next(e.id for e in CATALOG.education if e.audience == "general")

SIGNALS = pd.DataFrame([
    # u1: one card at 68%, interest charged; u2: one card at 12%, no interest
    {"user_id": "u1", "window_days": 30, "max_utilization": 0.68, "interest_charges": 40.0, "card_count": 1,
     "total_card_balance": 3400.0, "avg_monthly_spending": 2100.0},
    {"user_id": "u2", "window_days": 30, "max_utilization": 0.12, "interest_charges": 0.0, "card_count": 1,
     "total_card_balance": 240.0, "avg_monthly_spending": 800.0},
])


def rec(rid, user, item, template, text, kind="education"):
    return {"recommendation_id": rid, "user_id": user, "window_days": 30, "kind": kind, "item_id": item,
            "template_id": template, "rationale": text}


def test_each_failure_is_counted_where_it_happens():
    recs = pd.DataFrame([
        rec("a", "u1", "credit-utilization-explained", "card_utilization", "68% text"),   # admitted, premise holds
        rec("b", "u2", "credit-utilization-explained", "card_utilization", "12% text"),   # not admitted, false premise
        rec("c", "u2", "keeping-utilization-low", "low_utilization", "same"),              # admitted, premise holds
        rec("d", "u2", GENERAL, "spending_snapshot", "same"),                              # general; repeats c's text
        rec("e", "u2", "no-such-item", "no_such_template", "other"),                       # unknown: neither holds
    ])
    truth = recommendation_truth(recs, SIGNALS, CATALOG).set_index("recommendation_id")
    assert truth["admitted"].to_dict() == {"a": True, "b": False, "c": True, "d": False, "e": False}
    assert truth["general"].to_dict() == {"a": False, "b": False, "c": False, "d": True, "e": False}
    assert truth.loc[["a", "b", "c"], "premises_hold"].tolist() == [True, False, True]
    assert not truth.loc["e", "premises_hold"]
    assert truth["repeated"].to_dict() == {"a": False, "b": False, "c": True, "d": True, "e": False}
    m = truth_metrics(truth.reset_index())
    assert m["targeted"] == 4 and m["not_admitted"] == 2 and m["share"] == pytest.approx(0.5)
    assert m["general"] == 1 and m["general_max_per_user_window"] == 1
    assert m["false_premises"] == 2 and m["repeated_rationales"] == 2 and m["user_windows_with_repeats"] == 1
    by_item = truth_by_item(truth.reset_index()).set_index("item_id")
    assert by_item.loc["credit-utilization-explained", ["recommendations", "admitted"]].tolist() == [2, 1]


def test_no_recommendations_give_no_shares():
    empty = pd.DataFrame(columns=["recommendation_id", "user_id", "window_days", "kind", "item_id", "template_id",
                                  "rationale"])
    m = truth_metrics(recommendation_truth(empty, SIGNALS, CATALOG))
    assert m["share"] is None and m["rationale_truth"] is None and m["targeted"] == 0


def test_rationale_numbers_count_repeats_as_the_texts_do():
    import duckdb

    from spendsense import sql

    recs = pd.DataFrame([
        rec("a", "u1", "credit-utilization-explained", "card_utilization", "68% text"),
        rec("b", "u2", "keeping-utilization-low", "low_utilization", "same"),
        rec("c", "u2", GENERAL, "spending_snapshot", "same"),
        rec("d", "u1", GENERAL, "spending_snapshot", "same"),          # same text, another user: no repeat
    ])
    with duckdb.connect() as con:
        con.register("recommendations", recs)
        numbered = con.execute(sql.query("evaluate/truth_inputs.sql").text).df()
    assert "rationale" not in numbered.columns
    by_text = recommendation_truth(recs, SIGNALS, CATALOG).set_index("recommendation_id")["repeated"]
    by_number = recommendation_truth(numbered, SIGNALS, CATALOG).set_index("recommendation_id")["repeated"]
    assert by_number.sort_index().to_dict() == by_text.sort_index().to_dict() == \
        {"a": False, "b": True, "c": True, "d": False}
