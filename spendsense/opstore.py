"""The operational store: consent events, operator reviews, the audit log and delivery history.

State that people change while the pipeline runs lives here, apart from the analytical DuckDB files: an SQLite
database in WAL mode (many readers, one writer at a time, writers queue up for up to 30 s) whose tables are
append-only (triggers abort UPDATE and DELETE). Current state is always derived from the latest event.

Every write function runs one short `BEGIN IMMEDIATE` transaction of its own, so several processes (dashboard
kernels, a pipeline run, ingest) can write at once without losing anything. Timestamps are stored as ISO-8601 UTC
text with microseconds; the read functions return them as naive UTC pandas timestamps (like the warehouse).

A postgresql:// location opens the same store on PostgreSQL (spendsense.opstore_pg): the same functions and SQL
texts (`query` picks a `<name>__postgresql` section where the dialects differ), writes serialized by an advisory
lock instead of BEGIN IMMEDIATE, triggers rejecting UPDATE, DELETE and TRUNCATE.
"""

from __future__ import annotations

import datetime as dt
import json
import sqlite3
import time
import uuid
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import TypeVar

import duckdb
import numpy as np
import pandas as pd
import pyarrow as pa

from spendsense import consent as consent_rule
from spendsense import opstore_pg, paths, sql

SCHEMA_VERSION = 2  # 2: feedback and registered_users (the REST API)
QUERIES = "opstore_queries.sql"
BUSY_TIMEOUT_S = 30.0
CONSENT_EVENTS = ("granted", "revoked")
REVIEW_ACTIONS = ("approve", "override", "suppress", "flag")
REASON_REQUIRED = ("override", "suppress", "flag")
CONSENT_COLUMNS = ("event_id", "user_id", "event", "occurred_at", "source", "actor")
DELIVERY_COLUMNS = ("run_id", "user_id", "item_id", "kind")
DELIVERY_FIELDS = ("delivery_id", "run_id", "user_id", "item_id", "kind", "recommendation_id", "delivered_at")
DELIVERY_CACHE_KIB = 256 * 1024  # least page cache while recording a run's deliveries (about 1.3M at 100k users)
DELIVERY_CACHE_MAX_KIB = 2 * 1024 * 1024  # at most: the whole store plus the new rows, up to 2 GiB
DELIVERY_ROW_KIB = 0.4  # a delivery row with its two index entries, rounded up (335 MB for 1.3M rows)

_TIME_FORMAT = "%Y-%m-%dT%H:%M:%S.%f+00:00"
T = TypeVar("T")


# --------------------------------------------------------------------------------------------- connection


def connect(path: Path | str | None = None) -> sqlite3.Connection | opstore_pg.PgConnection:
    """Open the operational store (default spendsense.paths.opstore_path()), creating its schema if missing: an
    SQLite file, or a PostgreSQL server when the location is a postgresql:// URL (spendsense.opstore_pg)."""
    path = paths.opstore_location(path)
    if opstore_pg.is_url(path):
        return opstore_pg.connect(path, SCHEMA_VERSION)
    path.parent.mkdir(parents=True, exist_ok=True)
    con = sqlite3.connect(str(path), timeout=BUSY_TIMEOUT_S, isolation_level=None)
    con.execute(f"pragma busy_timeout = {int(BUSY_TIMEOUT_S * 1000)}")
    if con.execute("pragma user_version").fetchone()[0] < SCHEMA_VERSION:
        _create_schema(con)
    con.execute("pragma synchronous = full")
    return con


def _create_schema(con: sqlite3.Connection) -> None:
    """Switch the file to WAL and create tables and triggers; safe when several processes race to do it."""
    def switch_to_wal() -> None:
        if con.execute("pragma journal_mode = wal").fetchone()[0] != "wal":
            raise sqlite3.OperationalError("operational store: could not switch to WAL mode (database locked)")

    retry_locked(switch_to_wal)
    script = sql.query("opstore.sql").bind()[0]
    try:
        con.executescript("begin immediate;\n" + script + "\ncommit;")
    except BaseException:
        if con.in_transaction:
            con.execute("rollback")
        raise


def retry_locked(operation: Callable[[], T], timeout_s: float = BUSY_TIMEOUT_S) -> T:
    """Call `operation` and return its result, repeating it while SQLite reports the database locked or busy
    (PostgreSQL: a lock timeout, deadlock or serialization failure; nothing was written then) until `timeout_s`
    has passed; the last error is raised after that. The one retry rule of the store, for its own writes and for
    callers (the dashboard)."""
    deadline = time.monotonic() + timeout_s
    while True:
        try:
            return operation()
        except sqlite3.OperationalError as exc:
            text = str(exc).lower()
            if ("locked" not in text and "busy" not in text) or time.monotonic() > deadline:
                raise
        except opstore_pg.RETRYABLE:
            if time.monotonic() > deadline:
                raise
        time.sleep(0.05)


def is_postgresql(con) -> bool:
    """Whether a store connection is PostgreSQL's (else SQLite's)."""
    return isinstance(con, opstore_pg.PgConnection)


