"""A throwaway PostgreSQL 15 server for the test session, and a fresh database per test.

`initdb` + `pg_ctl` from /usr/lib/postgresql/<version>/bin (the Debian packages; `.ci/run` installs them) into a
temporary folder, listening on a free 127.0.0.1 port with its unix socket in that folder; run as the `postgres`
OS user when the tests run as root (PostgreSQL refuses to run as root). The PostgreSQL tests are skipped, saying
why, only when those binaries are absent.
"""

from __future__ import annotations

import glob
import os
import shutil
import socket
import subprocess
import tempfile
import uuid
from pathlib import Path

import psycopg
import pytest

PG_BINARIES = sorted(glob.glob("/usr/lib/postgresql/*/bin/initdb"), reverse=True)
SKIP_REASON = ("PostgreSQL server binaries not installed (no /usr/lib/postgresql/*/bin/initdb; "
               "`apt-get install postgresql`)")


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def _as_server_user(cmd: list[str]) -> list[str]:
    """The command as the postgres OS user when running as root (initdb and postgres refuse root)."""
    return ["runuser", "-u", "postgres", "--", *cmd] if os.geteuid() == 0 else cmd


class PgServer:
    """A running throwaway cluster: `url(db)` names one of its databases, `new_database()` makes a fresh one."""

    def __init__(self, root: Path, port: int, bindir: Path):
        self.root, self.port, self.bindir = root, port, bindir
        self.data, self.log = root / "data", root / "server.log"

    def url(self, database: str = "postgres") -> str:
        return f"postgresql://postgres@127.0.0.1:{self.port}/{database}"

    def start(self) -> None:
        subprocess.run(_as_server_user([str(self.bindir / "initdb"), "-D", str(self.data), "-U", "postgres",
                                        "--auth=trust", "-E", "UTF8", "--no-locale", "--no-sync"]),
                       check=True, capture_output=True, timeout=120)
        options = (f"-c listen_addresses=127.0.0.1 -p {self.port} -k {self.root} -c fsync=off "
                   "-c max_connections=60 -c shared_buffers=32MB")
        subprocess.run(_as_server_user([str(self.bindir / "pg_ctl"), "-D", str(self.data), "-l", str(self.log),
                                        "-o", options, "-w", "-t", "60", "start"]),
                       check=True, capture_output=True, timeout=90)

    def stop(self) -> None:
        subprocess.run(_as_server_user([str(self.bindir / "pg_ctl"), "-D", str(self.data), "-m", "fast", "-w",
                                        "stop"]), capture_output=True, timeout=60, check=False)

    def new_database(self) -> str:
        """A fresh empty database's URL."""
        name = "t_" + uuid.uuid4().hex[:16]
        with psycopg.connect(self.url(), autocommit=True) as con:
            con.execute(f'create database "{name}"')
        return self.url(name)


@pytest.fixture(scope="session")
def pg_server():
    """The session's PostgreSQL server (skipped when PostgreSQL is not installed)."""
    if not PG_BINARIES:
        pytest.skip(SKIP_REASON)
    bindir = Path(PG_BINARIES[0]).parent
    # as root, under /tmp: the postgres user must reach the folder (TMPDIR may be root's own, mode 0700)
    root = Path(tempfile.mkdtemp(prefix="spendsense-pg-", dir="/tmp" if os.geteuid() == 0 else None))
    if os.geteuid() == 0:
        shutil.chown(root, "postgres", "postgres")
    os.chmod(root, 0o755)
    server = PgServer(root, _free_port(), bindir)
    try:
        server.start()
    except subprocess.CalledProcessError as exc:
        log = server.log.read_text() if server.log.exists() else ""
        shutil.rmtree(root, ignore_errors=True)
        raise RuntimeError(f"could not start PostgreSQL: {exc.stderr!r} {log}") from exc
    try:
        yield server
    finally:
        server.stop()
        shutil.rmtree(root, ignore_errors=True)


@pytest.fixture
def pg_url(pg_server) -> str:
    """A fresh, empty PostgreSQL database for one test."""
    return pg_server.new_database()


@pytest.fixture(params=["sqlite", "postgresql"])
def opstore_location(request, tmp_path: Path) -> str:
    """Where a test's operational store lives, once per backend: an SQLite file, then a PostgreSQL database."""
    if request.param == "sqlite":
        return str(tmp_path / "ops.sqlite")
    return request.getfixturevalue("pg_url")
