"""`spendsense replay`: recompute a recommendation from its decision trace and confirm it matches."""

from __future__ import annotations

import argparse
import sys

from spendsense.commands.explain import EXIT_UNKNOWN, add_run_arguments, warehouse_of

EXIT_MISMATCH = 1

HELP = "recompute a recommendation from its trace's inputs and confirm item, rank and rationale match"
DESCRIPTION = """\
Replay one recommendation: rebuild its user and window's candidates from the inputs recorded in the decision
trace (signal values, persona and matched personas, eligibility features, delivery history, scoring rules and
weights), run the same selection code as the batch (eligibility, persona match, signal triggers, recency,
score, business rules), re-render the rationale from the recorded template values, run the tone check again,
and compare item, rank, score, the full selection of that user and window, template, rationale text and facts
with what was stored. Differences are listed; a different content or template version is noted.

Exit status: 0 when everything matches, 1 on any mismatch, 66 when the run or recommendation does not exist.

Examples:
  spendsense replay 51fb9e14805864ea
  spendsense replay 51fb9e14805864ea --run reports/runs/20261128T013000Z
"""


def register(subparsers) -> None:
    """Add the `replay` subcommand."""
    p = subparsers.add_parser("replay", help=HELP, description=DESCRIPTION,
                              formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("rec_id", metavar="REC_ID", help="recommendation_id to replay")
    add_run_arguments(p)
    p.set_defaults(handler=handle)


def handle(args) -> int:
    """Replay and print the verdict."""
    from spendsense.engine_config import load_engine_config
    from spendsense.recommend import UnknownRecommendation, replay

    path = warehouse_of(args)
    if path is None:
        return EXIT_UNKNOWN
    try:
        cfg = load_engine_config()
        result = replay(path, args.rec_id, cfg.catalog, cfg.guardrails)
    except UnknownRecommendation as exc:
        print(f"error: {exc.args[0]} in {path}", file=sys.stderr)
        return EXIT_UNKNOWN
    print(result)
    return 0 if result.ok else EXIT_MISMATCH
