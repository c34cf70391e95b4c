"""A corpus of malformed inputs: each is rejected naming file, row and field, and nothing is written.

Every case starts from the tiny valid dataset (conftest.py), breaks exactly one thing, and checks that
- ingest raises IngestError with a Problem for the expected file, row (CSV data row from 1, Parquet row index from
  0, JSON path) and field, whose reason says what is wrong, and that the report text shows it;
- an existing warehouse and opstore are byte-for-byte unchanged, and paths that did not exist still do not.
"""

from __future__ import annotations

import datetime as dt
import json
import shutil
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

import pandas as pd
import pyarrow as pa
import pyarrow.parquet as pq
import pytest
from ingest_tiny_dataset import arrow_table, fingerprint, tiny_tables, write_csv, write_json, write_parquet

from spendsense.ingest import IngestError, ingest
from spendsense.ingest.problems import REPORT_CAP


@dataclass(frozen=True)
class Case:
    """One malformed input: how to break the valid dataset and what the report must say."""

    id: str
    fmt: str  # the format the dataset is written in: csv | parquet | json
    file: str  # expected file name
    row: int | str | None  # expected Problem.row
    field: str | None  # expected Problem.field
    reason: str  # expected substring of Problem.reason
    edit_tables: Callable[[dict[str, pd.DataFrame]], None] | None = None
    edit_files: Callable[[Path], None] | None = None  # gets the folder holding the written files


def set_value(table: str, index: int, column: str, value) -> Callable:
    """An edit setting one cell (the cell's column becomes text, as it would be in a hand-edited file)."""
    def edit(tables):
        df = tables[table]
        df[column] = df[column].astype(object)
        df.loc[index, column] = value
    return edit


def edit_text(name: str, old: str, new: str) -> Callable:
    """An edit replacing text in one written file."""
    def edit(folder: Path):
        path = folder / name
        text = path.read_text(encoding="utf-8")
        assert old in text, f"{old!r} not in {name}"
        path.write_text(text.replace(old, new, 1), encoding="utf-8")
    return edit


def edit_json(name: str, change: Callable[[dict], None]) -> Callable:
    """An edit changing one JSON document."""
    def edit(folder: Path):
        path = folder / name
        doc = json.loads(path.read_text(encoding="utf-8"))
        change(doc)
        path.write_text(json.dumps(doc), encoding="utf-8")
    return edit


def drop_column(table: str, column: str) -> Callable:
    def edit(tables):
        tables[table] = tables[table].drop(columns=[column])
    return edit


def add_column(table: str, column: str, value) -> Callable:
    def edit(tables):
        tables[table][column] = value
    return edit


def write_parquet_with_nan(folder: Path) -> None:
    """transactions.parquet whose row index 1 amount is a real IEEE NaN (not a null)."""
    t = tiny_tables()["transactions"]
    table = arrow_table("transactions", t)
    amounts = table.column("amount").to_pylist()
    amounts[1] = float("nan")
    table = table.set_column(table.schema.get_field_index("amount"), "amount", pa.array(amounts, pa.float64()))
    pq.write_table(table, folder / "transactions.parquet")


def write_parquet_date_as_boolean(folder: Path) -> None:
    """accounts fine, but transactions.parquet stores `date` as booleans."""
    table = arrow_table("transactions", tiny_tables()["transactions"])
    idx = table.schema.get_field_index("date")
    table = table.set_column(idx, "date", pa.array([True] * table.num_rows, pa.bool_()))
    pq.write_table(table, folder / "transactions.parquet")


def write_parquet_datetime_dates(folder: Path) -> None:
    """transactions.parquet with `date` as timestamps; row index 3 is not at midnight."""
    table = arrow_table("transactions", tiny_tables()["transactions"])
    values = [pd.Timestamp(d) for d in tiny_tables()["transactions"]["date"]]
    values[3] = values[3] + pd.Timedelta(hours=10, minutes=30)
    idx = table.schema.get_field_index("date")
    table = table.set_column(idx, "date", pa.array([v.to_pydatetime() for v in values], pa.timestamp("us")))
    pq.write_table(table, folder / "transactions.parquet")


