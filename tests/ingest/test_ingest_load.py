"""Valid input loads: counts, types, business exclusion, user_id on transactions, replacement, consent to opstore."""

from __future__ import annotations

import json
from pathlib import Path

import duckdb
import pandas as pd
import pyarrow as pa
import pyarrow.parquet as pq
import pytest
from ingest_tiny_dataset import (
    EXPECTED_ROWS,
    arrow_table,
    fingerprint,
    tiny_tables,
    write_csv,
    write_json,
    write_parquet,
)

from spendsense import opstore
from spendsense.ingest import IngestError, ingest
from spendsense.schema import TABLE_ORDER, TABLES

WRITERS = {"csv": write_csv, "parquet": write_parquet, "json": write_json}


def dataset(tmp_path: Path, fmt: str, tables=None) -> Path:
    root = tmp_path / f"data-{fmt}"
    WRITERS[fmt](tables if tables is not None else tiny_tables(), root / fmt)
    return root


def read(db: Path, sql: str) -> pd.DataFrame:
    with duckdb.connect(str(db), read_only=True) as con:
        return con.execute(sql).df()


@pytest.mark.parametrize("fmt", ["csv", "parquet"])
def test_valid_tables_load_with_expected_counts(fmt, tmp_path):
    db, ops = tmp_path / "w.duckdb", tmp_path / "ops.sqlite"
    report = ingest([dataset(tmp_path, fmt)], db, ops)
    assert report.rows == EXPECTED_ROWS
    assert report.business_accounts_excluded == 1
    assert report.business_rows_excluded == {"transactions": 2, "credit_liabilities": 0, "credit_aprs": 0,
                                             "mortgage_liabilities": 0, "student_liabilities": 0}
    assert len(report.files) == 8
    assert report.consent_events_added == 3
    for table, n in EXPECTED_ROWS.items():
        assert read(db, f"select count(*) as n from {table}")["n"][0] == n


def test_plaid_json_loads_without_users(tmp_path):
    report = ingest([dataset(tmp_path, "json")], tmp_path / "w.duckdb")
    assert report.rows == {**EXPECTED_ROWS, "users": 2, "consent_events": 0}  # each item (file) is a user
    users = read(tmp_path / "w.duckdb", "select distinct user_id from accounts order by 1")["user_id"].tolist()
    assert users == ["u1", "u2"]  # from the file names u1.transactions.json, ...
    derived = read(tmp_path / "w.duckdb", "select * from users order by user_id")
    assert derived["user_id"].tolist() == ["u1", "u2"]
    assert set(derived[["age_band", "gender", "region", "income_tier"]].stack()) == {"unknown"}
    assert derived["credit_score"].isna().all()
    assert any("2 user(s) derived from accounts" in n for n in report.notes)


def test_warehouse_columns_and_types_follow_the_contract(tmp_path):
    db = tmp_path / "w.duckdb"
    ingest([dataset(tmp_path, "csv")], db)
    for table in TABLE_ORDER:
        described = read(db, f"describe {table}")
        got = list(zip(described["column_name"], described["column_type"]))
        want = [(c.name, c.dtype) for c in TABLES[table]]
        if table == "transactions":
            want.insert(2, ("user_id", "VARCHAR"))
        assert got == want, table


def test_all_three_formats_give_the_same_warehouse(tmp_path):
    dbs = {}
    for fmt in WRITERS:
        dbs[fmt] = tmp_path / f"{fmt}.duckdb"
        ingest([dataset(tmp_path, fmt)], dbs[fmt])
    for table in ("accounts", "transactions", "credit_liabilities", "credit_aprs", "mortgage_liabilities",
                  "student_liabilities"):
        frames = {fmt: read(db, f"select * from {table}") for fmt, db in dbs.items()}
        pd.testing.assert_frame_equal(frames["csv"], frames["parquet"])
        pd.testing.assert_frame_equal(frames["csv"], frames["json"])


