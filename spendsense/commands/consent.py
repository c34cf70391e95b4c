"""`spendsense consent`: grant, revoke, import, show and trace consent in the operational store.

One implementation with the dashboard: writes go through `opstore.record_consents` / `opstore.import_consent_events`
(the event and its audit row in one transaction), reads through `spendsense.dashboard.data.consent` (the opstore's
events plus the published run's warehouse copy, ranked by the one status rule of spendsense.consent).
"""

from __future__ import annotations

import argparse
import json
import math
import sys
from pathlib import Path

from spendsense import paths
from spendsense.commands._consent_file import import_report, read_events

EXIT_USAGE = 64  # EX_USAGE: bad arguments
EXIT_BAD_INPUT = 65  # EX_DATAERR: malformed file, unknown user, future-dated event; nothing was written
EXIT_UNKNOWN = 66  # EX_NOINPUT: status/history of a user nobody knows

SOURCE_CLI = "cli"
ROLE = "cli"
IMPORT_ACTOR = "spendsense consent import"

HELP = "grant, revoke, import and inspect consent (append-only, audited)"
DESCRIPTION = """\
Manage consent in the operational store (append-only SQLite; every change also writes an audit row). The same
store, rules and status as the dashboard's consent view: a user's status is their latest event by occurred_at,
ties broken by recording order (spendsense/consent_order.sql).

  grant|revoke USER_ID... --actor NAME --reason TEXT
                         record one event per user, all in one transaction (all or nothing)
  import FILE            append events from a CSV or Parquet file (all or nothing)
  status [USER_ID...]    current status (every user with an event, or the ones named); --json for JSON
  history USER_ID        every event of one user, oldest first, with actor and reason

A user is known if the latest published run's warehouse (reports/runs/latest, or --run DIR) has them in its
users table, or the operational store already has a consent event for them. Recording consent for anyone else
is refused unless --allow-new-users is given (e.g. before the first run of a new dataset).

Exit status: 0 ok; 64 usage error; 65 bad data (malformed file, unknown user, event dated in the future),
nothing written; 66 status/history asked for a user nobody knows.

Examples:
  spendsense consent grant u0001 u0002 --actor alice --reason "signed the consent form on 2026-11-02"
  spendsense consent revoke u0001 --actor alice --reason "customer called support to opt out"
  spendsense consent import consent_events.csv --actor "bank nightly export"
  spendsense consent status
  spendsense consent status u0001 u0002 --json
  spendsense consent history u0001
"""

IMPORT_DESCRIPTION = """\
Append consent events from a CSV or Parquet file to the operational store, in the file's row order.

Columns: user_id, event (granted | revoked), occurred_at (ISO-8601; without a zone it is UTC), and optionally
event_id, source (default "import") and actor (default --actor). Any other column is an error.

Every row is checked first: blank values, unknown event values, unparseable times, times after now beyond the
clock-skew allowance (SPENDSENSE_CONSENT_MAX_SKEW_S, default 300 s), duplicate event_ids, unknown users. Any
problem is reported as file, row (CSV: data row from 1; Parquet: row index from 0) and field, NOTHING is
written, and the exit status is 65. Events whose event_id the store already has are skipped; without an event_id
column the id is derived from the row's content, so importing the same file twice adds nothing the second time.

Examples:
  spendsense consent import consent_events.csv
  spendsense consent import exports/consent-2026-11-02.parquet --actor "bank nightly export"
"""


class _UsageExit(Exception):
    pass


def _usage_error(parser: argparse.ArgumentParser, message: str):
    """argparse errors of this command exit with 64 (EX_USAGE) like its own usage errors."""
    parser.print_usage(sys.stderr)
    print(f"{parser.prog}: error: {message}", file=sys.stderr)
    sys.exit(EXIT_USAGE)


def _parser(sub, name: str, **kwargs) -> argparse.ArgumentParser:
    p = sub.add_parser(name, formatter_class=argparse.RawDescriptionHelpFormatter, **kwargs)
    p.error = lambda message, p=p: _usage_error(p, message)
    return p


