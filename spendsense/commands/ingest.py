"""`spendsense ingest`: validate input files and append them to the raw store as one batch (or load a warehouse)."""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path

from spendsense import paths

EXIT_BAD_INPUT = 65  # EX_DATAERR: the input failed validation; nothing was written

HELP = "validate CSV / Parquet / Plaid JSON and append it to the raw store as one batch"
DESCRIPTION = """\
Validate input data against SpendSense's raw-table contract and append it to the raw store as one batch.

PATH may be:
  - a dataset directory: its parquet/ folder is read (else csv/, else json/); ground_truth/ is never read
  - a folder of table files, or single files named <table>.parquet / <table>.csv, where <table> is one of
    users, consent_events, accounts, transactions, credit_liabilities, credit_aprs, mortgage_liabilities,
    student_liabilities (CSV/Parquet must have exactly the contract's columns)
  - Plaid response JSON files (/accounts/get, /accounts/balance/get, /transactions/get, /transactions/sync,
    /liabilities/get); fields SpendSense does not use are ignored; users and consent are optional

Every row is checked (types, dates, enums and category codes, currencies, ids and references, duplicates,
non-finite amounts, negative credit limits, 4-digit masks). On any problem the command prints one report naming
file, row (CSV: data row from 1; Parquet: row index from 0; JSON: path) and field for each, writes NOTHING (the
raw store stays byte for byte as it was), and exits with status 65. Business accounts and their rows are
excluded and counted. Consent events are appended to the operational store.

The raw store (--raw-store, default $SPENDSENSE_RAW_STORE or data/raw/) is append-only: each ingest that changes
something becomes batch N+1 (batches/00000N/, one Parquet file per table plus batch.json). Only rows that differ
from the store's latest state are stored, as new versions; rows are never rewritten, so every earlier batch stays
readable and a run reads the store as of one batch (`spendsense run -p batch N`, default the latest).
  - A /transactions/sync response applies added and modified as new versions and removed as tombstones, and its
    next_cursor is recorded per item (shown by --status --json).
  - Snapshots (/transactions/get, full CSV/Parquet reloads) are merged: unchanged rows add nothing, and rows
    absent from the input stay (default --mode merge). With --mode replace, every table the input gives is a
    full snapshot: its rows absent from the input are tombstoned (consent events are never tombstoned).
  - Re-ingesting the same files adds no batch. CSV/Parquet input that gives transactions must give their
    accounts too (an unchanged accounts file adds nothing).
`make clean` keeps data/raw/ (it is the bank's history, not regenerable); synthetic datasets keep their own
raw stores under data/synthetic/raw/, which `make clean` removes with the datasets.

Examples:
  spendsense ingest plaid/night1/                   # batch 1
  spendsense ingest plaid/night2_sync/              # batch 2: the /transactions/sync delta
  spendsense ingest --status                        # batches, rows added/modified/removed per table
  spendsense ingest --status --json
  spendsense ingest full_reload/ --mode replace
  spendsense ingest users.csv accounts.parquet transactions.parquet --db w.duckdb --no-opstore
"""


def register(subparsers) -> None:
    """Add the `ingest` subcommand."""
    p = subparsers.add_parser("ingest", help=HELP, description=DESCRIPTION,
                              formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("paths", nargs="*", metavar="PATH", type=Path, help="dataset directory, table file or Plaid JSON")
    target = p.add_mutually_exclusive_group()
    target.add_argument("--raw-store", type=Path, metavar="DIR",
                        help="raw store to append to (default: $SPENDSENSE_RAW_STORE or data/raw)")
    target.add_argument("--db", type=Path, metavar="FILE",
                        help="instead of the raw store: a standalone DuckDB warehouse whose raw tables are replaced")
    p.add_argument("--mode", choices=("merge", "replace"), default="merge",
                   help="merge (default): rows absent from the input stay; replace: they are tombstoned")
    p.add_argument("--status", action="store_true", help="list the raw store's batches instead of ingesting")
    p.add_argument("--json", action="store_true", help="with --status: print the batches as JSON")
    store = p.add_mutually_exclusive_group()
    store.add_argument("--opstore", type=paths.opstore_location, metavar="FILE|URL",
                       help="operational store (SQLite) receiving consent events "
                            "(default: $SPENDSENSE_OPSTORE or data/opstore.sqlite)")
    store.add_argument("--no-opstore", action="store_true", help="do not write consent events to the opstore")
    p.add_argument("--no-progress", action="store_true", help="no progress bar")
    p.set_defaults(handler=handle)


def status_text(store: Path) -> str:
    """The batches of a raw store as a table: one line per batch and changed table."""
    from spendsense.ingest import rawstore

    rows = rawstore.status_rows(store)
    if not rows:
        return f"raw store {store}: no batches yet"
    head = "{:>5}  {:<19}  {:<7}  {:>5}  {:<20}  {:>10}  {:>10}  {:>10}"
    row = "{:>5}  {:<19}  {:<7}  {:>5}  {:<20}  {:>10,}  {:>10,}  {:>10,}"
    lines = [f"raw store {store}: {rows[-1]['batch_id']} batch(es)",
             head.format("batch", "created_at (UTC)", "mode", "files", "table", "added", "modified", "removed")]
    lines += [row.format(r["batch_id"], r["created_at"], r["mode"], r["files"], r["table"], r["added"],
                         r["modified"], r["removed"]) for r in rows]
    return "\n".join(lines)


def handle(args) -> int:
    """Run ingest and print its report (or the store's batches), or the problem report on stderr."""
    from dataclasses import asdict

    from spendsense import paths
    from spendsense.ingest import IngestError, ingest, rawstore

    store = None if args.db else (args.raw_store or rawstore.default_store())
    if args.status:
        if store is None:
            print("error: --status lists a raw store's batches; it does not take --db", file=sys.stderr)
            return 2
        if args.json:
            print(json.dumps({"raw_store": str(Path(store).resolve()),
                              "batches": [asdict(b) for b in rawstore.batches(store)]}, indent=2))
        else:
            print(status_text(Path(store).resolve()))
        return 0
    if not args.paths:
        print("error: give at least one PATH to ingest (or --status)", file=sys.stderr)
        return 2
    opstore = None if args.no_opstore else (args.opstore or paths.opstore_path())
    try:
        report = ingest(args.paths, args.db, opstore, progress=not args.no_progress, raw_store=store,
                        mode=args.mode)
    except IngestError as exc:
        print(exc.report(), file=sys.stderr)
        return EXIT_BAD_INPUT
    print(report)
    return 0
