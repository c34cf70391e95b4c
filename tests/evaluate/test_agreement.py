"""Persona precision/recall against planted ground truth, on a hand-made table."""

import pandas as pd
import pytest

from spendsense.evaluate.agreement import persona_agreement


def test_precision_and_recall_per_persona_and_window():
    truth = pd.DataFrame({"user_id": ["a", "b", "c", "d"],
                          "planted_personas": ["high_utilization", "high_utilization,savings_builder", "", "savings_builder"]})
    assignments = pd.DataFrame({
        "user_id": ["a", "b", "c", "d"], "window_days": [30] * 4,
        "matched_personas": [["high_utilization"], ["high_utilization"], ["high_utilization"], ["savings_builder"]],
    })
    got = persona_agreement(assignments, truth).set_index("persona_id")
    # high_utilization: predicted a,b,c; planted a,b -> precision 2/3, recall 1
    assert got.loc["high_utilization", "precision"] == pytest.approx(2 / 3)
    assert got.loc["high_utilization", "recall"] == 1.0
    # savings_builder: predicted d; planted b,d -> precision 1, recall 1/2
    assert got.loc["savings_builder", "precision"] == 1.0
    assert got.loc["savings_builder", "recall"] == 0.5
    assert got.loc["cash_flow_stressed", "planted"] == 0
