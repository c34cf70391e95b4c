"""`spendsense bench`: time and measure every pipeline stage at N users, against a floor scan.

Each stage runs in its own fresh process (spawned), so its wall time and peak resident memory are its own.
The stages (`bench_stage`) call the same `spendsense.pipeline` functions the notebooks call; papermill itself
is left out (its fixed cost is measured by the default `make run`).
"""

from __future__ import annotations

import datetime as dt
import json
import multiprocessing as mp
import os
import platform
import resource
import shutil
import tempfile
import time
from pathlib import Path

from spendsense import bench_probes, bench_usage, paths, serving, sql
from spendsense.bench_report import target_checks

# ingest: the first ingest into a fresh raw store; ingest_again: the same unchanged dataset again (what
# `spendsense run` on a synthetic source does every run: recognised by its fingerprint); ingest_day: an
# incremental batch of one day's new transactions (with the users and accounts files, unchanged); raw_views: the
# run's raw-table step (views as of the last shard's batch: 1 up to 100,000 users)
STAGES = ("generate", "ingest", "ingest_again", "ingest_day", "raw_views", "signals", "personas", "recommend",
          "evaluate", "publish")
NIGHTLY_STAGES = ("ingest_day", "raw_views", "signals", "personas", "recommend", "evaluate", "publish")
RUN_STAGES = ("raw_views", "signals", "personas", "recommend", "evaluate", "publish")  # a run, store loaded


def _stage_worker(stage: str, ctx: dict, queue) -> None:
    """Run one stage in a child process and report (seconds, peak MiB, extra)."""
    try:
        t0, cpu0 = time.perf_counter(), bench_usage.cpu_seconds()
        with bench_usage.TreeMemory() as tree:  # worker processes at once (recommend's): their sum
            extra = bench_stage(stage, ctx)
            bench_usage.end_spark()
        children_peak = resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss / 1024  # the largest ended child
        queue.put({"stage": stage, "seconds": time.perf_counter() - t0, "cpu_seconds": bench_usage.cpu_seconds() - cpu0,
                   "peak_rss_mb": max(bench_usage.peak_rss_mb(), children_peak, tree.peak_mb), **(extra or {})})
    except BaseException as exc:  # noqa: BLE001 - report, do not hang the parent
        queue.put({"stage": stage, "error": f"{type(exc).__name__}: {exc}"})


def bench_stage(stage: str, ctx: dict) -> dict | None:
    """Run one stage for `spendsense bench` (in its own process) with the benchmark's paths in ctx."""
    from spendsense import pipeline
    from spendsense.generate.shards import shard_folders, shard_sizes

    warehouse, opstore, as_of = ctx["warehouse"], ctx["opstore"], ctx["as_of"]
    work = Path(ctx["work_dir"])
    if stage == "generate":
        pipeline.prepare_dataset("synthetic", ctx["dataset_dir"], ctx["n_users"], ctx["seed"], as_of, progress=False,
                        formats=("parquet",))
    elif stage == "ingest":  # a sharded dataset (above 100,000 users) goes in one batch per shard
        rows: dict[str, int] = {}
        for folder in shard_folders(ctx["dataset_dir"], work / "shards"):
            report = pipeline.ingest_batch([folder], ctx["raw_store"], opstore, progress=False)
            rows = {k: rows.get(k, 0) + int(v) for k, v in report.rows.items()}
        return {"rows": rows, "batch": report.batch_id}
    elif stage == "ingest_again":  # the last batch's input again
        last = shard_folders(ctx["dataset_dir"], work / "shards")[-1]
        report = pipeline.ingest_batch([last], ctx["raw_store"], opstore, progress=False)
        return {"batch": report.batch_id, "new_batch": report.batch is not None}
    elif stage == "ingest_day":
        report = pipeline.ingest_batch([ctx["day_dir"]], ctx["raw_store"], opstore, progress=False)
        return {"added": report.batch.changes["transactions"]["added"] if report.batch else 0,
                "batch": report.batch_id}
    elif stage == "raw_views":  # as of the dataset's last shard: the run the day batch's night would follow
        return {"batch": pipeline.raw_views_step(warehouse, ctx["raw_store"], len(shard_sizes(ctx["n_users"])))}
    elif stage == "signals":
        pipeline.signals_step(warehouse, opstore, as_of, engine=ctx.get("engine", "duckdb"))
    elif stage == "personas":
        pipeline.personas_step(warehouse, engine=ctx.get("engine", "duckdb"))
    elif stage == "recommend":
        pipeline.recommend_step(warehouse, opstore, "bench", as_of, engine=ctx.get("engine", "duckdb"))
        with pipeline.connect(warehouse, read_only=True) as con:
            return {"recommendations": con.execute("select count(*) from recommendations").fetchone()[0]}
    elif stage == "evaluate":
        from spendsense.params import default_run_params

        (work / "run").mkdir(exist_ok=True)
        run = default_run_params()  # the nightly run's own samples; the probes time single users apart
        pipeline.evaluate_step(warehouse, work / "run", opstore, ctx["dataset_dir"], as_of,
                               replay_sample=run.replay_sample, latency_sample=run.latency_sample)
        export = work / "run" / pipeline.DECISION_TRACES
        return {"trace_export_bytes": sum(p.stat().st_size for p in export.rglob("*") if p.is_file())}
    elif stage == "publish":
        return _bench_publish(ctx)
    elif stage == "api":
        return bench_probes.api_load(ctx)
    elif stage == "probes":
        return bench_probes.probes(ctx)
    else:
        raise ValueError(f"unknown bench stage {stage!r}")
    return None


