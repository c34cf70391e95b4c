"""`spendsense run`: the whole pipeline, notebooks 01-05 through papermill, published atomically."""

from __future__ import annotations

import sys

from spendsense.runs import RunError, RunLockedError

HELP = "run notebooks 01-05 through papermill and publish reports/runs/<run_id>"
DESCRIPTION = """\
Run the whole pipeline under one run id: 01 generate/ingest data, 02 signals, 03 personas,
04 recommendations, 05 evaluation and HTML report. Outputs are built in reports/runs/.staging/
and published to reports/runs/<run_id>/ (and reports/runs/latest) only when every step succeeded,
so a failed or killed run never disturbs the previously published one.

Parameters: defaults from config/run.yaml, then --params FILE, then each -p KEY VALUE.

Examples:
  spendsense run
  spendsense run -p n_users 1000 -p seed 7
  spendsense run --params my_run.yaml --wait

Nightly with cron (02:30 every day; refuses politely if a run is still going):
  30 2 * * * cd /path/to/spendsense && .venv/bin/spendsense run >> reports/cron.log 2>&1
"""


def register(subparsers) -> None:
    """Add the `run` subcommand."""
    import argparse

    p = subparsers.add_parser("run", help=HELP, description=DESCRIPTION,
                              formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--params", metavar="FILE", help="YAML file of run parameters (keys as in config/run.yaml)")
    p.add_argument("-p", "--param", nargs=2, action="append", default=[], metavar=("KEY", "VALUE"),
                   help="override one parameter, e.g. -p n_users 500 (value parsed as YAML)")
    p.add_argument("--run-id", help="run id to use: letters, digits, '_', '-', '.' (default: UTC timestamp like "
                                    "20261128T013000Z, with -2, -3 ... when runs start in the same second)")
    p.add_argument("--wait", action="store_true",
                   help="if another run is in progress, wait for it instead of refusing")
    p.set_defaults(handler=handle)


def handle(args) -> int:
    """Run the pipeline and report where the outputs are."""
    from spendsense.notebook_runner import StepFailed, run_pipeline
    from spendsense.params import load_run_params
    from spendsense.profile import read_source_summary, source_lines

    params = load_run_params(args.params, [tuple(kv) for kv in args.param])
    print(run_header(params))
    try:
        result = run_pipeline(params, run_id=args.run_id, wait=args.wait)
    except RunLockedError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 75  # EX_TEMPFAIL: try again later
    except (StepFailed, RunError) as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 1
    print(f"done in {result.total_seconds:.1f} s: {result.run_dir}")
    for line in source_lines(read_source_summary(result.run_dir)):
        print(f"  {line}")
    print(f"  report:  {result.run_dir / 'report.html'}")
    print(f"  metrics: {result.run_dir / 'metrics.json'}")
    return 0


def run_header(params) -> str:
    """The line a run starts with: the synthetic size and seed, or the source folder (never both)."""
    if params.source == "synthetic":
        return (f"SpendSense run: {params.n_users} synthetic users, seed {params.seed}, as of {params.as_of}")
    return (f"SpendSense run: source {params.dataset_dir()}, windows {list(params.windows)} days ending at as_of "
            f"{params.as_of} (-p as_of DATE to move them)")