def corrupt(name: str) -> Callable:
    def edit(folder: Path):
        data = (folder / name).read_bytes()
        (folder / name).write_bytes(data[: len(data) // 2])
    return edit


def duplicate_first_transaction_in_json(doc: dict) -> None:
    doc["transactions"].append(dict(doc["transactions"][0]))


CASES = [
    # --- columns
    Case("csv-missing-column", "csv", "transactions.csv", None, "pending", "missing column",
         edit_tables=drop_column("transactions", "pending")),
    Case("csv-extra-column", "csv", "accounts.csv", None, "color", "unexpected column",
         edit_tables=add_column("accounts", "color", "blue")),
    Case("csv-duplicate-header", "csv", "transactions.csv", None, "amount", "more than once",
         edit_files=edit_text("transactions.csv", "iso_currency_code,name", "amount,name")),
    Case("parquet-wrong-column-type", "parquet", "transactions.parquet", None, "date", "type BOOLEAN",
         edit_files=write_parquet_date_as_boolean),
    # --- types
    Case("csv-unparseable-amount", "csv", "transactions.csv", 3, "amount", "'abc' is not a number",
         edit_tables=set_value("transactions", 2, "amount", "abc")),
    Case("csv-nan-amount", "csv", "transactions.csv", 1, "amount", "not a finite number",
         edit_tables=set_value("transactions", 0, "amount", "NaN")),
    Case("csv-infinite-amount", "csv", "transactions.csv", 7, "amount", "not a finite number",
         edit_tables=set_value("transactions", 6, "amount", "-inf")),
    Case("parquet-nan-amount", "parquet", "transactions.parquet", 1, "amount", "not a finite number",
         edit_files=write_parquet_with_nan),
    Case("csv-bad-boolean", "csv", "transactions.csv", 2, "pending", "not true or false",
         edit_tables=set_value("transactions", 1, "pending", "maybe")),
    Case("csv-bad-integer", "csv", "users.csv", 2, "credit_score", "not a whole number",
         edit_tables=set_value("users", 1, "credit_score", "780.5")),
    Case("csv-credit-score-out-of-range", "csv", "users.csv", 1, "credit_score", "outside 300-850",
         edit_tables=set_value("users", 0, "credit_score", 900)),
    Case("csv-bad-timestamp", "csv", "consent_events.csv", 2, "occurred_at", "not a valid timestamp",
         edit_tables=set_value("consent_events", 1, "occurred_at", "yesterday")),
    # --- dates
    Case("csv-impossible-date", "csv", "transactions.csv", 4, "date", "'2026-02-30' is not a valid date",
         edit_tables=set_value("transactions", 3, "date", "2026-02-30")),
    Case("csv-date-before-1970", "csv", "transactions.csv", 5, "authorized_date", "outside the plausible range",
         edit_tables=set_value("transactions", 4, "authorized_date", "1969-12-31")),
    Case("parquet-date-before-1970", "parquet", "transactions.parquet", 4, "authorized_date",
         "'1969-12-31' is outside the plausible range",
         edit_tables=set_value("transactions", 4, "authorized_date", dt.date(1969, 12, 31))),  # stays DATE
    Case("parquet-date-with-time", "parquet", "transactions.parquet", 3, "date", "not a valid date",
         edit_files=write_parquet_datetime_dates),
    # --- required values
    Case("csv-empty-required", "csv", "transactions.csv", 6, "name", "missing value",
         edit_tables=set_value("transactions", 5, "name", "")),
    Case("parquet-null-required", "parquet", "accounts.parquet", 2, "iso_currency_code", "missing value",
         edit_tables=set_value("accounts", 2, "iso_currency_code", None)),
    Case("parquet-null-required-number", "parquet", "transactions.parquet", 3, "amount", "missing value",
         edit_tables=set_value("transactions", 3, "amount", None)),  # stays DOUBLE: the typed fast path
    # --- allowed values
    Case("csv-unknown-account-type", "csv", "accounts.csv", 3, "type", "'crypto' is not an allowed account type",
         edit_tables=set_value("accounts", 2, "type", "crypto")),
    Case("csv-subtype-not-of-type", "csv", "accounts.csv", 2, "subtype",
         "'checking' is not a subtype of account type 'credit'",
         edit_tables=set_value("accounts", 1, "subtype", "checking")),
    Case("csv-unknown-payment-channel", "csv", "transactions.csv", 8, "payment_channel", "'mail' is not an allowed",
         edit_tables=set_value("transactions", 7, "payment_channel", "mail")),
    Case("csv-unknown-category-code", "csv", "transactions.csv", 2, "pfc_detailed", "personal_finance_category",
         edit_tables=set_value("transactions", 1, "pfc_detailed", "FOOD_AND_DRINK_SPACE_FOOD")),
    Case("csv-unknown-currency", "csv", "accounts.csv", 1, "iso_currency_code", "'XYZ' is not a supported currency",
         edit_tables=set_value("accounts", 0, "iso_currency_code", "XYZ")),
    Case("csv-unknown-consent-event", "csv", "consent_events.csv", 3, "event", "'paused' is not an allowed",
         edit_tables=set_value("consent_events", 2, "event", "paused")),
    Case("csv-bad-mask", "csv", "accounts.csv", 1, "mask", "'12a4' is not exactly 4 digits",
         edit_tables=set_value("accounts", 0, "mask", "12a4")),
    Case("csv-negative-credit-limit", "csv", "accounts.csv", 2, "balance_limit", "negative",
         edit_tables=set_value("accounts", 1, "balance_limit", -5000.0)),
    Case("parquet-negative-apr", "parquet", "credit_aprs.parquet", 0, "apr_percentage", "negative",
         edit_tables=set_value("credit_aprs", 0, "apr_percentage", -1.0)),
    # --- keys and references
    Case("csv-duplicate-transaction-id", "csv", "transactions.csv", 6, "transaction_id",
         "duplicate transactions key transaction_id = 't2' (first seen at",
         edit_tables=set_value("transactions", 5, "transaction_id", "t2")),
    Case("csv-transaction-unknown-account", "csv", "transactions.csv", 5, "account_id",
         "'a9' matches no row of accounts", edit_tables=set_value("transactions", 4, "account_id", "a9")),
    Case("parquet-liability-unknown-account", "parquet", "credit_aprs.parquet", 1, "account_id",
         "'zz' matches no row of accounts", edit_tables=set_value("credit_aprs", 1, "account_id", "zz")),
    Case("csv-account-unknown-user", "csv", "accounts.csv", 3, "user_id", "'u3' matches no row of users",
         edit_tables=set_value("accounts", 2, "user_id", "u3")),
    # --- file structure
    Case("csv-ragged-row", "csv", "transactions.csv", 3, None, "malformed CSV record (too many columns)",
         edit_files=edit_text("transactions.csv", "ENTERTAINMENT_TV_AND_MOVIES,HIGH,False",
                              "ENTERTAINMENT_TV_AND_MOVIES,HIGH,False,surplus")),
    Case("csv-unknown-table-file", "csv", "transaction.csv", None, None, "unknown table 'transaction'",
         edit_files=lambda folder: shutil.copy(folder / "transactions.csv", folder / "transaction.csv")),
    Case("parquet-truncated-file", "parquet", "accounts.parquet", None, None, "cannot read Parquet",
         edit_files=corrupt("accounts.parquet")),
    # --- Plaid JSON
    Case("json-unparseable-amount", "json", "u1.transactions.json", "transactions[1]", "amount",
         "'abc' is not a number",
         edit_files=edit_json("u1.transactions.json",
                              lambda d: d["transactions"][1].__setitem__("amount", "abc"))),
    Case("json-unknown-category", "json", "u1.transactions.json", "transactions[0]",
         "personal_finance_category.primary", "personal_finance_category code",
         edit_files=edit_json("u1.transactions.json", lambda d: d["transactions"][0]["personal_finance_category"]
                              .__setitem__("primary", "SPACE_TRAVEL"))),
    Case("json-negative-limit", "json", "u1.liabilities.json", "accounts[1]", "balances.limit", "negative",
         edit_files=edit_json("u1.liabilities.json",
                              lambda d: d["accounts"][1]["balances"].__setitem__("limit", -100))),
    Case("json-liability-unknown-account", "json", "u1.liabilities.json", "liabilities.credit[0]", "account_id",
         "'zz' matches no row of accounts",
         edit_files=edit_json("u1.liabilities.json",
                              lambda d: d["liabilities"]["credit"][0].__setitem__("account_id", "zz"))),
    Case("json-duplicate-transaction", "json", "u1.transactions.json", "transactions[6]", "transaction_id",
         "duplicate transactions key",
         edit_files=edit_json("u1.transactions.json", duplicate_first_transaction_in_json)),
    Case("json-syntax-error", "json", "u2.transactions.json", None, None, "cannot read JSON",
         edit_files=corrupt("u2.transactions.json")),
    Case("json-accounts-not-a-list", "json", "u2.liabilities.json", None, None, "cannot read JSON",
         edit_files=edit_json("u2.liabilities.json", lambda d: d.__setitem__("accounts", {"account_id": "a3"}))),
]


def write_dataset(tables: dict[str, pd.DataFrame], fmt: str, root: Path) -> tuple[Path, Path]:
    """Write a dataset directory (<root>/<fmt>/...); returns (path to ingest, folder of the files)."""
    folder = root / fmt
    {"csv": write_csv, "parquet": write_parquet, "json": write_json}[fmt](tables, folder)
    return root, folder


@pytest.fixture(scope="module")
def baseline(tmp_path_factory) -> Path:
    """A warehouse and opstore loaded from the valid dataset, to copy into each test."""
    root = tmp_path_factory.mktemp("baseline")
    path, _ = write_dataset(tiny_tables(), "csv", root / "data")
    ingest([path], root / "warehouse.duckdb", root / "opstore.sqlite")
    return root


@pytest.mark.parametrize("case", CASES, ids=[c.id for c in CASES])
def test_malformed_input_is_rejected_and_nothing_is_written(case: Case, baseline: Path, tmp_path: Path):
    tables = tiny_tables()
    if case.edit_tables:
        case.edit_tables(tables)
    path, folder = write_dataset(tables, case.fmt, tmp_path / "data")
    if case.edit_files:
        case.edit_files(folder)

    db, ops = tmp_path / "warehouse.duckdb", tmp_path / "opstore.sqlite"
    shutil.copy(baseline / "warehouse.duckdb", db)
    shutil.copy(baseline / "opstore.sqlite", ops)
    before = fingerprint(db, ops)
    with pytest.raises(IngestError) as caught:
        ingest([path], db, ops)
    assert fingerprint(db, ops) == before, "a rejected ingest changed the warehouse or the opstore"

    err = caught.value
    matches = [p for p in err.problems if Path(p.file).name == case.file and p.row == case.row
               and p.field == case.field and case.reason in p.reason]
    assert matches, f"no problem for {case.file} row {case.row} field {case.field} ~ {case.reason!r} in:\n{err}"
    assert str(matches[0]) in str(err)
    assert "nothing was written" in str(err)

    fresh_db, fresh_ops = tmp_path / "new" / "w.duckdb", tmp_path / "new" / "o.sqlite"
    with pytest.raises(IngestError):
        ingest([path], fresh_db, fresh_ops)
    assert not fresh_db.exists() and not fresh_ops.exists() and not fresh_db.parent.exists()


def test_corpus_is_large_enough():
    assert len(CASES) >= 15


def test_report_lists_every_problem_up_to_the_cap_then_counts_the_rest(tmp_path: Path):
    tables = tiny_tables()
    many = pd.concat([tables["transactions"].iloc[[1]]] * 70, ignore_index=True)
    many["transaction_id"] = [f"x{i}" for i in range(70)]
    many["amount"] = "lots"
    tables["transactions"] = many
    tables["accounts"].loc[0, "type"] = "crypto"
    path, _ = write_dataset(tables, "csv", tmp_path / "data")
    with pytest.raises(IngestError) as caught:
        ingest([path], tmp_path / "w.duckdb")
    err = caught.value
    assert err.total == 71
    assert len(err.problems) == 71
    text = str(err)
    assert text.count("is not a number") == REPORT_CAP - 1  # the accounts problem sorts first
    assert f"... and {71 - REPORT_CAP} more" in text
    assert "transactions.csv: amount: 70 x type" in text  # the per-file summary counts everything
    assert "accounts.csv: data row 1, field type: 'crypto'" in text
    assert not (tmp_path / "w.duckdb").exists()


def test_problems_in_several_files_are_all_reported(tmp_path: Path):
    tables = tiny_tables()
    tables["users"].loc[1, "region"] = "atlantis"
    tables["transactions"]["iso_currency_code"] = tables["transactions"]["iso_currency_code"].astype(object)
    tables["transactions"].loc[8, "iso_currency_code"] = "BTC"
    path, _ = write_dataset(tables, "parquet", tmp_path / "data")
    with pytest.raises(IngestError) as caught:
        ingest([path], tmp_path / "w.duckdb")
    found = {(Path(p.file).name, p.row, p.field) for p in caught.value.problems}
    assert found == {("users.parquet", 1, "region"), ("transactions.parquet", 8, "iso_currency_code")}


def test_missing_path_is_reported(tmp_path: Path):
    with pytest.raises(IngestError) as caught:
        ingest([tmp_path / "nope"], tmp_path / "w.duckdb")
    assert "no such file or directory" in str(caught.value)
    assert not (tmp_path / "w.duckdb").exists()


def test_transactions_without_accounts_are_rejected(tmp_path: Path):
    folder = write_csv(tiny_tables(), tmp_path / "csv")
    with pytest.raises(IngestError) as caught:
        ingest([folder / "transactions.csv"], tmp_path / "w.duckdb")
    assert "transactions given without accounts" in str(caught.value)


def test_json_account_claimed_by_two_users_is_rejected(tmp_path: Path):
    folder = write_json(tiny_tables(), tmp_path / "json")
    for name, item in (("u1.transactions.json", "item-x"), ("u1.liabilities.json", "item-y")):
        doc = json.loads((folder / name).read_text())
        doc["item"] = {"item_id": item}
        (folder / name).write_text(json.dumps(doc))
    with pytest.raises(IngestError) as caught:
        ingest([folder], tmp_path / "w.duckdb")
    problem = caught.value.problems[0]
    assert problem.field == "account_id" and "belongs to user" in problem.reason
