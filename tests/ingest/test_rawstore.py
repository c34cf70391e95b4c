"""The append-only raw store: two nights of Plaid /transactions/sync (added, modified amount, removed) with
hand-computed signals before and after, as-of reads, idempotent re-ingest, rejected and crashed batches.

One user u1 (consenting), one checking account a1. Window 30 of as_of 2026-10-31 is 10-02..10-31; the cadence
lookback is 90 days (08-03..10-31).
Night 1 (batch 1), initial sync: Netflix 15.49 on 08-05, 09-05, 10-05 (t_n1..t_n3), groceries 60.00 on 10-10
(t_g1), coffee 4.50 on 10-20 (t_c1), next_cursor "cur-1".
  spending_total_30 = 15.49 + 60.00 + 4.50 = 79.99; Netflix recurs 3 times -> recurring_merchant_count_30 = 1,
  recurring_spend_30 = 15.49.
Night 2 (batch 2), delta: added coffee 5.25 on 10-30 (t_c2), modified t_g1 to 72.00, removed t_n2, cursor "cur-2".
  spending_total_30 = 15.49 + 72.00 + 4.50 + 5.25 = 97.24; Netflix now 2 times -> no stream: count 0, spend 0.
"""

from __future__ import annotations

import hashlib
import json
from pathlib import Path

import duckdb
import pandas as pd
import pytest
from ingest_tiny_dataset import tiny_tables, write_csv

from spendsense import pipeline
from spendsense.ingest import IngestError, ingest, rawstore
from spendsense.signals import compute_signals, load_signal_config

AS_OF = "2026-10-31"
ACCOUNT = {"account_id": "a1", "name": "Everyday Checking", "official_name": None, "mask": "1111",
           "type": "depository", "subtype": "checking",
           "balances": {"available": 900.0, "current": 950.0, "limit": None, "iso_currency_code": "USD"}}


def txn(tid: str, date: str, amount: float, name: str, detailed: str, merchant: str | None = None) -> dict:
    """A Plaid transaction object on account a1."""
    return {"transaction_id": tid, "account_id": "a1", "date": date, "authorized_date": date, "amount": amount,
            "iso_currency_code": "USD", "name": name, "merchant_name": merchant, "merchant_entity_id": None,
            "payment_channel": "online", "pending": False,
            "personal_finance_category": {"primary": detailed.split("_")[0] if not detailed.startswith("FOOD")
                                          else "FOOD_AND_DRINK", "detailed": detailed,
                                          "confidence_level": "HIGH"}}


NETFLIX = [txn(f"t_n{i}", d, 15.49, "NETFLIX.COM", "ENTERTAINMENT_TV_AND_MOVIES", "Netflix")
           for i, d in enumerate(("2026-08-05", "2026-09-05", "2026-10-05"), 1)]
GROCERY = txn("t_g1", "2026-10-10", 60.00, "FRESH MARKET", "FOOD_AND_DRINK_GROCERIES", "Fresh Market")
COFFEE = txn("t_c1", "2026-10-20", 4.50, "BLUE BOTTLE", "FOOD_AND_DRINK_COFFEE", "Blue Bottle")


def write_json(path: Path, doc: dict) -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(json.dumps(doc), encoding="utf-8")
    return path


