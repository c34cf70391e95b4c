"""The `spendsense` command: one subcommand per module in spendsense/commands/."""

from __future__ import annotations

import argparse
import importlib
import pkgutil
import sys

from spendsense import commands
from spendsense.config import ConfigError

DESCRIPTION = """\
SpendSense turns Plaid-style account data into explainable financial-education recommendations.

Typical use:
  spendsense run                      generate 100 synthetic users and run the whole pipeline
  spendsense generate --users 1000    write a synthetic dataset
  spendsense ingest data/x --db w.duckdb
  spendsense explain REC_ID           show why a recommendation was made
  spendsense consent status           consent of every user (grant, revoke, import, history too)
"""


def build_parser() -> argparse.ArgumentParser:
    """The argument parser with every registered subcommand."""
    parser = argparse.ArgumentParser(
        prog="spendsense", description=DESCRIPTION, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    sub = parser.add_subparsers(dest="command", metavar="COMMAND")
    for info in sorted(pkgutil.iter_modules(commands.__path__), key=lambda m: m.name):
        if info.name.startswith("_"):  # a subcommand's helper module, not a subcommand
            continue
        module = importlib.import_module(f"spendsense.commands.{info.name}")
        module.register(sub)
    return parser


def main(argv: list[str] | None = None) -> int:
    """Entry point of the console script; returns the process exit code."""
    parser = build_parser()
    args = parser.parse_args(argv)
    if not getattr(args, "handler", None):
        parser.print_help()
        return 2
    try:
        return int(args.handler(args) or 0)
    except ConfigError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 2
    except KeyboardInterrupt:
        print("interrupted", file=sys.stderr)
        return 130
    except BrokenPipeError:  # output piped into `head` and the like
        import os

        os.dup2(os.open(os.devnull, os.O_WRONLY), sys.stdout.fileno())
        return 0


if __name__ == "__main__":  # pragma: no cover
    sys.exit(main())
