"""Validated ingest: read CSV, Parquet or Plaid response JSON, check it against the raw-table contract, load it.

    report = ingest([Path("data/synthetic/default")], Path("warehouse.duckdb"), Path("data/opstore.sqlite"))

Input paths may be a dataset directory (its parquet/ folder is preferred, else csv/, else json/; ground_truth/ is
never read), a folder of table files, single `<table>.parquet` / `<table>.csv` files, or Plaid response JSON files
(/accounts/get, /accounts/balance/get, /transactions/get, /transactions/sync, /liabilities/get). For JSON the
user is item.item_id; a response without an item (e.g. /transactions/sync) takes the user that another response
names for the same accounts, else the file name before its first '.'. JSON fields outside the contract are
ignored; nested ones are flattened (balances.current -> balance_current, personal_finance_category.primary ->
pfc_primary, liabilities.credit[].aprs[] -> credit_aprs, interest_rate.percentage -> interest_rate_percentage).
A record in several JSON files is validated in every copy and loaded from the last file (paths in the order
given, directories sorted); a sync response's `removed` transactions are not loaded (see below). Users and consent events are
optional (Plaid responses carry neither); a missing holder_category means personal. For CSV and Parquet an extra
or missing column is an error.

All input is staged in a temporary DuckDB database and validated there with SQL over every row at once. Any
problem raises IngestError listing file, row and field of each (up to a cap) and NOTHING is written. Otherwise
(business accounts and their rows left out, `user_id` added to transactions) the input goes either

- into the append-only raw store (`raw_store=`, spendsense.ingest.rawstore) as one batch: only rows that differ
  from the store's latest state become new versions; a sync response's `removed` ids become tombstones and its
  `next_cursor` is recorded per item; mode "replace" also tombstones rows absent from a table the batch gives
  (mode "merge", the default, keeps them); nothing changed -> no batch. Each batch records its input's
  fingerprint (spendsense.ingest.fingerprint): an input equal to the latest batch's is not validated or diffed
  again (nothing to add), unless the operational store lacks some of the store's consent events; or
- into a standalone warehouse (`db_path=`, `spendsense ingest --db`), whose raw tables are replaced in one
  transaction;

and then consent events are appended to the operational store (if a path is given) in one SQLite transaction,
skipping event_ids it already has.
"""

from __future__ import annotations

import sqlite3
import sys
import tempfile
import time
from collections.abc import Iterable
from dataclasses import dataclass, field
from pathlib import Path

import duckdb
import psycopg
from tqdm.auto import tqdm

from spendsense import opstore
from spendsense import paths as paths_
from spendsense.ingest import fingerprint, load, plaid_json, rawstore, readers, validate
from spendsense.ingest.problems import KEEP_CAP, REPORT_CAP, IngestError, Problem
from spendsense.schema import TABLE_ORDER

IN_MEMORY_STAGING_BYTES = 256 * 2**20  # CSV/JSON input smaller than this is staged in memory, larger on disk
STAGING_MEMORY_LIMIT = "3GB"  # DuckDB spills sorts and hash tables to disk beyond this (100k users: ~3 GB peak)

__all__ = ["IngestError", "IngestReport", "OpstoreWriteError", "Problem", "ingest"]


@dataclass(frozen=True)
class IngestReport:
    """What one ingest loaded."""

    rows: dict[str, int]  # rows read per raw table (after exclusions)
    business_accounts_excluded: int
    business_rows_excluded: dict[str, int]  # rows of other tables left out with the business accounts
    files: tuple[str, ...]  # every file read
    duration_s: float
    db_path: str
    opstore_path: str | None = None
    consent_events_added: int = 0  # new rows in the operational store
    notes: tuple[str, ...] = field(default_factory=tuple)
    raw_store: str | None = None  # the raw store written to (None: a warehouse at db_path)
    batch: rawstore.Batch | None = None  # the batch this ingest appended (None: nothing changed, or db_path)
    batch_id: int | None = None  # the store's latest batch after this ingest (the new one, or the unchanged one)

    def __str__(self) -> str:
        plural = "s" if len(self.files) != 1 else ""
        lines = [(f"ingested {len(self.files)} file{plural} into {self.raw_store or self.db_path} "
                  f"in {self.duration_s:.1f} s")]
        if self.raw_store is not None and self.batch is None:
            lines.append(f"  no changes: the raw store stays at batch {self.batch_id}")
        elif self.batch is not None:
            lines.append(f"  batch {self.batch.batch_id} ({self.batch.mode}): "
                         f"{self.batch.total('added'):,} added, {self.batch.total('modified'):,} modified, "
                         f"{self.batch.total('removed'):,} removed"
                         + (f", {len(self.batch.cursors)} sync cursor(s)" if self.batch.cursors else ""))
        changes = self.batch.changes if self.batch is not None else {}
        lines += [f"  {table:<22}{self.rows.get(table, 0):>12,} rows"
                  + (f"  (+{c['added']:,} ~{c['modified']:,} -{c['removed']:,})" if (c := changes.get(table)) else "")
                  for table in TABLE_ORDER]
        excluded = ", ".join(f"{n:,} {t}" for t, n in self.business_rows_excluded.items() if n)
        lines.append(f"  business accounts excluded: {self.business_accounts_excluded:,}"
                     + (f" (with {excluded})" if excluded else ""))
        if self.opstore_path:
            lines.append(f"  consent events added to {self.opstore_path}: {self.consent_events_added:,}")
        lines += [f"  note: {n}" for n in self.notes]
        return "\n".join(lines)


