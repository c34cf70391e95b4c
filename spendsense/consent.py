"""Consent: the one status rule (spendsense/consent_order.sql) and the clock-skew rule for event times.

Every consumer (the opstore's consent_status, the signal step's scope, the recommendation engine, the
single-user path, the dashboard) derives a user's status through `status_sql` / `latest_status`, so they cannot
disagree: the latest `occurred_at` wins, ties broken by recording order (the later recorded event wins).

An event may not be dated after the moment it is recorded by more than the clock-skew allowance
(`SPENDSENSE_CONSENT_MAX_SKEW_S`, default 300 s); such events are refused at ingest and by every opstore write.
Within the allowance the stored time is clamped to the recording time, so an event recorded later with the
default time (now) always comes after it: a revoke is never overtaken by a grant recorded earlier.
"""

from __future__ import annotations

import os
from pathlib import Path

import pandas as pd

from spendsense import memdb, sql

ORDER_SQL_PATH = Path(__file__).with_name("consent_order.sql")
DEFAULT_MAX_SKEW_S = 300.0
SKEW_ENV = "SPENDSENSE_CONSENT_MAX_SKEW_S"


def max_skew() -> pd.Timedelta:
    """How far after its recording an event's occurred_at may lie (configured by SPENDSENSE_CONSENT_MAX_SKEW_S)."""
    raw = os.environ.get(SKEW_ENV, "").strip()
    try:
        seconds = float(raw) if raw else DEFAULT_MAX_SKEW_S
    except ValueError:
        raise ValueError(f"{SKEW_ENV}={raw!r} is not a number of seconds") from None
    if not 0 <= seconds <= 86400:
        raise ValueError(f"{SKEW_ENV}={raw!r} must be between 0 and 86400 seconds")
    return pd.Timedelta(seconds=seconds)


def order_sql(events_sql: str) -> str:
    """Every event of `events_sql` (user_id, event, occurred_at, seq) with its events_after rank."""
    return f"with consent_event_log as ({events_sql})\n" + sql.query("consent_order.sql").bind()[0]


def status_sql(events_sql: str) -> str:
    """Each user's status (user_id, status, occurred_at) from the events of `events_sql`, ordered by user."""
    return (f"select user_id, event as status, occurred_at from ({order_sql(events_sql)}) as ranked"
            " where events_after = 0 order by user_id")


def ranked(events: pd.DataFrame) -> pd.DataFrame:
    """The events (user_id, event, occurred_at, seq, any other columns) with events_after, oldest first."""
    with memdb.cursor() as con:
        con.register("consent_frame", events)
        return con.execute(f"select * from ({order_sql('select * from consent_frame')}) as r"
                           " order by user_id, events_after desc").df()


def latest_status(events: pd.DataFrame) -> pd.DataFrame:
    """Each user's status from a frame of events (user_id, event or status, occurred_at[, seq]); without a seq
    column the frame's row order is the recording order."""
    frame = pd.DataFrame({
        "user_id": events["user_id"].astype(str).to_numpy(dtype=object),
        "event": events["event" if "event" in events.columns else "status"].to_numpy(dtype=object),
        "occurred_at": events["occurred_at"].to_numpy() if "occurred_at" in events.columns else pd.NaT,
        "seq": events["seq"].to_numpy() if "seq" in events.columns else range(len(events)),
    })
    with memdb.cursor() as con:
        con.register("consent_frame", frame)
        return con.execute(status_sql("select * from consent_frame")).df()


def by_user(consent: pd.DataFrame) -> pd.DataFrame:
    """(user_id, status, occurred_at), one row per user: a snapshot (user_id unique, as opstore.consent_status
    gives) as it is, a list of events (user_id, status or event, occurred_at) by the rule (frame order =
    recording order)."""
    if "user_id" not in consent.columns or not {"status", "event"} & set(consent.columns):
        raise ValueError("consent: needs the columns user_id and status (or event)")
    occurred = (pd.to_datetime(consent["occurred_at"]) if "occurred_at" in consent.columns
                else pd.Series(pd.NaT, index=consent.index, dtype="datetime64[us]"))
    status = consent["status" if "status" in consent.columns else "event"]
    if consent["user_id"].is_unique:
        return pd.DataFrame({"user_id": consent["user_id"].astype(str).to_numpy(dtype=object),
                             "status": status.to_numpy(dtype=object), "occurred_at": occurred.to_numpy()})
    return latest_status(pd.DataFrame({"user_id": consent["user_id"].to_numpy(dtype=object),
                                       "event": status.to_numpy(dtype=object), "occurred_at": occurred.to_numpy()}))


def future_mask(occurred: pd.Series, recorded: pd.Timestamp) -> pd.Series:
    """Which events (aware or naive-UTC occurred_at) lie after `recorded` by more than the skew allowance."""
    ts = pd.to_datetime(occurred, utc=True, format="ISO8601")
    rec = pd.Timestamp(recorded)
    rec = rec.tz_localize("UTC") if rec.tzinfo is None else rec.tz_convert("UTC")
    return ts > rec + max_skew()


def future_message(occurred, recorded) -> str:
    """Why one event is refused."""
    return (f"occurred_at {occurred} is after the time it is recorded ({recorded}) by more than the allowed "
            f"clock skew of {max_skew().total_seconds():g} s; consent events cannot be dated in the future")
