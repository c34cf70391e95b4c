"""`spendsense bench`: time and measure every pipeline stage at N users, against a floor scan.

Each stage runs in its own fresh process (spawned), so its wall time and peak resident memory are its own.
The stages call the same `spendsense.pipeline` functions the notebooks call; papermill itself is left out
(its fixed cost is measured by the default `make run`).
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

from spendsense import paths

STAGES = ("generate", "ingest", "signals", "personas", "recommend", "evaluate", "publish")
FLOOR_SQL = (Path(__file__).parent / "bench_floor.sql")


def _peak_rss_mb() -> float:
    """Peak resident memory of this process in MiB."""
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024


def _stage_worker(stage: str, ctx: dict, queue) -> None:
    """Run one stage in a child process and report (seconds, peak MiB, extra)."""
    try:
        from spendsense import pipeline

        t0 = time.perf_counter()
        extra = pipeline.bench_stage(stage, ctx)
        queue.put({"stage": stage, "seconds": time.perf_counter() - t0, "peak_rss_mb": _peak_rss_mb(),
                   **(extra or {})})
    except BaseException as exc:  # report, do not hang the parent
        queue.put({"stage": stage, "error": f"{type(exc).__name__}: {exc}"})


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
                  echo=print) -> dict:
    """Generate (cached) data for n_users, time every stage, the floor scan and the single-user paths."""
    cache_dir = Path(cache_dir or paths.DATA_DIR / "bench")
    out_dir = Path(out_dir or paths.REPORTS_DIR / "bench")
    work = Path(tempfile.mkdtemp(prefix="spendsense-bench-"))
    dataset = cache_dir / f"seed{seed}_n{n_users}_{as_of.isoformat()}"
    ctx = {"n_users": n_users, "seed": seed, "as_of": as_of.isoformat(), "dataset_dir": str(dataset),
           "work_dir": str(work), "warehouse": str(work / "warehouse.duckdb"),
           "opstore": str(work / "opstore.sqlite"), "single_user_samples": single_user_samples}
    results = []
    try:
        for stage in STAGES:
            if stage == "generate" and (dataset / "manifest.json").exists():
                echo(f"  generate    cached at {dataset}")
                results.append({"stage": "generate", "cached": True})
                continue
            echo(f"  {stage:<11} ...", end="", flush=True)
            r = run_stage(stage, ctx)
            results.append(r)
            echo(f" {r['seconds']:8.2f} s  peak {r['peak_rss_mb']:8.0f} MiB")
        echo("  floor scan / single-user paths ...", end="", flush=True)
        probes = run_stage("probes", ctx)
        echo(" done")
    finally:
        shutil.rmtree(work, ignore_errors=True)
    timed = [r for r in results if "seconds" in r]
    after_generation = sum(r["seconds"] for r in timed if r["stage"] != "generate")
    signals = next(r["seconds"] for r in timed if r["stage"] == "signals")
    report = {
        "timestamp": dt.datetime.now(dt.timezone.utc).isoformat(timespec="seconds"),
        "n_users": n_users, "seed": seed, "machine": machine_facts(), "stages": results,
        "after_generation_seconds": round(after_generation, 2),
        "per_user_ms": round(1000 * after_generation / n_users, 4),
        "peak_rss_mb": round(max(r["peak_rss_mb"] for r in timed), 1),
        "floor_scan_seconds": probes["floor_seconds"],
        "signals_over_floor": round(signals / probes["floor_seconds"], 2) if probes["floor_seconds"] else None,
        **{k: v for k, v in probes.items() if k not in ("stage", "seconds", "peak_rss_mb")},
    }
    out_dir.mkdir(parents=True, exist_ok=True)
    path = out_dir / f"{dt.datetime.now(dt.timezone.utc).strftime('%Y%m%dT%H%M%SZ')}_n{n_users}.json"
    path.write_text(json.dumps(report, indent=2, default=str))
    report["path"] = str(path)
    return report
