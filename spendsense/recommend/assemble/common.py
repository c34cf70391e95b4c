"""What every output table of the engine is assembled from: the decisions (Decisions) and shared column helpers."""

from __future__ import annotations

import hashlib
from dataclasses import dataclass, field

import duckdb
import numpy as np
import pandas as pd
import pyarrow as pa
import pyarrow.compute as pc

from spendsense import sql
from spendsense.content import ScoringConfig
from spendsense.content.formats import STRING, join, where
from spendsense.recommend.rationales import RenderedUnits
from spendsense.recommend.select import Candidates, Items, Selection

SMALL_BATCH = 20_000  # below this many rows, ids are hashed in Python (same digest as DuckDB's sha256)


@dataclass
class Rendered:
    """Every rendered (row, template) unit and, per candidate cell, which unit it used (-1: none)."""

    units: RenderedUnits
    cell_unit: np.ndarray  # flat (row * m + col) -> unit index
    dropped_stage: np.ndarray  # rows x entries: STAGE_CODE of rationale/tone drops, 0 otherwise
    requested: np.ndarray  # flat -> requested template id (for rendered cells)


@dataclass
class Decisions:
    """The funnel's outcome for one run, shared by every table builder: the consenting user-windows (sig), the
    scored candidates, the selection, the rendered rationales and each candidate's stage code."""

    run_id: str
    created: pd.Timestamp
    scoring: ScoringConfig
    items: Items
    cands: Candidates
    sel: Selection
    rendered: Rendered
    code: np.ndarray
    sig: pd.DataFrame
    _context_ids: pa.Array | None = field(default=None, repr=False)

    def __post_init__(self) -> None:
        self.uid = self.sig["user_id"].to_numpy(dtype=object)
        self.win = self.sig["window_days"].to_numpy(dtype=np.int64)
        self.uid_arrow = pa.array(self.uid, STRING)

    def context_ids(self, con: duckdb.DuckDBPyConnection) -> pa.Array:
        """Each user-window's context id (computed once)."""
        if self._context_ids is None:
            self._context_ids = hashed_ids(self.run_id, con, self.uid, self.win,
                                           np.full(len(self.uid), None, dtype=object))
        return self._context_ids


def hashed_ids(run_id: str, con: duckdb.DuckDBPyConnection, user, window: np.ndarray, item) -> pa.Array:
    """First 16 hex digits of sha256('run_id|user_id|window_days|item_id') (without '|item_id' when item is
    None: the user-window's context id); hashlib for a few rows, DuckDB's sha256 for many."""
    as_str = lambda v: v if isinstance(v, pa.Array) else pa.array(v, STRING)
    user, item = as_str(user), as_str(item)
    window = np.asarray(window, dtype=np.int64)
    if len(window) <= SMALL_BATCH:
        out = []
        for u, w, i in zip(user.to_pylist(), window.tolist(), item.to_pylist(), strict=True):
            key = f"{run_id}|{u}|{w}" + (f"|{i}" if i is not None else "")
            out.append(hashlib.sha256(key.encode()).hexdigest()[:16])
        return pa.array(out, STRING)
    con.register("id_rows", pa.table({"user_id": user, "window_days": pa.array(window), "item_id": item}))
    try:
        text, params = sql.query("recommend/ids.sql").bind(run_id=run_id)
        return con.sql(text, params=params).to_arrow_table().column("id").combine_chunks()
    finally:
        con.unregister("id_rows")


def lists_by_code(codes: np.ndarray, decode) -> pa.Array:
    """A list<string> column from per-row codes: each distinct code is decoded once, then taken per row."""
    if not len(codes):
        return pa.array([], pa.list_(pa.string()))
    uniq, inverse = np.unique(codes, return_inverse=True)
    lists = pa.array([decode(u) for u in uniq], pa.list_(pa.string()))
    return lists.take(pa.array(inverse.ravel()))


def bits(lists: pd.Series, universe: tuple[str, ...]) -> np.ndarray:
    """Each row's list of names as a bit set over `universe` (bit i = universe[i]); unknown names are ignored."""
    out = np.zeros(len(lists), dtype=np.int64)
    exploded = lists.reset_index(drop=True).explode().dropna()
    if len(exploded):
        pos = pd.Index(universe).get_indexer(pd.Index(exploded.to_numpy(dtype=object)))
        keep = pos >= 0
        np.bitwise_or.at(out, exploded.index.to_numpy()[keep], np.left_shift(1, pos[keep]).astype(np.int64))
    return out


def recency_reasons(days: np.ndarray, recency_days: int) -> pa.Array:
    """'delivered 10 days ago; not shown again within 30 days' for each number of days."""
    d = np.asarray(days, dtype=np.int64)
    return join("delivered ", pc.cast(pa.array(d), STRING), where(d == 1, " day", " days"),
                f" ago; not shown again within {recency_days} days")


def row_lists(rows_sorted: np.ndarray, values: pa.Array, n: int) -> pa.Array:
    """A list column of n rows from values already sorted by their (non-decreasing) row numbers."""
    offsets = np.searchsorted(np.asarray(rows_sorted, dtype=np.int64), np.arange(n + 1)).astype(np.int32)
    if isinstance(values, pa.ChunkedArray):
        values = values.combine_chunks()
    return pa.ListArray.from_arrays(pa.array(offsets), values)


def floats(values) -> pa.Array:
    """Numbers as float64 Arrow (nulls kept)."""
    return pa.array(pd.to_numeric(pd.Series(values), errors="coerce").to_numpy(dtype=float), from_pandas=True)
