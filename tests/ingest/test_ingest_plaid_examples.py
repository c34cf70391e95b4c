"""Plaid's own OpenAPI example responses load, one at a time and all together."""

from __future__ import annotations

from pathlib import Path

import duckdb
import pytest

from spendsense import paths
from spendsense.ingest import IngestError, ingest

# the shared Plaid reference material beside the repository (as CI lays it out), else the workplace's copy
EXAMPLES = next((p for p in (paths.PROJECT_ROOT.parent / "shared" / "plaid" / "openapi_examples",
                             Path("/work/shared/plaid/openapi_examples")) if p.is_dir()),
                Path("/work/shared/plaid/openapi_examples"))
NAMES = ("accounts_get", "accounts_balance_get", "transactions_get", "transactions_sync", "liabilities_get")
ITEM = "eVBnVMp7zdTJLkRNr33Rs6zr7KNJqBFL9DrE6"

pytestmark = pytest.mark.skipif(not EXAMPLES.is_dir(),
                                reason=f"Plaid OpenAPI examples not available at {EXAMPLES}")


def example(name: str) -> Path:
    return EXAMPLES / f"{name}_response.json"


def read(db: Path, sql: str):
    with duckdb.connect(str(db), read_only=True) as con:
        return con.execute(sql).fetchall()


@pytest.mark.parametrize("name,accounts,transactions,aprs", [
    ("accounts_get", 3, 0, 0), ("accounts_balance_get", 3, 0, 0), ("transactions_get", 1, 2, 0),
    ("transactions_sync", 1, 2, 0), ("liabilities_get", 4, 0, 4)])
def test_each_example_loads(name, accounts, transactions, aprs, tmp_path):
    report = ingest([example(name)], tmp_path / "w.duckdb")
    assert (report.rows["accounts"], report.rows["transactions"], report.rows["credit_aprs"]) == (
        accounts, transactions, aprs)
    assert report.rows["users"] == 1  # the response's item is a user, with demographics unknown


def test_all_examples_load_together(tmp_path):
    db = tmp_path / "w.duckdb"
    report = ingest([example(n) for n in NAMES], db)
    # accounts_get is another item (3 accounts); the other four responses describe one item's 4 accounts
    assert report.rows == {"users": 2, "consent_events": 0, "accounts": 7, "transactions": 2,
                           "credit_liabilities": 1, "credit_aprs": 4, "mortgage_liabilities": 1,
                           "student_liabilities": 1}
    assert report.business_accounts_excluded == 0
    # accounts without holder_category count as personal; the 401k investment account is kept
    assert read(db, "select distinct holder_category from accounts") == [("personal",)]
    assert read(db, "select type, subtype, balance_current from accounts where mask = '6666'") == [
        ("investment", "401k", 23631.9805)]
    # the sync response names no item: its account's user comes from the responses that do
    assert read(db, "select distinct user_id from transactions") == [(ITEM,)]
    assert ITEM in {u for (u,) in read(db, "select user_id from users where age_band = 'unknown'")}
    assert read(db, "select interest_rate_percentage, interest_rate_type from mortgage_liabilities") == [
        (3.99, "fixed")]
    assert sorted(read(db, "select apr_type, apr_percentage from credit_aprs")) == [
        ("balance_transfer_apr", 15.24), ("cash_apr", 27.95), ("purchase_apr", 12.5), ("special", 0.0)]
    assert read(db, "select pfc_primary, pfc_detailed, pending from transactions where amount = 28.34") == [
        ("FOOD_AND_DRINK", "FOOD_AND_DRINK_FAST_FOOD", True)]


def test_responses_ingest_does_not_read_are_rejected_by_name(tmp_path):
    with pytest.raises(IngestError) as caught:
        ingest([example("transactions_recurring_get")], tmp_path / "w.duckdb")
    assert "not a Plaid response that ingest reads" in str(caught.value)
    assert not (tmp_path / "w.duckdb").exists()
