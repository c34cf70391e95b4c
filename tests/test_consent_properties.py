"""Issue 12: consent cannot be outrun. Property tests over random consent event sequences (ties, clock skew,
future dates, revokes during a run): every consumer reports the same status, future-dated events are refused,
a revoke recorded later always wins, and nothing derived or delivered remains for a user not consenting."""

from __future__ import annotations

import datetime as dt
import tempfile
from pathlib import Path

import duckdb
import pandas as pd
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from spendsense import consent, notebook_runner, opstore
from spendsense.dashboard.access import DashboardData
from spendsense.recommend.engine import consent_by_user
from spendsense.recommend.store import delivered_recommendations
from spendsense.signals.compute import consent_table

USERS = ("u1", "u2", "u3")
NOW = dt.datetime.now(dt.UTC).replace(microsecond=0)
# few distinct times, so ties are common; +60 s lies within the skew allowance, +1 year and 2099 do not
OFFSETS = (-dt.timedelta(days=2), -dt.timedelta(days=1), dt.timedelta(0), dt.timedelta(seconds=60),
           dt.timedelta(days=365), dt.datetime(2099, 1, 1, tzinfo=dt.UTC) - NOW)
EVENT = st.tuples(st.sampled_from(USERS), st.sampled_from(("granted", "revoked")),
                  st.sampled_from(range(len(OFFSETS))) | st.none())
SETTINGS = settings(max_examples=15, deadline=None, suppress_health_check=[HealthCheck.too_slow])


def record_all(con, events) -> None:
    """Record each event; future-dated ones must be refused, naming the problem."""
    for user, event, offset in events:
        when = None if offset is None else NOW + OFFSETS[offset]
        if when is not None and when - dt.datetime.now(dt.UTC) > consent.max_skew():
            with pytest.raises(opstore.FutureConsentError, match="clock skew"):
                opstore.record_consent(con, user, event, "test", "t", occurred_at=when)
        else:
            opstore.record_consent(con, user, event, "test", "t", occurred_at=when)


def every_consumer(folder: Path, ops_path: Path) -> dict[str, dict[str, str]]:
    """user -> status as seen by the opstore, the single-user read, the signal step, the engine, the dashboard."""
    con = opstore.connect(ops_path)
    events = opstore.consent_events(con).rename(columns={"event": "status"})
    out = {"opstore": dict(opstore.consent_status(con)[["user_id", "status"]].itertuples(index=False)),
           "single_user": {u: s for u in USERS for s in opstore.consent_status(con, user_id=u)["status"]}}
    con.close()
    signals = consent_table(events).to_pandas()
    out["signals_scope"] = dict(signals[["user_id", "status"]].itertuples(index=False))
    out["engine"] = dict(consent_by_user(events)[["user_id", "status"]].itertuples(index=False))
    run = folder / "run"
    run.mkdir(exist_ok=True)
    duckdb.connect(str(run / "warehouse.duckdb")).close()
    data = DashboardData(run_dir=run, role="operator", operator="t", opstore_path=ops_path)
    out["dashboard"] = dict(data._consent_all()[["user_id", "status"]].itertuples(index=False))
    out["dashboard_user"] = {u: data._consent_status(u)[0] for u in USERS if data._consent_status(u)[0] != "none"}
    return out


@SETTINGS
@given(st.lists(EVENT, max_size=8))
def test_every_consumer_reports_the_same_status_and_a_later_revoke_wins(events):
    with tempfile.TemporaryDirectory() as tmp:
        folder, ops_path = Path(tmp), Path(tmp) / "ops.sqlite"
        con = opstore.connect(ops_path)
        record_all(con, events)
        con.close()
        seen = every_consumer(folder, ops_path)
        assert all(v == seen["opstore"] for v in seen.values()), seen
        con = opstore.connect(ops_path)
        stored = opstore.consent_events(con)
        assert (stored["occurred_at"] <= stored["recorded_at"]).all()  # nothing stored in the future
        for user in USERS:
            opstore.record_consent(con, user, "revoked", "dashboard", "op")  # recorded now, default time
        con.close()
        seen = every_consumer(folder, ops_path)
        assert all(v == dict.fromkeys(USERS, "revoked") for v in seen.values()), seen


