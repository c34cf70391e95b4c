"""Delivery history in the operational store: what each run delivered to whom, recorded in one bulk
transaction (idempotent: a delivery's id is a hash of its identity)."""

from __future__ import annotations

import sqlite3
from collections.abc import Iterable

import duckdb
import numpy as np
import pandas as pd
import pyarrow as pa

from spendsense import sql
from spendsense.opstore.connection import (
    QUERIES,
    _check_columns,
    _now,
    _utc_text,
    _utc_texts,
    _write,
    frame,
    is_postgresql,
)

DELIVERY_COLUMNS = ("run_id", "user_id", "item_id", "kind")
DELIVERY_FIELDS = ("delivery_id", "run_id", "user_id", "item_id", "kind", "recommendation_id", "delivered_at")
# page cache while recording deliveries: SQLite fills it only as pages are touched (the store's indexes and the
# new rows, ~0.4 KiB a delivery), so this is a ceiling, not an allocation
DELIVERY_CACHE_KIB = 2 * 1024 * 1024


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


def _delivery_rows(df: pd.DataFrame, now: str):
    """One frame's deliveries as row tuples in DELIVERY_FIELDS order, streamed (no list of row tuples)."""
    _check_columns(df, DELIVERY_COLUMNS, "deliveries")
    n = len(df)
    text = lambda col: df[col].astype(str).to_numpy(dtype=object)
    rec = (df["recommendation_id"].astype(object).where(df["recommendation_id"].notna(), None).to_numpy()
           if "recommendation_id" in df.columns else np.full(n, None, dtype=object))
    columns = [
        text("delivery_id") if "delivery_id" in df.columns else delivery_ids(df).to_numpy(dtype=object),
        text("run_id"), text("user_id"), text("item_id"), text("kind"), rec,
        _delivery_times(df["delivered_at"]) if "delivered_at" in df.columns else np.full(n, now, dtype=object),
    ]
    return zip(*(column.tolist() for column in columns))


def record_deliveries(con: sqlite3.Connection, df: pd.DataFrame | Iterable[pd.DataFrame]) -> int:
    """Append delivered items (run_id, user_id, item_id, kind[, recommendation_id, delivered_at]); returns rows added.

    df: one frame, or frames of disjoint deliveries (e.g. `recommend.delivered_recommendation_chunks`), staged one
    at a time so only one is in memory; either way the deliveries are recorded in one transaction. Recording the
    same deliveries twice adds nothing: delivery_id defaults to a hash of the row's identity.
    """
    frames = [df] if isinstance(df, pd.DataFrame) else df
    now = _now()
    if is_postgresql(con):
        with _write(con):  # COPY into a staging table, then one insert in frame order
            con.execute(*sql.query(QUERIES, "stage_deliveries__postgresql").bind())
            for frame in frames:
                con.copy_rows("staged_deliveries", list(DELIVERY_FIELDS), _delivery_rows(frame, now))
            return con.execute(*sql.query(QUERIES, "insert_staged_deliveries__postgresql").bind()).rowcount
    cache = con.execute("pragma cache_size").fetchone()[0]
    # pragmas take no bound parameters: both values are ints formatted here
    con.execute(f"pragma cache_size = {-DELIVERY_CACHE_KIB}")  # the random-keyed indexes stay in memory
    try:
        # staged without indexes in SQLite's temp store (on disk: 9.9M deliveries peaked at 3.0 GB staged there,
        # 6.1 GB staged in memory, in the same time), then one INSERT ... SELECT in frame order
        with _write(con):
            con.execute(*sql.query(QUERIES, "stage_deliveries").bind())
            for frame in frames:
                con.executemany("insert into temp.staged_deliveries (delivery_id, run_id, user_id, item_id, kind,"
                                " recommendation_id, delivered_at) values (?, ?, ?, ?, ?, ?, ?)",
                                _delivery_rows(frame, now))
            before = con.total_changes
            con.execute(*sql.query(QUERIES, "insert_staged_deliveries").bind())
            added = con.total_changes - before
            con.execute(*sql.query(QUERIES, "drop_staged_deliveries").bind())
            return added
    finally:
        con.execute(f"pragma cache_size = {int(cache)}")


def has_deliveries(con: sqlite3.Connection, run_id: str) -> bool:
    """Whether any delivery of this run is recorded (a run's deliveries are recorded in one transaction)."""
    return con.execute("select 1 from deliveries where run_id = ? limit 1", (run_id,)).fetchone() is not None


def deliveries(con: sqlite3.Connection, since=None) -> pd.DataFrame:
    """Delivered items in recording order, optionally only those delivered at or after `since`."""
    since_text = _utc_text(since) if since is not None else None
    return frame(con, "select delivery_id, run_id, user_id, item_id, kind, recommendation_id, delivered_at"
                      " from deliveries where ? is null or delivered_at >= ? order by rowid",
                 (since_text, since_text), times=("delivered_at",))
