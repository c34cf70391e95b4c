"""Consent events in the operational store: grants and revocations recorded (one at a time, several in one
transaction, or imported from a raw consent_events table) and each user's status by the one rule of
spendsense.consent."""

from __future__ import annotations

import sqlite3
import uuid

import pandas as pd

from spendsense import consent as consent_rule
from spendsense.opstore.connection import (
    QUERIES,
    _check_columns,
    _exclusive_bound,
    _insert_audit,
    _now,
    _required_text,
    _utc_text,
    _utc_texts,
    _write,
    frame,
    query,
)

CONSENT_EVENTS = ("granted", "revoked")
CONSENT_COLUMNS = ("event_id", "user_id", "event", "occurred_at", "source", "actor")


class FutureConsentError(ValueError):
    """A consent event dated after the moment it is recorded (beyond the clock-skew allowance)."""



def _stored_occurred(occurred_at, recorded: str, what: str) -> str:
    """occurred_at as stored: refused if after `recorded` beyond the skew allowance, else clamped to it."""
    occurred = _utc_text(occurred_at)
    if consent_rule.future_mask(pd.Series([occurred]), pd.Timestamp(recorded)).iat[0]:
        raise FutureConsentError(f"{what}: {consent_rule.future_message(occurred, recorded)}")
    return min(occurred, recorded)


def record_consent(con: sqlite3.Connection, user_id: str, event: str, source: str, actor: str,
                   occurred_at=None, role: str = "system", reason: str | None = None) -> str:
    """Record a consent grant or revocation (and its audit row) and return the new event_id.

    An occurred_at after now (beyond the clock-skew allowance) raises FutureConsentError; within it, the stored
    time is clamped to the recording time (spendsense.consent). A reason, if given, is kept in the audit row.
    """
    return record_consents(con, [user_id], event, source, actor, occurred_at, role, reason)[0]


def record_consents(con: sqlite3.Connection, user_ids: list[str], event: str, source: str, actor: str,
                    occurred_at=None, role: str = "system", reason: str | None = None) -> list[str]:
    """record_consent for several users in ONE transaction (all or nothing); returns their event_ids in order."""
    user_ids = list(user_ids)
    if not user_ids:
        raise ValueError("user_id is required")
    for user_id in user_ids:
        _required_text(user_id=user_id)
    _required_text(source=source, actor=actor, role=role)
    if event not in CONSENT_EVENTS:
        raise ValueError(f"event must be one of {', '.join(CONSENT_EVENTS)}, not {event!r}")
    event_ids = []
    with _write(con):
        recorded = _now()  # taken inside the write lock: recording order and recorded_at agree
        for user_id in user_ids:
            event_id = uuid.uuid4().hex
            occurred = _stored_occurred(occurred_at, recorded, f"consent {event} for user {user_id}") \
                if occurred_at is not None else recorded
            con.execute(
                "insert into consent_events (event_id, user_id, event, occurred_at, source, actor, recorded_at)"
                " values (?, ?, ?, ?, ?, ?, ?)",
                (event_id, user_id, event, occurred, source, actor, recorded),
            )
            detail = {"event_id": event_id, "source": source, "occurred_at": occurred}
            if reason is not None and str(reason).strip():
                detail["reason"] = str(reason).strip()
            _insert_audit(con, actor, role, f"consent.{event}", user_id, detail)
            event_ids.append(event_id)
    return event_ids


