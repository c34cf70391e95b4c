"""The append-only raw store: one folder of Parquet files per ingest batch; versions and tombstones, never rewrites.

    data/raw/batches/000001/batch.json           id, time, mode, files, rows added/modified/removed, sync cursors
    data/raw/batches/000001/<table>.parquet      that batch's versions of each raw table (+ _batch_id, _deleted)

A batch is written into `.incoming-*` beside `batches/` and renamed into place as a whole, so readers see every
batch completely or not at all. A table's state "as of batch N" is each key's latest version among batches 1..N,
unless that version is a tombstone (`as_of_query`). Runs read the store through views (`create_run_views`), and
raw_store.batch in the run's warehouse names the batch and store.
"""

from __future__ import annotations

import datetime as dt
import fcntl
import json
import os
import shutil
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import asdict, dataclass, field
from pathlib import Path

import duckdb

from spendsense import paths, sql
from spendsense.schema import PRIMARY_KEYS, TABLE_ORDER, column_names

BATCHES = "batches"
BATCH_FILE = "batch.json"
INCOMING = ".incoming-"
LOCK_FILE = ".lock"
MODES = ("merge", "replace")
# rows by user, so a per-user lookup (the dashboard, the single-user recompute) reads one row group of each file
STORE_ORDER = {"transactions": "user_id, date, transaction_id", "accounts": "user_id, account_id"}
# users and accounts: few columns, so small row groups keep a lookup's read small (DuckDB's default is 122,880
# rows); transactions keep the default (more row groups cost more per lookup than they save, measured at 100k)
ROW_GROUP_ROWS = {"users": 10_240, "accounts": 10_240}
APPEND_ONLY = ("consent_events",)
RUN_SCHEMA = "raw_store"  # in a run's warehouse: raw_store.batch names the batch and store its raw views read  # events are never replaced by a snapshot


class RawStoreError(ValueError):
    """A batch that does not exist, a bad store path or mode."""


@dataclass(frozen=True)
class Batch:
    """One ingest batch as recorded in its batch.json."""

    batch_id: int
    created_at: str  # UTC, ISO 8601
    mode: str  # merge: absent rows stay; replace: rows absent from a given table are tombstoned
    files: tuple[str, ...]
    changes: dict[str, dict[str, int]]  # table -> {"added", "modified", "removed"}
    cursors: dict[str, str] = field(default_factory=dict)  # item (user) -> /transactions/sync next_cursor
    # the input it came from: fingerprint (spendsense.ingest.fingerprint), rows read, exclusions, notes
    input: dict = field(default_factory=dict)
    # table -> rows superseding an earlier row of their key (changed versions, re-adds, tombstones); None: not
    # recorded (a batch written before this count existed: assumed to supersede)
    superseding: dict[str, int] | None = None

    def supersedes(self, table: str) -> bool:
        """Whether any of this batch's rows of a table supersedes an earlier row (so reads must look for it)."""
        return self.superseding is None or self.superseding.get(table, 1) > 0

    def total(self, kind: str) -> int:
        """Rows of one kind (added, modified, removed) over all tables."""
        return sum(c.get(kind, 0) for c in self.changes.values())


def default_store() -> Path:
    """The raw store's folder: $SPENDSENSE_RAW_STORE or data/raw."""
    return Path(os.environ.get("SPENDSENSE_RAW_STORE", paths.DATA_DIR / "raw")).resolve()


def store_for(dataset_dir: Path | str, raw_store: Path | str | None = None) -> Path:
    """The raw store a run uses: the one given, else a synthetic dataset's own (raw/<dataset name> beside the
    dataset: each generated dataset is its own bank), else $SPENDSENSE_RAW_STORE or data/raw."""
    dataset_dir = Path(dataset_dir)
    if raw_store:
        return Path(raw_store).resolve()
    if (dataset_dir / "manifest.json").exists():
        return (dataset_dir.parent / "raw" / dataset_dir.name).resolve()
    return default_store()


def store_columns(table: str) -> tuple[str, ...]:
    """A stored raw table's columns: the contract's, and for transactions the owning user's id after account_id."""
    cols = column_names(table)
    if table == "transactions":
        return cols[:2] + ("user_id",) + cols[2:]
    return cols