@pytest.fixture
def nights(tmp_path: Path) -> dict:
    """Night 1 and night 2 input files (users and consent as CSV beside the first night's sync response)."""
    base = tmp_path / "in"
    (base / "n1").mkdir(parents=True)
    pd.DataFrame([{"user_id": "u1", "name": "Ada Park", "age_band": "25-34", "gender": "female",
                   "region": "west", "income_tier": "middle", "credit_score": 712, "created_at": "2024-03-01"}]
                 ).to_csv(base / "n1" / "users.csv", index=False)
    pd.DataFrame([{"event_id": "e1", "user_id": "u1", "event": "granted", "occurred_at": "2026-01-05 10:00:00",
                   "source": "signup", "actor": "u1"}]).to_csv(base / "n1" / "consent_events.csv", index=False)
    sync1 = write_json(base / "n1" / "u1.sync.json", {
        "item": {"item_id": "u1"}, "accounts": [ACCOUNT], "added": [*NETFLIX, GROCERY, COFFEE], "modified": [],
        "removed": [], "next_cursor": "cur-1", "has_more": False})
    sync2 = write_json(base / "n2" / "u1.sync.json", {
        "item": {"item_id": "u1"}, "accounts": [ACCOUNT],
        "added": [txn("t_c2", "2026-10-30", 5.25, "BLUE BOTTLE", "FOOD_AND_DRINK_COFFEE", "Blue Bottle")],
        "modified": [{**GROCERY, "amount": 72.00}], "removed": [{"transaction_id": "t_n2"}],
        "next_cursor": "cur-2", "has_more": False})
    night1 = [base / "n1" / "users.csv", base / "n1" / "consent_events.csv", sync1]
    return {"night1": night1, "night2": [sync2], "store": tmp_path / "raw", "tmp": tmp_path}


def fingerprint(store: Path) -> dict[str, str]:
    """Every file under the store with the sha256 of its bytes."""
    return {str(p.relative_to(store)): hashlib.sha256(p.read_bytes()).hexdigest()
            for p in sorted(store.rglob("*")) if p.is_file()}


def warehouse_at(store: Path, batch: int, path: Path) -> Path:
    pipeline.raw_views_step(path, store, batch)
    return path


def signals_30(warehouse: Path) -> dict:
    """The window-30 signals this test checks, for u1."""
    consent = pd.DataFrame({"user_id": ["u1"], "status": ["granted"], "occurred_at": pd.to_datetime(["2026-01-05"])})
    with duckdb.connect(str(warehouse)) as con:
        wide = compute_signals(con, pipeline.as_date(AS_OF), consent, load_signal_config(), windows=(30,)
                               ).frame("signals_wide").set_index("user_id").loc["u1"]
    return {k: round(float(wide[k]), 2) for k in ("spending_total", "recurring_merchant_count", "recurring_spend")}


def test_two_sync_batches_apply_added_modified_removed(nights):
    store, tmp = nights["store"], nights["tmp"]
    r1 = ingest(nights["night1"], raw_store=store, opstore_path=tmp / "ops.sqlite")
    r2 = ingest(nights["night2"], raw_store=store, opstore_path=tmp / "ops.sqlite")
    assert (r1.batch.batch_id, r2.batch.batch_id, r2.batch_id) == (1, 2, 2)
    assert r1.batch.changes["transactions"] == {"added": 5, "modified": 0, "removed": 0}
    assert r1.batch.changes["users"] == {"added": 1, "modified": 0, "removed": 0}
    # the unchanged account adds no version; the delta: one added, one modified amount, one removed
    assert r2.batch.changes["accounts"] == {"added": 0, "modified": 0, "removed": 0}
    assert r2.batch.changes["transactions"] == {"added": 1, "modified": 1, "removed": 1}
    assert (r1.batch.cursors, r2.batch.cursors) == ({"u1": "cur-1"}, {"u1": "cur-2"})
    assert rawstore.cursors(store) == {"u1": "cur-2"} and rawstore.cursors(store, 1) == {"u1": "cur-1"}
    # as-of reads: each batch's state, while batch 1's files stay as written
    w1, w2 = warehouse_at(store, 1, tmp / "w1.duckdb"), warehouse_at(store, 2, tmp / "w2.duckdb")
    q = "select transaction_id, amount from transactions order by 1"
    with duckdb.connect(str(w1), read_only=True) as c1, duckdb.connect(str(w2), read_only=True) as c2:
        assert c1.execute(q).fetchall() == [("t_c1", 4.5), ("t_g1", 60.0), ("t_n1", 15.49), ("t_n2", 15.49),
                                            ("t_n3", 15.49)]
        assert c2.execute(q).fetchall() == [("t_c1", 4.5), ("t_c2", 5.25), ("t_g1", 72.0), ("t_n1", 15.49),
                                            ("t_n3", 15.49)]
        assert c1.execute("select distinct user_id from transactions").fetchall() == [("u1",)]
        assert (rawstore.run_batch(c1), rawstore.run_batch(c2)) == (1, 2)
    # nothing rewritten: batch 2 holds only the new versions and the tombstone
    stored = duckdb.sql(f"select transaction_id, amount, _batch_id, _deleted from read_parquet("
                        f"'{rawstore.batch_dir(store, 2)}/transactions.parquet') order by 1").fetchall()
    assert stored == [("t_c2", 5.25, 2, False), ("t_g1", 72.0, 2, False), ("t_n2", 15.49, 2, True)]
    # hand-computed signals before and after
    assert signals_30(w1) == {"spending_total": 79.99, "recurring_merchant_count": 1, "recurring_spend": 15.49}
    assert signals_30(w2) == {"spending_total": 97.24, "recurring_merchant_count": 0, "recurring_spend": 0.0}


