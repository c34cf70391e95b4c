"""A Plaid folder as a source: JSON at any depth with users/consent_events files beside it, a user for every
item, and the sandbox example converter (spendsense.generate.plaid_sandbox) producing input that ingests."""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import duckdb
import pytest

from spendsense import paths
from spendsense.generate.plaid_sandbox import category, write_sandbox_folder
from spendsense.ingest import IngestError, ingest
from spendsense.ingest.readers import discover

FOLDER = Path(__file__).parents[1] / "pipeline" / "plaid_folder"  # hand-made, described in test_plaid_source.py
SANDBOX = next((p for p in (paths.PROJECT_ROOT.parent / "shared" / "plaid" / "sandbox-custom-users",
                            Path("/work/shared/plaid/sandbox-custom-users")) if p.is_dir()), None)
USERS_HEADER = "user_id,name,age_band,gender,region,income_tier,credit_score,created_at\n"


def rows(db: Path, sql: str) -> list[tuple]:
    with duckdb.connect(str(db), read_only=True) as con:
        return con.execute(sql).fetchall()


def test_a_plaid_folder_is_read_as_json_at_any_depth_plus_the_table_files_beside_it(tmp_path):
    folder = tmp_path / "bank"
    shutil.copytree(FOLDER, folder)
    (folder / "users.csv").write_text(USERS_HEADER + "item_subs,Ana Diaz,25-34,female,west,middle,700,2020-01-01\n")
    sources, problems = discover([folder])
    assert problems == []
    found = sorted((s.path.relative_to(folder.resolve()).as_posix(), s.fmt, s.table) for s in sources)
    assert ("nested/2026-08-31/item_card/liabilities_get.json", "json", None) in found
    assert ("consent_events.csv", "csv", "consent_events") in found and ("users.csv", "csv", "users") in found
    assert len(found) == 9


def test_items_without_a_users_row_are_derived_beside_the_given_users(tmp_path):
    folder = tmp_path / "bank"
    shutil.copytree(FOLDER, folder)
    (folder / "users.csv").write_text(USERS_HEADER + "item_subs,Ana Diaz,25-34,female,west,middle,700,2020-01-01\n")
    report = ingest([folder], tmp_path / "w.duckdb", tmp_path / "ops.sqlite")
    assert rows(tmp_path / "w.duckdb", "select user_id, age_band, income_tier, credit_score from users order by 1") == [
        ("item_biz", "unknown", "unknown", None), ("item_card", "unknown", "unknown", None),
        ("item_quiet", "unknown", "unknown", None), ("item_subs", "25-34", "middle", 700)]
    assert report.rows["users"] == 4 and report.rows["transactions"] == 12
    assert report.business_accounts_excluded == 1  # item_biz is a user; its business account is left out
    assert report.consent_events_added == 4
    assert any("3 user(s) derived from accounts" in n for n in report.notes)


def test_a_csv_account_whose_user_the_users_file_lacks_is_still_an_error(tmp_path):
    folder = tmp_path / "tables"
    folder.mkdir()
    (folder / "users.csv").write_text(USERS_HEADER + "u1,Ana Diaz,25-34,female,west,middle,700,2020-01-01\n")
    (folder / "accounts.csv").write_text(
        "account_id,user_id,name,official_name,mask,type,subtype,balance_available,balance_current,"
        "balance_limit,iso_currency_code,holder_category\n"
        "a1,u1,Checking,,1111,depository,checking,10,10,,USD,personal\n"
        "a2,u9,Checking,,2222,depository,checking,10,10,,USD,personal\n")
    with pytest.raises(IngestError) as err:
        ingest([folder], tmp_path / "w.duckdb")
    assert "'u9' matches no row of users" in str(err.value)
    assert not (tmp_path / "w.duckdb").exists()


def test_sandbox_categories_are_taxonomy_codes():
    assert category("Netflix.com")["detailed"] == "ENTERTAINMENT_TV_AND_MOVIES"
    assert category("OVERDRAFT FEE FOR A TRANSACTION")["primary"] == "BANK_FEES"
    assert category("something else")["detailed"] == "GENERAL_MERCHANDISE_OTHER_GENERAL_MERCHANDISE"


@pytest.mark.skipif(SANDBOX is None, reason="the Plaid sandbox material (../shared/plaid) is not here")
def test_the_sandbox_example_builds_a_folder_that_ingests_and_a_sync_delta_for_night_two(tmp_path):
    summary = write_sandbox_folder(SANDBOX, tmp_path / "night1", tmp_path / "night2")
    assert (summary["items"], summary["accounts"], summary["last_date"]) == (9, 13, "2026-08-22")
    report = ingest([tmp_path / "night1"], tmp_path / "w.duckdb", tmp_path / "ops.sqlite")
    assert report.rows["users"] == 9  # 9 items, one of them a business's accounts only (a user with no accounts)
    assert report.business_accounts_excluded == 1 and report.consent_events_added == 9
    night1 = report.rows["transactions"]
    sync = json.loads(next((tmp_path / "night2").glob("*.transactions_sync.json")).read_text())
    assert {k: len(sync[k]) for k in ("added", "modified", "removed")} == {"added": 2, "modified": 1, "removed": 1}
    assert sync["next_cursor"] and sync["accounts"]
    alone = ingest([tmp_path / "night2"], tmp_path / "w3.duckdb")  # no item in a sync response: the file names it
    assert rows(tmp_path / "w3.duckdb", "select distinct user_id from accounts") == [(summary["night2"]["item"],)]
    assert alone.rows["transactions"] == len(sync["added"]) + len(sync["modified"])
    # today's ingest reads both nights as one input: a later file's copy wins and `removed` is dropped
    both = ingest([tmp_path / "night1", tmp_path / "night2"], tmp_path / "w2.duckdb")
    assert both.rows["transactions"] == night1 + 2 - 1
    modified = sync["modified"][0]
    assert rows(tmp_path / "w2.duckdb", "select amount from transactions where transaction_id = '"
                + modified["transaction_id"] + "'") == [(pytest.approx(modified["amount"]),)]


def test_the_source_summary_states_what_the_windows_see_and_what_falls_after_as_of(tmp_path):
    import datetime as dt

    from spendsense.profile import source_lines, source_summary

    report = ingest([FOLDER], tmp_path / "w.duckdb")
    with duckdb.connect(str(tmp_path / "w.duckdb"), read_only=True) as con:
        summary = source_summary(con, str(FOLDER), report.files, dt.date(2026, 8, 10), (30, 180))
    # window Jul 12 - Aug 10: the three Aug 5 subscriptions; the Aug 20 card purchase is after as_of
    assert (summary["transactions_in_shortest_window"], summary["transactions_after_as_of"]) == (3, 1)
    assert "seed" not in summary and summary["synthetic"] is False
    lines = source_lines(summary)
    assert lines[0] == f"source: {FOLDER} (8 files read: 1 csv, 7 json)"
    assert lines[-1] == ("note: 1 transactions are dated after as_of and are in no window "
                         "(set -p as_of 2026-08-20 to include them)")
