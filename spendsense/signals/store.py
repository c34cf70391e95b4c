"""Writing derived tables into the warehouse: typed, all-or-nothing (one transaction)."""

from __future__ import annotations

import duckdb
import pandas as pd
import pyarrow as pa

from spendsense.signals.catalog import TABLE_COLUMNS, Columns
from spendsense.signals.compute import ARROW_TYPES, SignalTables, typed_table


def arrow_table(frame: pd.DataFrame, columns: Columns, what: str) -> pa.Table:
    """A frame as an Arrow table with its declared column types (a clear error names the bad column)."""
    names = [c for c, _ in columns]
    if sorted(frame.columns) != sorted(names):
        raise ValueError(f"{what}: columns {list(frame.columns)} do not match the declared columns {names}")
    table = pa.Table.from_pandas(frame[names], preserve_index=False)
    arrays = []
    for (name, dtype), array in zip(columns, table.columns):
        try:
            arrays.append(array.cast(ARROW_TYPES[dtype]))
        except (pa.ArrowInvalid, pa.ArrowNotImplementedError) as exc:
            raise ValueError(f"{what}.{name}: cannot store {array.type} values as {dtype}: {exc}") from None
    return pa.Table.from_arrays(arrays, names=names)


def write_tables(con: duckdb.DuckDBPyConnection, frames: dict[str, pd.DataFrame | pa.Table],
                 columns: dict[str, Columns]) -> None:
    """CREATE OR REPLACE each table from its frame or Arrow table, typed as declared, in one transaction."""
    tables = {name: typed_table(frame, columns[name], name) if isinstance(frame, pa.Table)
              else arrow_table(frame, columns[name], name) for name, frame in frames.items()}
    views = {name: f"signal_write_{name}" for name in tables}
    con.begin()
    try:
        for name, table in tables.items():
            con.register(views[name], table)
            select = ", ".join(f'cast("{c}" as {t}) as "{c}"' for c, t in columns[name])
            con.execute(f'create or replace table "{name}" as select {select} from {views[name]}')
        con.commit()
    except BaseException:
        con.rollback()
        raise
    finally:
        for view in views.values():
            con.unregister(view)


def write_signal_tables(con: duckdb.DuckDBPyConnection, tables: SignalTables) -> None:
    """Write signals, signals_wide, credit_cards, recurring_streams, payroll_deposits and skipped_users."""
    write_tables(con, {name: tables.source(name) for name in TABLE_COLUMNS}, TABLE_COLUMNS)