def _add_common(p: argparse.ArgumentParser) -> None:
    p.add_argument("--opstore", type=paths.opstore_location, metavar="FILE|URL",
                   help="operational store: an SQLite file or a postgresql:// URL (default: $SPENDSENSE_OPSTORE or data/opstore.sqlite)")
    p.add_argument("--run", type=Path, metavar="DIR",
                   help="run folder whose warehouse defines the known users and holds the ingested consent copy "
                        "(default: the latest published run, $SPENDSENSE_RUNS_DIR or reports/runs)")


def register(subparsers) -> None:
    """Add the `consent` subcommand and its actions."""
    p = _parser(subparsers, "consent", help=HELP, description=DESCRIPTION)
    actions = p.add_subparsers(dest="consent_action", metavar="ACTION")
    for event, verb in (("granted", "grant"), ("revoked", "revoke")):
        a = _parser(actions, verb, help=f"record that users {event} consent",
                    description=f"Record a consent {verb} for each USER_ID (one transaction: all or nothing), "
                                f"with an audit row naming the actor and the reason.\n\nExamples:\n"
                                f"  spendsense consent {verb} u0001 --actor alice --reason \"customer request\"\n"
                                f"  spendsense consent {verb} u0001 u0002 --actor alice --reason \"form 2026-11\" "
                                f"--occurred-at 2026-11-02T09:30:00Z")
        a.add_argument("user_ids", nargs="+", metavar="USER_ID")
        a.add_argument("--actor", required=True, metavar="NAME", help="who records it (stored with the event)")
        a.add_argument("--reason", required=True, metavar="TEXT", help="why (stored in the audit row)")
        a.add_argument("--occurred-at", metavar="TIME",
                       help="when the user gave/withdrew consent (ISO-8601, UTC if no zone; default now; "
                            "not in the future)")
        a.add_argument("--allow-new-users", action="store_true",
                       help="record consent for users neither the latest run nor the opstore knows yet")
        _add_common(a)
        a.set_defaults(handler=handle_record, event=event)
    a = _parser(actions, "import", help="append events from a CSV or Parquet file", description=IMPORT_DESCRIPTION)
    a.add_argument("file", type=Path, metavar="FILE", help="a .csv or .parquet file of consent events")
    a.add_argument("--actor", default=IMPORT_ACTOR, metavar="NAME",
                   help=f"actor of the audit row and of rows without an actor column (default: {IMPORT_ACTOR!r})")
    a.add_argument("--allow-new-users", action="store_true",
                   help="accept events of users neither the latest run nor the opstore knows yet")
    _add_common(a)
    a.set_defaults(handler=handle_import)
    a = _parser(actions, "status", help="current consent status (table or --json)",
                description="Current consent status by the one rule: every user with an event, or the USER_IDs "
                            "named (status none when they have no event).\n\nExamples:\n"
                            "  spendsense consent status\n  spendsense consent status u0001 u0002 --json")
    a.add_argument("user_ids", nargs="*", metavar="USER_ID")
    a.add_argument("--json", action="store_true", help="print JSON (a list of objects) instead of a table")
    _add_common(a)
    a.set_defaults(handler=handle_status)
    a = _parser(actions, "history", help="every consent event of one user, with actor and reason",
                description="Every consent event of USER_ID, oldest first (the last one decides the status), "
                            "with source, actor, the reason from the audit log, and where it is stored.\n\n"
                            "Examples:\n  spendsense consent history u0001\n"
                            "  spendsense consent history u0001 --json")
    a.add_argument("user_id", metavar="USER_ID")
    a.add_argument("--json", action="store_true", help="print JSON instead of a table")
    _add_common(a)
    a.set_defaults(handler=handle_history)
    p.set_defaults(handler=lambda args: _no_action(p))


def _no_action(p: argparse.ArgumentParser) -> int:
    p.print_help(sys.stderr)
    return EXIT_USAGE


# ---------------------------------------------------------------------------------------------- context


