"""`spendsense explain`: print one recommendation's decision trace in plain language."""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

EXIT_UNKNOWN = 66  # EX_NOINPUT: no such recommendation (or no run)

HELP = "show why a recommendation was made (its decision trace, readably)"
DESCRIPTION = """\
Print the decision trace of one recommendation: the rationale and the facts it quotes, every filter stage it
passed (consent, eligibility, persona match, signal triggers, recency, business rules, rationale, tone) with
the reason, the score and its weighted components, the signal values and persona criteria it was based on,
the other candidates of that user and window that were filtered out and why, and the versions of config,
content and code that produced it.

REC_ID is a recommendation_id from the recommendations table (16 hex digits). The trace is read from the
run's warehouse: by default the latest published run (reports/runs/latest), or the run folder given with --run
(or a warehouse file given with --warehouse).

Exit status: 0 on success, 66 when the run or the recommendation does not exist.

Examples:
  spendsense explain 51fb9e14805864ea
  spendsense explain 51fb9e14805864ea --run reports/runs/20261128T013000Z
"""


def add_run_arguments(p) -> None:
    """--run DIR / --warehouse FILE, shared by explain and replay."""
    where = p.add_mutually_exclusive_group()
    where.add_argument("--run", type=Path, metavar="DIR",
                       help="run folder holding warehouse.duckdb (default: the latest published run)")
    where.add_argument("--warehouse", type=Path, metavar="FILE", help="a DuckDB warehouse file to read instead")


def warehouse_of(args) -> Path | None:
    """The warehouse file the arguments point at (None, with a message, when there is none)."""
    from spendsense import runs

    if getattr(args, "warehouse", None):
        path = Path(args.warehouse)
    else:
        run_dir = Path(args.run) if getattr(args, "run", None) else runs.latest_run_dir()
        if run_dir is None:
            print("error: no published run (reports/runs/latest); run `spendsense run` or pass --run DIR",
                  file=sys.stderr)
            return None
        path = run_dir / runs.WAREHOUSE
    if not path.exists():
        print(f"error: warehouse {path} does not exist", file=sys.stderr)
        return None
    return path


def register(subparsers) -> None:
    """Add the `explain` subcommand."""
    p = subparsers.add_parser("explain", help=HELP, description=DESCRIPTION,
                              formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("rec_id", metavar="REC_ID", help="recommendation_id to explain")
    add_run_arguments(p)
    p.set_defaults(handler=handle)


def handle(args) -> int:
    """Print the explanation, or why there is none."""
    from spendsense.recommend import UnknownRecommendation, explain

    path = warehouse_of(args)
    if path is None:
        return EXIT_UNKNOWN
    try:
        print(explain(path, args.rec_id))
    except UnknownRecommendation as exc:
        print(f"error: {exc.args[0]} in {path}", file=sys.stderr)
        return EXIT_UNKNOWN
    return 0
