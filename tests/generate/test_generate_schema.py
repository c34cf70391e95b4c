"""The generated tables honour the raw-table contract: columns, order, dtypes, enums, keys, taxonomy."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from spendsense import schema
from spendsense.generate.frames import DICTIONARY_COLUMNS, pandas_dtypes


@pytest.mark.parametrize("table", schema.TABLE_ORDER)
def test_columns_in_contract_order(default_run, table):
    assert list(default_run.tables[table].columns) == list(schema.column_names(table))


def test_returns_every_table_and_ground_truth(default_run):
    assert list(default_run.tables) == [*schema.TABLE_ORDER, "ground_truth"]
    assert list(default_run.tables["ground_truth"].columns) == ["user_id", "archetypes", "planted_personas"]


@pytest.mark.parametrize("table", schema.TABLE_ORDER)
def test_dtypes(default_run, table):
    df = default_run.tables[table]
    for column, want in pandas_dtypes(table).items():
        got = df[column].dtype
        if want == "category":
            assert isinstance(got, pd.CategoricalDtype), (table, column, got)
            assert pd.api.types.is_string_dtype(got.categories.dtype), (table, column)
        else:
            assert got == want, (table, column, got, want)
    for c in schema.TABLES[table]:
        if c.dtype == "VARCHAR" and c.name not in DICTIONARY_COLUMNS.get(table, ()):
            assert pd.api.types.is_string_dtype(df[c.name]), (table, c.name)


@pytest.mark.parametrize("table", schema.TABLE_ORDER)
def test_required_columns_have_no_nulls(default_run, table):
    df = default_run.tables[table]
    for c in schema.TABLES[table]:
        if not c.nullable:
            assert df[c.name].notna().all(), (table, c.name)


@pytest.mark.parametrize("table", schema.TABLE_ORDER)
def test_enum_values(default_run, table):
    df = default_run.tables[table]
    for c in schema.TABLES[table]:
        if c.enum:
            values = set(df[c.name].dropna().astype(str))
            assert values <= set(schema.ENUMS[c.enum]), (table, c.name, values - set(schema.ENUMS[c.enum]))


def test_account_subtypes_match_types(default_run):
    accounts = default_run.tables["accounts"]
    for type_, subtype in accounts[["type", "subtype"]].itertuples(index=False):
        assert subtype in schema.ACCOUNT_TYPES[type_]


@pytest.mark.parametrize("table", schema.TABLE_ORDER)
def test_primary_keys_unique(default_run, table):
    df = default_run.tables[table]
    key = list(schema.PRIMARY_KEYS[table])
    assert not df.duplicated(key).any()


@pytest.mark.parametrize("table", sorted(schema.FOREIGN_KEYS))
def test_foreign_keys_resolve(default_run, table):
    column, ref_table, ref_column = schema.FOREIGN_KEYS[table]
    values = set(default_run.tables[table][column].astype(str))
    assert values <= set(default_run.tables[ref_table][ref_column].astype(str))


def test_ids_are_stable_and_padded(default_run):
    users = default_run.tables["users"]["user_id"]
    assert users.iloc[0] == "u00001" and users.iloc[-1] == "u00100"
    tx_ids = default_run.tables["transactions"]["transaction_id"]
    assert tx_ids.str.fullmatch(r"t\d{11}").all()


def test_masks_are_four_digits_and_currency_usd(default_run):
    accounts = default_run.tables["accounts"]
    assert accounts["mask"].str.fullmatch(r"\d{4}").all()
    assert (accounts["iso_currency_code"] == "USD").all()
    assert (default_run.tables["transactions"]["iso_currency_code"] == "USD").all()


def test_every_category_is_in_the_taxonomy(default_run, other_run):
    codes = schema.category_codes()
    for run in (default_run, other_run):
        tx = run.tables["transactions"]
        used = set(tx["pfc_primary"].astype(str)) | set(tx["pfc_detailed"].astype(str))
        assert used <= codes, used - codes
        pairs = set(zip(tx["pfc_primary"].astype(str), tx["pfc_detailed"].astype(str), strict=True))
        assert all(d.startswith(p + "_") for p, d in pairs), pairs


def test_mostly_v1_codes_some_v2(default_run):
    import csv

    from spendsense import paths

    with (paths.TAXONOMY_DIR / "pfc_taxonomy_v1.csv").open(encoding="utf-8") as fh:
        v1 = {row["DETAILED"].strip() for row in csv.DictReader(fh)}
    detailed = default_run.tables["transactions"]["pfc_detailed"].astype(str)
    assert detailed.isin(v1).mean() > 0.99
    assert "BANK_FEES_LATE_FEES" in set(detailed)  # the v2 late-fee code is used for fee_prone card holders


def test_amounts_finite_and_in_cents(default_run):
    amount = default_run.tables["transactions"]["amount"].to_numpy()
    assert np.isfinite(amount).all()
    assert np.allclose(np.round(amount * 100), amount * 100)
    assert (amount != 0).all()


def test_users_and_consent(default_run):
    users = default_run.tables["users"]
    assert users["credit_score"].between(300, 850).all()
    assert users["name"].str.contains(" ").all()
    events = default_run.tables["consent_events"]
    first = events.sort_values("occurred_at").groupby("user_id")["event"].first()
    assert (first == "granted").all()  # nobody revokes before granting
    granted_share = events.loc[events["event"] == "granted", "user_id"].nunique() / len(users)
    assert 0.8 <= granted_share <= 0.97
    assert (events["event"] == "revoked").any()
    assert len(set(users["user_id"]) - set(events["user_id"])) >= 3  # never consented: no event at all
    as_of_end = pd.Timestamp("2026-11-01")
    assert (events["occurred_at"] < as_of_end).all()


def test_business_accounts_exist_and_are_marked(default_run):
    accounts = default_run.tables["accounts"]
    business = accounts[accounts["holder_category"] == "business"]
    assert len(business) >= 2
    assert (business["type"] == "depository").all()
    tx = default_run.tables["transactions"]
    assert tx["account_id"].astype(str).isin(business["account_id"]).any()
    assert set(accounts["holder_category"]) == {"personal", "business"}


def test_account_mix(default_run):
    accounts = default_run.tables["accounts"]
    per_user = accounts[accounts["holder_category"] == "personal"].groupby("user_id")
    assert (per_user["subtype"].apply(lambda s: (s == "checking").sum()) == 1).all()
    cards = accounts[accounts["type"] == "credit"].groupby("user_id").size()
    assert cards.max() <= 3
    assert len(cards) < len(default_run.tables["users"])  # some users hold no card
    assert {"savings", "mortgage", "student"} <= set(accounts["subtype"])
