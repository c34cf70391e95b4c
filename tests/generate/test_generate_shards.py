"""Sharded generation (spendsense.generate.shards): ids renumbered into one dataset, readable by ingest, deterministic."""

from __future__ import annotations

import datetime as dt
import hashlib
import json

import duckdb
import pytest

from spendsense import pipeline
from spendsense.generate.shards import ground_truth, shard_sizes, table_glob, write_sharded_dataset

AS_OF = dt.date(2026, 10, 31)


@pytest.fixture(scope="module")
def sharded(tmp_path_factory):
    return write_sharded_dataset(25, 7, AS_OF, tmp_path_factory.mktemp("shards") / "ds", shard_users=10)


def _scalar(sql: str):
    with duckdb.connect() as con:
        return con.sql(sql).fetchall()[0]


def test_shard_sizes_are_full_shards_then_the_rest():
    assert shard_sizes(25, 10) == [10, 10, 5]
    assert shard_sizes(20, 10) == [10, 10]
    assert shard_sizes(3, 10) == [3]


def test_users_are_numbered_once_across_shards(sharded):
    users = table_glob(sharded, "users")
    assert users.endswith("users/*.parquet")
    assert _scalar(f"select count(*), count(distinct user_id), min(user_id), max(user_id) from '{users}'") == (
        25, 25, "u00001", "u00025")
    assert len(ground_truth(sharded)) == 25


def test_every_id_is_unique_and_every_reference_resolves(sharded):
    g = {t: table_glob(sharded, t) for t in ("users", "accounts", "transactions", "consent_events",
                                            "credit_liabilities")}
    for table, key in (("accounts", "account_id"), ("transactions", "transaction_id"),
                       ("consent_events", "event_id")):
        n, distinct = _scalar(f"select count(*), count(distinct {key}) from '{g[table]}'")
        assert n == distinct > 0, table
    assert _scalar(f"select count(*) from '{g['accounts']}' a anti join '{g['users']}' u using (user_id)") == (0,)
    assert _scalar(f"select count(*) from '{g['accounts']}' where not starts_with(account_id, user_id || '-')") == (0,)
    for table in ("transactions", "credit_liabilities"):
        orphans = _scalar(f"select count(*) from '{g[table]}' t anti join '{g['accounts']}' a using (account_id)")
        assert orphans == (0,), table


def test_manifest_counts_match_the_files_and_ingest_takes_the_folder(sharded, tmp_path):
    about = json.loads((sharded / "manifest.json").read_text())
    assert about["n_users"] == 25 and about["shards"]["count"] == 3
    report = pipeline.ingest_batch([sharded], tmp_path / "raw", tmp_path / "ops.sqlite", progress=False)
    assert report.rows == {t: about["row_counts"][t] for t in report.rows}
    assert report.rows["transactions"] > 0


def _digests(root):
    return {p.relative_to(root).as_posix(): hashlib.sha256(p.read_bytes()).hexdigest()
            for p in sorted(root.rglob("*.parquet"))}


def test_same_seed_same_bytes(sharded, tmp_path):
    again = write_sharded_dataset(25, 7, AS_OF, tmp_path / "again", shard_users=10)
    assert _digests(again) == _digests(sharded)
    assert (again / "manifest.json").read_text() == (sharded / "manifest.json").read_text()


def test_one_batch_per_shard_holds_the_same_rows_as_the_folder_at_once(sharded, tmp_path):
    from spendsense.generate.shards import shard_folders
    from spendsense.ingest import rawstore

    folders = shard_folders(sharded, tmp_path / "links")
    assert [f.name for f in folders] == ["part-000", "part-001", "part-002"]
    for folder in folders:
        pipeline.ingest_batch([folder], tmp_path / "raw", tmp_path / "ops.sqlite", progress=False)
    whole = json.loads((sharded / "manifest.json").read_text())["row_counts"]
    with duckdb.connect() as con:
        assert rawstore.create_run_views(con, tmp_path / "raw", None) == 3
        for table in ("users", "accounts", "transactions"):
            assert con.sql(f"select count(*) from {table}").fetchall()[0][0] == whole[table]
    assert shard_folders(tmp_path / "plain", tmp_path / "unused") == [tmp_path / "plain"]