def sql_string(text: str) -> str:
    """A SQL string literal (for ATTACH, COPY and read_parquet in views, which take no bound parameters)."""
    return "'" + text.replace("'", "''") + "'"


def _ident(table: str, names) -> str:
    """Contract column names of a stored table, quoted, comma-separated."""
    known = store_columns(table)
    return ", ".join(sql.identifier(n, known) for n in names)


def batch_dir(store: Path | str, batch_id: int) -> Path:
    """The folder of one batch."""
    return Path(store) / BATCHES / f"{int(batch_id):06d}"


def batches(store: Path | str) -> list[Batch]:
    """Every complete batch of the store, oldest first (an empty list for a new or missing store)."""
    root = Path(store) / BATCHES
    if not root.is_dir():
        return []
    out = []
    for d in sorted(root.iterdir()):
        if d.name.isdigit() and (d / BATCH_FILE).exists():
            raw = json.loads((d / BATCH_FILE).read_text(encoding="utf-8"))
            out.append(Batch(raw["batch_id"], raw["created_at"], raw["mode"], tuple(raw["files"]), raw["changes"],
                             raw.get("cursors", {}), raw.get("input", {}), raw.get("superseding")))
    return out


def latest_batch_id(store: Path | str) -> int | None:
    """The newest batch's id, or None when nothing was ingested yet."""
    found = batches(store)
    return found[-1].batch_id if found else None


def check_batch(store: Path | str, batch_id: int | None) -> int:
    """The given batch id (or the latest when None), checked to exist in the store."""
    ids = [b.batch_id for b in batches(store)]
    if not ids:
        raise RawStoreError(f"the raw store {store} holds no batch yet: run `spendsense ingest` first")
    if batch_id is None:
        return ids[-1]
    if int(batch_id) not in ids:
        raise RawStoreError(f"the raw store {store} has no batch {batch_id} (batches {ids[0]}..{ids[-1]})")
    return int(batch_id)


def _files(store: Path, table: str, ids: list[int]) -> str:
    """A SQL list literal of one table's Parquet files in the given batches."""
    return "[" + ", ".join(sql_string(str(batch_dir(store, i) / f"{table}.parquet")) for i in ids) + "]"


def as_of_query(store: Path | str, table: str, batch_id: int) -> str:
    """SQL text of one raw table's rows after batch_id (contract columns; transactions also user_id). Later
    batches that only add new keys (e.g. a day's new transactions, another shard's users) are read, never joined."""
    store = Path(store).resolve()
    upto = [b for b in batches(store) if b.batch_id <= batch_id]
    ids = [b.batch_id for b in upto]
    later = [b.batch_id for b in upto[1:] if b.supersedes(table)]
    columns = _ident(table, store_columns(table))
    if not later:
        return sql.query("ingest/rawstore.sql", "as_of_first").fill(files=_files(store, table, ids),
                                                                     columns=columns).bind()[0]
    return sql.query("ingest/rawstore.sql", "as_of").fill(
        files=_files(store, table, ids), later_files=_files(store, table, later), columns=columns,
        keys=_ident(table, PRIMARY_KEYS[table])).bind()[0]


def consent_event_ids(store: Path | str, batch_id: int) -> set[str]:
    """The event_ids of the store's consent events as of a batch."""
    with duckdb.connect() as con:
        text = sql.query("ingest/rawstore.sql", "event_ids").fill(current=as_of_query(store, "consent_events",
                                                                                     batch_id)).bind()[0]
        return {row[0] for row in con.execute(text).fetchall()}


def create_run_views(con: duckdb.DuckDBPyConnection, store: Path | str, batch_id: int | None = None) -> int:
    """In a run's warehouse: one view per raw table reading the store as of the batch, and raw_batch naming it."""
    store = Path(store).resolve()
    batch_id = check_batch(store, batch_id)
    con.execute("begin transaction")
    for table in TABLE_ORDER:
        name = sql.identifier(table, TABLE_ORDER)
        con.execute(f"drop table if exists {name}")
        con.execute(f"create or replace view {name} as {as_of_query(store, table, batch_id)}")
    con.execute(f"create schema if not exists {RUN_SCHEMA}")
    con.execute(f"create or replace view {RUN_SCHEMA}.batch as select cast({int(batch_id)} as integer) as batch_id,"
                f" {sql_string(str(store))} as raw_store")
    con.execute("commit")
    return batch_id


