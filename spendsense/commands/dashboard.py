"""`spendsense dashboard`: serve notebooks/operator_dashboard.ipynb with Voila on 127.0.0.1 behind a token."""

from __future__ import annotations

import argparse
import math
import os
import secrets
import socket
import sys
from pathlib import Path

HELP = "serve the operator dashboard (Voila) on 127.0.0.1; needs a token"
DESCRIPTION = """\
Serve the operator dashboard: the latest published run (reports/runs/latest) and the operational store,
rendered by Voila from notebooks/operator_dashboard.ipynb on 127.0.0.1 only. Each browser tab gets its
own kernel. Nothing is recomputed, except the explicit single-user recompute button.

Access needs a token: set SPENDSENSE_DASHBOARD_TOKEN to choose it (at least 24 characters, 10 distinct),
otherwise a random one is generated and printed once. Open the printed URL (it carries no token) and enter the
token in the login page; the browser keeps a cookie after, so the token is never in a URL or a log line (a URL
opened with ?token= is redirected to the same URL without it; request logs show [secret]).
Failed logins are limited per client address: after 10 within 60 s (change with --login-limit FAILURES/SECONDS
or env SPENDSENSE_DASHBOARD_LOGIN_LIMIT) every further attempt from that address, right or wrong, answers
HTTP 429 with Retry-After, until the oldest of those failures leaves the window. Browsers logged in (by
cookie) are not affected.

Roles (enforced in spendsense.dashboard.access, not only hidden in the page):
  admin     everything, full names and account masks
  operator  signals, personas, recommendations, reviews, consent revocation; names shown as initials,
            account numbers as their last two digits (the default)
  analyst   aggregates only: persona mix, metrics, fairness, review-queue counts
The launch role is a ceiling: a page opened with &role=analyst shows less, never more.

Examples:
  spendsense dashboard                                   # operator role, port 8866, random token
  SPENDSENSE_DASHBOARD_TOKEN=$(openssl rand -hex 16) spendsense dashboard --role admin --operator alice
  spendsense dashboard --role analyst --port 8900
  spendsense dashboard --run-dir reports/runs/20261031T023000Z   # a specific published run
  spendsense dashboard --login-limit 5/300               # at most 5 failed logins per address in 5 minutes
  spendsense dashboard --cull-idle 120 --preheat 2       # end abandoned kernels sooner; 2 ready kernels

Kernels end: a page's kernel is shut down when the page is closed or reloaded, and a kernel whose page went
away without saying so (a crashed browser, a lost connection) is shut down once it has had no connection and
no activity for --cull-idle seconds (default 600). --preheat N keeps N kernels started ahead of the next
page, with the dashboard's imports done (default 1; 0 starts each page's kernel on request).
"""

ROLES = ("admin", "operator", "analyst")
MIN_TOKEN_LENGTH = 24  # characters of SPENDSENSE_DASHBOARD_TOKEN (a random token has 32)
MIN_TOKEN_DISTINCT = 10  # distinct characters among them: "aaaa…" or "1234…1234" is refused
DEFAULT_PORT = 8866
DEFAULT_LOGIN_LIMIT = "10/60"  # failed logins per client address / seconds
DEFAULT_CULL_IDLE = 600.0  # seconds a kernel with no open page may stay idle before it is shut down
DEFAULT_PREHEAT = 1  # kernels kept started with the notebook's imports done, ready for the next page
MAX_LOGIN_WINDOW = 86_400.0
NOTEBOOK = "operator_dashboard.ipynb"
TEMPLATE = "spendsense"  # spendsense/dashboard/jupyter/voila/templates/spendsense: lab without CDN links
TEMPLATE_ROOT = Path(__file__).resolve().parent.parent / "dashboard" / "jupyter"


def register(subparsers) -> None:
    """Add the `dashboard` subcommand."""
    p = subparsers.add_parser("dashboard", help=HELP, description=DESCRIPTION,
                              formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--port", type=int, default=None,
                   help=f"port on 127.0.0.1 (default {DEFAULT_PORT}, or the next free one)")
    p.add_argument("--role", choices=ROLES, default=None,
                   help="role of this server (default: env SPENDSENSE_ROLE, else operator)")
    p.add_argument("--operator", default=None,
                   help="name recorded with every review and consent change (default: env SPENDSENSE_OPERATOR, "
                        "else ?operator= in the page URL, else your login name)")
    p.add_argument("--run-dir", default=None, metavar="DIR",
                   help="show this run directory instead of the latest published run")
    p.add_argument("--login-limit", default=None, metavar="FAILURES/SECONDS",
                   help="failed logins allowed per client address within SECONDS, then HTTP 429 (default: env "
                        f"SPENDSENSE_DASHBOARD_LOGIN_LIMIT, else {DEFAULT_LOGIN_LIMIT})")
    p.add_argument("--cull-idle", type=float, default=None, metavar="SECONDS",
                   help="shut down a kernel with no open page after SECONDS idle (default: env "
                        f"SPENDSENSE_DASHBOARD_CULL_IDLE, else {DEFAULT_CULL_IDLE:g})")
    p.add_argument("--preheat", type=int, default=None, metavar="N",
                   help="kernels kept ready for the next page (default: env SPENDSENSE_DASHBOARD_PREHEAT, "
                        f"else {DEFAULT_PREHEAT}; 0 = none)")
    p.set_defaults(handler=handle)


