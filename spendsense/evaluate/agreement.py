"""Agreement of detected personas with the generator's planted behaviors (precision and recall)."""

from __future__ import annotations

import numpy as np
import pandas as pd

PERSONAS = ("high_utilization", "variable_income_budgeter", "subscription_heavy", "savings_builder",
            "cash_flow_stressed")


def _long(frame: pd.DataFrame, column: str) -> pd.DataFrame:
    """One row per (user, window, persona) from a list-valued or comma-joined persona column."""
    values = frame[column]
    if values.map(lambda v: isinstance(v, str)).any():
        values = values.fillna("").str.split(",")
    out = frame.assign(persona_id=values).explode("persona_id")
    out["persona_id"] = out["persona_id"].astype("string").str.strip()
    return out[out["persona_id"].notna() & (out["persona_id"] != "")]


def persona_agreement(assignments: pd.DataFrame, ground_truth: pd.DataFrame,
                      personas=PERSONAS) -> pd.DataFrame:
    """Precision and recall per persona and window: matched personas against planted personas.

    A user counts as detected for a persona when the persona is among `matched_personas` (not only the one
    chosen by priority), because the generator plants mixtures of behaviors. Only users present in
    `assignments` (the consenting, processed ones) are scored.
    """
    scored = assignments[["user_id", "window_days"]].drop_duplicates()
    detected = _long(assignments[["user_id", "window_days", "matched_personas"]], "matched_personas")
    planted = _long(scored.merge(ground_truth[["user_id", "planted_personas"]], on="user_id"), "planted_personas")
    keys = ["user_id", "window_days", "persona_id"]
    both = detected[keys].merge(planted[keys], on=keys, how="outer", indicator=True)
    both["tp"] = both["_merge"] == "both"
    both["fp"] = both["_merge"] == "left_only"
    both["fn"] = both["_merge"] == "right_only"
    counts = both.groupby(["window_days", "persona_id"])[["tp", "fp", "fn"]].sum()
    grid = pd.MultiIndex.from_product([sorted(scored["window_days"].unique()), personas],
                                      names=["window_days", "persona_id"])
    counts = counts.reindex(grid, fill_value=0).astype(int).reset_index()
    counts = counts.rename(columns={"tp": "true_positives", "fp": "false_positives", "fn": "false_negatives"})
    counts["planted"] = counts["true_positives"] + counts["false_negatives"]
    counts["detected"] = counts["true_positives"] + counts["false_positives"]
    counts["precision"] = counts["true_positives"] / counts["detected"].replace(0, np.nan)
    counts["recall"] = counts["true_positives"] / counts["planted"].replace(0, np.nan)
    return counts
