"""`spendsense ingest`: validate input files and load them into a DuckDB warehouse (and consent into the opstore)."""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

from spendsense import paths

EXIT_BAD_INPUT = 65  # EX_DATAERR: the input failed validation; nothing was written

HELP = "validate CSV / Parquet / Plaid JSON and load it into a DuckDB warehouse"
DESCRIPTION = """\
Validate input data against SpendSense's raw-table contract and load it into a DuckDB warehouse.

PATH may be:
  - a dataset directory: its parquet/ folder is read (else csv/, else json/); ground_truth/ is never read
  - a folder of table files, or single files named <table>.parquet / <table>.csv, where <table> is one of
    users, consent_events, accounts, transactions, credit_liabilities, credit_aprs, mortgage_liabilities,
    student_liabilities (CSV/Parquet must have exactly the contract's columns)
  - Plaid response JSON files (/accounts/get, /accounts/balance/get, /transactions/get, /transactions/sync,
    /liabilities/get); fields SpendSense does not use are ignored; users and consent are optional

Every row is checked (types, dates, enums and category codes, currencies, ids and references, duplicates,
non-finite amounts, negative credit limits, 4-digit masks). On any problem the command prints one report naming
file, row (CSV: data row from 1; Parquet: row index from 0; JSON: path) and field for each, writes NOTHING, and
exits with status 65. Otherwise the raw tables in --db are replaced in one transaction (business accounts and
their rows are excluded and counted) and consent events are appended to the operational store.

Examples:
  spendsense ingest data/synthetic/default --db reports/warehouse.duckdb
  spendsense ingest users.csv accounts.parquet transactions.parquet --db w.duckdb --no-opstore
  spendsense ingest plaid/u1.transactions.json plaid/u1.liabilities.json --db w.duckdb
"""


def register(subparsers) -> None:
    """Add the `ingest` subcommand."""
    p = subparsers.add_parser("ingest", help=HELP, description=DESCRIPTION,
                              formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("paths", nargs="+", metavar="PATH", type=Path, help="dataset directory, table file or Plaid JSON")
    p.add_argument("--db", required=True, type=Path, metavar="FILE",
                   help="DuckDB warehouse to load (created if missing; its raw tables are replaced)")
    store = p.add_mutually_exclusive_group()
    store.add_argument("--opstore", type=paths.opstore_location, metavar="FILE|URL",
                       help="operational store (SQLite) receiving consent events "
                            "(default: $SPENDSENSE_OPSTORE or data/opstore.sqlite)")
    store.add_argument("--no-opstore", action="store_true", help="do not write consent events to the opstore")
    p.add_argument("--no-progress", action="store_true", help="no progress bar")
    p.set_defaults(handler=handle)


def handle(args) -> int:
    """Run ingest and print its report, or the problem report on stderr."""
    from spendsense import paths
    from spendsense.ingest import IngestError, ingest

    opstore = None if args.no_opstore else (args.opstore or paths.opstore_path())
    try:
        report = ingest(args.paths, args.db, opstore, progress=not args.no_progress)
    except IngestError as exc:
        print(exc.report(), file=sys.stderr)
        return EXIT_BAD_INPUT
    print(report)
    return 0
