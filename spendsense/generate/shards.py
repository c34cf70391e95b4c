"""Datasets too big for memory: generated and written shard by shard (parquet/<table>/part-NNN.parquet).

A shard is an ordinary generated dataset of up to SHARD_USERS users with its own seed; its ids are renumbered
into the whole dataset's ranges (users u0000001..., their accounts, and shard-prefixed transaction and consent
event ids), so the shards together read as one dataset and ingest takes the folder as it takes any other.
"""

from __future__ import annotations

import datetime as dt
import json
import os
import shutil
import uuid
from pathlib import Path

import pandas as pd
import pyarrow as pa
import pyarrow.compute as pc
import pyarrow.parquet as pq
from tqdm.auto import tqdm

from spendsense import schema
from spendsense.generate.core import generate
from spendsense.generate.frames import padded
from spendsense.generate.writers import GROUND_TRUTH_COLUMNS, frame_to_arrow, manifest, swap_in

SHARD_USERS = 100_000  # one shard's tables take about 3 GB while they are built
SHARD_SEED_STRIDE = 1_000_003  # shard k draws from seed + k * stride (distinct, deterministic streams)


def user_id_width(n_users: int) -> int:
    """Digits of the user ids of an n_users dataset (at least 5, as the generator pads them)."""
    return max(5, len(str(n_users)))


def shard_sizes(n_users: int, shard_users: int = SHARD_USERS) -> list[int]:
    """Users per shard: full shards of shard_users, the remainder last."""
    full, rest = divmod(n_users, shard_users)
    return [shard_users] * full + ([rest] if rest else [])


def _renumbered_users(ids: pa.Array, first: int, width: int) -> pa.Array:
    """A shard's u<digits> ids moved to start after `first` users, padded to the whole dataset's width."""
    numbers = pc.cast(pc.utf8_slice_codeunits(ids, 1), pa.int64()).to_numpy(zero_copy_only=False)
    return padded("u", numbers + first, width)


def _renumbered_accounts(ids: pa.Array, shard_width: int, first: int, width: int) -> pa.Array:
    """<user_id>-<slot> account ids with the user part renumbered."""
    users = _renumbered_users(pc.utf8_slice_codeunits(ids, 0, 1 + shard_width), first, width)
    return pc.binary_join_element_wise(users, pc.utf8_slice_codeunits(ids, 1 + shard_width), "")


def _prefixed(ids: pa.Array, prefix: str, shard: int) -> pa.Array:
    """<prefix><digits> ids made unique across shards: <prefix><shard, 3 digits><digits>."""
    tail = pc.utf8_slice_codeunits(ids, len(prefix))
    return pc.binary_join_element_wise(pa.scalar(f"{prefix}{shard:03d}"), tail, "")


def _column(frame: pd.DataFrame, name: str, values: pa.Array) -> None:
    """Replace a str column of a generated frame (categoricals keep their codes; only categories change)."""
    if isinstance(frame[name].dtype, pd.CategoricalDtype):
        frame[name] = frame[name].cat.rename_categories(values.to_pylist())
    else:
        frame[name] = pd.Series(values.to_pandas(), index=frame.index, dtype=frame[name].dtype)


def renumbered_tables(tables: dict[str, pd.DataFrame], shard: int, first_user: int, n_users: int
                      ) -> dict[str, pd.DataFrame]:
    """One shard's tables with ids moved into the whole dataset's ranges (changed in place, returned)."""
    shard_width = user_id_width(len(tables["users"]))
    width = user_id_width(n_users)
    for name, frame in tables.items():
        if "user_id" in frame.columns:
            _column(frame, "user_id", _renumbered_users(pa.array(frame["user_id"], pa.string()), first_user, width))
        if "account_id" in frame.columns:
            col = frame["account_id"]
            ids = col.cat.categories if isinstance(col.dtype, pd.CategoricalDtype) else col
            _column(frame, "account_id", _renumbered_accounts(pa.array(ids, pa.string()), shard_width,
                                                               first_user, width))
        if name == "transactions":
            _column(frame, "transaction_id", _prefixed(pa.array(frame["transaction_id"], pa.string()), "t", shard))
        if name == "consent_events":
            _column(frame, "event_id", _prefixed(pa.array(frame["event_id"], pa.string()), "ce", shard))
    return tables