def run_batch(con: duckdb.DuckDBPyConnection) -> int | None:
    """The raw-store batch a run's warehouse reads (None for a warehouse loaded with `ingest --db`)."""
    # fetchall: a result left unfinished would block the connection's next relation (DuckDB 2)
    has = con.execute("select count(*) from duckdb_views() where schema_name = $s and view_name = 'batch'"
                      " and database_name = current_database()", {"s": RUN_SCHEMA}).fetchall()[0][0]
    return con.execute(f"select batch_id from {RUN_SCHEMA}.batch").fetchall()[0][0] if has else None


def cursors(store: Path | str, batch_id: int | None = None) -> dict[str, str]:
    """Each item's latest /transactions/sync next_cursor up to a batch (all batches when None)."""
    out: dict[str, str] = {}
    for b in batches(store):
        if batch_id is None or b.batch_id <= batch_id:
            out.update(b.cursors)
    return out


@contextmanager
def _locked(store: Path) -> Iterator[None]:
    """One writer at a time (an advisory lock on store/.lock); stale .incoming-* folders of crashed writers go."""
    store.mkdir(parents=True, exist_ok=True)
    with (store / LOCK_FILE).open("a") as fh:
        fcntl.flock(fh, fcntl.LOCK_EX)
        try:
            for stale in store.glob(INCOMING + "*"):
                shutil.rmtree(stale, ignore_errors=True)
            yield
        finally:
            fcntl.flock(fh, fcntl.LOCK_UN)


def _stage_changes(con: duckdb.DuckDBPyConnection, table: str, new: str, store: Path, latest: int | None,
                   sync_removed: bool, replace: bool, rows: int, stand_ins: str | None = None) -> dict[str, int]:
    """chg_<table> (new versions, with _modified and _supersedes) and gone_<table> (rows to tombstone), and their
    counts (added, modified, removed, superseding): temp tables holding only the changes, or for a first batch
    views over the staged rows. `stand_ins` (users only) names the relation of derived user_ids, whose rows never
    replace a stored user."""
    q = "ingest/rawstore.sql"
    keys = _ident(table, PRIMARY_KEYS[table])
    chg, gone = sql.identifier(f"chg_{table}", {f"chg_{table}"}), sql.identifier(f"gone_{table}", {f"gone_{table}"})
    if latest is None:  # the first batch: everything is new, written straight from the staged rows (no copy)
        con.execute(f"create or replace temp view {chg} as select *, false as _modified from {new}")
        con.execute(f"create or replace temp view {gone} as select * from {new} where false")
        return {"added": int(rows), "modified": 0, "removed": 0, "superseding": 0}
    else:
        current = as_of_query(store, table, latest)
        stored = _files(store, table, [b.batch_id for b in batches(store) if b.batch_id <= latest])
        versions = new
        if stand_ins is not None:
            versions = "(" + sql.query(q, "stand_ins_dropped").fill(new=new, stand_ins=stand_ins,
                                                                   current=current).bind()[0] + ")"
        con.execute(f"create or replace temp table {chg} as "
                    + sql.query(q, "changed_rows").fill(files=stored, new=versions, keys=keys,
                                                        columns=_ident(table, store_columns(table))).bind()[0])
        parts = []
        if sync_removed and table == "transactions":
            parts.append(sql.query(q, "removed_by_sync").fill(current=current).bind()[0])
        if replace and table not in APPEND_ONLY:
            parts.append(sql.query(q, "absent_from_snapshot").fill(current=current, new=new, keys=keys).bind()[0])
        body = " union ".join(parts) if parts else f"select * from ({current}) where false"
        con.execute(f"create or replace temp table {gone} as {body}")
    added, modified, superseding = con.execute(
        f"select count(*) filter (not _modified), count(*) filter (_modified), count(*) filter (_supersedes)"
        f" from {chg}").fetchone()
    removed = con.execute(f"select count(*) from {gone}").fetchone()[0]
    return {"added": int(added), "modified": int(modified), "removed": int(removed),
            "superseding": int(superseding) + int(removed)}