def query(con, file: str, name: str) -> sql.Query:
    """A named store query for this connection's dialect: `<name>__postgresql` where a file has one, else the
    one text both dialects run."""
    if is_postgresql(con):
        found = sql.queries(file)
        if f"{name}__postgresql" in found:
            return found[f"{name}__postgresql"]
    return sql.query(file, name)


def _write(con):
    """One short write transaction holding the store's write lock (SQLite: BEGIN IMMEDIATE; PostgreSQL: the
    advisory write lock), waiting for it up to the busy timeout."""
    return con.write() if is_postgresql(con) else _sqlite_write(con)


@contextmanager
def _sqlite_write(con: sqlite3.Connection) -> Iterator[sqlite3.Connection]:
    """BEGIN IMMEDIATE takes SQLite's write lock up front (waiting up to busy_timeout)."""
    con.execute("begin immediate")
    try:
        yield con
    except BaseException:
        con.execute("rollback")
        raise
    con.execute("commit")


# ------------------------------------------------------------------------------------------------ helpers


def _now() -> str:
    """The current time as stored: ISO-8601 UTC with microseconds."""
    return dt.datetime.now(dt.UTC).strftime(_TIME_FORMAT)


def utc_text(value) -> str:
    """One timestamp (naive values are taken as UTC) as stored text, e.g. for comparing with stored columns."""
    ts = pd.Timestamp(value)
    ts = ts.tz_localize("UTC") if ts.tzinfo is None else ts.tz_convert("UTC")
    return ts.strftime(_TIME_FORMAT)


_utc_text = utc_text  # older name, used by callers


def _utc_texts(values: pd.Series, column: str) -> pd.Series:
    """A column of timestamps as stored text; raises ValueError naming the column on unparseable values."""
    try:
        parsed = pd.to_datetime(values, utc=True, format="ISO8601")
    except (ValueError, TypeError) as exc:
        raise ValueError(f"{column}: not a timestamp: {exc}") from None
    if parsed.isna().any():
        raise ValueError(f"{column}: {int(parsed.isna().sum())} missing timestamp(s)")
    return parsed.dt.strftime(_TIME_FORMAT)


def _exclusive_bound(as_of) -> str | None:
    """An upper bound on occurred_at: a date means the end of that day (UTC), a timestamp that instant."""
    if as_of is None:
        return None
    if isinstance(as_of, str) and len(as_of.strip()) == 10:
        as_of = dt.date.fromisoformat(as_of.strip())
    if isinstance(as_of, dt.date) and not isinstance(as_of, dt.datetime):
        return _utc_text(pd.Timestamp(as_of) + pd.Timedelta(days=1))
    return _utc_text(pd.Timestamp(as_of) + pd.Timedelta(microseconds=1))


def _required_text(**values: str | None) -> None:
    """Raise ValueError if any named value is missing or blank."""
    for name, value in values.items():
        if value is None or not str(value).strip():
            raise ValueError(f"{name} is required")


def frame(con, text: str, params=(), times: tuple[str, ...] = ()) -> pd.DataFrame:
    """Run a store query into a DataFrame (either dialect), turning the named stored timestamp columns into naive
    UTC timestamps."""
    cur = con.execute(text, params)
    df = pd.DataFrame(cur.fetchall(), columns=[d[0] for d in cur.description])
    for col in times:
        df[col] = pd.to_datetime(df[col], utc=True, format="ISO8601").dt.tz_localize(None)
    return df


def _check_columns(df: pd.DataFrame, required: tuple[str, ...], what: str) -> None:
    """Raise ValueError naming the missing columns and the rows with empty required values."""
    missing = [c for c in required if c not in df.columns]
    if missing:
        raise ValueError(f"{what}: missing column(s) {', '.join(missing)}")
    for col in required:
        blank = df[col].isna() | (df[col].astype("string").str.strip() == "")
        if blank.any():
            first = df.index[blank.to_numpy()][0]
            raise ValueError(f"{what}: {int(blank.sum())} row(s) with empty {col} (first at index {first})")


def _insert_audit(con: sqlite3.Connection, actor: str, role: str, action: str, target: str | None,
                  detail: dict) -> str:
    """Insert one audit row inside the caller's transaction."""
    audit_id = uuid.uuid4().hex
    con.execute(
        "insert into audit_log (audit_id, actor, role, action, target, detail, recorded_at)"
        " values (?, ?, ?, ?, ?, ?, ?)",
        (audit_id, actor, role, action, target, json.dumps(detail, sort_keys=True, default=str), _now()),
    )
    return audit_id


# ----------------------------------------------------------------------------------------------- consent


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


def record_audit(con: sqlite3.Connection, actor: str, role: str, action: str, target: str | None,
                 detail: dict) -> str:
    """Append one audit row (detail stored as JSON) and return its audit_id."""
    _required_text(actor=actor, role=role, action=action)
    with _write(con):
        return _insert_audit(con, actor, role, action, target, dict(detail))


def audit_log(con: sqlite3.Connection) -> pd.DataFrame:
    """Every audit row in recording order; detail is parsed back into a dict."""
    df = frame(con, "select audit_id, actor, role, action, target, detail, recorded_at from audit_log"
                    " order by rowid", times=("recorded_at",))
    df["detail"] = df["detail"].map(json.loads)
    return df


