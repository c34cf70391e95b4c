"""Reading the recommend step's inputs from the warehouse and writing its outputs (append-only)."""

from __future__ import annotations

import datetime as dt
from pathlib import Path

import duckdb
import pandas as pd
import pyarrow as pa

from spendsense import paths, sql
from spendsense.recommend.inputs import RecommendInputs, naive_utc
from spendsense.recommend.outputs import OUTPUT_TABLES, RecommendOutputs
from spendsense.recommend.tables import TABLE_COLUMNS

WRITE_BATCH = 122_880  # one DuckDB row group
INPUT_TABLES = ("signals_wide", "credit_cards", "recurring_streams", "persona_assignments", "users", "accounts")


# ------------------------------------------------------------------------------------------------ inputs


def _table(con: duckdb.DuckDBPyConnection, name: str) -> pd.DataFrame:
    try:
        if name == "recurring_streams":  # the transaction id lists are evidence, not an input here
            return con.sql('select * exclude (transaction_ids) from "recurring_streams"').to_arrow_table().to_pandas()
        return con.sql(f'select * from "{name}"').to_arrow_table().to_pandas()
    except duckdb.CatalogException:
        raise ValueError(f"warehouse has no table {name!r}: run ingest, signals and personas first") from None


def read_inputs(con: duckdb.DuckDBPyConnection, consent: pd.DataFrame, history: pd.DataFrame,
                as_of: dt.date) -> RecommendInputs:
    """The recommend step's inputs: the warehouse tables, plus consent and delivery history read by the caller."""
    t = {name: _table(con, name) for name in INPUT_TABLES}
    try:
        counterfactuals = con.sql("select * from persona_counterfactuals").to_arrow_table().to_pandas()
    except duckdb.CatalogException:  # a warehouse from before counterfactuals: contexts record none
        counterfactuals = None
    return RecommendInputs(
        signals_wide=t["signals_wide"], credit_cards=t["credit_cards"], recurring_streams=t["recurring_streams"],
        persona_assignments=t["persona_assignments"], users=t["users"][["user_id", "credit_score"]],
        accounts=t["accounts"][["user_id", "subtype"]], consent=consent, history=history, as_of=as_of,
        counterfactuals=counterfactuals)


# ----------------------------------------------------------------------------------------------- outputs


def create_tables(con: duckdb.DuckDBPyConnection) -> None:
    """Create the recommend step's tables and the decision_traces view if they do not exist."""
    for name, columns in TABLE_COLUMNS.items():
        cols = ", ".join(f'"{c}" {t}' for c, t in columns)
        con.execute(f'create table if not exists "{name}" ({cols})')
    view = sql.query("recommend/ddl.sql", "decision_traces_view")
    con.execute(view.fill(query=sql.query("recommend/decision_traces.sql").text).text)


def write_outputs(con: duckdb.DuckDBPyConnection, outputs: RecommendOutputs) -> None:
    """Append every output table (INSERT only, never UPDATE) in one transaction; create them if missing.

    Rows of a run already in the warehouse (same run_id) make the write fail: recommendations are append-only.
    """
    con.begin()
    try:
        create_tables(con)
        run_ids = sorted(set(outputs.arrow("recommendation_funnel").column("run_id").to_pylist()))
        if run_ids:
            clash = con.execute("select count(*) from recommendation_funnel where list_contains($ids, run_id)",
                                {"ids": run_ids}).fetchall()[0][0]
            if clash:
                raise ValueError(f"run {run_ids[0]!r} already has recommendations in this warehouse "
                                 "(append-only: use a new run_id)")
        for name in OUTPUT_TABLES:
            table = outputs.arrow(name)
            columns = TABLE_COLUMNS[name]
            expected = [c for c, _ in columns]
            if table.column_names != expected:
                raise ValueError(f"{name}: columns {table.column_names} do not match {expected}")
            if table.num_rows > WRITE_BATCH:  # several batches let DuckDB scan and compress in parallel
                table = pa.Table.from_batches(table.to_batches(max_chunksize=WRITE_BATCH), schema=table.schema)
            view = f"recommend_write_{name}"
            con.register(view, table)
            select = ", ".join(f'cast("{c}" as {t})' for c, t in columns)
            con.execute(f'insert into "{name}" select {select} from {view}')
            con.unregister(view)
        con.commit()
    except BaseException:
        con.rollback()
        raise


def delivered_recommendations(warehouse_path: str | Path, opstore_path: str | Path | None = None,
                              delivered_at: dt.datetime | None = None) -> pd.DataFrame:
    """Recommendations of the warehouse's latest run for users whose consent is still granted now, shaped for
    opstore.record_deliveries: run_id, user_id, item_id, kind, recommendation_id, delivered_at."""
    from spendsense import opstore

    cols = ["run_id", "user_id", "item_id", "kind", "recommendation_id", "delivered_at"]
    ocon = opstore.connect(paths.opstore_location(opstore_path))
    try:
        granted = opstore.consenting_user_ids(ocon)
    finally:
        ocon.close()
    with duckdb.connect(str(warehouse_path), read_only=True) as con:
        try:
            recs = con.execute(*sql.query("recommend/latest_run_recommendations.sql").bind()).df()
        except duckdb.CatalogException:
            return pd.DataFrame({c: pd.Series(dtype=object) for c in cols})
    recs = recs[recs["user_id"].isin(granted)].reset_index(drop=True)
    when = naive_utc(delivered_at if delivered_at is not None else dt.datetime.now(dt.UTC))
    recs["delivered_at"] = when
    return recs[cols]