class OpstoreWriteError(RuntimeError):
    """The warehouse was loaded but the operational store could not take the consent events (re-run to finish)."""


class _Progress:
    """A tqdm bar over ingest's steps, silent unless asked for and attached to a terminal."""

    def __init__(self, enabled: bool, total: int):
        self.bar = tqdm(total=total, desc="ingest", unit="step", leave=False,
                        disable=not (enabled and sys.stderr.isatty()))

    def step(self, label: str, n: int = 1) -> None:
        self.bar.set_postfix_str(label, refresh=False)
        self.bar.update(n)

    def close(self) -> None:
        self.bar.close()


def _unreadable(table: str, staging: readers.Staging, sources: list[readers.Source], check, *args) -> list[Problem]:
    """Run a check; if DuckDB cannot read a file while doing it (e.g. a damaged Parquet page), that is a problem."""
    try:
        return check(*args) or []
    except duckdb.Error as exc:
        staging.broken_tables.add(table)
        files = sorted({sources[s.src].name for s in staging.staged if s.table == table and s.src is not None})
        return [Problem(", ".join(files) or table, None, None, f"cannot read: {readers.duckdb_message(exc)}")]


def ingest(paths: Iterable[Path | str], db_path: Path | str | None = None, opstore_path: Path | str | None = None,
           progress: bool = False, raw_store: Path | str | None = None, mode: str = "merge") -> IngestReport:
    """Validate the input and append it to the raw store as one batch, or load it into the warehouse at db_path
    (exactly one of the two); consent also into opstore_path, if given."""
    if (db_path is None) == (raw_store is None):
        raise ValueError("ingest writes either a raw store (raw_store=) or a warehouse (db_path=), exactly one")
    if mode not in rawstore.MODES:
        raise ValueError(f"unknown ingest mode {mode!r}: use one of {', '.join(rawstore.MODES)}")
    started = time.perf_counter()
    paths = [Path(p) for p in ([paths] if isinstance(paths, (str, Path)) else paths)]
    sources, problems = readers.discover(paths)
    prints = fingerprint.input_fingerprint(sources) if raw_store is not None and not problems else None
    if prints is not None and (same := _unchanged_input(Path(raw_store), prints, mode, opstore_path)) is not None:
        return _unchanged_report(same, Path(raw_store), sources, started, opstore_path)
    json_sources = [s for s in sources if s.fmt == "json"]
    table_sources = [s for s in sources if s.fmt != "json"]
    bar = _Progress(progress, len(table_sources) + len(json_sources) + 2 * len(TABLE_ORDER))
    try:
        with tempfile.TemporaryDirectory(prefix="spendsense-ingest-") as tmp:
            copied = sum(s.path.stat().st_size for s in sources if s.fmt != "parquet")
            staging_db = ":memory:" if copied < IN_MEMORY_STAGING_BYTES else str(Path(tmp) / "staging.duckdb")
            con = duckdb.connect(staging_db)
            try:
                con.execute("set TimeZone = 'UTC'")
                con.execute("set enable_progress_bar = false")
                con.execute("set temp_directory = $dir", {"dir": str(Path(tmp) / "spill")})
                con.execute("set memory_limit = $limit", {"limit": STAGING_MEMORY_LIMIT})
                staging = readers.Staging()
                for source in table_sources:
                    stage = readers.stage_csv if source.fmt == "csv" else readers.stage_parquet
                    problems += stage(con, source, staging)
                    bar.step(f"read {source.path.name}")
                if json_sources:
                    problems += plaid_json.stage_json(con, json_sources, staging,
                                                   tick=lambda n: bar.step("read JSON", n))
                views, column_problems = validate.build_views(con, staging, sources)
                problems += column_problems
                validate.create_allowed_values(con)
                for table in TABLE_ORDER:
                    if table in views.given:
                        problems += _unreadable(table, staging, sources, validate.check_rows, con, table, views)
                        problems += _unreadable(table, staging, sources, validate.check_duplicates, con, table)
                    bar.step(f"check {table}")
                problems += _unreadable("accounts", staging, sources, validate.check_references, con, views,
                                        staging, sources)
                total, recorded, summary = validate.recorded_problems(con, sources, KEEP_CAP - len(problems))
                if problems or total:
                    n = len(problems) + total
                    raise IngestError(problems + recorded, n, summary if n > REPORT_CAP else None)
                excluded = load.business_exclusions(con)
                excluded_counts = dict(excluded)
                batch = None
                if raw_store is not None:
                    rows, batch = load.write_raw_store(con, Path(raw_store), views.given, mode,
                                                       tuple(s.name for s in sources),
                                                       tick=lambda n: bar.step("load", n),
                                                       input_record={"fingerprint": prints, "notes": staging.notes,
                                                                     "excluded": excluded_counts})
                else:
                    rows = load.write_warehouse(con, Path(db_path), tick=lambda n: bar.step("load", n))
                consent = load.consent_frame(con) if opstore_path is not None else None
            finally:
                con.close()
        added = 0
        if opstore_path is not None:
            try:
                added = load.write_opstore(paths_.opstore_location(opstore_path), consent)
            except (sqlite3.Error, psycopg.Error, ValueError, OSError) as exc:
                raise OpstoreWriteError(
                    f"the raw data {raw_store or db_path} was loaded, but consent events could not be written to the "
                    f"operational store {paths_.opstore_shown(opstore_path)}: {exc}. Re-run ingest: the consent "
                    "import skips events the store already has.") from exc
    finally:
        bar.close()
    return IngestReport(
        rows=rows,
        business_accounts_excluded=excluded.pop("accounts", 0),
        business_rows_excluded=excluded,
        files=tuple(s.name for s in sources),
        duration_s=time.perf_counter() - started,
        db_path=str(db_path) if db_path is not None else "",
        opstore_path=paths_.opstore_shown(opstore_path),
        consent_events_added=added,
        notes=tuple(staging.notes),
        raw_store=str(Path(raw_store).resolve()) if raw_store is not None else None,
        batch=batch,
        batch_id=rawstore.latest_batch_id(raw_store) if raw_store is not None else None,
    )


