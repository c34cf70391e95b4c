"""`spendsense bench`: time every stage at N users and compare the signals stage with a floor scan."""

from __future__ import annotations

import argparse
import datetime as dt
import sys
from pathlib import Path

HELP = "benchmark every pipeline stage at N users (wall time, peak memory, floor scan, single-user latency)"
DESCRIPTION = """\
Generate data for N users once (cached in data/bench/ by N and seed), then run each stage in its own
process and record its wall time, CPU time and peak resident memory: generate, ingest (first, unchanged
again, one day's batch), raw views, signals, personas, recommend, evaluate, publish. In the same run it
times the floor (one DuckDB scan of transactions aggregating amount per user and month) and prints the
signals stage as a multiple of it, the single-user on-demand recompute (p50/p95 over up to 200 random
users), the dashboard's user-switch data access, first load and switch in headless Chromium, and the REST
API under 16 clients. Results go to reports/bench/<timestamp>_n<N>.json, and the run's table (machine,
every stage, the probes, and issue 17's targets met or not) replaces the block for N
users in docs/performance.md (--no-doc leaves the docs alone). Run it on a quiet machine: every other
busy process shows up in the wall times (the CPU times are less affected).

Examples:
  spendsense bench                   100,000 users (the target size; about 25M transactions)
  spendsense bench --users 10000
  spendsense bench --fresh           regenerate the cached data so generation is timed too
  spendsense bench --users 1000 --no-doc --samples 20
  spendsense bench --users 1000000 --work-dir /data/bench1m
                                     keep the work folder; after a failure the same command resumes
                                     after the last finished stage
"""


def register(subparsers) -> None:
    """Add the `bench` subcommand."""
    p = subparsers.add_parser("bench", help=HELP, description=DESCRIPTION,
                              formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--users", type=int, default=100_000, help="number of synthetic users (default 100000)")
    p.add_argument("--seed", type=int, default=42, help="generator seed (default 42)")
    p.add_argument("--as-of", type=dt.date.fromisoformat, default=dt.date(2026, 10, 31), metavar="YYYY-MM-DD")
    p.add_argument("--samples", type=int, default=200, help="users timed through the single-user path (default 200)")
    p.add_argument("--fresh", action="store_true", help="generate the data again even if cached (times generation)")
    p.add_argument("--no-doc", action="store_true", help="do not update docs/performance.md")
    p.add_argument("--work-dir", type=Path, metavar="DIR",
                   help=("keep the stages' work (raw store, warehouse, opstore) in DIR instead of a temporary folder; "
                         "run again with the same DIR to resume after the last finished stage"))
    p.add_argument("--engine", choices=("duckdb", "spark"), default="duckdb",
                   help=("engine of the signal, persona and recommend stages (default duckdb; spark: docs/scale-out.md; "
                         "the API and browser probes run with duckdb only)"))
    p.set_defaults(handler=handle)


def handle(args) -> int:
    """Run the benchmark and print the summary table."""
    from spendsense import paths
    from spendsense.bench import WorkDirError, run_benchmark
    from spendsense.bench_report import update_performance_doc

    print(f"SpendSense benchmark: {args.users:,} users, seed {args.seed}, engine {args.engine}")
    try:
        r = run_benchmark(args.users, args.seed, args.as_of, single_user_samples=args.samples, fresh=args.fresh,
                          engine=args.engine, work_dir=args.work_dir)
    except WorkDirError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 2
    print()
    print(f"  all stages after generation: {r['after_generation_seconds']:.1f} s "
          f"({r['per_user_ms']:.3f} ms per user); peak memory {r['peak_rss_mb']:.0f} MiB")
    print(f"  floor scan {r['floor_scan_seconds']:.3f} s; signals stage = {r['signals_over_floor']}x the floor")
    print(f"  single-user recompute p50 {r['single_user_p50_ms']} ms, p95 {r['single_user_p95_ms']} ms")
    if "user_switch_p95_ms" in r:
        print(f"  dashboard user switch (data access) p50 {r['user_switch_p50_ms']} ms, "
              f"p95 {r['user_switch_p95_ms']} ms")
    print()
    for t in r["targets"]:
        verdict = "n/a " if t["met"] is None else ("met " if t["met"] else "MISS")
        shown = "not measured" if t["measured"] is None else f"{t['measured']} {t['unit']}"
        print(f"  [{verdict}] {t['measure']:<45} {t['target']:>10}   measured {shown}")
    print(f"\n  written to {r['path']}")
    if not args.no_doc:  # one block per size and engine
        doc = paths.PROJECT_ROOT / "docs" / "performance.md"
        update_performance_doc(r, doc)
        print(f"  table updated in {doc}")
    return 0
