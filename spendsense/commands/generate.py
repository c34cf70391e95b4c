"""`spendsense generate`: write a synthetic Plaid-style dataset (Parquet, CSV, Plaid JSON, ground truth)."""

from __future__ import annotations

import argparse
import datetime as dt
import sys
import time
from pathlib import Path

HELP = "write a synthetic Plaid-style dataset with planted behaviours"
DESCRIPTION = """\
Generate N synthetic users with Plaid-style accounts, transactions (at least 13 months ending at --as-of)
and liabilities. Each user is drawn from archetypes that plant the behaviours of the five personas (high
credit utilization, variable income, subscriptions, saving, overdraft fees), combinations of them, or none;
what was planted is written to ground_truth/ground_truth.parquet, which the pipeline never reads.
The archetype mix and behaviour parameters live in config/generator.yaml.

Output folder (written atomically: built beside it, then renamed into place):
  parquet/<table>.parquet            users, consent_events, accounts, transactions, credit_liabilities,
                                     credit_aprs, mortgage_liabilities, student_liabilities
  csv/<table>.csv                    the same tables as CSV
  json/<user_id>.transactions.json   Plaid /transactions/get response per user
  json/<user_id>.liabilities.json    Plaid /liabilities/get response per user
  ground_truth/ground_truth.parquet  user_id, archetypes, planted_personas
  manifest.json                      seed, n_users, as_of, row counts, generator version

The same seed and parameters give byte-identical files. JSON is about 1 KB per transaction (roughly
35 GB at 100,000 users): leave it out of large runs with --formats parquet.

Examples:
  spendsense generate                                   100 users, seed 42 -> data/synthetic/seed42_n100
  spendsense generate --users 100000 --formats parquet
  spendsense generate --users 50 --seed 7 --as-of 2026-06-30 --out /tmp/small
"""


def _positive_int(text: str) -> int:
    """argparse type: an integer >= 1."""
    try:
        value = int(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"not an integer: {text!r}") from None
    if value < 1:
        raise argparse.ArgumentTypeError(f"must be at least 1, got {value}")
    return value


def _date(text: str) -> dt.date:
    """argparse type: an ISO date."""
    try:
        return dt.date.fromisoformat(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"not a date (YYYY-MM-DD): {text!r}") from None


def _default_as_of() -> dt.date:
    """as_of of config/run.yaml (the pipeline's default), else 2026-10-31."""
    try:
        from spendsense.params import default_run_params

        return default_run_params().as_of
    except Exception:  # noqa: BLE001 - a broken run.yaml must not break `generate --help`
        return dt.date(2026, 10, 31)


def register(subparsers) -> None:
    """Add the `generate` subcommand."""
    p = subparsers.add_parser(
        "generate", help=HELP, description=DESCRIPTION, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    p.add_argument(
        "--users", type=_positive_int, default=100, metavar="N", help="number of users (default 100)"
    )
    p.add_argument("--seed", type=int, default=42, help="random seed (default 42)")
    p.add_argument(
        "--as-of",
        type=_date,
        default=None,
        metavar="YYYY-MM-DD",
        help="last day of the data (default: as_of of config/run.yaml, 2026-10-31)",
    )
    p.add_argument(
        "--out",
        type=Path,
        default=None,
        metavar="DIR",
        help="output folder (default data/synthetic/seed{SEED}_n{N}); replaced if it exists",
    )
    p.add_argument(
        "--formats",
        default="parquet,csv,json",
        metavar="LIST",
        help="comma-separated subset of parquet,csv,json (default: all three)",
    )
    p.add_argument(
        "--config",
        type=Path,
        default=None,
        metavar="FILE",
        help="generator configuration (default config/generator.yaml)",
    )
    p.add_argument("--no-progress", action="store_true", help="no progress bar")
    p.set_defaults(handler=handle)


def handle(args: argparse.Namespace) -> int:
    """Generate, write, and print a summary."""
    from spendsense import paths
    from spendsense.generate import generate, write_dataset
    from spendsense.generate.writers import parse_formats

    try:
        formats = parse_formats(args.formats)
    except ValueError as exc:
        print(f"error: --formats: {exc}", file=sys.stderr)
        return 2
    as_of = args.as_of or _default_as_of()
    out = args.out or paths.DATA_DIR / "synthetic" / f"seed{args.seed}_n{args.users}"
    t0 = time.perf_counter()
    result = generate(args.users, args.seed, as_of, config=args.config, progress=not args.no_progress)
    t1 = time.perf_counter()
    write_dataset(result.tables, out, formats=formats, progress=not args.no_progress)
    t2 = time.perf_counter()
    tables = result.tables
    planted = tables["ground_truth"]["planted_personas"].str.split(",").explode()
    counts = planted[planted != ""].value_counts().sort_index()
    tx = tables["transactions"]
    print(f"wrote {out}")
    print(f"  users         {len(tables['users']):>12,}")
    print(
        f"  accounts      {len(tables['accounts']):>12,}  "
        f"({int((tables['accounts']['holder_category'] == 'business').sum()):,} business)"
    )
    print(f"  transactions  {len(tx):>12,}  ({result.history_start} to {as_of})")
    print(
        f"  liabilities   {len(tables['credit_liabilities']):>12,} cards, "
        f"{len(tables['mortgage_liabilities']):,} mortgages, "
        f"{len(tables['student_liabilities']):,} student loans"
    )
    print("  planted       " + ", ".join(f"{k} {v}" for k, v in counts.items()))
    print(f"  formats       {', '.join(formats)}")
    print(f"  time          generate {t1 - t0:.1f} s, write {t2 - t1:.1f} s, total {t2 - t0:.1f} s")
    return 0
