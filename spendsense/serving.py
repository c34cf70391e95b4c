"""A published run's serving index: the per-user rows one person's page or API call reads, copied once from the
warehouse into an SQLite file beside it and indexed by user_id.

`PublishedRun` answers the queries in SERVES from the index when the run has one (runs published before it
existed, or a run folder without it, read the warehouse as before). The index answers with the same rows and
Python types as DuckDB (timestamps and dates come back as datetime/date), so every caller, and every rule
applied to the rows (review state, redaction, the customer preview), is the one the warehouse path uses.
"""

from __future__ import annotations

import datetime as dt
import json
import os
import sqlite3
from contextlib import closing
from pathlib import Path

import duckdb
import pyarrow as pa
import pyarrow.compute as pc

from spendsense import sql

SQL = "serving.sql"
FILE = "serving.sqlite"
# warehouse table -> (the index's table, the warehouse tables it needs)
TABLES = {"users": ("users",), "account_masks": ("accounts",), "recommendations": ("recommendations",),
          "persona_counterfactuals": ("persona_counterfactuals",)}
# the DuckDB queries (file, name) the index answers, each by its query of the same name in serving.sql, and the
# index table that query reads (a run whose warehouse lacked the table has no such index table)
SERVES = {("dashboard/data/run.sql", "user_exists"): "users", ("dashboard/data/run.sql", "known_users"): "users",
          ("dashboard/data/run.sql", "user_names"): "users",
          ("dashboard/data/redaction.sql", "account_masks"): "account_masks",
          ("dashboard/data/evidence.sql", "recommendations"): "recommendations",
          ("dashboard/data/evidence.sql", "counterfactuals"): "persona_counterfactuals"}
TIMESTAMP, DATE = "ss_timestamp", "ss_date"  # declared types the index's connection converts back
SQLITE_TYPES = {"VARCHAR": "text", "JSON": "text", "INTEGER": "integer", "BIGINT": "integer", "SMALLINT": "integer",
                "BOOLEAN": "integer", "DOUBLE": "real", "FLOAT": "real", "TIMESTAMP": TIMESTAMP, "DATE": DATE}
BATCH_ROWS = 65_536

sqlite3.register_converter(TIMESTAMP, lambda b: dt.datetime.fromisoformat(b.decode()))
sqlite3.register_converter(DATE, lambda b: dt.date.fromisoformat(b.decode()))


def index_path(warehouse: Path | str) -> Path:
    """Where the serving index of a warehouse lives: beside it."""
    return Path(warehouse).with_name(FILE)


def write_index(warehouse: Path | str) -> dict[str, int]:
    """Write (or replace) the serving index beside a finished warehouse; rows copied per table.

    Written under a temporary name and renamed into place, so a reader never sees half an index.
    """
    target = index_path(warehouse)
    tmp = target.with_name(f".{target.name}.{os.getpid()}.tmp")
    tmp.unlink(missing_ok=True)
    counts: dict[str, int] = {}
    try:
        with duckdb.connect(str(warehouse), read_only=True) as con, closing(sqlite3.connect(tmp)) as out:
            con.execute("set enable_progress_bar = false")
            present = {r[0] for r in con.execute(*sql.query("dashboard/data/run.sql", "tables").bind()).fetchall()}
            out.execute("pragma journal_mode = off")
            out.execute("pragma synchronous = off")
            for table, needs in TABLES.items():
                if set(needs) <= present:
                    counts[table] = _copy(con, out, table)
            out.commit()
        os.replace(tmp, target)
    finally:
        tmp.unlink(missing_ok=True)
    return counts


def _copy(con: duckdb.DuckDBPyConnection, out: sqlite3.Connection, table: str) -> int:
    """One warehouse query into one index table (typed as SQLITE_TYPES says), indexed by user_id."""
    rel = con.sql(sql.query(SQL, f"source_{table}").text)
    names, types = rel.columns, [str(t) for t in rel.types]
    unknown = sorted({t for t in types if t not in SQLITE_TYPES})
    if unknown:
        raise ValueError(f"{SQL}: source_{table} has column type(s) {', '.join(unknown)} the serving index "
                         "cannot store; add them to serving.SQLITE_TYPES")
    known = set(names) | {table, f"{table}_by_user"}
    columns = ", ".join(f"{sql.identifier(n, known)} {SQLITE_TYPES[t]}" for n, t in zip(names, types))
    out.execute(sql.query(SQL, "create_table").fill(table=sql.identifier(table, known), columns=columns).text)
    insert = sql.query(SQL, "insert_rows").fill(table=sql.identifier(table, known),
                                                placeholders=", ".join("?" * len(names))).text
    as_text = [t in ("TIMESTAMP", "DATE") for t in types]
    rows = 0
    for batch in rel.to_arrow_reader(BATCH_ROWS):
        cols = [(pc.cast(c, pa.string()) if text else c).to_pylist() for c, text in zip(batch.columns, as_text)]
        out.executemany(insert, zip(*cols))
        rows += batch.num_rows
    out.execute(sql.query(SQL, "create_index").fill(index=sql.identifier(f"{table}_by_user", known),
                                                    table=sql.identifier(table, known)).text)
    return rows


class ServingIndex:
    """A read-only connection to one run's serving index, answering the queries in SERVES."""

    def __init__(self, path: Path):
        self.path = path
        self.con = sqlite3.connect(f"file:{path}?mode=ro&immutable=1", uri=True, check_same_thread=False,
                                   detect_types=sqlite3.PARSE_DECLTYPES)
        self.tables = {r[0] for r in self.con.execute(sql.query(SQL, "index_tables").text)}

    @classmethod
    def beside(cls, warehouse: Path) -> ServingIndex | None:
        """The index beside this warehouse, or None when the run has none."""
        path = index_path(warehouse)
        return cls(path) if path.exists() else None

    def answers(self, file: str, name: str) -> bool:
        """Whether the index answers this warehouse query (it is in SERVES and its table was copied)."""
        return SERVES.get((file, name)) in self.tables

    def execute(self, name: str, **params) -> sqlite3.Cursor:
        """The serving query `name` (lists bound as JSON arrays, which json_each reads)."""
        bound = {k: json.dumps([str(x) for x in v]) if isinstance(v, (list, tuple)) else v for k, v in params.items()}
        return self.con.execute(*sql.query(SQL, name).bind(**bound))

    def close(self) -> None:
        self.con.close()
