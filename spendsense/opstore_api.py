"""The operational store's tables written by the REST API: customers' feedback and users registered through it.

Both tables are append-only (opstore.sql); every write runs in one transaction with its audit row, through the
store's own write and audit helpers.
"""

from __future__ import annotations

import sqlite3
import uuid

import pandas as pd

from spendsense import opstore, sql

SQL = "opstore_api.sql"
REACTIONS = ("helpful", "not_helpful", "dismissed", "clicked")


def record_feedback(con: sqlite3.Connection, user_id: str, recommendation_id: str, run_id: str, reaction: str,
                    actor: str, role: str, item_id: str | None = None, note: str | None = None,
                    feedback_id: str | None = None) -> tuple[str, bool]:
    """Append a customer's reaction to a recommendation (and its audit row); returns (feedback_id, added).

    A feedback_id given by the caller makes the write idempotent: sending it again adds nothing.
    """
    opstore._required_text(user_id=user_id, recommendation_id=recommendation_id, run_id=run_id, actor=actor,
                           role=role)
    if reaction not in REACTIONS:
        raise ValueError(f"reaction must be one of {', '.join(REACTIONS)}, not {reaction!r}")
    feedback_id = feedback_id or uuid.uuid4().hex
    with opstore._write(con):
        before = con.total_changes
        con.execute(*sql.query(SQL, "insert_feedback").bind(
            feedback_id=feedback_id, user_id=user_id, recommendation_id=recommendation_id, run_id=run_id,
            item_id=item_id, reaction=reaction, note=note, actor=actor, recorded_at=opstore._now()))
        added = con.total_changes > before
        if added:
            opstore._insert_audit(con, actor, role, f"feedback.{reaction}", user_id,
                                  {"feedback_id": feedback_id, "recommendation_id": recommendation_id,
                                   "run_id": run_id})
    return feedback_id, added


def feedback(con: sqlite3.Connection, run_id: str | None = None) -> pd.DataFrame:
    """Every feedback row (of one run, or all) in recording order."""
    text, params = sql.query(SQL, "feedback").bind(run_id=run_id)
    return opstore.frame(con, text, params, times=("recorded_at",))


def click_through(con: sqlite3.Connection, run_id: str, delivered: int) -> dict:
    """The click-through figure of a run: recommendations clicked / recommendations delivered, with the counts;
    {"status": "no feedback yet"} when nobody has reacted to this run's recommendations."""
    with_feedback, clicked, reactions = con.execute(*sql.query(SQL, "click_through").bind(run_id=run_id)).fetchone()
    if not reactions:
        return {"status": "no feedback yet"}
    return {"status": "measured", "recommendations_delivered": int(delivered),
            "recommendations_with_feedback": int(with_feedback), "recommendations_clicked": int(clicked),
            "reactions": int(reactions),
            "click_through_rate": round(clicked / delivered, 4) if delivered else None}


def register_user(con: sqlite3.Connection, user_id: str, name: str, source: str, actor: str,
                  role: str) -> bool:
    """Register a user (and audit it); False when the user_id was registered before (nothing changes)."""
    opstore._required_text(user_id=user_id, name=name, source=source, actor=actor, role=role)
    with opstore._write(con):
        before = con.total_changes
        con.execute(*sql.query(SQL, "insert_registered_user").bind(
            user_id=user_id, name=name, source=source, actor=actor, registered_at=opstore._now()))
        added = con.total_changes > before
        if added:
            opstore._insert_audit(con, actor, role, "user.register", user_id, {"source": source})
    return added


def registered_user(con: sqlite3.Connection, user_id: str) -> dict | None:
    """The registration of a user_id, or None."""
    cur = con.execute(*sql.query(SQL, "registered_user").bind(user_id=user_id))
    row = cur.fetchone()
    return dict(zip([d[0] for d in cur.description], row)) if row else None
