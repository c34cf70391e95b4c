"""The pipeline's steps with their I/O: each reads its inputs, calls the pure step functions, writes once.

Notebooks 01-05 call these, one step per notebook; `spendsense bench` calls them too, so what the
notebooks run is what is measured.
"""

from __future__ import annotations

import datetime as dt
import json
import time
from contextlib import contextmanager
from pathlib import Path

import duckdb

STAGE_TIMINGS = "stage_timings.jsonl"


def as_date(value: str | dt.date) -> dt.date:
    """A date parameter from a notebook (ISO string) or Python."""
    return value if isinstance(value, dt.date) else dt.date.fromisoformat(value)


def connect(warehouse: str | Path, read_only: bool = False) -> duckdb.DuckDBPyConnection:
    """Open the run's DuckDB warehouse."""
    return duckdb.connect(str(warehouse), read_only=read_only)


@contextmanager
def timed_stage(run_dir: str | Path, stage: str, users: int | None = None):
    """Time a stage and append its wall time to the run's stage_timings.jsonl."""
    t0 = time.perf_counter()
    yield
    record = {"stage": stage, "seconds": round(time.perf_counter() - t0, 4), "users": users}
    path = Path(run_dir) / STAGE_TIMINGS
    path.parent.mkdir(parents=True, exist_ok=True)
    with path.open("a", encoding="utf-8") as fh:
        fh.write(json.dumps(record) + "\n")


def stage_timings(run_dir: str | Path):
    """The stage timings recorded so far in a run, as a table."""
    import pandas as pd

    path = Path(run_dir) / STAGE_TIMINGS
    if not path.exists():
        return pd.DataFrame(columns=["stage", "seconds", "users"])
    return pd.read_json(path, lines=True)


def prepare_dataset(source: str, dataset_dir: str | Path, n_users: int, seed: int, as_of: str | dt.date,
                    progress: bool = True) -> Path:
    """The input folder: a cached synthetic dataset (generated on first use) or the given source path."""
    from spendsense.generate import synthetic_tables, write_dataset

    dataset_dir = Path(dataset_dir)
    if source != "synthetic":
        if not dataset_dir.exists():
            raise FileNotFoundError(f"source {dataset_dir} does not exist")
        return dataset_dir
    manifest = dataset_dir / "manifest.json"
    wanted = {"seed": seed, "n_users": n_users, "as_of": as_date(as_of).isoformat()}
    if manifest.exists():
        got = json.loads(manifest.read_text())
        if all(str(got.get(k)) == str(v) for k, v in wanted.items()):
            return dataset_dir
    tables = synthetic_tables(n_users=n_users, seed=seed, as_of=as_date(as_of), progress=progress)
    return write_dataset(tables, dataset_dir)


def ingest_dataset(dataset_dir: str | Path, warehouse: str | Path, opstore: str | Path, progress: bool = True):
    """Validate and load the raw tables into the warehouse, and consent events into the opstore."""
    from spendsense.ingest import ingest

    return ingest([Path(dataset_dir)], Path(warehouse), Path(opstore), progress=progress)


def consent_snapshot(opstore: str | Path):
    """Each user's current consent status, read once from the operational store."""
    from spendsense import opstore as ops

    con = ops.connect(Path(opstore))
    try:
        return ops.consent_status(con)
    finally:
        con.close()


def signals_step(warehouse: str | Path, opstore: str | Path, as_of: str | dt.date, windows=(30, 180)):
    """Compute every signal family for consenting users and store the signal tables."""
    from spendsense.signals import compute_signals, load_signal_config, write_signal_tables

    consent = consent_snapshot(opstore)
    with connect(warehouse) as con:
        tables = compute_signals(con, as_date(as_of), consent, load_signal_config(), windows=tuple(windows))
        write_signal_tables(con, tables)
    return tables


def personas_step(warehouse: str | Path):
    """Assign one persona per user and window from the stored signals, and store the assignments."""
    from spendsense.personas import assign_personas, load_persona_config, write_persona_assignments

    with connect(warehouse) as con:
        wide = con.execute("select * from signals_wide").df()
        assignments = assign_personas(wide, load_persona_config())
        write_persona_assignments(con, assignments)
    return assignments
