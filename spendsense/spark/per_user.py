"""The per-user steps on Spark: one task per user bucket (mapInPandas over the bucket ids), each calling the
same functions as the DuckDB path on its bucket's tables, inside an in-memory DuckDB so the frames it reads
are typed exactly as the run warehouse's. Configuration and content travel once, as one broadcast."""

from __future__ import annotations

import datetime as dt
from pathlib import Path

import duckdb
import pandas as pd
import pyarrow as pa

from spendsense.personas import (
    PERSONA_ASSIGNMENT_COLUMNS,
    PERSONA_COUNTERFACTUAL_COLUMNS,
    assign_personas,
    persona_counterfactuals,
    read_signals_wide,
)
from spendsense.recommend import read_inputs, recommend
from spendsense.recommend.outputs import OUTPUT_TABLES, RecommendOutputs, summed_funnel
from spendsense.signals.catalog import TABLE_COLUMNS
from spendsense.signals.compute import typed_table
from spendsense.signals.store import arrow_table
from spendsense.spark.store import bucket_table, read_back, write_bucket

PERSONA_COLUMNS = {"persona_assignments": PERSONA_ASSIGNMENT_COLUMNS,
                   "persona_counterfactuals": PERSONA_COUNTERFACTUAL_COLUMNS}
SIGNAL_INPUTS = ("signals_wide", "credit_cards", "recurring_streams")


def run_buckets(spark, task, buckets: list[int], shared: tuple) -> int:
    """task(bucket, *shared) on the executors, one bucket per Spark task; the rows the tasks wrote."""
    value = spark.sparkContext.broadcast(shared)

    def run(frames):
        for frame in frames:
            yield pd.DataFrame({"bucket": frame["bucket"],
                                "rows": [task(int(b), *value.value) for b in frame["bucket"]]})

    ids = spark.createDataFrame(pd.DataFrame({"bucket": buckets}), "bucket long")
    done = ids.repartition(max(len(buckets), 1), "bucket").mapInPandas(run, "bucket long, rows long").collect()
    value.unpersist()
    return sum(int(r["rows"]) for r in done)


def bucket_connection(tables: dict[str, pa.Table]) -> duckdb.DuckDBPyConnection:
    """An in-memory DuckDB with one bucket's tables registered under their warehouse names."""
    con = duckdb.connect()
    for name, table in tables.items():
        con.register(name, table)
    return con


def signal_table(step_dir: Path, name: str, bucket: int) -> pa.Table:
    """One bucket of a signal table written by the Spark signal step, typed as the warehouse stores it."""
    table = bucket_table(step_dir / name, bucket)
    return typed_table(table.sort_by([("user_id", "ascending"), ("window_days", "ascending")]),
                       TABLE_COLUMNS[name], name)


def personas_bucket(bucket: int, step_dir: str, persona_cfg, phrases) -> int:
    """Personas and counterfactuals of one bucket's users (assign_personas, persona_counterfactuals)."""
    step_dir = Path(step_dir)
    with bucket_connection({"signals_wide": signal_table(step_dir, "signals_wide", bucket)}) as con:
        wide = read_signals_wide(con)
    if not len(wide):
        return 0
    frames = {"persona_assignments": assign_personas(wide, persona_cfg),
              "persona_counterfactuals": persona_counterfactuals(wide, persona_cfg, phrases)}
    for name, frame in frames.items():
        write_bucket(arrow_table(frame, PERSONA_COLUMNS[name], name), step_dir / name, bucket)
    return len(frames["persona_assignments"])


def recommend_bucket(bucket: int, step_dir: str, raw_dir: str, consent: pd.DataFrame, history: pd.DataFrame,
                     as_of: dt.date, run_id: str, created: dt.datetime, engine) -> int:
    """Recommendations of one bucket's users: read_inputs on the bucket's tables, then recommend()."""
    step_dir, raw_dir = Path(step_dir), Path(raw_dir)
    tables = {name: signal_table(step_dir, name, bucket) for name in SIGNAL_INPUTS}
    tables.update({name: bucket_table(step_dir / name, bucket) for name in PERSONA_COLUMNS})
    tables.update({name: bucket_table(raw_dir / name, bucket) for name in ("users", "accounts")})
    users = set(tables["users"].column("user_id").to_pylist())
    with bucket_connection(tables) as con:
        inputs = read_inputs(con, consent[consent["user_id"].isin(users)],
                             history[history["user_id"].isin(users)], as_of)
    if not len(inputs.signals_wide):
        return 0
    outputs = recommend(inputs, engine.catalog, engine.scoring, engine.guardrails, run_id, created, engine.versions)
    for name in OUTPUT_TABLES:
        write_bucket(outputs.arrow(name), step_dir / name, bucket)
    return outputs.arrow("recommendations").num_rows


def recommend_outputs(step_dir: Path) -> RecommendOutputs:
    """The per-bucket recommend outputs read back as one RecommendOutputs (funnel summed, rows by user)."""
    arrow = {}
    for name in OUTPUT_TABLES:
        table = read_back(step_dir / name)
        if name == "recommendation_funnel":
            arrow[name] = summed_funnel(table)
        else:
            keys = [c for c in ("user_id", "window_days") if c in table.column_names]
            arrow[name] = table.sort_by([(c, "ascending") for c in keys]) if keys and table.num_rows else table
    return RecommendOutputs(arrow)
