"""Writing a dataset: layout, determinism (byte-identical files), atomic replacement, manifest."""

from __future__ import annotations

import datetime as dt
import hashlib
import json

import duckdb
import pandas as pd
import pytest

from spendsense import schema
from spendsense.generate import synthetic_tables, write_dataset
from spendsense.generate.writers import parse_formats

AS_OF = dt.date(2026, 10, 31)


def _digests(folder):
    return {
        str(p.relative_to(folder)): hashlib.sha256(p.read_bytes()).hexdigest()
        for p in sorted(folder.rglob("*"))
        if p.is_file()
    }


def test_layout(written):
    for table in schema.TABLE_ORDER:
        assert (written / "parquet" / f"{table}.parquet").is_file()
        assert (written / "csv" / f"{table}.csv").is_file()
    assert (written / "ground_truth" / "ground_truth.parquet").is_file()
    assert (written / "json" / "u00001.transactions.json").is_file()
    assert (written / "json" / "u00001.liabilities.json").is_file()
    # the ground truth lives only in ground_truth/
    others = [p for p in written.rglob("*") if "ground" in p.name and p.parent.name != written.name]
    assert [p.relative_to(written).as_posix() for p in others] == ["ground_truth/ground_truth.parquet"]
    assert not list(written.parent.glob(".*tmp*")) and not list(written.parent.glob(".*old*"))


def test_manifest(written, small_run):
    manifest = json.loads((written / "manifest.json").read_text())
    assert manifest["seed"] == 42 and manifest["n_users"] == 30 and manifest["as_of"] == "2026-10-31"
    assert manifest["generator_version"]
    assert manifest["row_counts"]["transactions"] == len(small_run.tables["transactions"])
    assert manifest["formats"] == ["parquet", "csv", "json"]


def test_parquet_and_csv_carry_the_contract_types(written):
    con = duckdb.connect()
    for table in schema.TABLE_ORDER:
        for fmt, reader in (("parquet", "read_parquet"), ("csv", "read_csv")):
            path = written / fmt / f"{table}.{fmt}"
            cols = con.execute(f"describe select * from {reader}('{path}')").fetchall()
            names = [c[0] for c in cols]
            assert names == list(schema.column_names(table)), (fmt, table)
            if fmt == "parquet":
                types = {c[0]: c[1] for c in cols}
                for c in schema.TABLES[table]:
                    assert types[c.name] == c.dtype, (table, c.name, types[c.name])


def test_parquet_round_trip(written, small_run):
    back = pd.read_parquet(written / "parquet" / "transactions.parquet")
    ours = small_run.tables["transactions"]
    assert len(back) == len(ours)
    assert (back["transaction_id"] == ours["transaction_id"]).all()
    assert (back["name"] == ours["name"].astype(str)).all()
    assert (back["amount"] == ours["amount"]).all()


def test_same_seed_gives_identical_bytes(tmp_path):
    first = write_dataset(synthetic_tables(15, 3, AS_OF), tmp_path / "a")
    second = write_dataset(synthetic_tables(15, 3, AS_OF), tmp_path / "b")
    a, b = _digests(first), _digests(second)
    assert len(a) == 8 + 8 + 30 + 2  # parquet, csv, json, ground truth + manifest
    assert a == b
    other = write_dataset(synthetic_tables(15, 4, AS_OF), tmp_path / "c", formats=("parquet",))
    assert _digests(other)["parquet/transactions.parquet"] != a["parquet/transactions.parquet"]


def test_formats_subset(tmp_path):
    out = write_dataset(synthetic_tables(5, 1, AS_OF), tmp_path / "p", formats="parquet")
    assert sorted(p.name for p in out.iterdir()) == ["ground_truth", "manifest.json", "parquet"]


def test_unknown_format_rejected(tmp_path):
    with pytest.raises(ValueError, match="xml"):
        parse_formats("parquet,xml")
    with pytest.raises(ValueError):
        parse_formats("")


def test_failed_write_leaves_previous_dataset_intact(tmp_path):
    out = write_dataset(synthetic_tables(5, 1, AS_OF), tmp_path / "ds", formats=("parquet", "csv"))
    before = _digests(out)
    broken = synthetic_tables(5, 2, AS_OF)
    aprs = broken["credit_aprs"].copy()
    aprs["apr_percentage"] = aprs["apr_percentage"].astype(object)
    aprs.loc[aprs.index[0], "apr_percentage"] = "not a number"  # fails mid-way, after 5 tables are written
    broken["credit_aprs"] = aprs
    with pytest.raises(ValueError, match=r"credit_aprs\.apr_percentage"):
        write_dataset(broken, out, formats=("parquet", "csv"))
    assert _digests(out) == before
    assert sorted(p.name for p in tmp_path.iterdir()) == ["ds"]  # no staging folder left behind


def test_failed_first_write_leaves_nothing(tmp_path):
    broken = synthetic_tables(5, 2, AS_OF)
    broken["transactions"] = broken["transactions"].drop(columns=["pending"])
    with pytest.raises(ValueError, match="transactions"):
        write_dataset(broken, tmp_path / "new")
    assert list(tmp_path.iterdir()) == []


def test_replacing_an_existing_dataset(tmp_path):
    out = write_dataset(synthetic_tables(5, 1, AS_OF), tmp_path / "ds", formats=("parquet",))
    (out / "stale.txt").write_text("old")
    write_dataset(synthetic_tables(6, 1, AS_OF), out, formats=("parquet",))
    assert not (out / "stale.txt").exists()
    assert json.loads((out / "manifest.json").read_text())["n_users"] == 6
