"""`spendsense api`: serve the REST API (FastAPI under uvicorn) on 127.0.0.1; `spendsense api token` issues one."""

from __future__ import annotations

import argparse
import getpass
import os
import sys

HELP = "serve the REST API (FastAPI) on 127.0.0.1; `spendsense api token` issues a bearer token"
DESCRIPTION = """\
Serve the REST API over the latest published run (reports/runs/latest) and the operational store, on
127.0.0.1 by default. Nothing is recomputed. Every call needs a bearer token (a signed JWT carrying a role:
admin, operator, analyst, or customer limited to one user_id); tokens are signed with SPENDSENSE_API_SECRET
(at least 32 characters). Without it a random secret is made for this server and an admin token printed once.

OpenAPI schema at /v1/openapi.json, docs at /v1/docs, Prometheus metrics at /metrics.

Examples:
  spendsense api                                           # port 8000, random secret, prints an admin token
  export SPENDSENSE_API_SECRET=$(openssl rand -hex 32)
  spendsense api --port 8100 --workers 2
  spendsense api token --role operator --subject alice     # needs SPENDSENSE_API_SECRET
  spendsense api token --role customer --user-id u001
"""
DEFAULT_PORT = 8000
ROLES = ("admin", "operator", "analyst", "customer")


def register(subparsers) -> None:
    """Add the `api` subcommand (serve, and `api token`)."""
    p = subparsers.add_parser("api", help=HELP, description=DESCRIPTION,
                              formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--host", default="127.0.0.1", help="address to bind (default 127.0.0.1)")
    p.add_argument("--port", type=int, default=None, help=f"port (default {DEFAULT_PORT}, or the next free one)")
    p.add_argument("--workers", type=int, default=1, help="uvicorn worker processes (default 1)")
    sub = p.add_subparsers(dest="api_action", metavar="ACTION")
    t = sub.add_parser("token", help="issue a bearer token signed with SPENDSENSE_API_SECRET")
    t.add_argument("--role", choices=ROLES, required=True)
    t.add_argument("--subject", default=None, help="who the token is for (default: your login name)")
    t.add_argument("--user-id", default=None, help="the one user a customer token may touch")
    t.add_argument("--ttl", type=int, default=12 * 3600, help="seconds the token is valid (default 12 h)")
    p.set_defaults(handler=handle)


def login_name() -> str:
    try:
        return getpass.getuser()
    except (KeyError, OSError):
        return "operator"


def issue_token(args) -> int:
    from spendsense.api import auth

    try:
        secret = auth.secret_from_env()
        print(auth.issue(secret, args.role, args.subject or login_name(), args.user_id, args.ttl))
    except ValueError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 2
    return 0


def handle(args) -> int:
    """Issue a token, or check there is a run to serve and run uvicorn until interrupted."""
    if args.api_action == "token":
        return issue_token(args)
    from spendsense import runs
    from spendsense.api import auth
    from spendsense.commands.dashboard import port_free

    root = os.environ.get("SPENDSENSE_RUNS_DIR")
    if runs.latest_run_dir(runs.runs_dir(root) if root else None) is None:
        print("error: no published run; run `make run` (or `spendsense run`) first", file=sys.stderr)
        return 2
    if args.workers < 1:
        print("error: --workers must be at least 1", file=sys.stderr)
        return 2
    chosen = bool(os.environ.get(auth.SECRET_ENV))
    try:
        secret = auth.secret_from_env() if chosen else auth.new_secret()
    except ValueError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 2
    os.environ[auth.SECRET_ENV] = secret  # every worker signs and checks with the same secret
    port = args.port or next((p for p in range(DEFAULT_PORT, DEFAULT_PORT + 50) if port_free(p)), DEFAULT_PORT)
    token = auth.issue(secret, "admin", login_name())
    print(f"SpendSense API at http://{args.host}:{port}/v1 (docs /v1/docs, schema /v1/openapi.json)")
    print(f"  admin token{'' if chosen else ' (valid while this server runs: the secret is random)'}:")
    print(f"  {token}")
    print("  more tokens: spendsense api token --role operator|analyst|customer  (with SPENDSENSE_API_SECRET)")
    print("  stop with Ctrl-C", flush=True)
    import uvicorn

    uvicorn.run("spendsense.api.app:app_from_env", factory=True, host=args.host, port=port,
                workers=args.workers, log_level="warning", access_log=False)
    return 0
