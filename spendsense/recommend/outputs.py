"""The recommend step's output tables: RecommendOutputs (Arrow tables, DataFrames on demand) and typed builders."""

from __future__ import annotations

import datetime as dt

import duckdb
import numpy as np
import pandas as pd
import pyarrow as pa

from spendsense import memdb, sql
from spendsense.recommend.tables import TABLE_COLUMNS
from spendsense.schema import STORED_ARROW_TYPES

OUTPUT_TABLES = ("recommendations", "recommendation_traces", "decision_contexts", "recommendation_shortfalls",
                 "recommendation_funnel", "guardrail_events")




class RecommendOutputs:
    """The recommend step's tables (columns: spendsense.recommend.tables.TABLE_COLUMNS).

    Held as Arrow tables; the DataFrame properties convert on first use. `decision_traces()` renders the full
    JSON traces exactly as the warehouse's decision_traces view does.
    """

    def __init__(self, arrow: dict[str, pa.Table], timings: dict[str, float] | None = None, loader=None):
        missing = [t for t in OUTPUT_TABLES if t not in arrow]
        if missing and loader is None:
            raise ValueError(f"missing output table(s) {missing}")
        self._arrow = dict(arrow)
        self._loader = loader
        self._frames: dict[str, pd.DataFrame] = {}
        self.timings = dict(timings or {})

    @classmethod
    def stored(cls, warehouse, run_id: str) -> RecommendOutputs:
        """A run's outputs as written to the warehouse, each table read (read-only) on first use."""
        def load(name: str) -> pa.Table:
            with duckdb.connect(str(warehouse), read_only=True) as con:
                return con.sql(f'select * from "{name}" where run_id = $run', params={"run": run_id}).to_arrow_table()

        return cls({}, loader=load)

    def arrow(self, name: str) -> pa.Table:
        """One output table as Arrow."""
        if name not in self._arrow:
            if name not in OUTPUT_TABLES or self._loader is None:
                raise KeyError(name)
            self._arrow[name] = self._loader(name)
        return self._arrow[name]

    def frame(self, name: str) -> pd.DataFrame:
        """One output table as a DataFrame (converted once)."""
        if name not in self._frames:
            self._frames[name] = self.arrow(name).to_pandas()
        return self._frames[name]

    recommendations = property(lambda self: self.frame("recommendations"), doc="recommendations table")
    recommendation_traces = property(lambda self: self.frame("recommendation_traces"),
                                     doc="each recommendation's own decision facts")
    decision_contexts = property(lambda self: self.frame("decision_contexts"),
                                 doc="what the recommendations of one user-window share")
    shortfalls = property(lambda self: self.frame("recommendation_shortfalls"), doc="recommendation_shortfalls")
    funnel = property(lambda self: self.frame("recommendation_funnel"), doc="recommendation_funnel")
    guardrail_events = property(lambda self: self.frame("guardrail_events"), doc="guardrail_events")

    def tables(self) -> dict[str, pd.DataFrame]:
        """Every output table as a DataFrame, by warehouse table name."""
        return {name: self.frame(name) for name in OUTPUT_TABLES}

    def decision_traces(self) -> pd.DataFrame:
        """Full decision traces (recommendation_id, run_id, user_id, window_days, trace JSON text)."""
        with memdb.cursor() as con:
            for name in ("recommendations", "recommendation_traces", "decision_contexts"):
                con.register(name, self.arrow(name))
            return con.sql(sql.query("recommend/decision_traces.sql").text).to_arrow_table().to_pandas()


FUNNEL_KEYS = ["run_id", "stage_order", "stage", "kind"]


def summed_funnel(funnel: pa.Table) -> pa.Table:
    """Funnels of disjoint user groups as one: counts summed per (run, stage, kind), in first-seen order."""
    frame = funnel.to_pandas().groupby(FUNNEL_KEYS, sort=False, as_index=False).sum()
    return pa.Table.from_pandas(frame[funnel.column_names], preserve_index=False).cast(funnel.schema)


def arrow_table(columns: dict[str, object], name: str) -> pa.Table:
    """An Arrow table with a flat output table's columns and types, from numpy/Arrow/scalar columns."""
    spec = TABLE_COLUMNS[name]
    n = max((len(v) for v in columns.values() if isinstance(v, np.ndarray | pa.Array | pa.ChunkedArray | list)),
            default=0)
    arrays = []
    for col, dtype in spec:
        typ = STORED_ARROW_TYPES[dtype]
        v = columns[col]
        if isinstance(v, pa.Array | pa.ChunkedArray):
            arrays.append(v.cast(typ))
            continue
        if v is None:
            arrays.append(pa.nulls(n, typ))
            continue
        if np.isscalar(v) or isinstance(v, pd.Timestamp | dt.datetime):
            scalar = pa.scalar(v.to_pydatetime() if isinstance(v, pd.Timestamp) else v, typ)
            arrays.append(pa.repeat(scalar, n))
            continue
        arrays.append(pa.array(v, typ, from_pandas=True) if not isinstance(v, np.ndarray) or v.dtype == object
                      else pa.array(v, from_pandas=True).cast(typ))
    return pa.Table.from_arrays(arrays, names=[c for c, _ in spec])


def empty_arrow(name: str) -> pa.Table:
    """An empty output table (flat tables only)."""
    return arrow_table({c: np.zeros(0, dtype=object) for c, _ in TABLE_COLUMNS[name]}, name)


_EMPTY: dict[str, pa.Table] = {}


def empty_outputs() -> RecommendOutputs:
    """Outputs with no rows (e.g. for a user without consent); the empty tables are typed once per process."""
    if not _EMPTY:
        with memdb.cursor() as con:
            for name in OUTPUT_TABLES:
                cols = ", ".join(f'cast(null as {t}) as "{c}"' for c, t in TABLE_COLUMNS[name])
                _EMPTY[name] = con.sql(f"select {cols} limit 0").to_arrow_table()
    return RecommendOutputs(dict(_EMPTY))
