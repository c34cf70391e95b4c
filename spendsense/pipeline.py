"""The pipeline's steps with their I/O: each reads its inputs, calls the pure step functions, writes once.

Notebooks 01-05 call these, one step per notebook; `spendsense bench` (spendsense.bench) calls them too, so what
the notebooks run is what is measured. This is the orchestration layer: configuration is loaded here
(spendsense.engine_config, once per step unless the caller passes an EngineConfig) and handed to the step
functions, which load nothing themselves.
"""

from __future__ import annotations

import dataclasses
import datetime as dt
import json
import time
from contextlib import contextmanager
from pathlib import Path

import duckdb

from spendsense import paths
from spendsense.engine_config import EngineConfig, cached_config

STAGE_TIMINGS = "stage_timings.jsonl"
DECISION_TRACES = "decision_traces"  # folder: the typed decision facts as Parquet (spendsense.evaluate.store)
EXPORT_PART_USERS = 100_000  # users per part of the trace export: one part's sort fits evaluate's memory cap
RECOMMEND_MEMORY_LIMIT = "3GB"  # the recommend step's DuckDB memory (its one write transaction spills beyond it)
# recommend worker processes by default: 1 recommends in the step's own process. Two workers on 2 cores took the
# 100,000-user step from 39.1 to 35.0 s but its CPU from 42.5 to 62.8 s and its memory (all processes) to 7.5 GB
RECOMMEND_WORKERS = 1


def as_date(value: str | dt.date) -> dt.date:
    """A date parameter from a notebook (ISO string) or Python."""
    return value if isinstance(value, dt.date) else dt.date.fromisoformat(value)


def connect(warehouse: str | Path, read_only: bool = False) -> duckdb.DuckDBPyConnection:
    """Open the run's DuckDB warehouse (without DuckDB's console progress bar: steps report their own progress)."""
    con = duckdb.connect(str(warehouse), read_only=read_only)
    con.execute("set enable_progress_bar = false")
    return con


@contextmanager
def timed_stage(run_dir: str | Path, stage: str, users: int | None = None):
    """Time a stage and append its wall time to the run's stage_timings.jsonl."""
    t0 = time.perf_counter()
    yield
    record = {"stage": stage, "seconds": round(time.perf_counter() - t0, 4), "users": users}
    path = Path(run_dir) / STAGE_TIMINGS
    path.parent.mkdir(parents=True, exist_ok=True)
    with path.open("a", encoding="utf-8") as fh:
        fh.write(json.dumps(record) + "\n")


def stage_timings(run_dir: str | Path):
    """The stage timings recorded so far in a run, as a table."""
    import pandas as pd

    path = Path(run_dir) / STAGE_TIMINGS
    if not path.exists():
        return pd.DataFrame(columns=["stage", "seconds", "users"])
    return pd.read_json(path, lines=True)


def prepare_dataset(source: str, dataset_dir: str | Path, n_users: int, seed: int, as_of: str | dt.date,
                    progress: bool = True, formats: tuple[str, ...] = ("parquet", "csv", "json")) -> Path:
    """The input folder: a cached synthetic dataset (generated on first use; above SHARD_USERS users in Parquet
    parts only, shard by shard) or the given source path."""
    from spendsense.generate import synthetic_tables, write_dataset
    from spendsense.generate.shards import SHARD_USERS, write_sharded_dataset

    dataset_dir = Path(dataset_dir)
    if source != "synthetic":
        if not dataset_dir.exists():
            raise FileNotFoundError(f"source {dataset_dir} does not exist")
        return dataset_dir
    manifest = dataset_dir / "manifest.json"
    wanted = {"seed": seed, "n_users": n_users, "as_of": as_date(as_of).isoformat()}
    if manifest.exists():
        got = json.loads(manifest.read_text())
        if all(str(got.get(k)) == str(v) for k, v in wanted.items()):
            return dataset_dir
    if n_users > SHARD_USERS:  # too big to build in memory at once: Parquet parts, one per shard
        return write_sharded_dataset(n_users, seed, as_date(as_of), dataset_dir, progress=progress)
    tables = synthetic_tables(n_users=n_users, seed=seed, as_of=as_date(as_of), progress=progress)
    return write_dataset(tables, dataset_dir, formats=formats)