def write_sharded_dataset(n_users: int, seed: int, as_of: dt.date, out_dir: Path | str, config=None,
                          shard_users: int = SHARD_USERS, progress: bool = False) -> Path:
    """Generate n_users in shards of shard_users and write them as Parquet parts under out_dir (atomically)."""
    out_dir = Path(out_dir)
    sizes = shard_sizes(n_users, shard_users)
    token = f"{os.getpid()}-{uuid.uuid4().hex[:8]}"
    staging = out_dir.parent / f".{out_dir.name}.tmp-{token}"
    (staging / "parquet").mkdir(parents=True)
    (staging / "ground_truth").mkdir()
    rows = dict.fromkeys((*schema.TABLE_ORDER, "ground_truth"), 0)
    archetypes: dict[str, int] = {}
    facts = {}
    try:
        for shard, size in enumerate(tqdm(sizes, desc="generate shards", unit="shard", leave=False,
                                          disable=not progress)):
            made = generate(size, seed + shard * SHARD_SEED_STRIDE, as_of, config=config)
            tables = renumbered_tables(made.tables, shard, shard * shard_users, n_users)
            part = f"part-{shard:03d}.parquet"
            for name in schema.TABLE_ORDER:
                (staging / "parquet" / name).mkdir(exist_ok=True)
                pq.write_table(frame_to_arrow(name, tables[name]), staging / "parquet" / name / part,
                               compression="zstd", store_schema=False, row_group_size=1_000_000)
            truth = pa.Table.from_pandas(tables["ground_truth"][list(GROUND_TRUTH_COLUMNS)], preserve_index=False)
            pq.write_table(truth.replace_schema_metadata(None), staging / "ground_truth" / part, store_schema=False)
            shard_manifest = manifest(tables, ("parquet",))
            facts = {k: shard_manifest[k] for k in ("generator_version", "history_start", "config_sha256")}
            for name, count in shard_manifest["row_counts"].items():
                rows[name] += count
            for label, count in shard_manifest["archetype_counts"].items():
                archetypes[label] = archetypes.get(label, 0) + count
            del made, tables
        about = {
            **facts, "seed": seed, "n_users": n_users, "as_of": as_of.isoformat(), "formats": ["parquet"],
            "shards": {"count": len(sizes), "users": shard_users, "seeds": f"seed + shard * {SHARD_SEED_STRIDE}"},
            "row_counts": rows, "archetype_counts": dict(sorted(archetypes.items())),
            "layout": {"parquet": "parquet/<table>/part-<shard>.parquet",
                       "ground_truth": "ground_truth/part-<shard>.parquet (not an input of the pipeline)"},
        }
        (staging / "manifest.json").write_text(json.dumps(about, indent=2) + "\n", encoding="utf-8")
        swap_in(staging, out_dir, token)
    except BaseException:
        shutil.rmtree(staging, ignore_errors=True)
        raise
    return out_dir


def table_glob(dataset_dir: Path | str, table: str) -> str:
    """The Parquet file(s) of one table of a dataset folder, sharded or not, as a path or glob DuckDB reads."""
    base = Path(dataset_dir) / "parquet"
    return str(base / table / "*.parquet") if (base / table).is_dir() else str(base / f"{table}.parquet")


def shard_folders(dataset_dir: Path | str, into: Path | str) -> list[Path]:
    """One input folder per shard under `into` (links to its parts, named <table>.parquet), for ingesting a
    sharded dataset one shard per batch; an unsharded dataset is its own single folder."""
    base = Path(dataset_dir) / "parquet"
    parts = sorted(p.name for p in (base / "users").glob("part-*.parquet")) if (base / "users").is_dir() else []
    if not parts:
        return [Path(dataset_dir)]
    folders = []
    for part in parts:
        folder = Path(into) / part.removesuffix(".parquet")
        folder.mkdir(parents=True, exist_ok=True)
        for table in schema.TABLE_ORDER:
            link = folder / f"{table}.parquet"
            if not link.exists():
                link.symlink_to((base / table / part).resolve())
        folders.append(folder)
    return folders


def ground_truth(dataset_dir: Path | str) -> pd.DataFrame | None:
    """The dataset's ground truth (all shards), or None if it has none."""
    folder = Path(dataset_dir) / "ground_truth"
    files = sorted(folder.glob("*.parquet")) if folder.is_dir() else []
    return pd.concat([pd.read_parquet(f) for f in files], ignore_index=True) if files else None


__all__ = ["SHARD_USERS", "ground_truth", "renumbered_tables", "shard_folders", "shard_sizes", "table_glob",
           "write_sharded_dataset"]
