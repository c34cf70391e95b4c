"""Benchmark `spendsense generate`: wall time and peak resident memory at several sizes.

Each size runs in a fresh Python process (so its peak RSS, from resource.getrusage, is its own) and writes
into a temporary folder that is removed afterwards.

    .venv/bin/python benchmarks/bench_generate.py                      # 1,000 / 10,000 / 100,000 users
    .venv/bin/python benchmarks/bench_generate.py --users 1000 10000 --formats parquet,csv,json
    .venv/bin/python benchmarks/bench_generate.py --out reports/bench/generate.json
"""

from __future__ import annotations

import argparse
import datetime as dt
import json
import os
import platform
import resource
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path


def child(n_users: int, seed: int, as_of: dt.date, formats: str) -> dict:
    """Generate and write one dataset in this process; report times, sizes and peak memory."""
    from spendsense.generate import generate, write_dataset

    work = Path(tempfile.mkdtemp(prefix="bench-generate-"))

    def cpu() -> float:
        usage = resource.getrusage(resource.RUSAGE_SELF)
        return usage.ru_utime + usage.ru_stime

    try:
        t0, c0 = time.perf_counter(), cpu()
        result = generate(n_users, seed, as_of)
        t1, c1 = time.perf_counter(), cpu()
        rss_generate = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
        out = write_dataset(result.tables, work / "ds", formats=formats)
        t2, c2 = time.perf_counter(), cpu()
        size = sum(p.stat().st_size for p in out.rglob("*") if p.is_file())
        return {
            "users": n_users,
            "transactions": len(result.tables["transactions"]),
            "accounts": len(result.tables["accounts"]),
            "formats": formats,
            "generate_seconds": round(t1 - t0, 2),
            "write_seconds": round(t2 - t1, 2),
            "total_seconds": round(t2 - t0, 2),
            "generate_cpu_seconds": round(c1 - c0, 2),
            "write_cpu_seconds": round(c2 - c1, 2),
            "stage_seconds": result.stage_seconds,
            "peak_rss_mb_after_generate": round(rss_generate),
            "peak_rss_mb": round(resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024),
            "output_mb": round(size / 2**20, 1),
        }
    finally:
        shutil.rmtree(work, ignore_errors=True)


def machine() -> dict:
    """Cores, memory and versions."""
    import numpy
    import pandas
    import pyarrow

    with open("/proc/meminfo") as fh:
        mem_kb = next(int(line.split()[1]) for line in fh if line.startswith("MemTotal:"))
    return {
        "cores": os.cpu_count(),
        "memory_gb": round(mem_kb / 2**20, 1),
        "python": platform.python_version(),
        "numpy": numpy.__version__,
        "pandas": pandas.__version__,
        "pyarrow": pyarrow.__version__,
        "load_average_1m": round(os.getloadavg()[0], 2),
    }


def main(argv: list[str] | None = None) -> int:
    """Run every size in its own process and print a table."""
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--users", type=int, nargs="+", default=[1000, 10000, 100000])
    parser.add_argument("--seed", type=int, default=42)
    parser.add_argument("--as-of", default="2026-10-31")
    parser.add_argument(
        "--formats",
        default="parquet,csv",
        help="formats to write (default parquet,csv; JSON is ~1 KB per transaction)",
    )
    parser.add_argument("--out", type=Path, help="also write the results as JSON here")
    parser.add_argument("--child", type=int, help=argparse.SUPPRESS)
    args = parser.parse_args(argv)
    as_of = dt.date.fromisoformat(args.as_of)
    if args.child:
        print(json.dumps(child(args.child, args.seed, as_of, args.formats)))
        return 0
    results = []
    print(
        f"{'users':>9} {'transactions':>13} {'generate s':>11} {'write s':>8} {'total s':>8} "
        f"{'cpu gen/write s':>16} {'peak RSS MiB':>13} {'output MiB':>11}  formats"
    )
    for n in args.users:
        proc = subprocess.run(
            [
                sys.executable,
                __file__,
                "--child",
                str(n),
                "--seed",
                str(args.seed),
                "--as-of",
                args.as_of,
                "--formats",
                args.formats,
            ],
            capture_output=True,
            text=True,
            check=False,
        )
        if proc.returncode != 0:
            print(proc.stderr, file=sys.stderr)
            return proc.returncode
        r = json.loads(proc.stdout.strip().splitlines()[-1])
        results.append(r)
        print(
            f"{r['users']:>9,} {r['transactions']:>13,} {r['generate_seconds']:>11.1f} "
            f"{r['write_seconds']:>8.1f} "
            f"{r['total_seconds']:>8.1f} {r['generate_cpu_seconds']:>7.1f}/{r['write_cpu_seconds']:<8.1f} "
            f"{r['peak_rss_mb']:>13,} {r['output_mb']:>11,.1f}  {r['formats']}"
        )
    report = {
        "timestamp": dt.datetime.now(dt.UTC).isoformat(timespec="seconds"),
        "machine": machine(),
        "results": results,
    }
    if args.out:
        args.out.parent.mkdir(parents=True, exist_ok=True)
        args.out.write_text(json.dumps(report, indent=2) + "\n")
    return 0


if __name__ == "__main__":
    sys.exit(main())
