"""Reading the recommend step's inputs from the warehouse and writing its outputs (append-only)."""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterable, Iterator
from pathlib import Path

import duckdb
import pandas as pd
import pyarrow as pa

from spendsense import paths, sql
from spendsense.recommend.inputs import RecommendInputs, naive_utc
from spendsense.recommend.outputs import OUTPUT_TABLES, RecommendOutputs, summed_funnel
from spendsense.recommend.tables import TABLE_COLUMNS

WRITE_BATCH = 122_880  # one DuckDB row group
CHUNK_USERS = 25_000  # users recommended at once: memory grows with the chunk, per-chunk costs are fixed
DELIVERY_CHUNK_USERS = 100_000  # users whose deliveries are read and recorded at once (memory grows with it)
INPUT_TABLES = ("signals_wide", "credit_cards", "recurring_streams", "persona_assignments", "users", "accounts")


# ------------------------------------------------------------------------------------------------ inputs


def user_ranges(con: duckdb.DuckDBPyConnection, size: int = CHUNK_USERS,
                run_id: str | None = None) -> list[tuple[str, str]]:
    """(first, last) user_id of each chunk of at most `size` users (of the users table, or of one run's
    recommendations), in user order."""
    f = "recommend/user_ranges.sql"
    users = sql.query(f, "all_users" if run_id is None else "run_users")
    params = {} if run_id is None else {"run_id": run_id}
    rows = con.execute(*sql.query(f, "ranges").fill(users=users.text).bind(size=size, **params)).fetchall()
    return [tuple(r) for r in rows]


def _read(con: duckdb.DuckDBPyConnection, name: str, users: tuple[str, str] | None) -> pd.DataFrame:
    """One input table (the users between users[0] and users[1] only, if given) as a DataFrame."""
    columns = "* exclude (transaction_ids)" if name == "recurring_streams" else "*"  # ids: evidence, not input
    where, params = ("where user_id between $first and $last", {"first": users[0], "last": users[1]}) \
        if users else ("", {})
    return con.sql(f'select {columns} from "{name}" {where}', params=params).to_arrow_table().to_pandas()


def _table(con: duckdb.DuckDBPyConnection, name: str, users: tuple[str, str] | None) -> pd.DataFrame:
    try:
        return _read(con, name, users)
    except duckdb.CatalogException:
        raise ValueError(f"warehouse has no table {name!r}: run ingest, signals and personas first") from None


def read_inputs(con: duckdb.DuckDBPyConnection, consent: pd.DataFrame, history: pd.DataFrame,
                as_of: dt.date, users: tuple[str, str] | None = None) -> RecommendInputs:
    """The recommend step's inputs: the warehouse tables, plus consent and delivery history read by the caller;
    users: (first, last) user_id to read one chunk of users only (all users when None)."""
    t = {name: _table(con, name, users) for name in INPUT_TABLES}
    try:
        counterfactuals = _read(con, "persona_counterfactuals", users)
    except duckdb.CatalogException:  # a warehouse from before counterfactuals: contexts record none
        counterfactuals = None
    if users:
        consent = consent[consent["user_id"].between(*users)]
        history = history[history["user_id"].between(*users)]
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


def _insert(con: duckdb.DuckDBPyConnection, name: str, table: pa.Table) -> None:
    """Append one output table's rows (columns checked against TABLE_COLUMNS)."""
    columns = TABLE_COLUMNS[name]
    expected = [c for c, _ in columns]
    if table.column_names != expected:
        raise ValueError(f"{name}: columns {table.column_names} do not match {expected}")
    if table.num_rows > WRITE_BATCH:  # several batches let DuckDB scan and compress in parallel
        table = pa.Table.from_batches(table.to_batches(max_chunksize=WRITE_BATCH), schema=table.schema)
    # a relation, not a registered view: a view dropped inside the write's transaction stays in its catalog until
    # commit and keeps its Arrow table alive (every chunk's outputs held at once: 24 GB at 1,000,000 users)
    con.from_arrow(table).project(", ".join(f'cast("{c}" as {t})' for c, t in columns)).insert_into(name)