def import_consent_events(con: sqlite3.Connection, df: pd.DataFrame, actor: str = "spendsense ingest") -> int:
    """Append consent events (columns as the raw consent_events table), skipping known event_ids; returns rows added.

    Rows are recorded in the frame's order (the recording order that breaks ties of occurred_at). An event dated
    after now beyond the clock-skew allowance raises FutureConsentError naming it, and nothing is added.
    """
    _check_columns(df, CONSENT_COLUMNS, "consent events")
    bad = ~df["event"].isin(CONSENT_EVENTS)
    if bad.any():
        first = df.index[bad.to_numpy()][0]
        raise ValueError(f"consent events: event must be granted or revoked (row index {first}: "
                         f"{df.loc[first, 'event']!r})")
    occurred = _utc_texts(df["occurred_at"], "occurred_at")
    with _write(con):
        recorded = _now()
        future = consent_rule.future_mask(occurred, pd.Timestamp(recorded)).to_numpy()
        if future.any():
            i = int(future.argmax())
            raise FutureConsentError(
                f"consent events: {int(future.sum())} event(s) dated in the future; first event_id "
                f"{df['event_id'].iat[i]!r} (row index {df.index[i]}): "
                + consent_rule.future_message(occurred.iat[i], recorded))
        rows = pd.DataFrame({
            "event_id": df["event_id"].astype(str).to_numpy(),
            "user_id": df["user_id"].astype(str).to_numpy(),
            "event": df["event"].astype(str).to_numpy(),
            "occurred_at": occurred.where(occurred <= recorded, recorded).to_numpy(),
            "source": df["source"].astype(str).to_numpy(),
            "actor": df["actor"].astype(str).to_numpy(),
            "recorded_at": recorded,
        })
        records = list(rows.itertuples(index=False, name=None))
        before = con.total_changes
        con.executemany(
            "insert into consent_events (event_id, user_id, event, occurred_at, source, actor, recorded_at)"
            " values (?, ?, ?, ?, ?, ?, ?) on conflict do nothing",
            records,
        )
        added = con.total_changes - before
        if added:
            _insert_audit(con, actor, "system", "consent.import", None,
                          {"events_received": len(records), "events_added": added})
    return added


def consent_events(con: sqlite3.Connection) -> pd.DataFrame:
    """Every consent event in recording order."""
    return frame(con, "select event_id, user_id, event, occurred_at, source, actor, recorded_at"
                      " from consent_events order by rowid", times=("occurred_at", "recorded_at"))


def consent_status(con: sqlite3.Connection, as_of=None, user_id: str | None = None) -> pd.DataFrame:
    """Each user's consent status ('granted' or 'revoked') as of a date (end of day) or instant, by the one rule
    of spendsense.consent (latest occurred_at, ties by recording order); optionally for one user only."""
    events = ("select rowid as seq, user_id, event, occurred_at from consent_events"
              " where ($before is null or occurred_at < $before)"
              + (" and user_id = $user_id" if user_id is not None else ""))  # per-user index
    return frame(con, consent_rule.status_sql(events), {"before": _exclusive_bound(as_of), "user_id": user_id},
                 times=("occurred_at",))


def consent_reasons(con: sqlite3.Connection, user_id: str) -> dict[str, str]:
    """event_id -> the reason (or dashboard note) the audit log records for that consent event of the user."""
    rows = con.execute(*query(con, QUERIES, "consent_reasons").bind(user_id=user_id))
    reasons: dict[str, str] = {}
    for event_id, reason in rows:
        if event_id and reason:
            reasons[event_id] = f"{reasons[event_id]}; {reason}" if event_id in reasons else reason
    return reasons


def consent_watermark(con: sqlite3.Connection) -> int:
    """The recording position (rowid) of the newest consent event, 0 when there is none."""
    return int(con.execute("select coalesce(max(rowid), 0) from consent_events").fetchone()[0])


def consent_changed_since(con: sqlite3.Connection, mark: int) -> set[str]:
    """Users with a consent event recorded after the watermark `mark`."""
    return {u for (u,) in con.execute("select distinct user_id from consent_events where rowid > ?", (mark,))}


def consenting_user_ids(con: sqlite3.Connection, as_of=None) -> set[str]:
    """The users whose latest consent event (as of as_of) is a grant."""
    status = consent_status(con, as_of)
    return set(status.loc[status["status"] == "granted", "user_id"])


# ------------------------------------------------------------------------------------------------ reviews
