"""Consent as the dashboard shows it: every event of the opstore and of the run's warehouse copy (the same event
once, by event_id), ranked by the project's one status rule (`spendsense.consent.ranked`).

Times are ISO-8601 UTC text as the opstore stores them (text order is time order). Recording order is the
opstore's rowid; events only in the warehouse copy count as recorded before all of the opstore's.
"""

from __future__ import annotations

import sqlite3
import threading

import pandas as pd

from spendsense import consent as consent_rule
from spendsense import sql
from spendsense.dashboard.data.roles import AccessDenied
from spendsense.dashboard.data.run import PublishedRun
from spendsense.dashboard.data.store import OpStore

SQL = "dashboard/data/consent.sql"
_SCRATCH = threading.local()  # one scratch database per thread: sqlite3 connections stay in their thread
COLUMNS = ["event_id", "user_id", "event", "occurred_at", "source", "actor", "recorded_at", "origin"]


def warehouse_events(run: PublishedRun) -> pd.DataFrame:
    """The run's copy of every consent event, read once per run (a published run never changes)."""
    return run.memo("consent_events", lambda: run.frame(SQL, "warehouse_events", user_id=None))


def _warehouse_events_by_user(run: PublishedRun) -> dict[str, list[dict]]:
    """The run's copy of the consent events as plain rows per user (built once per run)."""
    def group() -> dict[str, list[dict]]:
        frame = warehouse_events(run)
        rows = frame.astype(object).where(frame.notna(), None).to_dict("records")
        out: dict[str, list[dict]] = {}
        for row in rows:
            out.setdefault(row["user_id"], []).append(row)
        return out

    return run.memo("consent_events_by_user", group)


def events(run: PublishedRun | None, ops: OpStore, user_id: str | None = None) -> pd.DataFrame:
    """The events (of one user, or of everyone), oldest first, with `events_after` (0 = the current status);
    without a run (nothing published yet, e.g. `spendsense consent`) the opstore's events only."""
    if user_id:
        return pd.DataFrame(user_events(run, ops, user_id), columns=COLUMNS + ["events_after"])
    stored = ops.frame(SQL, "opstore_events")
    frames = [stored]
    if run is not None and run.has("consent_events"):
        copy = warehouse_events(run)
        frames.append(copy[~copy["event_id"].isin(set(stored["event_id"]))])
    frames = [f for f in frames if len(f)]
    if not frames:
        return pd.DataFrame(columns=COLUMNS + ["events_after"])
    merged = pd.concat(frames, ignore_index=True) if len(frames) > 1 else frames[0]
    return consent_rule.ranked(merged)[COLUMNS + ["events_after"]]


def _scratch() -> sqlite3.Connection:
    """This thread's in-memory SQLite database with the empty scratch table (made once per thread)."""
    con = getattr(_SCRATCH, "con", None)
    if con is None:
        con = _SCRATCH.con = sqlite3.connect(":memory:")
        con.execute(sql.query(SQL, "scratch_table").bind()[0])
    return con


def user_events(run: PublishedRun | None, ops: OpStore, user_id: str) -> list[dict]:
    """One user's events, oldest first, as plain rows with `events_after`: what a user switch reads.

    The same rule as `events` (consent_order.sql), run over the user's few rows in an in-memory SQLite
    database (one per thread, emptied after each use): well under a millisecond, where
    `spendsense.consent.ranked` opens a fresh DuckDB (tens of milliseconds) and pandas adds as much again.
    """
    cur = ops.execute(SQL, "opstore_events_of_user", user_id=user_id)
    names = [d[0] for d in cur.description]
    rows = [dict(zip(names, r)) for r in cur.fetchall()]
    if run is not None and run.has("consent_events"):
        stored = {r["event_id"] for r in rows}
        rows += [r for r in _warehouse_events_by_user(run).get(user_id, []) if r["event_id"] not in stored]
    if not rows:
        return []
    insert = sql.query(SQL, "scratch_insert")
    con = _scratch()
    try:
        con.executemany(insert.text, [insert.bind(**{k: r[k] for k in insert.params})[1] for r in rows])
        cur = con.execute(consent_rule.order_sql(sql.query(SQL, "scratch_events").bind()[0]))
        names = [d[0] for d in cur.description]
        ranked = [dict(zip(names, r)) for r in cur.fetchall()]
    finally:
        con.execute(sql.query(SQL, "scratch_clear").text)
    ranked.sort(key=lambda r: -r["events_after"])  # ranked's order: oldest (most events after it) first
    return [{c: r[c] for c in COLUMNS + ["events_after"]} for r in ranked]


def status_all(run: PublishedRun | None, ops: OpStore) -> pd.DataFrame:
    """Current consent status of every user with an event: user_id, status, occurred_at."""
    ranked = events(run, ops)
    last = ranked[ranked["events_after"] == 0]
    return last.rename(columns={"event": "status"})[["user_id", "status", "occurred_at"]]


def history(run: PublishedRun | None, ops: OpStore, user_id: str) -> list[dict]:
    """One user's events, oldest first, as dicts (missing values None)."""
    return [{c: r[c] for c in COLUMNS} for r in user_events(run, ops, user_id)]


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