def port_free(port: int) -> bool:
    """True when nothing listens on 127.0.0.1:port."""
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as s:
        s.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        try:
            s.bind(("127.0.0.1", port))
        except OSError:
            return False
    return True


def choose_port(requested: int | None) -> int:
    """The requested port if free (else an error), or the first free port from 8866."""
    if requested is not None:
        if not port_free(requested):
            raise SystemExit(f"error: port {requested} on 127.0.0.1 is in use; pick another with --port")
        return requested
    for port in range(DEFAULT_PORT, DEFAULT_PORT + 50):
        if port_free(port):
            return port
    raise SystemExit(f"error: no free port in {DEFAULT_PORT}-{DEFAULT_PORT + 49}; pick one with --port")


def dashboard_env(role: str, operator: str | None, run_dir: str | None) -> dict[str, str]:
    """Environment the Voila kernels inherit: role, operator, run and the project's Jupyter folders."""
    from spendsense.jupyter_env import project_jupyter_env

    env = {k: os.environ.get(k, v) for k, v in project_jupyter_env().items()}
    extra = [str(TEMPLATE_ROOT)] + [p for p in os.environ.get("JUPYTER_PATH", "").split(os.pathsep) if p]
    env["JUPYTER_PATH"] = os.pathsep.join(dict.fromkeys(extra))  # our Voila template, then the caller's
    env["SPENDSENSE_ROLE"] = role
    if operator:
        env["SPENDSENSE_OPERATOR"] = operator
    if run_dir:
        env["SPENDSENSE_RUN_DIR"] = str(Path(run_dir).resolve())
    return env


def voila_argv(notebook: Path, port: int) -> list[str]:
    """Command-line arguments for Voila (the token is passed as a trait, never on the command line)."""
    return [str(notebook), "--no-browser", f"--port={port}", "--Voila.ip=127.0.0.1",
            f"--template={TEMPLATE}", "--strip_sources=True", "--show_tracebacks=False",
            "--Voila.port_retries=0"]


def parse_login_limit(text: str) -> tuple[int, float]:
    """FAILURES/SECONDS as (failures, seconds); ValueError naming the expected form when it is not that."""
    failures, sep, seconds = text.strip().partition("/")
    try:
        limit = int(failures), float(seconds)
    except ValueError:
        limit = None
    if not sep or limit is None or limit[0] < 1 or not 0 < limit[1] <= MAX_LOGIN_WINDOW:
        raise ValueError(f"{text!r} is not FAILURES/SECONDS with FAILURES >= 1 and 0 < SECONDS <= "
                         f"{MAX_LOGIN_WINDOW:g} (e.g. {DEFAULT_LOGIN_LIMIT})")
    return limit


