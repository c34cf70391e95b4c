"""Writing derived tables into the warehouse: typed, all-or-nothing (one transaction)."""

from __future__ import annotations

import duckdb
import pandas as pd
import pyarrow as pa

from spendsense import sql
from spendsense.schema import STORED_ARROW_TYPES
from spendsense.signals.catalog import TABLE_COLUMNS, Columns
from spendsense.signals.compute import SignalTables, typed_table

VIEWS = ("signals",)  # derived from signals_wide when read, never stored


def arrow_table(frame: pd.DataFrame, columns: Columns, what: str) -> pa.Table:
    """A frame as an Arrow table with its declared column types (a clear error names the bad column)."""
    names = [c for c, _ in columns]
    if sorted(frame.columns) != sorted(names):
        raise ValueError(f"{what}: columns {list(frame.columns)} do not match the declared columns {names}")
    table = pa.Table.from_pandas(frame[names], preserve_index=False)
    arrays = []
    for (name, dtype), array in zip(columns, table.columns):
        try:
            arrays.append(array.cast(STORED_ARROW_TYPES[dtype]))
        except (pa.ArrowInvalid, pa.ArrowNotImplementedError) as exc:
            raise ValueError(f"{what}.{name}: cannot store {array.type} values as {dtype}: {exc}") from None
    return pa.Table.from_arrays(arrays, names=names)


def signals_view_sql() -> str:
    """The statement creating the `signals` view over signals_wide (signals_long.sql)."""
    return sql.query("signals/signals_long.sql", "view").bind()[0]


def write_tables(con: duckdb.DuckDBPyConnection, frames: dict[str, pd.DataFrame | pa.Table],
                 columns: dict[str, Columns], then: tuple[str, ...] = ()) -> None:
    """CREATE OR REPLACE each table from its frame or Arrow table, typed as declared, then run the `then`
    statements (views over them), all in one transaction."""
    tables = {name: typed_table(frame, columns[name], name) if isinstance(frame, pa.Table)
              else arrow_table(frame, columns[name], name) for name, frame in frames.items()}
    sources = {name: f"signal_write_{name}" for name in tables}
    con.begin()
    try:
        for name, table in tables.items():
            con.register(sources[name], table)
            # table, column and type names come only from the signal catalogue (signals.catalog), never from data
            select = ", ".join(f'cast("{c}" as {t}) as "{c}"' for c, t in columns[name])
            con.execute(f'create or replace table "{name}" as select {select} from {sources[name]}')
        for statement in then:
            con.execute(statement)
        con.commit()
    except BaseException:
        con.rollback()
        raise
    finally:
        for source in sources.values():
            con.unregister(source)


def write_signal_tables(con: duckdb.DuckDBPyConnection, tables: SignalTables) -> None:
    """Write signals, signals_wide, credit_cards, recurring_streams, payroll_deposits and skipped_users."""
    stored = {name: tables.source(name) for name in TABLE_COLUMNS if name not in VIEWS}
    kind = con.execute("select table_type from information_schema.tables where table_schema = current_schema() "
                       "and table_name = 'signals'").fetchall()
    # a warehouse written before `signals` became a view holds it as a table
    drop = ('drop table "signals"',) if kind and kind[0][0] == "BASE TABLE" else ()
    write_tables(con, stored, TABLE_COLUMNS, then=(*drop, signals_view_sql()))
