"""Review state of the run's recommendations (the latest review wins), the review queue, and the validation of a
new review (reasons, eligible replacements, consent) before the opstore records it."""

from __future__ import annotations

import json
from collections.abc import Callable

import pandas as pd

from spendsense import opstore
from spendsense.dashboard.data import consent
from spendsense.dashboard.data.run import PublishedRun
from spendsense.dashboard.data.store import OpStore

SQL = "dashboard/data/reviews.sql"
REVIEW_ACTIONS = ("approve", "override", "suppress", "flag")
REASON_REQUIRED = ("override", "suppress", "flag")
NEEDS_CONSENT = ("approve", "override")
STATUS_OF_ACTION = {"approve": "approved", "override": "overridden", "suppress": "suppressed", "flag": "flagged"}
STATUSES = ("pending", "flagged", "approved", "overridden", "suppressed")
QUEUE_STATUSES = ("flagged", "pending")
BULK_ACTIONS = ("approve", "flag")
ACTION_PAST = {"approve": "approved", "override": "overrode", "suppress": "suppressed", "flag": "flagged"}
REVIEW_COLUMNS = (("latest_review_id", "review_id"), ("review_action", "action"), ("replacement_item_id", "replacement_item_id"),
                  ("review_reason", "reason"), ("reviewed_by", "operator"), ("reviewed_at", "recorded_at"))


def latest_reviews(ops: OpStore) -> pd.DataFrame:
    """The newest review per recommendation (append-only store: state is the latest event)."""
    df = ops.frame(SQL, "latest_reviews")
    if not len(df):
        return df
    return df.groupby("recommendation_id", sort=False).tail(1).reset_index(drop=True)


def latest_reviews_of(ops: OpStore, recommendation_ids: list[str]) -> dict[str, dict]:
    """The newest review of each of these recommendations (by the opstore's recommendation index)."""
    out: dict[str, dict] = {}
    if not recommendation_ids:
        return out
    cur = ops.execute(SQL, "reviews_of", recommendation_ids=json.dumps([str(r) for r in recommendation_ids]))
    cols = [d[0] for d in cur.description]
    for row in cur.fetchall():
        out[row[0]] = dict(zip(cols, row))  # later rows win
    return out


def review_state(recommendation_ids: list[str], ops: OpStore) -> dict[str, list]:
    """The latest review's columns and the resulting status of each recommendation, as columns in that order
    (latest_review_id "" = no review yet, opstore.NO_REVIEW; status pending until a review decides it)."""
    found = latest_reviews_of(ops, list(recommendation_ids))
    latest = [found.get(r, {}) for r in recommendation_ids]
    state = {col: [got.get(key) for got in latest] for col, key in REVIEW_COLUMNS}
    state["latest_review_id"] = [r if r is not None else "" for r in state["latest_review_id"]]
    state["status"] = [STATUS_OF_ACTION.get(a, "pending") for a in state["review_action"]]
    return state


def with_review_rows(rows: list[dict], ops: OpStore) -> list[dict]:
    """One user's recommendations as plain rows, each given its review state (review_state), in place."""
    state = review_state([r["recommendation_id"] for r in rows], ops)
    for i, row in enumerate(rows):
        for col, values in state.items():
            row[col] = values[i]
    return rows


def status_all(run: PublishedRun, ops: OpStore) -> pd.DataFrame:
    """Every recommendation of this run for a consenting user with its review status."""
    if not run.has("recommendations"):
        return pd.DataFrame(columns=["recommendation_id", "user_id", "status"])
    recs = run.frame(SQL, "run_recommendation_users")
    latest = latest_reviews(ops)
    out = recs.merge(latest[["recommendation_id", "action"]] if len(latest) else
                     pd.DataFrame(columns=["recommendation_id", "action"]), on="recommendation_id", how="left")
    out["status"] = out["action"].map(STATUS_OF_ACTION).fillna("pending")
    now = consent.status_all(run, ops)
    granted = set(now.loc[now["status"] == "granted", "user_id"])
    return out[out["user_id"].isin(granted)].drop(columns="action")


