"""Writing a generated dataset: Parquet, CSV, Plaid-response JSON per user, ground truth, manifest.

Layout of out_dir (built in a temporary folder beside it, then swapped in by rename, so a failure or a kill
leaves either the old folder or nothing, never half a dataset):

    parquet/<table>.parquet            every raw table (schema.TABLES), contract types
    csv/<table>.csv                    the same, with a header row
    json/<user_id>.transactions.json   Plaid /transactions/get response for the user
    json/<user_id>.liabilities.json    Plaid /liabilities/get response for the user
    ground_truth/ground_truth.parquet  what the generator planted (never read by the pipeline)
    manifest.json                      seed, n_users, as_of, row counts, generator version
"""

from __future__ import annotations

import hashlib
import itertools
import json
import os
import shutil
import sys
import uuid
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import duckdb
import numpy as np
import pandas as pd
import pyarrow as pa
import pyarrow.csv as pa_csv
import pyarrow.parquet as pq
from tqdm.auto import tqdm

from spendsense import schema, sql
from spendsense.generate.frames import frame_to_arrow

FORMATS = ("parquet", "csv", "json")
GROUND_TRUTH_COLUMNS = ("user_id", "archetypes", "planted_personas")
JSON_ROWS_PER_BATCH = 100_000
CSV_ROWS_PER_CHUNK = 1_000_000


def parse_formats(formats) -> tuple[str, ...]:
    """Validated, de-duplicated formats in canonical order (accepts "parquet,csv" or an iterable)."""
    if isinstance(formats, str):
        formats = [f.strip() for f in formats.split(",") if f.strip()]
    wanted = [str(f).strip().lower() for f in formats]
    unknown = sorted(set(wanted) - set(FORMATS))
    if unknown:
        raise ValueError(f"unknown format(s) {unknown}; choose from {', '.join(FORMATS)}")
    if not wanted:
        raise ValueError(f"no output format given; choose from {', '.join(FORMATS)}")
    return tuple(f for f in FORMATS if f in wanted)


def _check_tables(tables: dict[str, pd.DataFrame]) -> None:
    """Every raw table and the ground truth are present, with the contract's columns in order."""
    missing = [t for t in (*schema.TABLE_ORDER, "ground_truth") if t not in tables]
    if missing:
        raise ValueError(f"tables missing: {missing}")
    for name in schema.TABLE_ORDER:
        got = list(tables[name].columns)
        want = list(schema.column_names(name))
        if got != want:
            raise ValueError(f"{name}: columns {got} differ from the contract {want}")
    got = list(tables["ground_truth"].columns)
    if got != list(GROUND_TRUTH_COLUMNS):
        raise ValueError(f"ground_truth: columns {got} differ from {list(GROUND_TRUTH_COLUMNS)}")


def _write_csv(table: pa.Table, path: Path) -> None:
    """CSV with a header row; big tables are encoded in chunks on two threads and written in order."""
    table = _for_csv(table)
    if table.num_rows <= CSV_ROWS_PER_CHUNK:
        pa_csv.write_csv(table, path)
        return

    def encode(start: int) -> pa.Buffer:
        sink = pa.BufferOutputStream()
        options = pa_csv.WriteOptions(include_header=start == 0)
        pa_csv.write_csv(table.slice(start, CSV_ROWS_PER_CHUNK), sink, write_options=options)
        return sink.getvalue()

    starts = list(range(0, table.num_rows, CSV_ROWS_PER_CHUNK))
    with ThreadPoolExecutor(max_workers=2) as pool, path.open("wb") as fh:
        window = [pool.submit(encode, start) for start in starts[:3]]  # at most 3 chunks in memory
        for i in range(len(starts)):
            fh.write(window.pop(0).result())
            if i + 3 < len(starts):
                window.append(pool.submit(encode, starts[i + 3]))


def _for_csv(table: pa.Table) -> pa.Table:
    """Timestamps with second precision in CSV ("2026-10-31 08:15:00")."""
    for i, field in enumerate(table.schema):
        if pa.types.is_timestamp(field.type):
            table = table.set_column(i, field.name, table.column(i).cast(pa.timestamp("s")))
    return table


def _user_positions(users: pa.Table, accounts: pa.Table, transactions: pa.Table) -> np.ndarray:
    """For every transaction, the position of its user in the users table."""
    user_index = pd.Index(users.column("user_id").to_pandas())
    account_user = user_index.get_indexer(accounts.column("user_id").to_pandas())
    column = transactions.column("account_id").combine_chunks()
    account_index = pd.Index(accounts.column("account_id").to_pandas())
    if pa.types.is_dictionary(column.type):  # map the (few) dictionary values, then the indices
        value_rows = account_index.get_indexer(column.dictionary.to_pandas())
        rows = value_rows[column.indices.to_numpy(zero_copy_only=False)]
    else:
        rows = account_index.get_indexer(column.to_pandas())
    if (rows < 0).any():
        raise ValueError("transactions: account_id not found in accounts")
    return account_user[rows]