def ingest_dataset(dataset_dir: str | Path, warehouse: str | Path, opstore: str | Path, progress: bool = True,
                   raw_store: str | Path | None = None, batch: int | None = None, mode: str = "merge"):
    """Validate the input and append it to the raw store as a batch (consent events into the opstore), then point
    the run's warehouse at the store as of `batch` (default: the latest, i.e. this ingest's) with views."""
    from spendsense.ingest import rawstore

    store = rawstore.store_for(dataset_dir, raw_store)
    report = ingest_batch([Path(dataset_dir)], store, opstore, progress=progress, mode=mode)
    raw_views_step(warehouse, store, batch)
    return report


def ingest_batch(input_paths, raw_store: str | Path, opstore: str | Path | None, progress: bool = True,
                 mode: str = "merge"):
    """Validate input files and append them to the raw store as one batch (consent events into the opstore)."""
    from spendsense.ingest import ingest

    return ingest([Path(p) for p in input_paths], None, paths.opstore_location(opstore) if opstore is not None else None,
                  progress=progress, raw_store=Path(raw_store), mode=mode)


def raw_views_step(warehouse: str | Path, raw_store: str | Path, batch: int | None = None) -> int:
    """The run warehouse's raw tables as views over the raw store as of a batch (latest when None); returns it."""
    from spendsense.ingest import rawstore

    Path(warehouse).parent.mkdir(parents=True, exist_ok=True)
    with connect(warehouse) as con:
        return rawstore.create_run_views(con, raw_store, batch)


def consent_snapshot(opstore: str | Path):
    """Each user's current consent status, read once from the operational store."""
    from spendsense import opstore as ops

    con = ops.connect(paths.opstore_location(opstore))
    try:
        return ops.consent_status(con)
    finally:
        con.close()


def signals_step(warehouse: str | Path, opstore: str | Path, as_of: str | dt.date, windows=(30, 180),
                 engine: str = "duckdb", spark_master: str | None = None):
    """Compute every signal family for consenting users and store the signal tables (engine: duckdb, or spark
    from the same SQL: spendsense.spark, docs/scale-out.md)."""
    from spendsense.signals import compute_signals, load_signal_config, write_signal_tables

    consent = consent_snapshot(opstore)
    with connect(warehouse) as con:
        if engine == "spark":
            from spendsense.spark import steps as spark_steps

            tables = spark_steps.signals(con, warehouse, as_date(as_of), consent,
                                         load_signal_config(), tuple(windows), spark_master or None)
        else:
            tables = compute_signals(con, as_date(as_of), consent, load_signal_config(), windows=tuple(windows))
        write_signal_tables(con, tables)
    return tables


def persona_assignments(warehouse: str | Path):
    """The stored persona_assignments table of a warehouse (for the report's persona mix)."""
    with connect(warehouse, read_only=True) as con:
        return con.execute("select * from persona_assignments").df()


def personas_step(warehouse: str | Path, engine: str = "duckdb", spark_master: str | None = None):
    """Assign one persona per user and window from the stored signals, and store the assignments and, beside
    them, what would change each one (persona_counterfactuals); on Spark per user bucket, same functions."""
    from spendsense.personas import (
        assign_personas,
        load_persona_config,
        load_signal_phrases,
        persona_counterfactuals,
        read_signals_wide,
        write_persona_assignments,
        write_persona_counterfactuals,
    )

    cfg = load_persona_config()
    with connect(warehouse) as con:
        if engine == "spark":
            from spendsense.spark import steps as spark_steps

            assignments, counterfactuals = spark_steps.personas(warehouse, cfg, load_signal_phrases(),
                                                                spark_master or None)
            assignments = assignments.to_pandas()
        else:
            wide = read_signals_wide(con)
            assignments = assign_personas(wide, cfg)
            counterfactuals = persona_counterfactuals(wide, cfg, load_signal_phrases())
        write_persona_assignments(con, assignments)
        write_persona_counterfactuals(con, counterfactuals)
    return assignments


