"""Parquet in and out of the Spark engine: the raw store exported from the run warehouse, step tables bucketed
by user, and step outputs read back as typed Arrow tables for the warehouse."""

from __future__ import annotations

from pathlib import Path

import duckdb
import pyarrow as pa
import pyarrow.dataset as ds
import pyarrow.parquet as pq

from spendsense import sql
from spendsense.schema import TABLE_ORDER

BUCKET = "user_bucket"  # the hive partition column of every bucketed table
DEFAULT_BUCKETS = 16


def warehouse_tables(con: duckdb.DuckDBPyConnection) -> list[str]:
    """The raw tables present in the run warehouse (tables or views), in load order."""
    present = {name for (name,) in con.execute("select table_name from information_schema.tables").fetchall()}
    return [t for t in TABLE_ORDER if t in present]


def export_raw_tables(con: duckdb.DuckDBPyConnection, raw_dir: str | Path, buckets: int = DEFAULT_BUCKETS
                      ) -> dict[str, Path]:
    """Every raw table of the run warehouse, by table name, as Parquet under raw_dir/<table>/ partitioned by
    user_bucket (hash of the owning user); an empty table as one file with its columns."""
    queries = sql.queries("spark/export.sql")
    out: dict[str, Path] = {}
    for table in warehouse_tables(con):
        columns = {c for (c,) in con.execute(*queries["columns"].bind(table=table)).fetchall()}
        query = queries["by_user" if "user_id" in columns else "by_account"]
        text, params = query.fill(table=sql.identifier(table, TABLE_ORDER)).bind(buckets=buckets)
        target = Path(raw_dir) / table
        data = con.sql(text, params=params).to_arrow_table()
        if data.num_rows:
            ds.write_dataset(data, target, format="parquet", partitioning=[BUCKET], partitioning_flavor="hive",
                             existing_data_behavior="delete_matching", max_rows_per_group=1 << 20)
        else:
            target.mkdir(parents=True, exist_ok=True)
            pq.write_table(data.drop_columns([BUCKET]), target / "empty.parquet")
        out[table] = target
    return out


def read_back(path: str | Path, order_by: tuple[str, ...] = ()) -> pa.Table:
    """A Parquet folder written by Spark or by the per-bucket tasks, as one Arrow table without the bucket
    column, sorted by the given columns (the query's ORDER BY, dropped on Spark)."""
    table = ds.dataset(str(path), format="parquet", partitioning="hive").to_table()
    if BUCKET in table.column_names:
        table = table.drop_columns([BUCKET])
    return table.sort_by([(c, "ascending") for c in order_by]) if order_by and table.num_rows else table


def bucket_table(path: str | Path, bucket: int) -> pa.Table:
    """One bucket of a bucketed Parquet folder, without the bucket column."""
    part = Path(path) / f"{BUCKET}={bucket}"
    if not part.exists():
        return ds.dataset(str(path), format="parquet", partitioning="hive").schema.empty_table().drop_columns([BUCKET])
    return ds.dataset(str(part), format="parquet").to_table()


def write_bucket(table: pa.Table, path: str | Path, bucket: int) -> None:
    """One bucket's rows of a step output as path/user_bucket=<bucket>/part.parquet (replaced if present)."""
    part = Path(path) / f"{BUCKET}={bucket}"
    part.mkdir(parents=True, exist_ok=True)
    pq.write_table(table, part / "part.parquet")
