"""The operational store: append-only tables, consent semantics, reviews, audit, deliveries, concurrent writers."""

from __future__ import annotations

import multiprocessing as mp
import sqlite3
from pathlib import Path

import pandas as pd
import psycopg
import pytest

from spendsense import opstore

STORE_ERRORS = (sqlite3.DatabaseError, psycopg.Error)  # what either backend raises when it refuses a statement


@pytest.fixture
def con(opstore_location: str):
    """An empty store, once on SQLite and once on PostgreSQL."""
    c = opstore.connect(opstore_location)
    yield c
    c.close()


def test_connect_creates_a_wal_store_with_every_table(tmp_path: Path):
    c = opstore.connect(tmp_path / "sub" / "ops.sqlite")
    try:
        assert c.execute("pragma journal_mode").fetchone()[0] == "wal"
        assert c.execute("pragma busy_timeout").fetchone()[0] >= 30000
        tables = {r[0] for r in c.execute("select name from sqlite_master where type = 'table'")}
        assert {"consent_events", "reviews", "audit_log", "deliveries"} <= tables
    finally:
        c.close()
    opstore.connect(tmp_path / "sub" / "ops.sqlite").close()  # reopening an existing store works


def test_a_postgresql_url_selects_a_migrated_postgresql_store(pg_url: str, monkeypatch):
    monkeypatch.setenv("SPENDSENSE_OPSTORE", pg_url)
    c = opstore.connect()
    try:
        assert opstore.is_postgresql(c)
        tables = {r[0] for r in c.execute("select table_name from information_schema.tables"
                                          " where table_schema = 'public'")}
        assert {"consent_events", "reviews", "audit_log", "deliveries", "feedback", "registered_users",
                "schema_migrations"} <= tables
        assert [r[0] for r in c.execute("select version from schema_migrations order by version")] == [1, 2]
        with pytest.raises(psycopg.Error, match="append-only"):
            c.execute("truncate deliveries")
        with pytest.raises(psycopg.Error, match="append-only"):
            c.execute("delete from schema_migrations")
    finally:
        c.close()
    opstore.connect(pg_url).close()  # reopening a migrated store applies nothing again
    with opstore.connect(pg_url) as again:
        assert again.execute("select count(*) from schema_migrations").fetchone()[0] == 2


def test_migrations_apply_in_order_from_an_older_version(pg_url: str):
    from spendsense import opstore_pg
    older = opstore_pg.connect(pg_url, 1)
    try:
        assert opstore_pg.schema_version(older) == 1
        assert older.execute("select to_regclass('feedback')").fetchone()[0] is None
    finally:
        older.close()
    with opstore.connect(pg_url) as con:
        assert opstore_pg.schema_version(con) == opstore.SCHEMA_VERSION
        assert con.execute("select to_regclass('feedback')").fetchone()[0] == "feedback"


def test_default_path_comes_from_the_environment(tmp_path: Path, monkeypatch):
    monkeypatch.setenv("SPENDSENSE_OPSTORE", str(tmp_path / "env.sqlite"))
    opstore.connect().close()
    assert (tmp_path / "env.sqlite").exists()


@pytest.mark.parametrize("table", ["consent_events", "reviews", "audit_log", "deliveries"])
def test_update_and_delete_are_rejected(con, table):
    opstore.record_consent(con, "u1", "granted", "app", "u1")
    opstore.record_review(con, "r1", "u1", "approve", "ann", "operator", None)
    opstore.record_deliveries(con, pd.DataFrame({"run_id": ["R"], "user_id": ["u1"], "item_id": ["i1"],
                                                 "kind": ["education"]}))
    n = con.execute(f"select count(*) from {table}").fetchone()[0]
    assert n >= 1
    column = {"consent_events": "user_id", "reviews": "user_id", "audit_log": "actor", "deliveries": "user_id"}[table]
    with pytest.raises(STORE_ERRORS, match="append-only"):
        con.execute(f"update {table} set {column} = 'someone else'")
    with pytest.raises(STORE_ERRORS, match="append-only"):
        con.execute(f"delete from {table}")
    assert con.execute(f"select count(*) from {table}").fetchone()[0] == n


