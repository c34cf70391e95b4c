"""The operational store's connection: opening either dialect, the schema, the one retry rule, write
transactions, named queries, timestamps as stored, and the audit rows every write adds."""

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

import pandas as pd

from spendsense import opstore_pg, paths, sql

SCHEMA_VERSION = 2  # 2: feedback and registered_users (the REST API)
QUERIES = "opstore_queries.sql"
BUSY_TIMEOUT_S = 30.0
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