def test_reingesting_the_same_files_adds_no_batch_and_no_bytes(nights):
    store = nights["store"]
    ingest(nights["night1"], raw_store=store)
    before = fingerprint(store)
    report = ingest(nights["night1"], raw_store=store)
    assert report.batch is None and report.batch_id == 1
    assert "no changes: the raw store stays at batch 1" in str(report)
    assert fingerprint(store) == before
    ingest(nights["night2"], raw_store=store)
    before = fingerprint(store)
    assert ingest(nights["night2"], raw_store=store).batch is None  # the removed id is already a tombstone
    assert fingerprint(store) == before
    # an older snapshot merged again is a real change back: t_n2 returns, t_g1 is 60.00 again
    back = ingest(nights["night1"], raw_store=store)
    assert back.batch.changes["transactions"] == {"added": 1, "modified": 1, "removed": 0}


def test_a_rejected_batch_leaves_the_store_byte_for_byte(nights):
    store = nights["store"]
    ingest(nights["night1"], raw_store=store)
    before = fingerprint(store)
    bad = json.loads(nights["night2"][0].read_text())
    bad["added"][0]["amount"] = "five"
    broken = write_json(nights["tmp"] / "bad" / "u1.sync.json", bad)
    with pytest.raises(IngestError, match="amount"):
        ingest([broken], raw_store=store)
    assert fingerprint(store) == before
    assert rawstore.latest_batch_id(store) == 1


def test_a_crash_while_writing_leaves_no_partial_batch(nights, monkeypatch):
    store = nights["store"]
    ingest(nights["night1"], raw_store=store)
    before = fingerprint(store)
    real = rawstore._copy_batch_table
    written = []

    def crash_after_two(con, table, batch_id, target):
        if len(written) == 2:
            raise KeyboardInterrupt("killed mid-write")
        written.append(table)
        real(con, table, batch_id, target)

    monkeypatch.setattr(rawstore, "_copy_batch_table", crash_after_two)
    with pytest.raises(KeyboardInterrupt):
        ingest(nights["night2"], raw_store=store)
    assert written and fingerprint(store) == before  # the half-written batch folder is gone
    # a writer killed outright leaves an .incoming folder: readers ignore it, the next writer removes it
    stale = store / ".incoming-000002-99999"
    stale.mkdir()
    (stale / "transactions.parquet").write_bytes(b"half a file")
    assert rawstore.latest_batch_id(store) == 1
    monkeypatch.setattr(rawstore, "_copy_batch_table", real)
    assert ingest(nights["night2"], raw_store=store).batch.batch_id == 2
    assert not stale.exists()