@SETTINGS
@given(st.lists(EVENT, max_size=6), st.lists(EVENT, max_size=4))
def test_nothing_derived_or_delivered_remains_for_a_user_not_consenting(before, during):
    """Events before the run starts, then events during it (between signals and publish)."""
    with tempfile.TemporaryDirectory() as tmp:
        folder, ops_path = Path(tmp), Path(tmp) / "ops.sqlite"
        con = opstore.connect(ops_path)
        record_all(con, before)
        granted_at_start = opstore.consenting_user_ids(con)
        mark = opstore.consent_watermark(con)
        record_all(con, during)
        granted_now = opstore.consenting_user_ids(con)
        changed = opstore.consent_changed_since(con, mark)
        con.close()
        warehouse = folder / "w.duckdb"
        produced = sorted(granted_at_start)  # the signal and recommend steps produced rows for these users
        frame = pd.DataFrame({"user_id": pd.Series(produced, dtype=object)})
        with duckdb.connect(str(warehouse)) as w:
            w.register("produced", frame)
            w.execute("create table signals_wide as select user_id, 30 as window_days from produced")
            w.execute("create table recommendations as select 'run' as run_id, user_id, 'edu' as item_id,"
                      " 'education' as kind, user_id || '-r' as recommendation_id,"
                      " timestamp '2026-10-31' as created_at from produced")
            w.execute("create table skipped_users (user_id varchar, reason varchar)")
        import os

        old = os.environ.get("SPENDSENSE_OPSTORE")
        os.environ["SPENDSENSE_OPSTORE"] = str(ops_path)
        try:
            notebook_runner.withhold_changed_consent(warehouse, mark)
        finally:
            if old is None:
                os.environ.pop("SPENDSENSE_OPSTORE")
            else:
                os.environ["SPENDSENSE_OPSTORE"] = old
        with duckdb.connect(str(warehouse), read_only=True) as w:
            remaining = {u for t in ("signals_wide", "recommendations")
                         for (u,) in w.execute(f"select user_id from {t}").fetchall()}
        assert remaining <= granted_now - changed
        delivered = set(delivered_recommendations(warehouse, ops_path)["user_id"])
        assert delivered <= granted_now and delivered <= remaining


def test_a_future_grant_cannot_outlive_a_revoke(tmp_path, opstore_location):
    """The probe: granted at 2099 (refused now), then a revoke: the user is revoked everywhere."""
    ops_path = opstore_location  # an SQLite file, then a PostgreSQL database
    con = opstore.connect(ops_path)
    opstore.record_consent(con, "u1", "granted", "signup", "u1", occurred_at="2026-01-01")
    with pytest.raises(opstore.FutureConsentError):
        opstore.record_consent(con, "u1", "granted", "api", "x", occurred_at="2099-01-01")
    with pytest.raises(opstore.FutureConsentError, match="event_id 'e-future'"):
        opstore.import_consent_events(con, pd.DataFrame([{
            "event_id": "e-future", "user_id": "u1", "event": "granted", "occurred_at": "2099-01-01",
            "source": "file", "actor": "x"}]))
    opstore.record_consent(con, "u1", "revoked", "dashboard", "op")
    con.close()
    seen = every_consumer(tmp_path, ops_path)
    assert all(v == {"u1": "revoked"} for v in seen.values()), seen


def test_the_status_rule_is_written_once():
    root = Path(consent.__file__).parent
    hits = [p for p in root.rglob("*") if p.suffix in (".py", ".sql")
            and "partition by user_id order by occurred_at" in p.read_text(encoding="utf-8")]
    assert hits == [consent.ORDER_SQL_PATH]
