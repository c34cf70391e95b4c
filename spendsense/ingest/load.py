"""Write validated input: the raw tables into the DuckDB warehouse (one transaction), consent into the opstore."""

from __future__ import annotations

from pathlib import Path

import duckdb
import pandas as pd

from spendsense import opstore
from spendsense.ingest.readers import quote
from spendsense.schema import PRIMARY_KEYS, TABLE_ORDER, TABLES

SQL_DIR = Path(__file__).parent
LIABILITY_TABLES = ("credit_liabilities", "credit_aprs", "mortgage_liabilities", "student_liabilities")


def _sql(name: str) -> str:
    """A query template beside this module (spendsense/ingest/<name>.sql)."""
    return (SQL_DIR / f"{name}.sql").read_text(encoding="utf-8")


def _typed(table: str, skip: tuple[str, ...] = (), prefix: str = "") -> str:
    """The parsed value of each contract column under its contract name."""
    return ",\n        ".join(f"{prefix}{quote(c.name + '__v')} as {quote(c.name)}"
                               for c in TABLES[table] if c.name not in skip)


def table_sql(table: str) -> str:
    """The query producing one warehouse table from the validated staging views."""
    keys = ", ".join(quote(k) for k in PRIMARY_KEYS[table])
    if table == "accounts":
        return _sql("load_accounts").format(typed_columns=_typed("accounts", skip=("holder_category",)))
    if table == "transactions":
        return _sql("load_transactions").format(
            typed_columns=_typed("transactions", skip=("transaction_id", "account_id"), prefix="staged."))
    if table in LIABILITY_TABLES:
        return _sql("load_liabilities").format(view=f"t_{table}", typed_columns=_typed(table, prefix="staged."),
                                               order_by=keys)
    # consent events in file order within a user and time: the order the opstore records them in, which breaks
    # ties of occurred_at (spendsense.consent)
    order_by = "user_id, occurred_at, _src, _row" if table == "consent_events" else keys
    return _sql("load_table").format(view=f"t_{table}", typed_columns=_typed(table), order_by=order_by)


def business_exclusions(con: duckdb.DuckDBPyConnection) -> dict[str, int]:
    """Business accounts and the rows that go with them, per table."""
    return dict(con.execute(_sql("business_exclusions")).fetchall())


def _sql_string(text: str) -> str:
    """A SQL string literal (for ATTACH, which takes no bound parameters)."""
    return "'" + text.replace("'", "''") + "'"


def write_warehouse(con: duckdb.DuckDBPyConnection, db_path: Path, tick=lambda n: None) -> dict[str, int]:
    """Replace the raw tables in the warehouse at db_path in one transaction; returns rows per table.

    Other tables in the file are left alone. If anything fails the transaction rolls back, and a warehouse
    file that did not exist before is removed again.
    """
    db_path = Path(db_path)
    existed = db_path.exists()
    created_dirs = [p for p in reversed(db_path.parents) if not p.exists()]
    db_path.parent.mkdir(parents=True, exist_ok=True)
    rows: dict[str, int] = {}
    con.execute(f"attach {_sql_string(str(db_path))} as warehouse")
    try:
        con.execute("begin transaction")
        for table in TABLE_ORDER:
            con.execute(f"create or replace table warehouse.main.{quote(table)} as {table_sql(table)}")
            rows[table] = con.execute(f"select count(*) from warehouse.main.{quote(table)}").fetchall()[0][0]
            tick(1)
        con.execute("commit")
    except BaseException:
        try:
            con.execute("rollback")
        except duckdb.Error:
            pass
        con.execute("detach warehouse")
        if not existed:
            for leftover in (db_path, db_path.with_name(db_path.name + ".wal")):
                leftover.unlink(missing_ok=True)
            for d in reversed(created_dirs):
                if d.exists() and not any(d.iterdir()):
                    d.rmdir()
        raise
    con.execute("detach warehouse")
    return rows


def consent_frame(con: duckdb.DuckDBPyConnection) -> pd.DataFrame:
    """The validated consent events, typed, as loaded into the warehouse."""
    return con.execute(table_sql("consent_events")).df()


def write_opstore(opstore_path: Path, consent: pd.DataFrame) -> int:
    """Append the consent events to the operational store in one transaction; returns events added."""
    if consent.empty:
        opstore.connect(opstore_path).close()
        return 0
    ops = opstore.connect(opstore_path)
    try:
        return opstore.import_consent_events(ops, consent)
    finally:
        ops.close()