def test_replace_mode_tombstones_rows_absent_from_a_snapshot(nights):
    """A full reload: merge keeps a row the snapshot lacks; replace tombstones it (consent events never)."""
    store, tmp = nights["store"], nights["tmp"]
    ingest(nights["night1"], raw_store=store)
    doc = json.loads(nights["night1"][2].read_text())
    doc["added"] = [t for t in doc["added"] if t["transaction_id"] != "t_c1"]
    snapshot = write_json(tmp / "snap" / "u1.sync.json", doc)
    assert ingest([snapshot], raw_store=store).batch is None  # merge: absent rows stay
    report = ingest([snapshot, nights["night1"][0]], raw_store=store, mode="replace")
    # users.csv given again: unchanged; transactions given: t_c1 tombstoned; consent_events not given
    assert report.batch.changes["transactions"] == {"added": 0, "modified": 0, "removed": 1}
    assert report.batch.changes["users"] == {"added": 0, "modified": 0, "removed": 0}
    w = warehouse_at(store, 2, tmp / "w.duckdb")
    with duckdb.connect(str(w), read_only=True) as con:
        assert con.execute("select count(*) from transactions where transaction_id = 't_c1'").fetchone() == (0,)
        assert con.execute("select count(*) from consent_events").fetchone() == (1,)


def test_a_run_warehouse_names_a_missing_batch(nights):
    ingest(nights["night1"], raw_store=nights["store"])
    with pytest.raises(rawstore.RawStoreError, match="no batch 7"):
        pipeline.raw_views_step(nights["tmp"] / "w.duckdb", nights["store"], 7)


def test_cli_prints_the_batch_and_lists_batches(nights):
    import subprocess
    import sys

    def cli(*args):
        return subprocess.run([sys.executable, "-m", "spendsense", "ingest", *args], capture_output=True, text=True,
                              check=False, timeout=300)

    store = str(nights["store"])
    first = cli(*map(str, nights["night1"]), "--raw-store", store, "--no-opstore", "--no-progress")
    assert first.returncode == 0, first.stderr
    assert "batch 1 (merge): 8 added, 0 modified, 0 removed, 1 sync cursor(s)" in first.stdout
    second = cli(*map(str, nights["night2"]), "--raw-store", store, "--no-opstore", "--no-progress")
    assert "batch 2 (merge): 1 added, 1 modified, 1 removed" in second.stdout
    table = cli("--status", "--raw-store", store)
    assert table.returncode == 0 and "2 batch(es)" in table.stdout
    line = next(ln for ln in table.stdout.splitlines() if ln.split()[:1] == ["2"] and "transactions" in ln)
    assert line.split()[-3:] == ["1", "1", "1"]
    listed = json.loads(cli("--status", "--json", "--raw-store", store).stdout)
    assert [b["batch_id"] for b in listed["batches"]] == [1, 2]
    assert listed["batches"][1]["cursors"] == {"u1": "cur-2"}
    assert listed["batches"][1]["changes"]["transactions"] == {"added": 1, "modified": 1, "removed": 1}
    helptext = cli("--help").stdout
    for words in ("raw store", "--raw-store", "--status", "tombstone", "make clean", "--mode"):
        assert words in helptext


def test_a_batch_counts_the_rows_that_supersede_earlier_ones(nights):
    """Night 2: t_g1 modified and t_n2 tombstoned supersede; t_c2 is a new key; the unchanged account adds none."""
    store = nights["store"]
    r1 = ingest(nights["night1"], raw_store=store)
    r2 = ingest(nights["night2"], raw_store=store)
    assert r1.batch.superseding["transactions"] == 0
    assert (r2.batch.superseding["transactions"], r2.batch.superseding["accounts"]) == (2, 0)
    assert rawstore.batches(store)[1].superseding == r2.batch.superseding  # recorded in batch.json


def test_a_key_added_again_after_its_tombstone_is_the_current_row(nights):
    """Night 1, night 2 (t_n2 removed), night 1 again: t_n2 returns as a new version that supersedes the tombstone."""
    store, tmp = nights["store"], nights["tmp"]
    for night in ("night1", "night2", "night1"):
        report = ingest(nights[night], raw_store=store)
    assert report.batch.changes["transactions"] == {"added": 1, "modified": 1, "removed": 0}
    assert report.batch.superseding["transactions"] == 2  # t_n2 re-added, t_g1 back to 60.00
    with duckdb.connect(str(warehouse_at(store, 3, tmp / "w3.duckdb")), read_only=True) as con:
        assert con.execute("select transaction_id, amount from transactions order by 1").fetchall() == [
            ("t_c1", 4.5), ("t_c2", 5.25), ("t_g1", 60.0), ("t_n1", 15.49), ("t_n2", 15.49), ("t_n3", 15.49)]


