"""Operator reviews in the operational store: approve, override, suppress or flag, each refused when made
against a state that is no longer the latest (StaleDecision)."""

from __future__ import annotations

import sqlite3
import uuid

import pandas as pd

from spendsense.opstore.connection import _insert_audit, _now, _required_text, _write, frame

REVIEW_ACTIONS = ("approve", "override", "suppress", "flag")
REASON_REQUIRED = ("override", "suppress", "flag")


class StaleDecision(ValueError):
    """A review made against a state that is no longer the latest: `latest` is the review now in force (a dict of
    review_id, action, operator, recorded_at, reason), None when the recommendation has no review any more."""

    def __init__(self, recommendation_id: str, expected: str, latest: dict | None):
        self.recommendation_id, self.expected, self.latest = recommendation_id, expected, latest
        now = (f"{latest['action']} by {latest['operator']} at {latest['recorded_at']} (review {latest['review_id']})"
               if latest else "no review")
        super().__init__(f"recommendation {recommendation_id}: the decision was made against "
                         f"{'review ' + expected if expected else 'no review'}, but the latest is {now}")


NO_REVIEW = ""  # expected_latest of a decision made while the recommendation showed no review


def latest_review(con: sqlite3.Connection, recommendation_id: str) -> dict | None:
    """The review in force for a recommendation (the latest recorded), or None."""
    row = con.execute("select review_id, action, operator, recorded_at, reason from reviews"
                      " where recommendation_id = ? order by recorded_at desc, rowid desc limit 1",
                      (recommendation_id,)).fetchone()
    return dict(zip(("review_id", "action", "operator", "recorded_at", "reason"), row)) if row else None


def record_review(con: sqlite3.Connection, recommendation_id: str, user_id: str, action: str, operator: str,
                  role: str, reason: str | None, replacement_item_id: str | None = None,
                  expected_latest: str | None = None) -> str:
    """Record an operator's review of a recommendation (and its audit row); returns the review_id.

    With `expected_latest` (the review_id the operator saw as the latest, NO_REVIEW when none), the write is
    refused with StaleDecision, inside the same write transaction, when another review has become the latest.
    """
    _required_text(recommendation_id=recommendation_id, user_id=user_id, operator=operator, role=role)
    if action not in REVIEW_ACTIONS:
        raise ValueError(f"action must be one of {', '.join(REVIEW_ACTIONS)}, not {action!r}")
    if action in REASON_REQUIRED and (reason is None or not str(reason).strip()):
        raise ValueError(f"a reason is required to {action} a recommendation")
    if replacement_item_id is not None and action != "override":
        raise ValueError("replacement_item_id is only allowed with action 'override'")
    review_id = uuid.uuid4().hex
    with _write(con):
        if expected_latest is not None:
            latest = latest_review(con, recommendation_id)
            if (latest["review_id"] if latest else NO_REVIEW) != expected_latest:
                raise StaleDecision(recommendation_id, expected_latest, latest)
        con.execute(
            "insert into reviews (review_id, recommendation_id, user_id, action, replacement_item_id, reason,"
            " operator, role, recorded_at) values (?, ?, ?, ?, ?, ?, ?, ?, ?)",
            (review_id, recommendation_id, user_id, action, replacement_item_id, reason, operator, role, _now()),
        )
        _insert_audit(con, operator, role, f"review.{action}", recommendation_id,
                      {"review_id": review_id, "user_id": user_id, "reason": reason,
                       "replacement_item_id": replacement_item_id})
    return review_id


def reviews(con: sqlite3.Connection) -> pd.DataFrame:
    """Every review in recording order (the latest per recommendation is its current state)."""
    return frame(con, "select review_id, recommendation_id, user_id, action, replacement_item_id, reason,"
                      " operator, role, recorded_at from reviews order by rowid", times=("recorded_at",))


# -------------------------------------------------------------------------------------------------- audit