def _copy_batch_table(con: duckdb.DuckDBPyConnection, table: str, batch_id: int, target: Path) -> None:
    """Write one table's new versions and tombstones of a batch as one zstd Parquet file, in store order."""
    cols = _ident(table, store_columns(table))
    order = STORE_ORDER.get(table, _ident(table, PRIMARY_KEYS[table]))
    bid = f"cast({int(batch_id)} as integer)"
    row_groups = f", row_group_size {ROW_GROUP_ROWS[table]}" if table in ROW_GROUP_ROWS else ""
    con.execute(
        f"copy (select {cols}, {bid} as _batch_id, false as _deleted from chg_{table}"
        f" union all select {cols}, {bid}, true from gone_{table} order by {order})"
        f" to {sql_string(str(target))} (format parquet, compression zstd{row_groups})")


def write_batch(con: duckdb.DuckDBPyConnection, store: Path | str, new_tables: dict[str, str], rows: dict[str, int],
                given: set[str], mode: str, files: tuple[str, ...], new_cursors: dict[str, str],
                sync_removed: bool, stand_ins: str | None = None, input_record: dict | None = None) -> Batch | None:
    """Append one batch: rows that differ from the store's latest state, tombstones, cursors; None if nothing changed.

    new_tables maps each raw table to the relation in con holding the batch's typed rows (store_columns order),
    rows to their row counts; stand_ins the relation of user_ids derived from accounts (they add a user the store
    lacks, never modify one it has); input_record what the batch's input was (Batch.input).
    The batch folder is complete before it is renamed into batches/, and removed if anything fails before that.
    """
    if mode not in MODES:
        raise RawStoreError(f"unknown ingest mode {mode!r}: use one of {', '.join(MODES)}")
    store = Path(store).resolve()
    with _locked(store):
        latest = latest_batch_id(store)
        batch_id = (latest or 0) + 1
        incoming = store / f"{INCOMING}{batch_id:06d}-{os.getpid()}"
        incoming.mkdir()
        try:
            changes, superseding = {}, {}
            for table in TABLE_ORDER:
                counts = _stage_changes(con, table, new_tables[table], store, latest, sync_removed,
                                        mode == "replace" and table in given, rows[table],
                                        stand_ins if table == "users" else None)
                superseding[table] = counts.pop("superseding")
                changes[table] = counts
            known = cursors(store)
            moved = {k: v for k, v in sorted(new_cursors.items()) if known.get(k) != v}
            if not moved and not any(sum(c.values()) for c in changes.values()):
                shutil.rmtree(incoming)
                return None
            for table in TABLE_ORDER:
                _copy_batch_table(con, table, batch_id, incoming / f"{table}.parquet")
            batch = Batch(batch_id, dt.datetime.now(dt.UTC).replace(tzinfo=None).isoformat(timespec="seconds"),
                          mode, tuple(files), changes, moved, dict(input_record or {}), superseding)
            with (incoming / BATCH_FILE).open("w", encoding="utf-8") as fh:
                fh.write(json.dumps(asdict(batch), indent=2) + "\n")
                fh.flush()
                os.fsync(fh.fileno())
            (store / BATCHES).mkdir(exist_ok=True)
            os.rename(incoming, batch_dir(store, batch_id))
        except BaseException:
            shutil.rmtree(incoming, ignore_errors=True)
            raise
    return batch


def status_rows(store: Path | str) -> list[dict]:
    """One row per batch and table with changes (id, time, mode, files, table, added, modified, removed)."""
    rows = []
    for b in batches(store):
        for table in TABLE_ORDER:
            c = b.changes.get(table, {})
            if any(c.values()) or table == "transactions":
                rows.append({"batch_id": b.batch_id, "created_at": b.created_at, "mode": b.mode,
                             "files": len(b.files), "table": table, **{k: c.get(k, 0)
                                                                        for k in ("added", "modified", "removed")},
                             "cursors": len(b.cursors)})
    return rows