class _Context:
    """The opstore (as the dashboard opens it) and the published run, if there is one."""

    def __init__(self, args):
        from spendsense import paths
        from spendsense.dashboard.data.run import NoPublishedRun, PublishedRun, latest_run_dir
        from spendsense.dashboard.data.store import OpStore

        self.store = OpStore(paths.opstore_location(args.opstore or None), ROLE, ROLE)
        self.run = None
        self.no_run = ""
        try:
            run_dir = Path(args.run) if args.run else latest_run_dir(None)
            self.run = PublishedRun(run_dir)
        except NoPublishedRun as exc:
            if args.run:
                raise _UsageExit(f"error: {exc}") from None
            self.no_run = str(exc)

    def close(self) -> None:
        self.store.close()
        if self.run is not None:
            self.run.close()

    def unknown(self, user_ids) -> list[str]:
        """The user_ids neither the run's users table nor the opstore knows, in the order given."""
        from spendsense import opstore

        wanted = [u for u in dict.fromkeys(user_ids) if u]
        in_store = set(opstore.consent_status(self.store.con)["user_id"]) if wanted else set()
        rest = [u for u in wanted if u not in in_store]
        in_run = self.run.known_users(rest) if rest and self.run is not None else set()  # one query for all
        return [u for u in dict.fromkeys(user_ids) if u not in in_store and u not in in_run]

    def unknown_message(self, users: list[str]) -> str:
        shown = ", ".join(users[:20]) + (f" and {len(users) - 20} more" if len(users) > 20 else "")
        if self.run is not None:
            why = f"not in the users of run {self.run.run_id} ({self.run.warehouse})"
        else:
            why = f"there is no published run to look them up in ({self.no_run})"
        return f"unknown user{'s' if len(users) != 1 else ''} {shown}: {why}, and no consent event in {self.store.path}"


def _with_context(args, body) -> int:
    try:
        ctx = _Context(args)
    except _UsageExit as exc:
        print(exc, file=sys.stderr)
        return EXIT_USAGE
    try:
        return body(ctx)
    finally:
        ctx.close()


# ---------------------------------------------------------------------------------------------- writes


def handle_record(args) -> int:
    """grant / revoke."""
    from spendsense import opstore

    for name in ("actor", "reason"):
        if not str(getattr(args, name) or "").strip():
            print(f"error: --{name} must not be blank", file=sys.stderr)
            return EXIT_USAGE
    blank = [u for u in args.user_ids if not u.strip()]
    if blank:
        print("error: USER_ID must not be blank", file=sys.stderr)
        return EXIT_USAGE

    def body(ctx: _Context) -> int:
        if not args.allow_new_users:
            unknown = ctx.unknown(args.user_ids)
            if unknown:
                print(f"error: {ctx.unknown_message(unknown)}; nothing was recorded "
                      "(--allow-new-users records them anyway)", file=sys.stderr)
                return EXIT_BAD_INPUT
        users = list(dict.fromkeys(args.user_ids))
        try:
            ids = opstore.retry_locked(lambda: opstore.record_consents(
                ctx.store.con, users, args.event, SOURCE_CLI, args.actor.strip(), args.occurred_at, ROLE,
                args.reason.strip()))
        except ValueError as exc:  # FutureConsentError, unparseable --occurred-at
            print(f"error: {exc}; nothing was recorded", file=sys.stderr)
            return EXIT_BAD_INPUT
        for user_id, event_id in zip(users, ids):
            print(f"{user_id}: consent {args.event} (event {event_id})")
        print(f"recorded {len(ids)} event{'s' if len(ids) != 1 else ''} in {ctx.store.path}")
        return 0

    return _with_context(args, body)


def handle_import(args) -> int:
    """import FILE."""
    from spendsense import opstore
    from spendsense.ingest.problems import Problem

    if not str(args.actor or "").strip():
        print("error: --actor must not be blank", file=sys.stderr)
        return EXIT_USAGE
    frame, problems = read_events(Path(args.file), args.actor.strip())
    if problems:
        print(import_report(args.file, problems), file=sys.stderr)
        return EXIT_BAD_INPUT

    def body(ctx: _Context) -> int:
        if not args.allow_new_users and len(frame):
            unknown = set(ctx.unknown(list(frame["user_id"])))
            if unknown:
                fmt = "csv" if args.file.suffix.lower() == ".csv" else "parquet"
                first = 1 if fmt == "csv" else 0
                bad = [Problem(str(args.file), i + first, "user_id",
                               f"unknown user {u!r} (not in "
                               + (f"run {ctx.run.run_id}'s users" if ctx.run is not None else "any run: no published "
                                  "run") + " and no event in the operational store)", fmt)
                       for i, u in enumerate(frame["user_id"]) if u in unknown]
                print(import_report(args.file, bad) + "\n  (--allow-new-users accepts users not loaded yet)",
                      file=sys.stderr)
                return EXIT_BAD_INPUT
        try:
            added = opstore.retry_locked(lambda: opstore.import_consent_events(ctx.store.con, frame,
                                                                               actor=args.actor.strip()))
        except ValueError as exc:  # FutureConsentError raced past the check above
            print(f"consent import rejected {args.file}: {exc}; nothing was written.", file=sys.stderr)
            return EXIT_BAD_INPUT
        skipped = len(frame) - added
        print(f"imported {args.file}: {added} event{'s' if added != 1 else ''} added to {ctx.store.path}"
              + (f", {skipped} already present (skipped)" if skipped else ""))
        return 0

    return _with_context(args, body)


