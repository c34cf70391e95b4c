"""Run directories: where a pipeline run writes, how it is published, and how readers find the latest.

A run builds everything in ``reports/runs/.staging/<run_id>/``. Only when every step succeeded is the
directory renamed to ``reports/runs/<run_id>/`` and the ``reports/runs/latest`` symlink atomically swapped
to point at it (``os.replace`` of a fresh symlink). Readers resolve ``latest`` once and then read a
complete, immutable directory, so a failed or killed run never disturbs the published one.
"""

from __future__ import annotations

import datetime as dt
import errno
import fcntl
import os
import re
import shutil
from contextlib import contextmanager
from pathlib import Path

from spendsense import paths

WAREHOUSE = "warehouse.duckdb"
LATEST = "latest"
STAGING = ".staging"


FAILED = "failed"
LOCK = ".lock"
RESERVED = (LATEST, FAILED)
RUN_ID_PATTERN = re.compile(r"[A-Za-z0-9][A-Za-z0-9_.-]{0,63}")  # no separators, no leading dot, no '..'


class RunLockedError(RuntimeError):
    """Another `spendsense run` holds the lock on this runs folder."""


class RunError(ValueError):
    """A run cannot start or finish as asked: a bad run id or runs folder, a full disk; one line for the user."""


def check_run_id(run_id: str) -> str:
    """The run id if it is safe as one folder name under the runs folder, else RunError saying why."""
    if not isinstance(run_id, str) or not RUN_ID_PATTERN.fullmatch(run_id) or ".." in run_id \
            or run_id in RESERVED:
        raise RunError(f"run id {run_id!r} is not allowed: use 1-64 letters, digits, '_', '-' or '.', starting "
                       f"with a letter or digit, no '..' and not {' or '.join(RESERVED)}")
    return run_id


def check_runs_dir(root: Path) -> Path:
    """The runs folder if SpendSense may publish into it: new, empty, or already a runs folder (has .lock)."""
    root = Path(root)
    if root.is_symlink() or (root.exists() and not root.is_dir()):
        raise RunError(f"runs_dir {root} is not a directory")
    if root.exists() and not (root / LOCK).is_file() and any(root.iterdir()):
        raise RunError(f"runs_dir {root} is neither empty nor a SpendSense runs folder (no {LOCK} file): "
                       "refusing to publish into it; give a new or empty folder")
    return root


def unique_run_id(root: Path, wanted: str | None = None, now: dt.datetime | None = None) -> str:
    """A run id no run in this folder has (call while holding the run lock): the given one (RunError if taken)
    or one from the clock, with -2, -3 ... appended when runs start within the same second."""
    base = runs_dir(root)
    taken = lambda rid: any(p.exists() or p.is_symlink() for p in (base / rid, base / FAILED / rid,
                                                                      base / STAGING / rid))
    if wanted is not None:
        check_run_id(wanted)
        if taken(wanted):
            raise RunError(f"run id {wanted!r} is already used in {base}; choose another --run-id")
        return wanted
    stamp = new_run_id(now)
    candidate, n = stamp, 1
    while taken(candidate):
        n += 1
        candidate = f"{stamp}-{n}"
    return candidate


def is_disk_full(exc: BaseException) -> bool:
    """An OSError meaning no space (or quota) is left."""
    return isinstance(exc, OSError) and exc.errno in (errno.ENOSPC, errno.EDQUOT)


def runs_dir(root: Path | None = None) -> Path:
    """The folder holding published runs (default reports/runs)."""
    return Path(root) if root else paths.RUNS_DIR


def new_run_id(now: dt.datetime | None = None) -> str:
    """A sortable run id from the wall clock, e.g. 20261128T013000Z."""
    now = now or dt.datetime.now(dt.UTC)
    return now.strftime("%Y%m%dT%H%M%SZ")


def staging_dir(run_id: str, root: Path | None = None) -> Path:
    """Where an unpublished run writes its outputs."""
    return runs_dir(root) / STAGING / run_id


def latest_run_dir(root: Path | None = None) -> Path | None:
    """The directory of the latest published run, or None when nothing has been published."""
    link = runs_dir(root) / LATEST
    if not link.is_symlink() and not link.exists():
        return None
    target = link.resolve()
    return target if (target / WAREHOUSE).exists() else None


def publish(staged: Path, root: Path | None = None) -> Path:
    """Move a finished staging directory into place and atomically point `latest` at it."""
    base = runs_dir(root)
    check_run_id(staged.name)
    final = base / staged.name
    if final.exists():
        raise FileExistsError(f"run {staged.name} is already published at {final}")
    os.replace(staged, final)
    tmp_link = base / f".{LATEST}.{os.getpid()}"
    if tmp_link.is_symlink() or tmp_link.exists():
        tmp_link.unlink()
    tmp_link.symlink_to(final.name)
    os.replace(tmp_link, base / LATEST)
    _fsync_dir(base)
    return final


def clean_stale_staging(root: Path | None = None) -> list[Path]:
    """Remove staging directories left by killed runs (call only while holding the run lock)."""
    stage = runs_dir(root) / STAGING
    removed = []
    if stage.exists():
        for child in stage.iterdir():
            shutil.rmtree(child, ignore_errors=True)
            removed.append(child)
    return removed


@contextmanager
def run_lock(root: Path | None = None, wait: bool = False):
    """Hold an exclusive lock on the runs folder; refuse (or wait) if another run holds it."""
    base = check_runs_dir(runs_dir(root))
    base.mkdir(parents=True, exist_ok=True)
    fh = open(base / LOCK, "a+")  # noqa: SIM115 - held for the whole run, closed in finally
    try:
        try:
            fcntl.flock(fh, fcntl.LOCK_EX | (0 if wait else fcntl.LOCK_NB))
        except BlockingIOError:
            fh.seek(0)
            holder = fh.read().strip() or "another process"
            raise RunLockedError(
                f"another spendsense run is in progress ({holder}); wait for it or use --wait"
            ) from None
        fh.seek(0)
        fh.truncate()
        fh.write(f"pid {os.getpid()} since {dt.datetime.now(dt.UTC).isoformat(timespec='seconds')}")
        fh.flush()
        yield
    finally:
        fh.close()  # closing releases the flock, also when the process is killed


def _fsync_dir(path: Path) -> None:
    """Flush a directory entry to disk so a rename survives a crash."""
    fd = os.open(path, os.O_RDONLY)
    try:
        os.fsync(fd)
    finally:
        os.close(fd)