def _unchanged_input(store: Path, prints: dict[str, str], mode: str, opstore_path) -> rawstore.Batch | None:
    """The latest batch if this input equals its input (fingerprint) and re-ingesting it would change nothing:
    merge after any mode, replace after replace; None otherwise, or when the operational store lacks one of the
    store's consent events (the full ingest then imports them in file order)."""
    found = rawstore.batches(store)
    if not found or found[-1].input.get("fingerprint") != prints or not (mode == "merge" or found[-1].mode == mode):
        return None
    latest = found[-1]
    if opstore_path is not None:
        stored = rawstore.consent_event_ids(store, latest.batch_id)
        if stored:
            ops = opstore.connect(paths_.opstore_location(opstore_path))
            try:
                known = set(opstore.consent_events(ops)["event_id"])
            finally:
                ops.close()
            if not stored <= known:
                return None
    return latest


def _unchanged_report(latest: rawstore.Batch, store: Path, sources, started: float, opstore_path) -> IngestReport:
    """The report of an ingest whose input equals the latest batch's: its recorded rows, nothing added."""
    recorded = latest.input
    excluded = dict(recorded.get("excluded", {}))
    note = f"input unchanged since batch {latest.batch_id} (same fingerprint): not validated or compared again"
    return IngestReport(
        rows={t: int(recorded.get("rows", {}).get(t, 0)) for t in TABLE_ORDER},
        business_accounts_excluded=excluded.pop("accounts", 0),
        business_rows_excluded=excluded,
        files=tuple(s.name for s in sources),
        duration_s=time.perf_counter() - started,
        db_path="",
        opstore_path=paths_.opstore_shown(opstore_path),
        notes=(*recorded.get("notes", ()), note),
        raw_store=str(store.resolve()),
        batch=None,
        batch_id=latest.batch_id,
    )