def _one_day_input(ctx: dict) -> None:
    """The incremental batch's input: the dataset's users and accounts, and its last day again one day later."""
    import duckdb
    import pyarrow.parquet as pq

    from spendsense.generate.shards import table_glob

    src, day = ctx["dataset_dir"], Path(ctx["day_dir"])
    day.mkdir(parents=True, exist_ok=True)
    with duckdb.connect() as con:
        con.execute("set enable_progress_bar = false")
        for table in ("users", "accounts"):  # as they are (a sharded dataset's parts as one file)
            files = table_glob(src, table)
            if "*" not in files:
                shutil.copy(files, day / f"{table}.parquet")
                continue
            rows = con.sql("select * from read_parquet($path)", params={"path": files}).to_arrow_table()
            pq.write_table(rows, day / f"{table}.parquet", compression="zstd")
        text, params = sql.query("bench_day.sql").bind(path=table_glob(src, "transactions"))
        rows = con.sql(text, params=params).to_arrow_table()
    pq.write_table(rows, day / "transactions.parquet", compression="zstd")


def _bench_publish(ctx: dict) -> dict:
    """Publish the benchmark's run folder and record its deliveries, as `spendsense run` does."""
    from spendsense import opstore as ops
    from spendsense import runs
    from spendsense.recommend import delivered_recommendation_chunks

    root = Path(ctx["work_dir"]) / "runs"
    shutil.rmtree(root, ignore_errors=True)  # a resumed work folder's earlier publish (the bench's own folder)
    staged = runs.staging_dir("bench", root)
    staged.mkdir(parents=True)
    shutil.move(ctx["warehouse"], staged / runs.WAREHOUSE)
    serving.write_index(staged / runs.WAREHOUSE)
    final = runs.publish(staged, root)
    con = ops.connect(Path(ctx["opstore"]))
    try:
        recorded = ops.record_deliveries(con, delivered_recommendation_chunks(final / runs.WAREHOUSE,
                                                                              ctx["opstore"]))
    finally:
        con.close()
    shutil.move(final / runs.WAREHOUSE, ctx["warehouse"])
    shutil.move(final / serving.FILE, serving.index_path(ctx["warehouse"]))
    return {"deliveries": int(recorded)}


def run_stage(stage: str, ctx: dict) -> dict:
    """One stage in a spawned process; raises if it failed."""
    mpc = mp.get_context("spawn")
    queue = mpc.Queue()
    proc = mpc.Process(target=_stage_worker, args=(stage, ctx, queue))
    proc.start()
    result = queue.get()
    proc.join()
    if "error" in result:
        raise RuntimeError(f"bench stage {stage} failed: {result['error']}")
    return result


class WorkDirError(ValueError):
    """A --work-dir that cannot hold this benchmark (not empty and not a bench folder, or another benchmark's)."""


