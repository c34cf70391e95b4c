"""A real `spendsense dashboard` (Voila) process on a free 127.0.0.1 port, over a fresh fixture run and opstore."""

from __future__ import annotations

import contextlib
import os
import signal
import socket
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path

import fixture_run

from spendsense import paths
from spendsense.jupyter_env import project_jupyter_env


def free_port() -> int:
    """A port nothing listens on at the moment."""
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def wait_for_port(port: int, proc: subprocess.Popen, log: Path, timeout: float = 120.0) -> None:
    """Return once the server accepts connections; raise with its log if it exits or takes too long."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if proc.poll() is not None:
            raise RuntimeError(f"dashboard exited with {proc.returncode}:\n{log.read_text()[-4000:]}")
        try:
            with socket.create_connection(("127.0.0.1", port), timeout=1):
                return
        except OSError:
            time.sleep(0.5)
    raise RuntimeError(f"dashboard did not listen on {port} within {timeout} s:\n{log.read_text()[-4000:]}")


def stop(proc: subprocess.Popen) -> None:
    """Ctrl-C the server's process group (Voila shuts its kernels down), then kill whatever is left."""
    if proc.poll() is None:
        os.killpg(proc.pid, signal.SIGINT)
        try:
            proc.wait(timeout=30)
        except subprocess.TimeoutExpired:
            os.killpg(proc.pid, signal.SIGKILL)
            proc.wait(timeout=10)
    try:
        os.killpg(proc.pid, signal.SIGKILL)  # any kernel left in the session
    except ProcessLookupError:
        pass


@contextlib.contextmanager
def serve(base: Path, token: str, *args: str, build_run=fixture_run.build_run,
          env_extra: dict[str, str] | None = None) -> Iterator[dict]:
    """Run `spendsense dashboard --port P *args` with `token` over the run `build_run(runs_root)` publishes (the
    fixture run by default); yield url, port, opstore, previews and log path."""
    runs_root = base / "runs"
    build_run(runs_root)
    ops = base / "opstore.sqlite"
    fixture_run.seed_opstore(ops)
    port = free_port()
    env = {**os.environ, **project_jupyter_env(),
           "SPENDSENSE_RUNS_DIR": str(runs_root), "SPENDSENSE_OPSTORE": str(ops),
           "SPENDSENSE_PREVIEWS_DIR": str(base / "previews"), "SPENDSENSE_DASHBOARD_TOKEN": token,
           "PYTHONUNBUFFERED": "1", **(env_extra or {})}
    env.pop("SPENDSENSE_RUN_DIR", None)
    log = base / "voila.log"
    with log.open("w") as fh:
        proc = subprocess.Popen([sys.executable, "-m", "spendsense", "dashboard", "--port", str(port), *args],
                                cwd=paths.PROJECT_ROOT, env=env, stdout=fh, stderr=subprocess.STDOUT,
                                start_new_session=True)
    try:
        wait_for_port(port, proc, log)
        yield {"url": f"http://127.0.0.1:{port}/", "port": port, "opstore": ops, "previews": base / "previews",
               "log": log}
    finally:
        stop(proc)
