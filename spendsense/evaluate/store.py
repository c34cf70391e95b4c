"""The evaluation's reads that stream: the decision traces, exported and checked range by range of users."""

from __future__ import annotations

from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import duckdb
import pandas as pd
import pyarrow as pa
import pyarrow.compute as pc

from spendsense import sql

CHUNK_ROWS = 25_000  # recommendations per range: bounds the traces held (about 10 kB each) and sorted at once
WORKERS = 2  # ranges rendered at once: a range fits in one DuckDB row group, so one range keeps one core busy


def _write_lines(fh, lines: pa.ChunkedArray) -> None:
    """Write a column of newline-terminated strings as they are, straight from Arrow's buffers (nulls skipped)."""
    for arr in pc.drop_null(lines).chunks:
        if len(arr) == 0:
            continue
        if not (pa.types.is_string(arr.type) or pa.types.is_large_string(arr.type)):
            arr = arr.cast(pa.large_string())
        offsets = arr.buffers()[1]
        width = 8 if pa.types.is_large_string(arr.type) else 4
        view = memoryview(offsets).cast("q" if width == 8 else "i")
        start, end = view[arr.offset], view[arr.offset + len(arr)]
        fh.write(memoryview(arr.buffers()[2])[start:end])


def export_traces(con: duckdb.DuckDBPyConnection, path: Path | str, chunk_rows: int = CHUNK_ROWS) -> pd.DataFrame:
    """Write every decision trace to a JSON-lines file, ordered by user, window and recommendation, and return
    the auditability counts (recommendations, with_trace, complete) from the same single rendering."""
    chunks = con.execute(*sql.query("evaluate/trace_chunks.sql").bind(rows=chunk_rows)).fetchall()
    export = sql.query("evaluate/trace_export.sql")
    with_trace = complete = 0

    def render(first_user: str, last_user: str) -> pa.Table:
        cursor = con.cursor()  # one connection per thread; DuckDB renders both ranges at once
        try:
            text, params = export.bind(first_user=first_user, last_user=last_user)
            return cursor.sql(text, params=params).to_arrow_table()
        finally:
            cursor.close()

    with open(path, "wb") as fh, ThreadPoolExecutor(max_workers=WORKERS) as pool:
        pending = [pool.submit(render, first, last) for _, first, last in chunks[:WORKERS]]
        for i in range(len(chunks)):  # written in range order; at most WORKERS ranges in memory
            part = pending.pop(0).result()
            if i + WORKERS < len(chunks):
                _, first, last = chunks[i + WORKERS]
                pending.append(pool.submit(render, first, last))
            _write_lines(fh, part.column("line"))
            with_trace += int(pc.sum(part.column("has_trace")).as_py() or 0)
            complete += int(pc.sum(part.column("complete")).as_py() or 0)
            del part
    total = con.execute("select count(*) from recommendations").fetchone()[0]
    return pd.DataFrame([{"recommendations": int(total), "with_trace": with_trace, "complete": complete}])
