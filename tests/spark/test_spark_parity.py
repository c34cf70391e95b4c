"""The Spark engine equals the DuckDB engine: every table of the run warehouse after signals, personas and
recommendations, on the default 100-user data (same rows, floats within 1e-9, order ignored)."""

from __future__ import annotations

import os
import shutil
import sys
from pathlib import Path

import duckdb
import pytest
from parity import assert_tables_equal

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "pipeline"))
from golden_outputs import CREATED_AT, without_code_version

from spendsense import pipeline
from spendsense.params import default_run_params

RUN_ID = "parity"
# The default data (100 users) runs in the normal suite; the 2,000-user dataset of the issue with
# `make test-spark` (SPENDSENSE_SPARK_PARITY=1): its two runs take longer than the CI budget (docs/scale-out.md).
LARGE_USERS = 2000
pytestmark = pytest.mark.slow  # minutes, not seconds: in `make test` (CI), not in `make test-fast`


def run_engine(work: Path, raw: Path, opstore: Path, engine: str) -> Path:
    """Signals, personas and recommendations on a copy of the ingested warehouse, with one engine."""
    p = default_run_params()
    warehouse = work / engine / "warehouse.duckdb"
    warehouse.parent.mkdir(parents=True)
    shutil.copy(raw, warehouse)
    pipeline.signals_step(warehouse, opstore, p.as_of, p.windows, engine=engine)
    pipeline.personas_step(warehouse, engine=engine)
    pipeline.recommend_step(warehouse, opstore, RUN_ID, p.as_of, created_at=CREATED_AT, engine=engine)
    return warehouse


def tables(warehouse: Path) -> dict:
    """Every table and view of a warehouse as frames (the recorded code version blanked)."""
    with duckdb.connect(str(warehouse), read_only=True) as con:
        names = [r[0] for r in con.execute("select table_name from information_schema.tables "
                                           "where table_schema = 'main' order by 1").fetchall()]
        return {n: without_code_version(con.execute(f'select * from "{n}"').df()) for n in names}


def both_engines(work: Path, n_users: int) -> dict:
    """Every warehouse table after the DuckDB run and after the Spark run of one ingested n-user dataset."""
    p = default_run_params()
    dataset, raw, opstore = work / "dataset", work / "raw.duckdb", work / "opstore.sqlite"
    pipeline.prepare_dataset("synthetic", dataset, n_users, p.seed, p.as_of, progress=False)
    pipeline.ingest_dataset(dataset, raw, opstore, progress=False)
    return {engine: tables(run_engine(work, raw, opstore, engine)) for engine in ("duckdb", "spark")}


def assert_runs_equal(runs: dict) -> None:
    """Every table of the Spark run equals the DuckDB run's (the key outputs non-empty)."""
    want, got = runs["duckdb"], runs["spark"]
    assert set(want) == set(got)
    for required in ("signals_wide", "recurring_streams", "persona_assignments", "recommendations",
                     "decision_contexts", "recommendation_funnel"):
        assert len(want[required]) > 0, required
    for name in sorted(want):
        assert_tables_equal(name, want[name], got[name])


@pytest.fixture(scope="module")
def runs(tmp_path_factory, spark):
    return both_engines(tmp_path_factory.mktemp("parity"), default_run_params().n_users)


def test_every_table_of_the_spark_run_equals_the_duckdb_run(runs):
    assert_runs_equal(runs)


def test_the_spark_run_writes_its_step_tables_as_bucketed_parquet(runs, tmp_path_factory):
    steps = next(tmp_path_factory.getbasetemp().glob("parity*/spark/spark/steps"))
    for name in ("signals_wide", "persona_assignments", "recommendations"):
        parts = sorted(p.name for p in (steps / name).iterdir() if p.name.startswith("user_bucket="))
        assert len(parts) > 1, name


@pytest.mark.skipif(not os.environ.get("SPENDSENSE_SPARK_PARITY"),
                    reason=f"{LARGE_USERS}-user Spark parity run: `make test-spark`")
def test_every_table_equals_the_duckdb_run_at_2000_users(tmp_path_factory, spark):
    assert_runs_equal(both_engines(tmp_path_factory.mktemp("parity_large"), LARGE_USERS))