def test_insert_or_replace_cannot_rewrite_an_event(con):
    event_id = opstore.record_consent(con, "u1", "granted", "app", "u1")
    columns = "(event_id, user_id, event, occurred_at, source, actor, recorded_at)"
    values = "(?, 'u1', 'revoked', '2030-01-01T00:00:00.000000+00:00', 'x', 'x', 'x')"
    if opstore.is_postgresql(con):  # no INSERT OR REPLACE there: an upsert's update is an UPDATE, refused
        with pytest.raises(psycopg.Error, match="append-only"):
            con.execute(f"insert into consent_events {columns} values {values}"
                        " on conflict (event_id) do update set event = excluded.event", (event_id,))
        with pytest.raises(psycopg.errors.UniqueViolation):
            con.execute(f"insert into consent_events {columns} values {values}", (event_id,))
    else:
        con.execute(f"insert or replace into consent_events {columns} values {values}", (event_id,))
    con.execute(f"insert into consent_events {columns} values {values} on conflict do nothing", (event_id,))
    events = opstore.consent_events(con)
    assert events["event"].tolist() == ["granted"]


def test_consent_status_is_the_latest_event_per_user(con):
    opstore.record_consent(con, "u1", "granted", "signup", "u1", occurred_at="2026-01-05T10:00:00Z")
    opstore.record_consent(con, "u1", "revoked", "app", "u1", occurred_at="2026-03-01T08:00:00")
    opstore.record_consent(con, "u2", "granted", "signup", "u2", occurred_at="2026-02-01")
    # recorded later but occurred earlier: does not override u2's grant
    opstore.record_consent(con, "u2", "revoked", "import", "batch", occurred_at="2026-01-15")
    status = opstore.consent_status(con).set_index("user_id")
    assert status["status"].to_dict() == {"u1": "revoked", "u2": "granted"}
    assert status.loc["u1", "occurred_at"] == pd.Timestamp("2026-03-01 08:00:00")
    assert opstore.consenting_user_ids(con) == {"u2"}


def test_consent_status_as_of_a_date_includes_that_whole_day(con):
    opstore.record_consent(con, "u1", "granted", "signup", "u1", occurred_at="2026-01-05T10:00:00")
    opstore.record_consent(con, "u1", "revoked", "app", "u1", occurred_at="2026-10-31T23:59:00")
    opstore.record_consent(con, "u2", "granted", "signup", "u2", occurred_at="2026-11-01T00:00:00")
    assert opstore.consent_status(con, as_of="2026-10-30")["status"].tolist() == ["granted"]
    assert opstore.consent_status(con, as_of="2026-10-31").set_index("user_id")["status"].to_dict() == {
        "u1": "revoked"}
    assert opstore.consenting_user_ids(con, as_of=pd.Timestamp("2026-10-31 23:58:59")) == {"u1"}
    assert opstore.consenting_user_ids(con, as_of="2026-11-01") == {"u2"}


def test_same_instant_ties_go_to_the_later_recorded_event(con):
    for event in ("granted", "revoked", "granted"):
        opstore.record_consent(con, "u1", event, "app", "u1", occurred_at="2026-05-05T05:05:05")
    assert opstore.consent_status(con)["status"].tolist() == ["granted"]


def test_timezones_are_normalised_to_utc(con):
    opstore.record_consent(con, "u1", "granted", "app", "u1", occurred_at="2026-05-05T12:00:00+02:00")
    opstore.record_consent(con, "u1", "revoked", "app", "u1", occurred_at="2026-05-05T11:00:00Z")
    status = opstore.consent_status(con)
    assert status["status"].tolist() == ["revoked"]  # 11:00Z is after 10:00Z
    assert status["occurred_at"].tolist() == [pd.Timestamp("2026-05-05 11:00:00")]