def _newest_first(user_pos: np.ndarray, day: np.ndarray) -> np.ndarray:
    """Row order by user, then date descending, then table position descending (one int64 key sort)."""
    n = user_pos.size
    pos_bits = max(int(n).bit_length(), 1)
    span = int(day.max(initial=0)) - int(day.min(initial=0))
    day_bits = max(span.bit_length(), 1)
    user_bits = max(int(user_pos.max(initial=0)).bit_length(), 1)
    if pos_bits + day_bits + user_bits > 63:
        return np.lexsort((-np.arange(n), -day, user_pos))
    key = user_pos.astype(np.int64) << (day_bits + pos_bits)
    key |= (int(day.max(initial=0)) - day.astype(np.int64)) << pos_bits
    key |= (n - 1) - np.arange(n, dtype=np.int64)
    key.sort()
    return (n - 1) - (key & ((1 << pos_bits) - 1))


def _write_json(arrow: dict[str, pa.Table], folder: Path, salt: str, tick=lambda n: None) -> int:
    """Plaid-shaped JSON per user (transactions and liabilities); returns the number of files written.

    DuckDB renders the accounts and liabilities per user and one JSON text per transaction row (no
    aggregation over millions of structs); each user's document is then assembled from slices of the
    streamed row buffer, so memory stays bounded whatever the number of transactions.
    """
    folder.mkdir(parents=True, exist_ok=True)
    users = arrow["users"].column("user_id").to_pylist()
    tx = arrow["transactions"]
    user_pos = _user_positions(arrow["users"], arrow["accounts"], tx)
    day = tx.column("date").combine_chunks().cast(pa.int32()).to_numpy(zero_copy_only=False)
    order = _newest_first(user_pos, day)
    ordered = tx.take(pa.array(order)).append_column(
        "user_position", pa.array(user_pos[order].astype(np.int32))
    )
    del order, day
    con = duckdb.connect()
    try:
        con.execute("set enable_progress_bar = false")
        for name in (
            "accounts",
            "credit_liabilities",
            "credit_aprs",
            "mortgage_liabilities",
            "student_liabilities",
        ):
            con.register(name, arrow[name])
        con.register("transactions_ordered", ordered)
        accounts_json = dict(con.execute(*sql.query("generate/plaid_accounts.sql").bind()).fetchall())
        liabilities_json = dict(con.execute(*sql.query("generate/plaid_liabilities.sql").bind()).fetchall())
        empty_liabilities = '{"credit":[],"mortgage":[],"student":[]}'

        def item(user_id: str) -> str:
            return json.dumps(
                {
                    "available_products": ["balance"],
                    "billed_products": ["liabilities", "transactions"],
                    "consent_expiration_time": None,
                    "error": None,
                    "institution_id": "ins_109508",
                    "institution_name": "First Platypus Bank",
                    "item_id": user_id,
                    "update_type": "background",
                    "webhook": None,
                    "auth_method": "INSTANT_AUTH",
                },
                separators=(",", ":"),
            )

        def request_id(kind: str, user_id: str) -> str:
            return hashlib.md5(f"{salt}:{kind}:{user_id}".encode()).hexdigest()[:15]

        def write_user(position: int, body: bytes, count: int) -> None:
            user_id = users[position]
            head = '{"accounts":' + accounts_json.get(user_id, "[]")
            (folder / f"{user_id}.transactions.json").write_bytes(
                (head + ',"transactions":[').encode()
                + body
                + (
                    f'],"item":{item(user_id)},"total_transactions":{count},'
                    f'"request_id":"{request_id("transactions", user_id)}"}}\n'
                ).encode()
            )
            (folder / f"{user_id}.liabilities.json").write_text(
                f'{head},"item":{item(user_id)},'
                f'"liabilities":{liabilities_json.get(user_id, empty_liabilities)},'
                f'"request_id":"{request_id("liabilities", user_id)}"}}\n',
                encoding="utf-8",
            )
            tick(1)

        done = np.zeros(len(users), dtype=bool)
        current, parts, count = -1, [], 0
        reader = con.sql(sql.query("generate/plaid_transaction_rows.sql").bind()[0]).to_arrow_reader(JSON_ROWS_PER_BATCH)
        for batch in reader:
            positions = batch.column(0).to_numpy(zero_copy_only=False)
            texts = batch.column(1)
            offsets = np.frombuffer(
                texts.buffers()[1], dtype=np.int64 if pa.types.is_large_string(texts.type) else np.int32
            )[texts.offset : texts.offset + len(texts) + 1]
            data = memoryview(texts.buffers()[2])
            cuts = np.r_[0, np.flatnonzero(np.diff(positions)) + 1, len(positions)]
            for s, e in itertools.pairwise(cuts):
                position = int(positions[s])
                if position != current:
                    if current >= 0:
                        write_user(current, b"".join(parts)[:-1], count)
                        done[current] = True
                    current, parts, count = position, [], 0
                parts.append(bytes(data[offsets[s] : offsets[e]]))
                count += int(e - s)
        if current >= 0:
            write_user(current, b"".join(parts)[:-1], count)
            done[current] = True
        for position in np.flatnonzero(~done):  # users without a single transaction
            write_user(int(position), b"", 0)
        return 2 * len(users)
    finally:
        con.close()