def _refuse_existing_run(con: duckdb.DuckDBPyConnection, funnel: pa.Table) -> None:
    """Rows of a run already in the warehouse (same run_id) make the write fail: recommendations are append-only."""
    run_ids = sorted(set(funnel.column("run_id").to_pylist()))
    if run_ids:
        clash = con.execute("select count(*) from recommendation_funnel where list_contains($ids, run_id)",
                            {"ids": run_ids}).fetchall()[0][0]
        if clash:
            raise ValueError(f"run {run_ids[0]!r} already has recommendations in this warehouse "
                             "(append-only: use a new run_id)")


def write_outputs(con: duckdb.DuckDBPyConnection, outputs: RecommendOutputs | Iterable[RecommendOutputs]) -> int:
    """Append every output table (INSERT only, never UPDATE) in one transaction; create them if missing; returns
    the recommendations written.

    outputs: one RecommendOutputs, or the outputs of disjoint user chunks (consumed one at a time, so only one
    chunk is in memory; their funnels are summed). A run already in the warehouse makes the write fail.
    """
    parts = [outputs] if isinstance(outputs, RecommendOutputs) else outputs
    con.begin()
    try:
        create_tables(con)
        funnels, written = [], 0
        for part in parts:
            funnel = part.arrow("recommendation_funnel")
            if not funnels:
                _refuse_existing_run(con, funnel)
            funnels.append(funnel)
            for name in OUTPUT_TABLES:
                if name != "recommendation_funnel":
                    _insert(con, name, part.arrow(name))
            written += part.arrow("recommendations").num_rows
        if funnels:
            _insert(con, "recommendation_funnel", funnels[0] if len(funnels) == 1
                    else summed_funnel(pa.concat_tables(funnels)))
        con.commit()
    except BaseException:
        con.rollback()
        raise
    return written


def delivered_recommendations(warehouse_path: str | Path, opstore_path: str | Path | None = None,
                              delivered_at: dt.datetime | None = None) -> pd.DataFrame:
    """Recommendations of the warehouse's latest run for users whose consent is still granted now, shaped for
    opstore.record_deliveries: run_id, user_id, item_id, kind, recommendation_id, delivered_at (in one frame)."""
    return pd.concat(list(delivered_recommendation_chunks(warehouse_path, opstore_path, delivered_at,
                                                          chunk_users=None)), ignore_index=True)


def delivered_recommendation_chunks(warehouse_path: str | Path, opstore_path: str | Path | None = None,
                                    delivered_at: dt.datetime | None = None,
                                    chunk_users: int | None = DELIVERY_CHUNK_USERS) -> Iterator[pd.DataFrame]:
    """`delivered_recommendations` one chunk of `chunk_users` users at a time, in user order (None: one chunk),
    so recording a large run's deliveries holds one chunk in memory, not the run; at least one frame."""
    from spendsense import opstore

    cols = ["run_id", "user_id", "item_id", "kind", "recommendation_id", "delivered_at"]
    ocon = opstore.connect(paths.opstore_location(opstore_path))
    try:
        granted = opstore.consenting_user_ids(ocon)
    finally:
        ocon.close()
    when = naive_utc(delivered_at if delivered_at is not None else dt.datetime.now(dt.UTC))
    q = "recommend/latest_run_recommendations.sql"
    with duckdb.connect(str(warehouse_path), read_only=True) as con:
        try:
            latest = con.execute(*sql.query(q, "latest_run").bind()).fetchall()
        except duckdb.CatalogException:
            latest = []
        if not latest:
            yield pd.DataFrame({c: pd.Series(dtype=object) for c in cols})
            return
        run_id = latest[0][0]
        ranges = user_ranges(con, chunk_users, run_id) if chunk_users else [(None, None)]
        for first, last in ranges:  # the latest run has recommendations, so at least one range
            recs = con.execute(*sql.query(q, "run_recommendations").bind(
                run_id=run_id, first=first, last=last)).df()
            recs = recs[recs["user_id"].isin(granted)].reset_index(drop=True)
            recs["delivered_at"] = when
            yield recs[cols]