# --------------------------------------------------------------------------------------------- deliveries


def delivery_ids(df: pd.DataFrame) -> pd.Series:
    """Deterministic delivery ids: md5 (hex) of run_id, user_id, item_id, kind and recommendation_id."""
    cols = ["run_id", "user_id", "item_id", "kind", "recommendation_id"]
    keys = pa.table({c: pa.array((df[c] if c in df.columns else pd.Series(None, index=df.index, dtype=object))
                                 .astype("string").fillna(""), type=pa.string()) for c in cols})
    with duckdb.connect() as con:
        con.register("delivery_keys", keys)
        ids = con.execute("select md5(concat_ws(chr(31), run_id, user_id, item_id, kind, recommendation_id))"
                          " as delivery_id from delivery_keys").fetchnumpy()["delivery_id"]
    return pd.Series(np.asarray(ids, dtype=object), index=df.index, dtype=object)


def _delivery_times(values: pd.Series) -> np.ndarray:
    """delivered_at as stored text; each distinct value is formatted once (a run delivers at one instant)."""
    if values.isna().any():
        return _utc_texts(values, "delivered_at").to_numpy(dtype=object)  # raises, naming the column
    codes, uniques = pd.factorize(values)
    return _utc_texts(pd.Series(uniques), "delivered_at").to_numpy(dtype=object)[codes]


def record_deliveries(con: sqlite3.Connection, df: pd.DataFrame) -> int:
    """Append delivered items (run_id, user_id, item_id, kind[, recommendation_id, delivered_at]); returns rows added.

    Recording the same deliveries twice adds nothing: delivery_id defaults to a hash of the row's identity.
    """
    _check_columns(df, DELIVERY_COLUMNS, "deliveries")
    n = len(df)
    now = _now()
    text = lambda col: df[col].astype(str).to_numpy(dtype=object)
    rec = (df["recommendation_id"].astype(object).where(df["recommendation_id"].notna(), None).to_numpy()
           if "recommendation_id" in df.columns else np.full(n, None, dtype=object))
    columns = [
        text("delivery_id") if "delivery_id" in df.columns else delivery_ids(df).to_numpy(dtype=object),
        text("run_id"), text("user_id"), text("item_id"), text("kind"), rec,
        _delivery_times(df["delivered_at"]) if "delivered_at" in df.columns else np.full(n, now, dtype=object),
    ]
    rows = zip(*(column.tolist() for column in columns))  # streamed row by row, no list of row tuples
    if is_postgresql(con):
        with _write(con):  # COPY into a staging table, then one insert in frame order
            con.execute(*sql.query(QUERIES, "stage_deliveries__postgresql").bind())
            con.copy_rows("staged_deliveries", list(DELIVERY_FIELDS), rows)
            return con.execute(*sql.query(QUERIES, "insert_staged_deliveries__postgresql").bind()).rowcount
    cache, temp_store = con.execute("pragma cache_size").fetchone()[0], con.execute("pragma temp_store").fetchone()[0]
    stored_kib = con.execute("pragma page_count").fetchone()[0] * con.execute("pragma page_size").fetchone()[0] / 1024
    wanted = min(DELIVERY_CACHE_MAX_KIB, max(DELIVERY_CACHE_KIB, int(stored_kib + n * DELIVERY_ROW_KIB)))
    con.execute(f"pragma cache_size = {-wanted}")  # the random-keyed indexes stay in memory, never spilled
    con.execute("pragma temp_store = memory")
    try:
        with _write(con):  # staged without indexes, then one INSERT ... SELECT in frame order
            con.execute(*sql.query(QUERIES, "stage_deliveries").bind())
            con.executemany("insert into temp.staged_deliveries (delivery_id, run_id, user_id, item_id, kind,"
                            " recommendation_id, delivered_at) values (?, ?, ?, ?, ?, ?, ?)", rows)
            before = con.total_changes
            con.execute(*sql.query(QUERIES, "insert_staged_deliveries").bind())
            added = con.total_changes - before
            con.execute(*sql.query(QUERIES, "drop_staged_deliveries").bind())
            return added
    finally:
        con.execute(f"pragma cache_size = {int(cache)}")
        con.execute(f"pragma temp_store = {int(temp_store)}")


def has_deliveries(con: sqlite3.Connection, run_id: str) -> bool:
    """Whether any delivery of this run is recorded (a run's deliveries are recorded in one transaction)."""
    return con.execute("select 1 from deliveries where run_id = ? limit 1", (run_id,)).fetchone() is not None


def deliveries(con: sqlite3.Connection, since=None) -> pd.DataFrame:
    """Delivered items in recording order, optionally only those delivered at or after `since`."""
    since_text = _utc_text(since) if since is not None else None
    return frame(con, "select delivery_id, run_id, user_id, item_id, kind, recommendation_id, delivered_at"
                      " from deliveries where ? is null or delivered_at >= ? order by rowid",
                 (since_text, since_text), times=("delivered_at",))