def kernel_config(cull_idle: float, preheat: int) -> dict:
    """Kernel settings: culling of kernels left without a page, and the pool of preheated kernels."""
    return {
        # a kernel with no websocket (its page is gone) and idle for cull_idle seconds is shut down; a kernel
        # whose page is open is never culled (cull_connected False), nor one still running (cull_busy False)
        "MappingKernelManager": {"cull_idle_timeout": math.ceil(cull_idle),
                                 "cull_interval": max(1, min(60, int(cull_idle // 2))),
                                 "cull_connected": False, "cull_busy": False},
        "VoilaConfiguration": {"preheat_kernel": preheat > 0, "default_pool_size": max(preheat, 0)},
    }


def voila_settings(token: str, login_limit: tuple[int, float], cull_idle: float = DEFAULT_CULL_IDLE,
                   preheat: int = DEFAULT_PREHEAT) -> dict:
    """Keyword arguments for Voila: the token, the identity provider that limits failed logins, kernel settings."""
    from traitlets.config import Config

    from spendsense.dashboard.login import LoginIdentityProvider

    failures, window = login_limit
    config = Config({"LoginIdentityProvider": {"login_max_failures": failures, "login_window": window},
                     **kernel_config(cull_idle, preheat)})
    return {"token": token, "identity_provider_class": LoginIdentityProvider, "config": config}


def positive_option(value: object, env: str, default: float, minimum: float) -> float:
    """An option's value, else the env variable's, else the default; ValueError when below minimum."""
    raw = value if value is not None else os.environ.get(env)
    number = default if raw in (None, "") else float(raw)
    if not number >= minimum:
        raise ValueError(f"{raw!r} is below {minimum:g}")
    return number


def token_problem(token: str) -> str | None:
    """Why a chosen dashboard token is too weak, or None when it is acceptable."""
    if len(token) < MIN_TOKEN_LENGTH:
        return f"is {len(token)} characters long; use at least {MIN_TOKEN_LENGTH}"
    if len(set(token)) < MIN_TOKEN_DISTINCT:
        return f"has only {len(set(token))} distinct characters; use at least {MIN_TOKEN_DISTINCT}"
    return None


def start_message(role: str, port: int, token: str, chosen: bool) -> str:
    """What start-up prints: the plain URL; the token only when it was generated (once, not inside a URL)."""
    lines = [f"SpendSense dashboard ({role}) at http://127.0.0.1:{port}/"]
    if chosen:
        lines.append("  log in with the token in SPENDSENSE_DASHBOARD_TOKEN")
    else:
        lines.append(f"  log in with this one-time random token: {token}")
        lines.append("  (set SPENDSENSE_DASHBOARD_TOKEN to choose one)")
    lines.append("  stop with Ctrl-C")
    return "\n".join(lines)


def handle(args) -> int:
    """Check there is something to show, then run Voila in this process until interrupted."""
    from spendsense import paths, runs
    from spendsense.notebook_runner import kernel_name

    chosen = os.environ.get("SPENDSENSE_DASHBOARD_TOKEN")
    if chosen and (weak := token_problem(chosen)):  # before anything else, so nothing is changed
        print(f"error: SPENDSENSE_DASHBOARD_TOKEN {weak}", file=sys.stderr)
        return 2
    try:
        login_limit = parse_login_limit(args.login_limit or os.environ.get("SPENDSENSE_DASHBOARD_LOGIN_LIMIT")
                                        or DEFAULT_LOGIN_LIMIT)
    except ValueError as exc:
        print(f"error: --login-limit / SPENDSENSE_DASHBOARD_LOGIN_LIMIT {exc}", file=sys.stderr)
        return 2
    try:
        cull_idle = positive_option(args.cull_idle, "SPENDSENSE_DASHBOARD_CULL_IDLE", DEFAULT_CULL_IDLE, 1)
        preheat = int(positive_option(args.preheat, "SPENDSENSE_DASHBOARD_PREHEAT", DEFAULT_PREHEAT, 0))
    except ValueError as exc:
        print(f"error: --cull-idle / --preheat (or SPENDSENSE_DASHBOARD_CULL_IDLE / _PREHEAT): {exc}",
              file=sys.stderr)
        return 2
    role = (args.role or os.environ.get("SPENDSENSE_ROLE") or "operator").lower()
    if role not in ROLES:
        print(f"error: SPENDSENSE_ROLE={role!r} is not one of {', '.join(ROLES)}", file=sys.stderr)
        return 2
    run_dir = args.run_dir or os.environ.get("SPENDSENSE_RUN_DIR")
    if run_dir:
        if not (Path(run_dir) / runs.WAREHOUSE).exists():
            print(f"error: {Path(run_dir) / runs.WAREHOUSE} does not exist", file=sys.stderr)
            return 2
    else:
        root = os.environ.get("SPENDSENSE_RUNS_DIR")
        if runs.latest_run_dir(Path(root) if root else None) is None:
            where = runs.runs_dir(Path(root) if root else None) / runs.LATEST
            print(f"error: no published run at {where}; run `make run` (or `spendsense run`) first",
                  file=sys.stderr)
            return 2
    notebook = paths.NOTEBOOKS_DIR / NOTEBOOK
    if not notebook.exists():
        print(f"error: {notebook} is missing", file=sys.stderr)
        return 2
    os.environ.update(dashboard_env(role, args.operator, run_dir))
    for key in ("JUPYTER_CONFIG_DIR", "JUPYTER_DATA_DIR", "JUPYTER_RUNTIME_DIR", "IPYTHONDIR"):
        Path(os.environ[key]).mkdir(parents=True, exist_ok=True)
    if kernel_name() != "spendsense":
        print("error: the Jupyter kernel 'spendsense' is not registered; run `make install` or\n"
              f"  {sys.executable} -m ipykernel install --sys-prefix --name spendsense", file=sys.stderr)
        return 2
    port = choose_port(args.port)
    token = chosen or secrets.token_urlsafe(24)
    print(start_message(role, port, token, bool(chosen)), flush=True)
    from voila.app import Voila

    from spendsense.dashboard.login import install_log_redaction

    app = Voila.instance(**voila_settings(token, login_limit, cull_idle, preheat))  # what Voila.launch_instance does, plus
    install_log_redaction(token, app.log)  # every log line through the filter that blanks tokens
    app.initialize(voila_argv(notebook, port))
    app.start()
    return 0
