"""Writing derived tables into the warehouse: typed, all-or-nothing (one transaction)."""

from __future__ import annotations

import duckdb
import pandas as pd

from spendsense.signals.catalog import TABLE_COLUMNS, Columns
from spendsense.signals.compute import SignalTables


def write_tables(con: duckdb.DuckDBPyConnection, frames: dict[str, pd.DataFrame],
                 columns: dict[str, Columns]) -> None:
    """CREATE OR REPLACE each table from its frame with its declared column types, in one transaction."""
    for name, frame in frames.items():
        expected = [c for c, _ in columns[name]]
        if sorted(frame.columns) != sorted(expected):
            raise ValueError(f"{name}: columns {list(frame.columns)} do not match the declared columns {expected}")
    views = {name: f"signal_write_{name}" for name in frames}
    con.begin()
    try:
        for name, frame in frames.items():
            con.register(views[name], frame)
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
    write_tables(con, tables.frames(), TABLE_COLUMNS)