def recommend_step(warehouse: str | Path, opstore: str | Path, run_id: str, as_of: str | dt.date,
                   created_at: dt.datetime | None = None, config: EngineConfig | None = None,
                   engine: str = "duckdb", spark_master: str | None = None, progress: bool = False,
                   chunk_users: int | None = None, workers: int | None = None):
    """Recommend for every user whose consent is granted now (read fresh from the opstore), with rationales,
    guardrail records and decision traces; append the result tables to the warehouse (in chunks of users; on
    Spark per user bucket; the same recommend()). Returns the run's outputs, read from the warehouse on use.
    chunk_users: users per chunk (default spendsense.recommend.store.CHUNK_USERS); workers: processes that
    recommend chunks side by side while this one reads and writes (default RECOMMEND_WORKERS)."""
    import pandas as pd
    from tqdm.auto import tqdm

    from spendsense import opstore as ops
    from spendsense.ingest import rawstore
    from spendsense.recommend import RecommendOutputs, read_inputs, recommend, write_outputs
    from spendsense.recommend.store import CHUNK_USERS, user_ranges

    cfg = config if config is not None else cached_config()
    created = created_at or dt.datetime.now(dt.UTC).replace(tzinfo=None)
    since = pd.Timestamp(created) - pd.Timedelta(days=cfg.scoring.freshness.full_after_days)
    con = ops.connect(paths.opstore_location(opstore))
    try:
        consent = ops.consent_status(con)
        history = ops.deliveries(con, since=since)
    finally:
        con.close()
    with connect(warehouse) as wcon:
        # the chunks' appends wait in the write's transaction: capped, DuckDB keeps them on disk (5.9 GB peak at
        # 1,000,000 users instead of growing past 24 GB)
        wcon.execute("set memory_limit = $limit", {"limit": RECOMMEND_MEMORY_LIMIT})
        versions = {**cfg.versions, "raw_batch": rawstore.run_batch(wcon)}
        if engine == "spark":
            from spendsense.spark import steps as spark_steps

            outputs = spark_steps.recommend(warehouse, consent, history, as_date(as_of), run_id, created,
                                            dataclasses.replace(cfg, versions=versions), spark_master or None)
        else:  # chunks of users, a few in memory at a time (recommend() is per user; the funnels are summed)
            ranges = user_ranges(wcon, chunk_users or CHUNK_USERS)
            chunks = (read_inputs(wcon, consent, history, as_date(as_of), users=chunk)
                      for chunk in tqdm(ranges, desc="recommend", unit="chunk", leave=False,
                                        disable=not progress or len(ranges) < 2))
            n_workers = min(RECOMMEND_WORKERS if workers is None else workers, len(ranges))
            if n_workers < 2:
                outputs = (recommend(inputs, cfg.catalog, cfg.scoring, cfg.guardrails, run_id, created, versions)
                           for inputs in chunks)
            else:
                outputs = _recommended_in_workers(chunks, n_workers, cfg, run_id, created, versions)
        write_outputs(wcon, outputs)
    return RecommendOutputs.stored(warehouse, run_id)


_worker_config: tuple | None = None  # (catalog, scoring, guardrails) in a recommend worker process


def _start_recommend_worker(catalog, scoring, guardrails) -> None:
    global _worker_config
    _worker_config = (catalog, scoring, guardrails)


def _recommend_in_worker(inputs, run_id: str, created: dt.datetime, versions: dict) -> tuple[dict, dict]:
    """One chunk recommended in a worker: its output tables (Arrow) and timings, for the parent to write."""
    from spendsense.recommend import recommend
    from spendsense.recommend.outputs import OUTPUT_TABLES

    out = recommend(inputs, *_worker_config, run_id, created, versions)
    return {name: out.arrow(name) for name in OUTPUT_TABLES}, out.timings


def _recommended_in_workers(chunks, n_workers: int, cfg: EngineConfig, run_id: str, created: dt.datetime,
                            versions: dict):
    """Each chunk's RecommendOutputs in chunk order, recommended by n_workers spawned processes; at most
    n_workers + 1 chunks are read ahead (one waits while this process writes), so memory holds a few chunks,
    never all of them."""
    import multiprocessing as mp
    from collections import deque
    from concurrent.futures import ProcessPoolExecutor

    from spendsense.recommend import RecommendOutputs

    with ProcessPoolExecutor(n_workers, mp_context=mp.get_context("spawn"), initializer=_start_recommend_worker,
                             initargs=(cfg.catalog, cfg.scoring, cfg.guardrails)) as pool:
        pending: deque = deque()
        for inputs in chunks:
            pending.append(pool.submit(_recommend_in_worker, inputs, run_id, created, versions))
            if len(pending) > n_workers:
                yield RecommendOutputs(*pending.popleft().result())
        while pending:
            yield RecommendOutputs(*pending.popleft().result())