def test_consent_writes_an_audit_row(con):
    event_id = opstore.record_consent(con, "u7", "revoked", "operator", "ann", role="admin")
    audit = opstore.audit_log(con)
    assert audit[["actor", "role", "action", "target"]].values.tolist() == [["ann", "admin", "consent.revoked", "u7"]]
    assert audit["detail"][0]["event_id"] == event_id


def test_bad_consent_is_refused(con):
    with pytest.raises(ValueError, match="event must be"):
        opstore.record_consent(con, "u1", "maybe", "app", "u1")
    with pytest.raises(ValueError, match="actor is required"):
        opstore.record_consent(con, "u1", "granted", "app", " ")
    assert opstore.consent_events(con).empty and opstore.audit_log(con).empty


def test_import_consent_events_skips_known_ids(con):
    df = pd.DataFrame({"event_id": ["e1", "e2"], "user_id": ["u1", "u2"], "event": ["granted", "revoked"],
                       "occurred_at": pd.to_datetime(["2026-01-01 09:00", "2026-01-02 10:00"]),
                       "source": ["signup", "app"], "actor": ["u1", "u2"]})
    assert opstore.import_consent_events(con, df) == 2
    assert opstore.import_consent_events(con, df) == 0
    more = pd.DataFrame({**{c: [v] for c, v in df.iloc[0].items()}, "event_id": ["e3"], "event": ["revoked"]})
    assert opstore.import_consent_events(con, more) == 1
    assert opstore.consent_events(con)["event_id"].tolist() == ["e1", "e2", "e3"]
    assert opstore.audit_log(con)["detail"].map(lambda d: d["events_added"]).tolist() == [2, 1]


def test_import_consent_events_validates(con):
    bad = pd.DataFrame({"event_id": ["e1"], "user_id": ["u1"], "event": ["granted"], "occurred_at": ["soon"],
                        "source": ["x"], "actor": ["y"]})
    with pytest.raises(ValueError, match="occurred_at"):
        opstore.import_consent_events(con, bad)
    with pytest.raises(ValueError, match="missing column"):
        opstore.import_consent_events(con, bad.drop(columns=["actor"]))
    assert opstore.consent_events(con).empty


def test_reviews_need_a_reason_except_approval(con):
    opstore.record_review(con, "r1", "u1", "approve", "ann", "operator", None)
    for action in ("override", "suppress", "flag"):
        with pytest.raises(ValueError, match="reason is required"):
            opstore.record_review(con, "r1", "u1", action, "ann", "operator", "  ")
    with pytest.raises(ValueError, match="action must be"):
        opstore.record_review(con, "r1", "u1", "delete", "ann", "operator", "x")
    with pytest.raises(ValueError, match="only allowed with action 'override'"):
        opstore.record_review(con, "r1", "u1", "flag", "ann", "operator", "x", replacement_item_id="i9")
    rid = opstore.record_review(con, "r2", "u1", "override", "bob", "admin", "better fit", replacement_item_id="i9")
    reviews = opstore.reviews(con)
    assert reviews["review_id"].tolist()[-1] == rid
    got = reviews[["recommendation_id", "action", "replacement_item_id", "reason"]].astype(object)
    assert got.where(got.notna(), None).values.tolist() == [
        ["r1", "approve", None, None], ["r2", "override", "i9", "better fit"]]
    assert opstore.audit_log(con)["action"].tolist() == ["review.approve", "review.override"]


def test_record_audit_round_trips_detail(con):
    audit_id = opstore.record_audit(con, "ann", "admin", "export", "u1", {"format": "html", "items": 3})
    row = opstore.audit_log(con).iloc[0]
    assert row["audit_id"] == audit_id and row["detail"] == {"format": "html", "items": 3}


