"""The Spark engine's step functions: what spendsense.pipeline calls for `-p engine spark`.

Each takes what the DuckDB step reads (the run warehouse connection, consent, config) and returns what it
returns, so the pipeline writes the result into the run's warehouse exactly as for a DuckDB run. The Spark
work happens under the run's spark/ folder: raw/ (the raw store exported as Parquet, bucketed by user) and
steps/ (every step's tables as Parquet, bucketed by user)."""

from __future__ import annotations

import datetime as dt
import shutil
from pathlib import Path

import duckdb
import pandas as pd

from spendsense.recommend.outputs import OUTPUT_TABLES
from spendsense.signals.compute import SignalTables
from spendsense.spark.per_user import (
    PERSONA_COLUMNS,
    personas_bucket,
    recommend_bucket,
    recommend_outputs,
    run_buckets,
)
from spendsense.spark.session import spark_session
from spendsense.spark.signals import compute_signals_spark
from spendsense.spark.store import BUCKET, DEFAULT_BUCKETS, export_raw_tables, read_back

SPARK_DIR = "spark"  # beside the run's warehouse


def work_dirs(warehouse: str | Path) -> tuple[Path, Path]:
    """(raw store, step tables) folders of a run on Spark."""
    root = Path(warehouse).resolve().parent / SPARK_DIR
    return root / "raw", root / "steps"


def raw_dirs(raw: Path) -> dict[str, Path]:
    """The exported raw tables by name."""
    return {p.name: p for p in sorted(raw.iterdir()) if p.is_dir()}


def buckets_of(path: Path) -> list[int]:
    """The user buckets a bucketed step table has rows in."""
    prefix = f"{BUCKET}="
    return sorted(int(p.name[len(prefix):]) for p in path.iterdir()
                  if p.is_dir() and p.name.startswith(prefix) and p.name[len(prefix):].isdigit())


def cleared(steps: Path, names) -> None:
    """Remove a previous attempt's per-bucket outputs (the tasks write each bucket they run, not the others)."""
    for name in names:
        shutil.rmtree(steps / name, ignore_errors=True)


def signals(con: duckdb.DuckDBPyConnection, warehouse: str | Path, as_of: dt.date, consent: pd.DataFrame, cfg,
            windows: tuple[int, ...], master: str | None = None, buckets: int = DEFAULT_BUCKETS,
            spark=None) -> SignalTables:
    """Export the warehouse's raw tables to the raw store, then compute every signal on Spark."""
    raw, steps = work_dirs(warehouse)
    export_raw_tables(con, raw, buckets)
    spark = spark or spark_session(master)
    return compute_signals_spark(spark, raw_dirs(raw), steps, as_of, consent, cfg, windows)


def personas(warehouse: str | Path, persona_cfg, phrases, master: str | None = None, spark=None):
    """persona_assignments and persona_counterfactuals (Arrow) computed per bucket on Spark."""
    _, steps = work_dirs(warehouse)
    spark = spark or spark_session(master)
    cleared(steps, PERSONA_COLUMNS)
    run_buckets(spark, personas_bucket, buckets_of(steps / "signals_wide"), (str(steps), persona_cfg, phrases))
    return tuple(read_back(steps / name, ("user_id", "window_days")) for name in PERSONA_COLUMNS)


def recommend(warehouse: str | Path, consent: pd.DataFrame, history: pd.DataFrame, as_of: dt.date, run_id: str,
              created: dt.datetime, engine, master: str | None = None, spark=None):
    """RecommendOutputs computed per bucket on Spark (recommend() on each bucket's users)."""
    raw, steps = work_dirs(warehouse)
    spark = spark or spark_session(master)
    cleared(steps, OUTPUT_TABLES)
    shared = (str(steps), str(raw), consent, history, as_of, run_id, created, engine)
    run_buckets(spark, recommend_bucket, buckets_of(steps / "signals_wide"), shared)
    return recommend_outputs(steps)