def export_traces_step(con: duckdb.DuckDBPyConnection, run_dir: str | Path):
    """Export the run's decision facts to decision_traces/ as Parquet, one part per EXPORT_PART_USERS users;
    returns the audit counts (one row)."""
    from spendsense.evaluate.store import export_traces
    from spendsense.recommend.store import user_ranges

    return export_traces(con, Path(run_dir) / DECISION_TRACES, user_ranges(con, EXPORT_PART_USERS))


def evaluate_step(warehouse: str | Path, run_dir: str | Path, opstore: str | Path, dataset_dir: str | Path,
                  as_of: str | dt.date, replay_sample: int = 50, latency_sample: int = 20,
                  config: EngineConfig | None = None):
    """Export the decision facts (decision_traces/), then compute every metric of the run and write metrics.json and
    metrics.csv."""
    import numpy as np

    from spendsense import sql
    from spendsense.evaluate import EvaluationInputs, evaluate, flat_metrics, load_evaluation_config
    from spendsense.evaluate.truth import recommendation_truth
    from spendsense.generate.shards import ground_truth as dataset_ground_truth
    from spendsense.recommend import replay_sample as replay_some
    from spendsense.recompute import single_user_latencies

    cfg = load_evaluation_config()
    engine = config if config is not None else cached_config()
    catalog = engine.catalog
    run_dir = Path(run_dir)
    # catalogue signal names (validated at config load), so quoting them as identifiers below is safe
    behavior_signals = sorted({rule.signal for rule in cfg.behaviors.values()})
    with connect(warehouse, read_only=True) as con:
        con.execute("set memory_limit = '2GB'")  # big intermediates (facts, traces) spill instead of growing
        read = lambda sql: con.execute(sql).df()
        users = read("select user_id, age_band, gender, region, income_tier from users")
        personas = read("select user_id, window_days, persona_id, matched_personas from persona_assignments")
        consenting = personas["user_id"].drop_duplicates().sort_values().tolist()
        rng = np.random.default_rng(0)
        sample = sorted(rng.choice(consenting, size=min(latency_sample, len(consenting)), replace=False).tolist())
        timings_ms = single_user_latencies(con, warehouse, opstore, as_date(as_of), sample, engine)
        audit = export_traces_step(con, run_dir)
        inputs = EvaluationInputs(
            users=users,
            signals_wide=read("select user_id, window_days, "
                              + ", ".join(f'"{s}"' for s in behavior_signals) + " from signals_wide"),
            persona_assignments=personas,
            recommendation_counts=read(sql.query("evaluate/recommendation_counts.sql").text),
            explainability=read(sql.query("evaluate/explainability.sql").text),
            audit=audit,
            guardrail_counts=read(sql.query("evaluate/guardrail_counts.sql").text),
            eligibility_blocks=read(sql.query("evaluate/eligibility_blocks.sql").text),
            funnel=read("select * from recommendation_funnel order by kind, stage_order"),
            shortfalls=read("select * from recommendation_shortfalls"),
            skipped_users=read("select * from skipped_users"),
            stage_timings=stage_timings(run_dir),
            single_user_ms=timings_ms,
            replays=replay_some(warehouse, engine.catalog, engine.guardrails, n=replay_sample),
            n_offers=len(catalog.offers),
            truth=recommendation_truth(read(sql.query("evaluate/truth_inputs.sql").text), read("select * from signals_wide"), catalog),
            ground_truth=dataset_ground_truth(dataset_dir),
        )
    evaluation = evaluate(inputs, cfg)
    evaluation.metrics["run_id"] = run_dir.name
    (run_dir / "metrics.json").write_text(json.dumps(evaluation.metrics, indent=2, default=str))
    flat_metrics(evaluation.metrics).to_csv(run_dir / "metrics.csv", index=False)
    return evaluation


def describe_source(warehouse: str | Path, run_dir: str | Path, source: str, report, as_of: str | dt.date,
                    windows=(30, 180), seed: int | None = None, n_users: int | None = None) -> dict:
    """Summarize what the run ingested (files, users, transactions, date range) into the run's source.json."""
    from spendsense.profile import SOURCE_SUMMARY, source_summary

    with connect(warehouse, read_only=True) as con:
        summary = source_summary(con, source, report.files, as_date(as_of), tuple(windows), seed, n_users)
    summary["ingest_notes"] = list(report.notes)
    path = Path(run_dir) / SOURCE_SUMMARY
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(json.dumps(summary, indent=2), encoding="utf-8")
    return summary