def test_deliveries_are_idempotent_and_filterable(con):
    df = pd.DataFrame({"run_id": ["R1", "R1"], "user_id": ["u1", "u2"], "item_id": ["i1", "i2"],
                       "kind": ["education", "offer"], "recommendation_id": ["rec1", "rec2"],
                       "delivered_at": ["2026-10-01T00:00:00Z", "2026-10-20T00:00:00Z"]})
    assert opstore.record_deliveries(con, df) == 2
    assert opstore.record_deliveries(con, df) == 0
    assert opstore.deliveries(con)["item_id"].tolist() == ["i1", "i2"]
    assert opstore.deliveries(con, since="2026-10-02")["item_id"].tolist() == ["i2"]
    assert opstore.delivery_ids(df).tolist() == opstore.deliveries(con)["delivery_id"].tolist()
    later = df.assign(run_id="R2")
    assert opstore.record_deliveries(con, later) == 2


# ------------------------------------------------------------------------------------------- concurrency

WRITERS, REVIEWS_EACH, CONSENTS_EACH = 4, 40, 20


def _writer(path: str, worker: int, start, errors) -> None:
    """One process: wait for the others, then write reviews and consent changes as fast as it can."""
    try:
        con = opstore.connect(path)  # every process also races to create the schema
        start.wait(timeout=120)
        for i in range(REVIEWS_EACH):
            opstore.record_review(con, f"rec-{worker}-{i}", f"u{worker}", "flag", f"op{worker}", "operator",
                                  f"check {i}")
            if i % 2 == 0:
                event = "granted" if (i // 2) % 2 == 0 else "revoked"
                opstore.record_consent(con, f"u{worker}", event, "operator", f"op{worker}")
        con.close()
    except Exception as exc:  # noqa: BLE001 - any failure is reported to the parent, which fails the test
        start.abort()  # never leave the other workers waiting at the barrier
        errors.put(f"worker {worker}: {type(exc).__name__}: {exc}")


def test_concurrent_writers_lose_nothing(opstore_location: str):
    path = opstore_location
    ctx = mp.get_context("fork")  # separate OS processes; fork because test modules are not importable by name
    start, errors = ctx.Barrier(WRITERS), ctx.Queue()
    procs = [ctx.Process(target=_writer, args=(path, w, start, errors)) for w in range(WRITERS)]
    for p in procs:
        p.start()
    for p in procs:
        p.join(timeout=300)
    problems = []
    while not errors.empty():
        problems.append(errors.get())
    assert not problems, problems
    assert all(p.exitcode == 0 for p in procs)

    con = opstore.connect(path)
    try:
        reviews = opstore.reviews(con)
        assert len(reviews) == WRITERS * REVIEWS_EACH
        assert set(reviews["recommendation_id"]) == {f"rec-{w}-{i}" for w in range(WRITERS)
                                                     for i in range(REVIEWS_EACH)}
        events = opstore.consent_events(con)
        assert len(events) == WRITERS * CONSENTS_EACH
        audit = opstore.audit_log(con)
        assert len(audit) == WRITERS * (REVIEWS_EACH + CONSENTS_EACH)
        # each worker's last consent change (i = 38: (38 // 2) % 2 == 1) was a revocation
        assert opstore.consent_status(con)["status"].tolist() == ["revoked"] * WRITERS
        if not opstore.is_postgresql(con):
            assert con.execute("pragma integrity_check").fetchone()[0] == "ok"
    finally:
        con.close()


def test_a_url_location_stays_text_and_reports_hide_its_password(tmp_path: Path, monkeypatch):
    from spendsense import paths
    url = "postgresql://ops:s3cret@db.example:5432/spendsense"
    assert paths.opstore_location(url) == url  # Path() would fold the "//"
    assert paths.opstore_location(tmp_path / "x.sqlite") == tmp_path / "x.sqlite"
    monkeypatch.setenv("SPENDSENSE_OPSTORE", url)
    assert paths.opstore_path() == url
    assert paths.opstore_shown(url) == "postgresql://ops:***@db.example:5432/spendsense"
    assert paths.opstore_shown("postgresql://ops@db/x") == "postgresql://ops@db/x"
