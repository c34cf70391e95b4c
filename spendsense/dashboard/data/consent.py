"""Consent as the dashboard shows it: every event of the opstore and of the run's warehouse copy (the same event
once, by event_id), ranked by the project's one status rule (`spendsense.consent.ranked`).

Times are ISO-8601 UTC text as the opstore stores them (text order is time order). Recording order is the
opstore's rowid; events only in the warehouse copy count as recorded before all of the opstore's.
"""

from __future__ import annotations

import pandas as pd

from spendsense import consent as consent_rule
from spendsense.dashboard.data.roles import AccessDenied
from spendsense.dashboard.data.run import PublishedRun
from spendsense.dashboard.data.store import OpStore

SQL = "dashboard/data/consent.sql"
COLUMNS = ["event_id", "user_id", "event", "occurred_at", "source", "actor", "recorded_at", "origin"]


def events(run: PublishedRun | None, ops: OpStore, user_id: str | None = None) -> pd.DataFrame:
    """The events (of one user, or of everyone), oldest first, with `events_after` (0 = the current status);
    without a run (nothing published yet, e.g. `spendsense consent`) the opstore's events only."""
    stored = (ops.frame(SQL, "opstore_events_of_user", user_id=user_id) if user_id
              else ops.frame(SQL, "opstore_events"))
    frames = [stored]
    if run is not None and run.has("consent_events"):
        copy = run.frame(SQL, "warehouse_events", user_id=user_id or None)
        frames.append(copy[~copy["event_id"].isin(set(stored["event_id"]))])
    frames = [f for f in frames if len(f)]
    if not frames:
        return pd.DataFrame(columns=COLUMNS + ["events_after"])
    merged = pd.concat(frames, ignore_index=True) if len(frames) > 1 else frames[0]
    return consent_rule.ranked(merged)[COLUMNS + ["events_after"]]


def status_all(run: PublishedRun | None, ops: OpStore) -> pd.DataFrame:
    """Current consent status of every user with an event: user_id, status, occurred_at."""
    ranked = events(run, ops)
    last = ranked[ranked["events_after"] == 0]
    return last.rename(columns={"event": "status"})[["user_id", "status", "occurred_at"]]


def history(run: PublishedRun | None, ops: OpStore, user_id: str) -> list[dict]:
    """One user's events, oldest first, as dicts (missing values None)."""
    ranked = events(run, ops, user_id)
    rows = ranked.drop(columns="events_after").astype(object).where(ranked.notna(), None)
    return rows.to_dict("records")


def status(run: PublishedRun | None, ops: OpStore, user_id: str) -> tuple[str, dict]:
    """(granted | revoked | none, the event that decides it)."""
    rows = history(run, ops, user_id)
    return (str(rows[-1]["event"]), rows[-1]) if rows else ("none", {})


def check_event(event: str, role: str) -> None:
    """A consent event the role may record through the dashboard: operators revoke (a customer asked to stop);
    granting consent on the customer's behalf needs an admin."""
    if event not in ("granted", "revoked"):
        raise ValueError(f"unknown consent event {event!r}; expected granted or revoked")
    if event == "granted" and role != "admin":
        raise AccessDenied(f"role {role!r} may not grant consent (needs admin)")