def history(ops: OpStore, user_id: str | None, limit: int) -> pd.DataFrame:
    """Reviews, newest first (of one user, or of everyone)."""
    if user_id:
        return ops.frame(SQL, "review_history_of_user", user_id=user_id, limit=limit)
    return ops.frame(SQL, "review_history", limit=limit)


def recommendation(run: PublishedRun, recommendation_id: str) -> dict:
    """One recommendation's row of this run (KeyError when it is not in the run)."""
    if not run.has("recommendations"):
        raise KeyError(f"run {run.run_id} has no recommendations")
    df = run.frame(SQL, "recommendation", recommendation_id=recommendation_id)
    if not len(df):
        raise KeyError(f"recommendation {recommendation_id!r} is not in run {run.run_id}")
    return df.iloc[0].to_dict()


def stale_message(latest: dict | None, when: Callable[[object], str]) -> str:
    """Why a decision on a stale state was refused, e.g. 'alice approved this at 14:02 UTC; the queue now shows it'."""
    if not latest:
        return "This recommendation's review state changed; the queue now shows it."
    return (f"{latest['operator']} {ACTION_PAST.get(latest['action'], latest['action'])} this at "
            f"{when(latest['recorded_at'])}; the queue now shows it.")


def recommendation_users(run: PublishedRun, recommendation_ids: list[str]) -> dict[str, str]:
    """recommendation_id -> user_id of those of these recommendations that are in the run."""
    if not recommendation_ids or not run.has("recommendations"):
        return {}
    return dict(run.rows(SQL, "recommendation_users", recommendation_ids=[str(r) for r in recommendation_ids]))


def record_each(record: Callable[[str, str | None], str], decisions: list[tuple[str, str | None]],
                action: str) -> list[dict]:
    """Call `record(recommendation_id, expected_latest)` for each decision (each its own write); every refusal
    (stale state, no consent, ...) is reported for its item and the others still go ahead."""
    if action not in BULK_ACTIONS:
        raise ValueError(f"bulk decisions are {' or '.join(BULK_ACTIONS)}, not {action!r}")
    out = []
    for recommendation_id, expected in decisions:
        result = {"recommendation_id": recommendation_id, "review_id": None, "error": None, "stale": None}
        try:
            result["review_id"] = record(recommendation_id, expected)
        except opstore.StaleDecision as exc:
            result["error"], result["stale"] = str(exc), exc.latest or {}
        except (ValueError, KeyError, PermissionError) as exc:
            result["error"] = str(exc).strip("'\"")
        out.append(result)
    return out


def check_action(action: str) -> None:
    if action not in REVIEW_ACTIONS:
        raise ValueError(f"unknown review action {action!r}; expected one of {', '.join(REVIEW_ACTIONS)}")


def check_review(action: str, reason: str, replacement_item_id: str | None, eligible: set[str] | None,
                 consent_status: str | None, recommendation_id: str, user_id: str) -> None:
    """Raise (ValueError, PermissionError) unless this review may be recorded.

    A reason is required to override, suppress or flag; an override needs one of the `eligible` replacements;
    approve and override need granted consent (`consent_status`).
    """
    check_action(action)
    if action in REASON_REQUIRED and not reason:
        raise ValueError(f"a reason is required to {action} a recommendation")
    if action == "override":
        allowed = eligible or set()
        if not replacement_item_id or replacement_item_id not in allowed:
            raise ValueError(f"replacement {replacement_item_id!r} is not an eligible item for "
                             f"{recommendation_id}; choose one of: {', '.join(sorted(allowed)) or '(none)'}")
    elif replacement_item_id:
        raise ValueError("a replacement item is only allowed with action 'override'")
    if action in NEEDS_CONSENT and consent_status != "granted":
        raise PermissionError(f"user {user_id} has no granted consent ({consent_status}); "
                              f"their recommendations cannot be approved")
