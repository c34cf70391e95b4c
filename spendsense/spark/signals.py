"""The signal step on Spark: the same .sql files as on DuckDB (spendsense/signals), translated by
spendsense.spark.dialect, over the raw store's Parquet; each result written as Parquet bucketed by user."""

from __future__ import annotations

from datetime import date
from pathlib import Path

import pandas as pd

from spendsense.signals.catalog import TABLE_COLUMNS
from spendsense.signals.compute import (
    FAMILY_QUERIES,
    STAGING,
    SignalTables,
    consent_table,
    sql_parameters,
    statements,
    typed_table,
)
from spendsense.signals.config import SignalConfig
from spendsense.spark.dialect import SparkTranslation, to_spark
from spendsense.spark.store import BUCKET, read_back

# result name -> (warehouse table, the view later queries read it as)
RESULTS = {"scope": ("skipped_users", None), "spending": (None, "signal_spending"),
           "subscriptions": ("recurring_streams", "signal_recurring_streams"),
           "savings": (None, "signal_savings"), "credit": ("credit_cards", "signal_credit_cards"),
           "income": ("payroll_deposits", "signal_payroll_deposits"), "fees": (None, "signal_fees"),
           "income_signals": (None, "signal_income"), "signals_wide": ("signals_wide", None)}


def with_bucket(spark, frame):
    """A per-user result with its user's bucket: the raw store's users.user_bucket (one bucket function, the
    raw store's; a user_id the raw store lacks, e.g. an unknown requested user, lands in the null bucket)."""
    return frame.join(spark.table("users").select("user_id", BUCKET), "user_id", "left")


def register_raw_tables(spark, raw_dirs: dict[str, Path]) -> None:
    """Each raw store folder as a temp view under its table name."""
    for table, path in raw_dirs.items():
        spark.read.parquet(str(path)).createOrReplaceTempView(table)


def translated(name: str, values: dict[str, object]) -> list[SparkTranslation]:
    """The statements of one signal .sql file as Spark SQL."""
    return [to_spark(q.text, {k: values[k] for k in q.params}) for q in statements(name)]


def stage(spark, values: dict[str, object]) -> None:
    """The staging layer as temp views, each cached (every family reads them; DuckDB stores two as tables)."""
    for name in STAGING:
        for t in translated(name, values):
            spark.sql(t.text)
            spark.catalog.cacheTable(t.creates)


def materialize(spark, name: str, values: dict[str, object], out_dir: Path) -> tuple[str, ...]:
    """Run one signal query: a warehouse table is written as Parquet (bucketed by user) and its written copy is
    the view later queries read; an intermediate family result is cached in memory instead. Returns the query's
    ORDER BY (applied on read-back)."""
    (t,) = translated(name, values)
    table, view = RESULTS[name]
    frame = spark.sql(t.text)
    if table is None:
        frame.cache().createOrReplaceTempView(view)
        return t.order_by
    path = str(out_dir / table)
    with_bucket(spark, frame).write.mode("overwrite").partitionBy(BUCKET).parquet(path)
    if view:
        spark.read.parquet(path).drop(BUCKET).createOrReplaceTempView(view)
    return t.order_by


def compute_signals_spark(spark, raw_dirs: dict[str, Path], out_dir: str | Path, as_of: date,
                          consent: pd.DataFrame, cfg: SignalConfig, windows: tuple[int, ...]) -> SignalTables:
    """Every signal for every consenting user and window on Spark; the same tables compute_signals returns,
    read back from the Parquet the step wrote under out_dir/<warehouse table>/."""
    out_dir = Path(out_dir)
    values = sql_parameters(as_of, cfg, tuple(windows), None)
    register_raw_tables(spark, raw_dirs)
    spark.createDataFrame(consent_table(consent).to_pandas()).createOrReplaceTempView("signal_consent")
    stage(spark, values)
    order = {name: materialize(spark, name, values, out_dir)
             for name in ("scope", *FAMILY_QUERIES, "income_signals", "signals_wide")}
    spark.catalog.clearCache()  # the staging views and intermediate results: the session may run again

    def table(name: str):
        return read_back(out_dir / RESULTS[name][0], order[name])

    return SignalTables(
        signals=None,
        signals_wide=typed_table(table("signals_wide"), TABLE_COLUMNS["signals_wide"], "signals_wide"),
        credit_cards=typed_table(table("credit"), TABLE_COLUMNS["credit_cards"], "credit_cards"),
        recurring_streams=typed_table(table("subscriptions"), TABLE_COLUMNS["recurring_streams"],
                                      "recurring_streams"),
        payroll_deposits=typed_table(table("income"), TABLE_COLUMNS["payroll_deposits"], "payroll_deposits"),
        skipped_users=typed_table(table("scope").rename_columns(["user_id", "reason"]),
                                  TABLE_COLUMNS["skipped_users"], "skipped_users"),
    )