KEPT_STAGES = "stages.jsonl"  # in a kept work folder: one line per finished stage
KEPT_CONTEXT = "bench.json"  # in a kept work folder: what the benchmark in it measures


def _kept_stages(work: Path, ctx: dict) -> dict[str, dict]:
    """The stages a kept work folder has finished (by name), after checking it holds this benchmark."""
    work.mkdir(parents=True, exist_ok=True)
    wanted = {k: ctx[k] for k in ("n_users", "seed", "as_of", "dataset_dir", "engine")}
    marker = work / KEPT_CONTEXT
    if not marker.exists():
        if any(work.iterdir()):
            raise WorkDirError(f"{work} is not empty and holds no {KEPT_CONTEXT}: give an empty or a kept bench folder")
        marker.write_text(json.dumps(wanted, indent=2))
        return {}
    held = json.loads(marker.read_text())
    if held != wanted:
        diff = ", ".join(f"{k} {held.get(k)!r} (asked {v!r})" for k, v in wanted.items() if held.get(k) != v)
        raise WorkDirError(f"{work} holds another benchmark: {diff}; give another --work-dir")
    path = work / KEPT_STAGES
    lines = path.read_text().splitlines() if path.exists() else []
    return {r["stage"]: r for r in map(json.loads, lines)}


def _keep_stage(work: Path, result: dict) -> None:
    """Record a finished stage in the kept work folder."""
    with open(work / KEPT_STAGES, "a", encoding="utf-8") as fh:
        fh.write(json.dumps(result, default=str) + "\n")


def machine_facts() -> dict:
    """Cores, memory and versions of the machine the benchmark ran on."""
    import duckdb
    import numpy
    import pandas

    mem_kb = 0
    with open("/proc/meminfo") as fh:
        for line in fh:
            if line.startswith("MemTotal:"):
                mem_kb = int(line.split()[1])
    return {"cores": os.cpu_count(), "memory_gb": round(mem_kb / 1024**2, 1), "python": platform.python_version(),
            "duckdb": duckdb.__version__, "pandas": pandas.__version__, "numpy": numpy.__version__,
            "platform": platform.platform()}


