"""Several processes write reviews through the dashboard's data access while runs are published."""

from __future__ import annotations

import os
import subprocess
import sys
import time
from pathlib import Path

import published_fixtures

from spendsense import opstore, runs

WORKER = Path(__file__).with_name("concurrency_worker.py")
WRITERS = 4
REVIEWS_EACH = 15
PUBLISHES = 8


opstore_path = published_fixtures.opstore_path_each_backend  # these tests run on SQLite and PostgreSQL


def test_concurrent_reviews_during_publishing_are_all_recorded(tmp_path, runs_root, opstore_path, template_run):
    env = {**os.environ, "SPENDSENSE_OPSTORE": str(opstore_path)}
    sync = tmp_path / "sync"
    sync.mkdir()
    procs = [subprocess.Popen([sys.executable, str(WORKER), "write", str(runs_root), str(opstore_path), f"op{i}",
                               str(REVIEWS_EACH), str(sync)], env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE)
             for i in range(WRITERS)]
    procs.append(subprocess.Popen([sys.executable, str(WORKER), "publish", str(runs_root), str(template_run),
                                   str(PUBLISHES), str(sync)], env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE))
    deadline = time.monotonic() + 180
    while len(list(sync.glob("ready-*"))) < len(procs):  # every process past its imports
        assert time.monotonic() < deadline and all(p.poll() is None for p in procs), "a worker died at start"
        time.sleep(0.05)
    (sync / "go").touch()
    for p in procs:
        _, err = p.communicate(timeout=300)
        assert p.returncode == 0, err.decode()[-3000:]
        assert b"Traceback" not in err
    assert runs.latest_run_dir(runs_root).name == f"20261101T{PUBLISHES - 1:06d}Z"
    con = opstore.connect(opstore_path)
    try:
        reviews, audit = opstore.reviews(con), opstore.audit_log(con)
    finally:
        con.close()
    expected = {f"op{i}-{j}" for i in range(WRITERS) for j in range(REVIEWS_EACH)}
    assert len(reviews) == WRITERS * REVIEWS_EACH
    assert set(reviews["reason"]) == expected  # every review accounted for, none twice
    assert all(r.split("-")[0] == o for r, o in zip(reviews["reason"], reviews["operator"]))
    assert (audit["action"] == "review.flag").sum() == WRITERS * REVIEWS_EACH
    seen = {name for f in sync.glob("seen-*") for name in f.read_text().split()}
    assert len(seen) >= 2, f"the writers never saw a publish happen: {seen}"  # the runs really overlapped
