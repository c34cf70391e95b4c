"""The run's decision-trace export: the typed decision facts as zstd Parquet, and the audit counted from them.

A trace is not rendered for the export: the warehouse's decision_traces view renders it from three typed tables
(recommendations, recommendation_traces, decision_contexts), and those three tables are what is exported. Anyone
holding the export can render any trace exactly as the view does (`render_traces`); `spendsense explain`, the
dashboard and replay render single traces on demand from the warehouse.

Each table is a folder of parts, one per range of users (`<table>/part-00000.parquet`, ...), each sorted by user,
window and recommendation, the parts in user order: one sort of a range at a time stays inside the step's memory
cap, where one sort of a 1,000,000-user table ran out of it.
"""

from __future__ import annotations

import shutil
import tempfile
from collections.abc import Sequence
from pathlib import Path

import duckdb
import pandas as pd

from spendsense import sql

# the exported tables and their row order (user, window, recommendation: a user's rows sit together)
EXPORTED = {
    "recommendations": "user_id, window_days, recommendation_id",
    "recommendation_traces": "user_id, window_days, recommendation_id",
    "decision_contexts": "user_id, window_days, context_id",
}


def trace_audit(con: duckdb.DuckDBPyConnection) -> pd.DataFrame:
    """Recommendations, those with a trace and those with a complete trace (one row), from the typed tables."""
    return con.execute(*sql.query("evaluate/trace_audit.sql", "trace_audit").bind()).df()


def part_name(index: int) -> str:
    """The file name of an export's index-th part (0-based)."""
    return f"part-{index:05d}.parquet"


def export_traces(con: duckdb.DuckDBPyConnection, out_dir: Path | str,
                  user_ranges: Sequence[tuple[str, str]] | None = None) -> pd.DataFrame:
    """Write the decision facts to out_dir/<table>/part-NNNNN.parquet (zstd), one part per (first, last) user
    range (default: one part of all users), and return the audit counts.

    The folder appears complete or not at all: the files are written beside it and moved into place together.
    """
    out_dir = Path(out_dir)
    out_dir.parent.mkdir(parents=True, exist_ok=True)
    ranges = list(user_ranges) if user_ranges else [(None, None)]
    copy = sql.query("evaluate/trace_audit.sql", "export_part")
    with tempfile.TemporaryDirectory(prefix=f".{out_dir.name}-", dir=out_dir.parent) as tmp:
        staged = Path(tmp) / out_dir.name
        for table, order_by in EXPORTED.items():
            (staged / table).mkdir(parents=True)
            filled = copy.fill(table=sql.identifier(table, EXPORTED), order_by=order_by)
            for i, (first, last) in enumerate(ranges):
                con.execute(*filled.bind(path=str(staged / table / part_name(i)), first=first, last=last))
        if out_dir.exists():
            shutil.rmtree(out_dir)
        staged.rename(out_dir)
    return trace_audit(con)


def render_traces(export_dir: Path | str, user_id: str | None = None) -> pd.DataFrame:
    """The decision traces (recommendation_id, run_id, user_id, window_days, trace JSON text) rendered from an
    export folder by the warehouse's own decision_traces query, optionally for one user."""
    con = duckdb.connect()
    try:
        for table in EXPORTED:  # the parts in name order: user order
            con.read_parquet(str(Path(export_dir) / table / "part-*.parquet")).to_view(table)
        # the warehouse's own view definition (recommend/ddl.sql over recommend/decision_traces.sql), read as SQL
        # files: evaluate does not import the recommend step
        view = sql.query("recommend/ddl.sql", "decision_traces_view")
        con.execute(view.fill(query=sql.query("recommend/decision_traces.sql").text).text)
        q = sql.query("evaluate/trace_audit.sql", "rendered_traces")
        return con.execute(*q.bind(user_id=user_id)).df()
    finally:
        con.close()