def manifest(tables: dict[str, pd.DataFrame], formats: tuple[str, ...]) -> dict:
    """What a dataset folder holds: generator facts (seed, n_users, as_of, version) and row counts."""
    meta = dict(tables["ground_truth"].attrs.get("spendsense_generator", {}))
    return {
        "generator_version": meta.get("generator_version"),
        "seed": meta.get("seed"),
        "n_users": meta.get("n_users", len(tables["users"])),
        "as_of": meta.get("as_of"),
        "history_start": meta.get("history_start"),
        "config_sha256": meta.get("config_sha256"),
        "formats": list(formats),
        "row_counts": {name: len(tables[name]) for name in (*schema.TABLE_ORDER, "ground_truth")},
        "archetype_counts": {str(k): int(v) for k, v in
                             tables["ground_truth"]["archetypes"].value_counts().sort_index().items()},
        "layout": {
            "parquet": "parquet/<table>.parquet" if "parquet" in formats else None,
            "csv": "csv/<table>.csv" if "csv" in formats else None,
            "json": "json/<user_id>.transactions.json, json/<user_id>.liabilities.json"
            if "json" in formats
            else None,
            "ground_truth": "ground_truth/ground_truth.parquet (not an input of the pipeline)",
        },
    }


def write_dataset(
    tables: dict[str, pd.DataFrame], out_dir: Path | str, formats=FORMATS, progress: bool = False
) -> Path:
    """Write the tables under out_dir atomically (a folder beside it, then rename); returns out_dir."""
    out_dir = Path(out_dir)
    formats = parse_formats(formats)
    _check_tables(tables)
    out_dir.parent.mkdir(parents=True, exist_ok=True)
    token = f"{os.getpid()}-{uuid.uuid4().hex[:8]}"
    staging = out_dir.parent / f".{out_dir.name}.tmp-{token}"
    staging.mkdir()
    steps = len(schema.TABLE_ORDER) * (("parquet" in formats) + ("csv" in formats))
    steps += len(tables["users"]) if "json" in formats else 0
    bar = tqdm(
        total=steps, desc="write", unit="step", leave=False, disable=not progress or not sys.stderr.isatty()
    )
    try:
        arrow = {}
        # Parquet and CSV encoders run in C++ without the GIL: two threads use both cores
        with ThreadPoolExecutor(max_workers=2) as pool:
            pending = []
            for name in schema.TABLE_ORDER:
                arrow[name] = frame_to_arrow(name, tables[name])
                if "parquet" in formats:
                    (staging / "parquet").mkdir(exist_ok=True)
                    pending.append(
                        pool.submit(
                            pq.write_table,
                            arrow[name],
                            staging / "parquet" / f"{name}.parquet",
                            compression="zstd",
                            store_schema=False,
                            row_group_size=1_000_000,
                        )
                    )
                if "csv" in formats:
                    (staging / "csv").mkdir(exist_ok=True)
                    pending.append(pool.submit(_write_csv, arrow[name], staging / "csv" / f"{name}.csv"))
            for job in pending:
                job.add_done_callback(lambda _job: bar.update(1))
            for job in pending:
                job.result()
        if "json" in formats:
            meta = tables["ground_truth"].attrs.get("spendsense_generator", {})
            _write_json(arrow, staging / "json", salt=str(meta.get("seed", "")), tick=bar.update)
        del arrow
        truth = pa.Table.from_pandas(tables["ground_truth"][list(GROUND_TRUTH_COLUMNS)], preserve_index=False)
        (staging / "ground_truth").mkdir()
        pq.write_table(
            truth.replace_schema_metadata(None),
            staging / "ground_truth" / "ground_truth.parquet",
            store_schema=False,
        )
        (staging / "manifest.json").write_text(
            json.dumps(manifest(tables, formats), indent=2) + "\n", encoding="utf-8"
        )
        swap_in(staging, out_dir, token)
    except BaseException:
        shutil.rmtree(staging, ignore_errors=True)
        raise
    finally:
        bar.close()
    return out_dir


def swap_in(staging: Path, out_dir: Path, token: str) -> None:
    """Replace out_dir by staging with renames (the old folder goes only once the new one is in place)."""
    if out_dir.exists() or out_dir.is_symlink():
        retired = out_dir.parent / f".{out_dir.name}.old-{token}"
        os.replace(out_dir, retired)
        try:
            os.replace(staging, out_dir)
        except BaseException:
            os.replace(retired, out_dir)
            raise
        shutil.rmtree(retired, ignore_errors=True)
    else:
        os.replace(staging, out_dir)
