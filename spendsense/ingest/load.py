"""Write validated input: a batch into the raw store (or the raw tables into a DuckDB warehouse), consent into the
opstore."""

from __future__ import annotations

from pathlib import Path

import duckdb
import pandas as pd

from spendsense import opstore, sql
from spendsense.ingest import rawstore, templates
from spendsense.ingest.readers import quote
from spendsense.schema import TABLE_ORDER

LIABILITY_TABLES = ("credit_liabilities", "credit_aprs", "mortgage_liabilities", "student_liabilities")


TRANSACTION_ORDER = "order by user_id, date, transaction_id"


def table_sql(table: str, ordered: bool = True) -> str:
    """The query producing one warehouse table from the validated staging views (ordered=False: transactions
    unsorted, for the raw store, whose write sorts them)."""
    typed = templates.typed_columns
    if table == "accounts":
        q = sql.query("ingest/load_accounts.sql").fill(typed_columns=typed("accounts", skip=("holder_category",)))
    elif table == "transactions":
        q = sql.query("ingest/load_transactions.sql").fill(
            typed_columns=typed("transactions", skip=("transaction_id", "account_id"), prefix="staged."),
            order_by=TRANSACTION_ORDER if ordered else "")
    elif table in LIABILITY_TABLES:
        q = sql.query("ingest/load_liabilities.sql").fill(
            view=templates.view(table), typed_columns=typed(table, prefix="staged."), order_by=templates.keys(table))
    elif table == "consent_events":
        # in file order within a user and time: the order the opstore records them in, which breaks ties of
        # occurred_at (spendsense.consent)
        q = sql.query("ingest/load_table.sql").fill(view=templates.view(table), typed_columns=typed(table),
                                                    order_by="user_id, occurred_at, _src, _row")
    else:
        q = sql.query("ingest/load_table.sql").fill(view=templates.view(table), typed_columns=typed(table),
                                                    order_by=templates.keys(table))
    return q.bind()[0]


def business_exclusions(con: duckdb.DuckDBPyConnection) -> dict[str, int]:
    """Business accounts and the rows that go with them, per table."""
    return dict(con.execute(*sql.query("ingest/business_exclusions.sql").bind()).fetchall())


def _has_table(con: duckdb.DuckDBPyConnection, name: str) -> bool:
    """Whether the staging database holds a table of that name (JSON staging creates some only for JSON input)."""
    return con.execute("select count(*) from duckdb_tables() where table_name = $n", {"n": name}).fetchone()[0] > 0


def write_raw_store(con: duckdb.DuckDBPyConnection, store: Path, given: set[str], mode: str, files: tuple[str, ...],
                    tick=lambda n: None, input_record: dict | None = None
                    ) -> tuple[dict[str, int], rawstore.Batch | None]:
    """Append the validated input to the raw store as one batch; returns rows per table and the batch (None when
    nothing changed). Sync responses' `removed` ids become tombstones and their next_cursor is recorded per item;
    input_record (fingerprint, exclusions, notes) is recorded in the batch with the rows read."""
    rows: dict[str, int] = {}
    new = {}
    for table in TABLE_ORDER:
        name = f"new_{table}"
        con.execute(f"create or replace temp view {quote(name)} as {table_sql(table, ordered=False)}")
        rows[table] = con.execute(f"select count(*) from {quote(name)}").fetchone()[0]
        new[table] = quote(name)
        tick(1)
    cursors = dict(con.execute("select user_id, next_cursor from json_sync_cursors").fetchall()) \
        if _has_table(con, "json_sync_cursors") else {}
    # users derived from accounts (no users row given) stand in only for users the store does not hold yet
    con.execute(f"create or replace temp view derived_user_ids as select user_id__v as user_id"
                f" from {templates.view('users')} where _src is null")
    batch = rawstore.write_batch(con, store, new, rows, given, mode, files, cursors,
                                 _has_table(con, "json_removed"), stand_ins="derived_user_ids",
                                 input_record={**(input_record or {}), "rows": rows})
    return rows, batch


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
    con.execute(f"attach {rawstore.sql_string(str(db_path))} as warehouse")
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