def test_business_accounts_and_their_rows_are_excluded(tmp_path):
    db = tmp_path / "w.duckdb"
    ingest([dataset(tmp_path, "parquet")], db)
    assert "b1" not in read(db, "select account_id from accounts")["account_id"].tolist()
    assert read(db, "select count(*) as n from transactions where account_id = 'b1' or transaction_id in "
                    "('t8', 't9')")["n"][0] == 0
    assert set(read(db, "select distinct holder_category from accounts")["holder_category"]) == {"personal"}


def test_transactions_carry_the_user_of_their_account(tmp_path):
    db = tmp_path / "w.duckdb"
    ingest([dataset(tmp_path, "csv")], db)
    got = read(db, "select transaction_id, user_id from transactions order by transaction_id")
    assert dict(zip(got["transaction_id"], got["user_id"])) == {
        "t1": "u1", "t2": "u1", "t3": "u1", "t4": "u1", "t5": "u1", "t6": "u1", "t7": "u2"}


def test_values_are_typed_and_exact(tmp_path):
    db = tmp_path / "w.duckdb"
    ingest([dataset(tmp_path, "csv")], db)
    t2 = read(db, "select * from transactions where transaction_id = 't2'").iloc[0]
    assert t2["amount"] == 82.15 and t2["date"] == pd.Timestamp("2026-10-03") and not t2["pending"]
    assert t2["payment_channel"] == "in store"
    assert read(db, "select pending from transactions where transaction_id = 't7'")["pending"][0]
    assert pd.isna(read(db, "select merchant_name from transactions where transaction_id = 't1'")["merchant_name"][0])
    a1 = read(db, "select mask, balance_limit from accounts where account_id = 'a1'").iloc[0]
    assert a1["mask"] == "1111" and pd.isna(a1["balance_limit"])
    e3 = read(db, "select occurred_at from consent_events where event_id = 'e3'")["occurred_at"][0]
    assert e3 == pd.Timestamp("2026-06-01 12:00:00")
    assert read(db, "select credit_score from users where user_id = 'u2'")["credit_score"][0] == 780


def test_missing_holder_category_means_personal(tmp_path):
    tables = tiny_tables()
    tables["accounts"].loc[0, "holder_category"] = None
    db = tmp_path / "w.duckdb"
    ingest([dataset(tmp_path, "csv", tables)], db)
    assert read(db, "select holder_category from accounts where account_id = 'a1'")["holder_category"][0] == "personal"


def test_reingest_replaces_raw_tables_and_keeps_other_tables(tmp_path):
    db = tmp_path / "w.duckdb"
    ingest([dataset(tmp_path, "csv")], db)
    with duckdb.connect(str(db)) as con:
        con.execute("create table signals as select 'u1' as user_id, 1.0 as value")
    tables = tiny_tables()
    tables["transactions"] = tables["transactions"].iloc[:3]
    report = ingest([dataset(tmp_path / "second", "csv", tables)], db)
    assert report.rows["transactions"] == 3
    assert read(db, "select count(*) as n from transactions")["n"][0] == 3
    assert read(db, "select count(*) as n from signals")["n"][0] == 1


def test_consent_events_reach_the_opstore_once(tmp_path, opstore_location):
    ops = opstore_location  # an SQLite file, then a PostgreSQL database
    path = dataset(tmp_path, "csv")
    assert ingest([path], tmp_path / "w.duckdb", ops).consent_events_added == 3
    assert ingest([path], tmp_path / "w.duckdb", ops).consent_events_added == 0
    con = opstore.connect(ops)
    try:
        status = opstore.consent_status(con).set_index("user_id")["status"].to_dict()
        assert status == {"u1": "granted", "u2": "revoked"}
        assert len(opstore.consent_events(con)) == 3
        assert opstore.audit_log(con)["action"].tolist() == ["consent.import"]
    finally:
        con.close()