def test_a_batch_of_only_new_keys_is_read_without_a_join(nights):
    """A day of new transactions supersedes nothing: the as-of read is one scan of both batches (no join), and
    a batch.json written before the count existed is still looked up for later versions."""
    store, tmp = nights["store"], nights["tmp"]
    ingest(nights["night1"], raw_store=store)
    day = json.loads(nights["night2"][0].read_text())
    day.update(modified=[], removed=[])
    report = ingest([write_json(tmp / "day" / "u1.sync.json", day)], raw_store=store)
    assert report.batch.superseding["transactions"] == 0
    assert "join" not in rawstore.as_of_query(store, "transactions", 2)
    with duckdb.connect(str(warehouse_at(store, 2, tmp / "w2.duckdb")), read_only=True) as con:
        assert con.execute("select count(*), round(sum(amount), 2) from transactions").fetchone() == (6, 116.22)
    record = rawstore.batch_dir(store, 2) / rawstore.BATCH_FILE
    old = json.loads(record.read_text())
    del old["superseding"]
    record.write_text(json.dumps(old))
    assert "join" in rawstore.as_of_query(store, "transactions", 2)
    with duckdb.connect(str(warehouse_at(store, 2, tmp / "w2b.duckdb")), read_only=True) as con:
        assert con.execute("select count(*), round(sum(amount), 2) from transactions").fetchone() == (6, 116.22)


def test_a_users_accounts_are_stored_together_so_a_lookup_reads_one_row_group(tmp_path, monkeypatch):
    """Accounts whose ids run against user order (as a bank's may): the store sorts them by user and cuts small
    row groups, so one user's accounts come from one row group, not a scan of every account."""
    monkeypatch.setitem(rawstore.ROW_GROUP_ROWS, "accounts", 2048)  # DuckDB cuts row groups per 2,048-row chunk
    tables = tiny_tables()
    template = tables["accounts"].iloc[0].to_dict()
    users = pd.DataFrame([{**tables["users"].iloc[0].to_dict(), "user_id": f"v{i:03d}"} for i in range(500)])
    # five accounts per user, ids descending while users ascend: v000 holds z9999..z9995
    extra = pd.DataFrame([{**template, "account_id": f"z{9999 - 5 * i - k}", "user_id": f"v{i:03d}"}
                          for i in range(500) for k in range(5)])
    tables["users"] = pd.concat([tables["users"], users], ignore_index=True)
    tables["accounts"] = pd.concat([tables["accounts"], extra], ignore_index=True)
    folder = write_csv(tables, tmp_path / "in")
    store = tmp_path / "raw"
    ingest([folder], raw_store=store)

    stored = f"{rawstore.batch_dir(store, 1)}/accounts.parquet"
    order = duckdb.sql(f"select user_id from read_parquet('{stored}')").fetchall()
    assert order == sorted(order)
    groups = duckdb.sql(f"select row_group_num_rows, stats_min_value, stats_max_value from parquet_metadata("
                        f"'{stored}') where path_in_schema = 'user_id' order by row_group_id").fetchall()
    assert len(groups) == 2 and groups[0][0] == 2048 and sum(g[0] for g in groups) == len(order)
    assert groups[0][2] <= groups[1][1]  # user ranges meet at most in one user, whose rows the cut splits
    w = warehouse_at(store, 1, tmp_path / "w.duckdb")
    with duckdb.connect(str(w), read_only=True) as con:
        plan = "\n".join(r[1] for r in con.execute(
            "explain analyze select account_id from accounts where user_id = 'v250'").fetchall())
        assert con.execute("select account_id from accounts where user_id = 'v250' order by 1").fetchall() == [
            (f"z{9999 - 1250 - k}",) for k in range(4, -1, -1)]
    assert "Row Groups Scanned: 1 / 2" in plan
