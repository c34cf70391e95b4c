"""Coverage: consenting users with a persona and enough detected behaviors to explain it."""

from __future__ import annotations

import pandas as pd

from spendsense.content.models import Trigger


def detected_behaviors(signals_wide: pd.DataFrame, behaviors: dict[str, dict]) -> pd.DataFrame:
    """One 0/1 column per behavior family and their count, per user and window."""
    out = signals_wide[["user_id", "window_days"]].copy()
    for family, rule in behaviors.items():
        out[f"behavior_{family}"] = Trigger(**rule).mask(signals_wide).astype(int)
    out["behaviors"] = out[[f"behavior_{f}" for f in behaviors]].sum(axis=1)
    return out


def coverage(signals_wide: pd.DataFrame, assignments: pd.DataFrame, behaviors: dict[str, dict],
             min_behaviors: int = 3) -> tuple[pd.DataFrame, pd.DataFrame]:
    """Per user-window coverage flags, and the coverage share per window and overall."""
    per_user = detected_behaviors(signals_wide, behaviors).merge(
        assignments[["user_id", "window_days", "persona_id"]], on=["user_id", "window_days"], how="left")
    per_user["has_persona"] = per_user["persona_id"].fillna("none").ne("none")
    per_user["covered"] = per_user["has_persona"] & (per_user["behaviors"] >= min_behaviors)
    by_window = per_user.groupby("window_days").agg(
        users=("user_id", "nunique"), with_persona=("has_persona", "mean"),
        enough_behaviors=("behaviors", lambda b: float((b >= min_behaviors).mean())),
        coverage=("covered", "mean")).reset_index()
    overall = pd.DataFrame([{"window_days": "all", "users": per_user["user_id"].nunique(),
                             "with_persona": per_user["has_persona"].mean(),
                             "enough_behaviors": float((per_user["behaviors"] >= min_behaviors).mean()),
                             "coverage": per_user["covered"].mean()}])
    return per_user, pd.concat([by_window, overall], ignore_index=True)