def test_no_opstore_path_means_the_opstore_is_not_touched(tmp_path, monkeypatch):
    monkeypatch.setenv("SPENDSENSE_OPSTORE", str(tmp_path / "default.sqlite"))
    report = ingest([dataset(tmp_path, "csv")], tmp_path / "w.duckdb")
    assert report.opstore_path is None and report.consent_events_added == 0
    assert not (tmp_path / "default.sqlite").exists()


def test_directory_prefers_parquet_and_never_reads_ground_truth(tmp_path):
    root = tmp_path / "data"
    write_parquet(tiny_tables(), root / "parquet")
    (root / "csv").mkdir()
    (root / "csv" / "transactions.csv").write_text("garbage\n\"unterminated")
    (root / "ground_truth").mkdir()
    (root / "ground_truth" / "ground_truth.parquet").write_bytes(b"not parquet")
    report = ingest([root], tmp_path / "w.duckdb")
    assert all("/parquet/" in f for f in report.files)
    assert report.rows == EXPECTED_ROWS


def test_single_files_of_mixed_formats_load_together(tmp_path):
    csv_dir = write_csv(tiny_tables(), tmp_path / "csv")
    pq_dir = write_parquet(tiny_tables(), tmp_path / "pq")
    files = [csv_dir / "users.csv", pq_dir / "accounts.parquet", csv_dir / "transactions.csv"]
    report = ingest(files, tmp_path / "w.duckdb")
    assert report.rows["users"] == 2 and report.rows["accounts"] == 5 and report.rows["transactions"] == 7
    assert report.rows["credit_aprs"] == 0


def test_parquet_dates_written_as_midnight_timestamps_load(tmp_path):
    folder = write_parquet(tiny_tables(), tmp_path / "data" / "parquet")
    table = arrow_table("transactions", tiny_tables()["transactions"])
    idx = table.schema.get_field_index("date")
    stamps = [pd.Timestamp(d).to_pydatetime() for d in tiny_tables()["transactions"]["date"]]
    pq.write_table(table.set_column(idx, "date", pa.array(stamps, pa.timestamp("ns"))),
                   folder / "transactions.parquet")
    db = tmp_path / "w.duckdb"
    ingest([tmp_path / "data"], db)
    assert read(db, "select min(date) as d from transactions")["d"][0] == pd.Timestamp("2026-10-01")


def test_warehouse_in_a_new_folder_is_created(tmp_path):
    db = tmp_path / "runs" / "r1" / "warehouse.duckdb"
    ingest([dataset(tmp_path, "csv")], db)
    assert db.exists()


def test_json_sync_response_applies_added_modified_and_removed(tmp_path):
    folder = write_json(tiny_tables(), tmp_path / "json")
    txns = json.loads((folder / "u1.transactions.json").read_text())["transactions"]
    modified = dict(txns[1], amount=99.99)
    sync = {"added": [txns[1]], "modified": [modified], "removed": [{"transaction_id": "t3"}],
            "next_cursor": "c", "has_more": False}
    # a later file wins: "u1.transactions.sync.json" sorts after "u1.transactions.json"
    (folder / "u1.transactions.sync.json").write_text(json.dumps(sync))
    db = tmp_path / "w.duckdb"
    report = ingest([folder], db)
    assert report.rows["transactions"] == 6  # t3 removed
    assert read(db, "select amount from transactions where transaction_id = 't2'")["amount"][0] == 99.99
    assert any("removed by /transactions/sync" in n for n in report.notes)


def test_json_user_is_the_item_id_when_present(tmp_path):
    folder = write_json(tiny_tables(), tmp_path / "json")
    doc = json.loads((folder / "u1.transactions.json").read_text())
    doc["item"] = {"item_id": "item-123", "institution_id": "ins_1"}
    (folder / "u1.transactions.json").write_text(json.dumps(doc))
    db = tmp_path / "w.duckdb"
    ingest([folder], db)
    users = read(db, "select distinct user_id from accounts order by 1")["user_id"].tolist()
    # u1.liabilities.json has no item: it takes the user that the other response names for the same accounts
    assert users == ["item-123", "u2"]