# ----------------------------------------------------------------------------------------------- reads


def _text(value) -> str:
    return "" if value is None or (isinstance(value, float) and math.isnan(value)) else str(value)


def _table(rows: list[dict], columns: list[str]) -> str:
    widths = {c: max([len(c)] + [len(_text(r.get(c))) for r in rows]) for c in columns}
    lines = ["  ".join(c.ljust(widths[c]) for c in columns).rstrip()]
    lines += ["  ".join(_text(r.get(c)).ljust(widths[c]) for c in columns).rstrip() for r in rows]
    return "\n".join(lines)


def status_rows(ctx: _Context, user_ids: list[str]) -> list[dict]:
    """(user_id, status, occurred_at, source, actor) by the dashboard's consent view."""
    from spendsense.dashboard.data import consent

    if user_ids:
        rows = []
        for user_id in dict.fromkeys(user_ids):
            status, last = consent.status(ctx.run, ctx.store, user_id)
            rows.append({"user_id": user_id, "status": status, "occurred_at": last.get("occurred_at"),
                         "source": last.get("source"), "actor": last.get("actor")})
        return rows
    ranked = consent.events(ctx.run, ctx.store)
    last = ranked[ranked["events_after"] == 0].sort_values("user_id")
    last = last.astype(object).where(last.notna(), None)
    return [{"user_id": r["user_id"], "status": r["event"], "occurred_at": r["occurred_at"],
             "source": r["source"], "actor": r["actor"]} for r in last.to_dict("records")]


def handle_status(args) -> int:
    """status [USER_ID...]."""

    def body(ctx: _Context) -> int:
        named = [u for u in args.user_ids if u]
        unknown = ctx.unknown(named) if named else []
        rows = [r for r in status_rows(ctx, named) if r["user_id"] not in unknown]
        if args.json:
            print(json.dumps(rows, indent=2))
        elif rows:
            print(_table(rows, ["user_id", "status", "occurred_at", "source", "actor"]))
            counts = {s: sum(r["status"] == s for r in rows) for s in ("granted", "revoked", "none")}
            print(f"{len(rows)} user{'s' if len(rows) != 1 else ''}: "
                  + ", ".join(f"{n} {s}" for s, n in counts.items() if n))
        else:
            print(f"no consent events in {ctx.store.path}"
                  + (f" or in run {ctx.run.run_id}" if ctx.run is not None else ""))
        if unknown:
            print(f"error: {ctx.unknown_message(unknown)}", file=sys.stderr)
            return EXIT_UNKNOWN
        return 0

    return _with_context(args, body)


def handle_history(args) -> int:
    """history USER_ID."""
    from spendsense import opstore
    from spendsense.dashboard.data import consent

    def body(ctx: _Context) -> int:
        rows = consent.history(ctx.run, ctx.store, args.user_id)
        if not rows and ctx.unknown([args.user_id]):
            print(f"error: {ctx.unknown_message([args.user_id])}", file=sys.stderr)
            return EXIT_UNKNOWN
        reasons = opstore.consent_reasons(ctx.store.con, args.user_id)
        for r in rows:
            r["reason"] = reasons.get(r["event_id"])
        if args.json:
            print(json.dumps(rows, indent=2, default=str))
            return 0
        if not rows:
            print(f"{args.user_id}: no consent events (status none)")
            return 0
        columns = ["occurred_at", "event", "source", "actor", "reason", "origin", "event_id"]
        print(_table(rows, columns))
        print(f"{args.user_id}: {len(rows)} event{'s' if len(rows) != 1 else ''}; current status "
              f"{rows[-1]['event']} (the last row, by the consent rule)")
        return 0

    return _with_context(args, body)