def run_benchmark(n_users: int, seed: int = 42, as_of: dt.date = dt.date(2026, 10, 31),
                  cache_dir: Path | None = None, out_dir: Path | None = None, single_user_samples: int = 200,
                  fresh: bool = False, echo=print, engine: str = "duckdb", work_dir: Path | None = None) -> dict:
    """Generate (cached) data for n_users, time every stage, the floor scan and the single-user paths.

    fresh: generate the data again even when it is cached, so that generation is timed too.
    engine: the signal, persona and recommend stages on duckdb or spark (local[*]; docs/scale-out.md).
    work_dir: a work folder to keep (default: a temporary one, deleted at the end). Each finished stage is
    recorded in it (stages.jsonl); run again with the same folder, the benchmark resumes after the last
    finished stage, with the recorded figures of the ones before."""
    cache_dir = Path(cache_dir or paths.DATA_DIR / "bench")
    out_dir = Path(out_dir or paths.REPORTS_DIR / "bench")
    kept = work_dir is not None
    work = Path(work_dir) if kept else Path(tempfile.mkdtemp(prefix="spendsense-bench-"))
    dataset = cache_dir / f"seed{seed}_n{n_users}_{as_of.isoformat()}"
    ctx = {"n_users": n_users, "seed": seed, "as_of": as_of.isoformat(), "dataset_dir": str(dataset),
           "work_dir": str(work), "warehouse": str(work / "warehouse.duckdb"),
           "opstore": str(work / "opstore.sqlite"), "single_user_samples": single_user_samples,
           "raw_store": str(work / "raw"), "day_dir": str(work / "day"),
           "engine": engine}
    done = _kept_stages(work, ctx) if kept else {}
    results = []
    load_at_start = round(os.getloadavg()[0], 2)

    def timed_stage(stage: str) -> dict:
        if stage in done:
            echo(f"  {stage:<11} finished earlier ({done[stage]['finished_at']}), kept in {work}")
            return done[stage]
        r = {**run_stage(stage, ctx), "finished_at": dt.datetime.now(dt.UTC).isoformat(timespec="seconds")}
        if kept:
            _keep_stage(work, r)
        return r

    try:
        for stage in STAGES:
            if stage in done:
                results.append(timed_stage(stage))
                continue
            if stage == "generate" and fresh and dataset.exists():
                shutil.rmtree(dataset)
            if stage == "generate" and (dataset / "manifest.json").exists():
                echo(f"  generate    cached at {dataset}")
                results.append({"stage": "generate", "cached": True})
                continue
            if stage == "ingest_day":
                _one_day_input(ctx)  # preparing the input is not part of the timed batch
            echo(f"  {stage:<11} ...", end="", flush=True)
            r = timed_stage(stage)
            results.append(r)
            echo(f" {r['seconds']:8.2f} s  cpu {r['cpu_seconds']:8.2f} s  peak {r['peak_rss_mb']:8.0f} MiB")
        echo("  floor scan / single-user paths ...", end="", flush=True)
        probes = dict(timed_stage("probes"))
        echo(" done")
        browser = {"browser_skipped": "timed with the DuckDB engine only"}
        if engine == "duckdb":  # the API and the dashboard read a published run the same way whatever engine made it
            echo("  API load test (16 clients) ...", end="", flush=True)
            probes.update({k: v for k, v in timed_stage("api").items() if k.startswith("api_")})
            echo(f" p95 {probes['api_p95_ms']} ms, {probes['api_requests_per_second']} req/s")
            echo("  dashboard in the browser (first load, user switch) ...")
            browser = bench_probes.browser(ctx, echo)
    except BaseException:
        if kept:
            echo(f"\n  the work folder {work} is kept: run again with --work-dir {work} to resume")
        raise
    finally:
        if not kept:
            shutil.rmtree(work, ignore_errors=True)
    timed = [r for r in results if "seconds" in r]
    after_generation = sum(r["seconds"] for r in timed if r["stage"] != "generate")
    signals = next(r["seconds"] for r in timed if r["stage"] == "signals")
    report = {
        "timestamp": dt.datetime.now(dt.UTC).isoformat(timespec="seconds"),
        "load_average": load_at_start,
        "n_users": n_users, "seed": seed, "engine": engine, "machine": machine_facts(), "stages": results,
        "stages_from_earlier_runs": sorted(done),  # a resumed --work-dir: these figures were recorded before
        "after_generation_seconds": round(after_generation, 2),
        "nightly_seconds": round(sum(r["seconds"] for r in timed if r["stage"] in NIGHTLY_STAGES), 2),
        "run_seconds": round(sum(r["seconds"] for r in timed if r["stage"] in RUN_STAGES), 2),
        "run_cpu_seconds": round(sum(r["cpu_seconds"] for r in timed if r["stage"] in RUN_STAGES), 2),
        **{f"{s}_seconds": round(r["seconds"], 2) for r in timed for s in ("ingest", "ingest_day")
           if r["stage"] == s},
        "trace_export_gb": next((round(r["trace_export_bytes"] / 1024**3, 3) for r in timed
                                 if "trace_export_bytes" in r), None),
        "after_generation_cpu_seconds": round(sum(r["cpu_seconds"] for r in timed if r["stage"] != "generate"), 2),
        "generate_seconds": next((round(r["seconds"], 2) for r in timed if r["stage"] == "generate"), None),
        "per_user_ms": round(1000 * after_generation / n_users, 4),
        "peak_rss_mb": round(max(r["peak_rss_mb"] for r in timed), 1),
        "peak_rss_gb": round(max(r["peak_rss_mb"] for r in timed) / 1024, 2),
        "floor_scan_seconds": probes["floor_seconds"],
        "signals_over_floor": round(signals / probes["floor_seconds"], 2) if probes["floor_seconds"] else None,
        **{k: v for k, v in probes.items() if k not in ("stage", "seconds", "cpu_seconds", "peak_rss_mb")},
        **browser,
    }
    report["targets"] = target_checks(report)
    out_dir.mkdir(parents=True, exist_ok=True)
    path = out_dir / f"{dt.datetime.now(dt.UTC).strftime('%Y%m%dT%H%M%SZ')}_n{n_users}{'' if engine == 'duckdb' else '_' + engine}.json"
    path.write_text(json.dumps(report, indent=2, default=str))
    report["path"] = str(path)
    return report