def test_failed_load_leaves_an_existing_warehouse_unchanged(tmp_path):
    """A database error during the write (here: the file is locked by another connection) changes nothing."""
    db, path = tmp_path / "w.duckdb", dataset(tmp_path, "csv")
    ingest([path], db)
    before = fingerprint(db)
    holder = duckdb.connect(str(db))  # holds DuckDB's file lock
    try:
        with pytest.raises(duckdb.Error):
            ingest([path], db)
    finally:
        holder.close()
    assert fingerprint(db) == before


def test_ingest_error_is_a_value_error_with_problems(tmp_path):
    with pytest.raises(ValueError) as caught:
        ingest([tmp_path / "absent"], tmp_path / "w.duckdb")
    assert isinstance(caught.value, IngestError)
    assert caught.value.problems[0].file == str(tmp_path / "absent")


def test_large_input_is_staged_on_disk_with_the_same_result(tmp_path, monkeypatch):
    """Above IN_MEMORY_STAGING_BYTES the staging database is a temporary file; results must not differ."""
    import spendsense.ingest as ingest_module

    path = dataset(tmp_path, "csv")
    in_memory = ingest([path], tmp_path / "memory.duckdb")
    monkeypatch.setattr(ingest_module, "IN_MEMORY_STAGING_BYTES", 0)
    on_disk = ingest([path], tmp_path / "disk.duckdb")
    assert on_disk.rows == in_memory.rows == EXPECTED_ROWS
    for table in TABLE_ORDER:
        pd.testing.assert_frame_equal(read(tmp_path / "memory.duckdb", f"select * from {table}"),
                                      read(tmp_path / "disk.duckdb", f"select * from {table}"))
    tables = tiny_tables()
    tables["transactions"].loc[0, "payment_channel"] = "carrier pigeon"
    with pytest.raises(IngestError, match="data row 1, field payment_channel"):
        ingest([dataset(tmp_path / "bad", "csv", tables)], tmp_path / "disk.duckdb")


def test_opstore_failure_after_the_warehouse_load_says_how_to_finish(tmp_path):
    from spendsense.ingest import OpstoreWriteError

    blocked = tmp_path / "not-a-database"
    blocked.mkdir()  # a directory where the opstore file should be: SQLite cannot open it
    with pytest.raises(OpstoreWriteError, match="Re-run ingest"):
        ingest([dataset(tmp_path, "csv")], tmp_path / "w.duckdb", blocked)
    assert read(tmp_path / "w.duckdb", "select count(*) as n from transactions")["n"][0] == 7


@pytest.mark.parametrize("fmt", ["csv", "parquet", "json"])
def test_ingest_never_stores_a_business_account(fmt, tmp_path):
    """The guarantee the signal SQL relies on (it has no business filter): whatever holder_category an account has
    (business, personal, missing), the warehouse holds no business account and no row of one."""
    tables = tiny_tables()
    accounts = tables["accounts"].copy()
    holders = ["business", None, "personal", "business", None, "business"]
    accounts["holder_category"] = [holders[i % len(holders)] for i in range(len(accounts))]
    tables["accounts"] = accounts
    business = set(accounts.loc[accounts["holder_category"] == "business", "account_id"])
    db = tmp_path / "w.duckdb"
    report = ingest([dataset(tmp_path, fmt, tables)], db)
    assert report.business_accounts_excluded == len(business) > 1
    stored = read(db, "select account_id, holder_category from accounts")
    assert set(stored["holder_category"]) == {"personal"} and not business & set(stored["account_id"])
    assert len(stored) == len(accounts) - len(business)
    for table in ("transactions", "credit_liabilities", "credit_aprs", "mortgage_liabilities", "student_liabilities"):
        orphans = read(db, f"select count(*) as n from {table} where account_id not in (select account_id from accounts)")
        assert orphans["n"][0] == 0, table
