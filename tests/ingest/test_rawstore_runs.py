"""Two nights through the pipeline steps on a raw store: the second night's batch changes only what it should, and
the first night's run still reads batch 1 and replays after batch 2 was ingested."""

from __future__ import annotations

import datetime as dt
import shutil
from pathlib import Path

import duckdb
import pandas as pd
import pytest

from spendsense import pipeline
from spendsense.engine_config import load_engine_config
from spendsense.ingest import rawstore
from spendsense.recommend import replay
from spendsense.recompute import recompute_user

AS_OF = "2026-10-31"
CREATED = dt.datetime(2026, 11, 1, 9, 0, 0)


def night(root: Path, store: Path, name: str, inputs: list[Path]) -> Path:
    """Ingest one night's input as a batch, then signals, personas and recommendations on the latest batch."""
    warehouse, ops = root / f"{name}.duckdb", root / "ops.sqlite"
    pipeline.ingest_batch(inputs, store, ops, progress=False)
    pipeline.raw_views_step(warehouse, store)
    pipeline.signals_step(warehouse, ops, AS_OF)
    pipeline.personas_step(warehouse)
    pipeline.recommend_step(warehouse, ops, name, AS_OF, created_at=CREATED)
    return warehouse


@pytest.fixture(scope="module")
def two_nights(tmp_path_factory):
    root = tmp_path_factory.mktemp("two_nights")
    dataset = pipeline.prepare_dataset("synthetic", root / "dataset", 30, 5, AS_OF, progress=False)
    store = root / "raw"
    first = night(root, store, "night1", [dataset])
    with duckdb.connect(str(first), read_only=True) as con:
        user = con.execute("select user_id from signals_wide where window_days = 30 and spending_total > 0"
                           " order by user_id limit 1").fetchone()[0]
        spent = con.execute("select spending_total from signals_wide where user_id = $u and window_days = 30",
                            {"u": user}).fetchone()[0]
    # night 2: users and accounts as before (unchanged: no versions) and one new 500.00 grocery purchase for
    # `user` on the as_of day, on the account of the user's most recent spending
    delta = root / "delta"
    delta.mkdir()
    for table in ("users", "accounts"):
        shutil.copy(dataset / "parquet" / f"{table}.parquet", delta / f"{table}.parquet")
    tx = pd.read_parquet(dataset / "parquet" / "transactions.parquet")
    accounts = pd.read_parquet(dataset / "parquet" / "accounts.parquet")
    mine = tx[tx["account_id"].isin(accounts.loc[(accounts["user_id"] == user) & (accounts["type"] == "depository"),
                                                 "account_id"])]
    new = mine.sort_values(["date", "transaction_id"]).tail(1).assign(
        transaction_id="night2-grocery", date=pd.Timestamp(AS_OF).date(), authorized_date=pd.Timestamp(AS_OF).date(),
        amount=500.0, name="FRESH MARKET", merchant_name="Fresh Market",
        pfc_primary="FOOD_AND_DRINK", pfc_detailed="FOOD_AND_DRINK_GROCERIES", pending=False)
    new.to_parquet(delta / "transactions.parquet", index=False)
    second = night(root, store, "night2", [delta])
    return {"root": root, "store": store, "first": first, "second": second, "user": user, "spent": spent}


def read(path: Path, sql: str, params: dict | None = None):
    with duckdb.connect(str(path), read_only=True) as con:
        return con.execute(sql, params or {}).fetchall()


def test_the_second_batch_adds_one_transaction_and_changes_only_that_user(two_nights):
    store, user = two_nights["store"], two_nights["user"]
    b2 = rawstore.batches(store)[-1]
    assert b2.batch_id == 2
    assert {t: c for t, c in b2.changes.items() if any(c.values())} == {
        "transactions": {"added": 1, "modified": 0, "removed": 0}}
    first, second = two_nights["first"], two_nights["second"]
    assert read(first, "select batch_id from raw_store.batch") == [(1,)]
    assert read(second, "select batch_id from raw_store.batch") == [(2,)]
    n1 = read(first, "select count(*) from transactions")[0][0]
    assert read(second, "select count(*) from transactions")[0][0] == n1 + 1
    q = "select user_id, window_days, spending_total from signals_wide order by 1, 2"
    before = {(u, w): s for u, w, s in read(first, q)}
    after = {(u, w): s for u, w, s in read(second, q)}
    changed = {k for k in before if abs(before[k] - after[k]) > 1e-9}
    assert changed == {(user, 30), (user, 180)}
    assert after[(user, 30)] == pytest.approx(two_nights["spent"] + 500.0)


def test_the_first_nights_run_replays_and_recomputes_from_batch_1_after_batch_2(two_nights):
    first, user = two_nights["first"], two_nights["user"]
    cfg = load_engine_config()
    ids = [r[0] for r in read(first, "select recommendation_id from recommendations order by 1")]
    assert ids
    results = [replay(first, rid, cfg.catalog, cfg.guardrails) for rid in ids[:10]]
    assert all(r.ok for r in results), [str(r) for r in results if not r.ok]
    # the on-demand recompute reads run 1's raw views: batch 1, without the night-2 purchase
    recomputed = recompute_user(first, user, AS_OF, two_nights["root"] / "ops.sqlite").signals.frame("signals_wide")
    got = recomputed.set_index("window_days")["spending_total"].to_dict()
    assert got[30] == pytest.approx(two_nights["spent"])
    assert read(first, "select count(*) from transactions where transaction_id = 'night2-grocery'") == [(0,)]
