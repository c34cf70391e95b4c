"""Input fingerprints: an unchanged snapshot is recognised without validating or diffing it again; any changed
byte, another mode or an operational store that lacks the consent events takes the full ingest.

Uses test_rawstore's two nights (one user u1, night 1: users.csv, consent_events.csv with one event e1, a sync
response with 5 transactions; night 2: one added, one modified, one removed)."""

from __future__ import annotations

import json
import shutil

import pytest

from spendsense import opstore
from spendsense.ingest import fingerprint, ingest, rawstore, readers, validate

from .test_rawstore import nights  # noqa: F401 - the fixture


def _no_validation(monkeypatch) -> list[str]:
    """Record every row check ingest starts (an unchanged input must start none)."""
    started: list[str] = []
    real = validate.check_rows

    def spy(con, table, views):
        started.append(table)
        return real(con, table, views)

    monkeypatch.setattr(validate, "check_rows", spy)
    return started


def test_the_same_files_again_are_recognised_without_validation(nights, monkeypatch):  # noqa: F811
    store, ops = nights["store"], nights["tmp"] / "ops.sqlite"
    first = ingest(nights["night1"], raw_store=store, opstore_path=ops)
    assert first.consent_events_added == 1
    recorded = rawstore.batches(store)[0].input
    assert set(recorded["fingerprint"]) == {"users", "consent_events", "plaid_json"}
    started = _no_validation(monkeypatch)
    again = ingest(nights["night1"], raw_store=store, opstore_path=ops)
    assert started == []
    assert again.batch is None and again.batch_id == 1 and again.consent_events_added == 0
    assert again.rows == first.rows and again.rows["transactions"] == 5 and again.rows["users"] == 1
    assert "input unchanged since batch 1" in str(again)
    assert rawstore.latest_batch_id(store) == 1


def test_a_copy_in_another_folder_has_the_same_fingerprint_and_one_changed_byte_does_not(nights):  # noqa: F811
    copy = nights["tmp"] / "copy"
    copy.mkdir()
    for path in nights["night1"]:
        shutil.copy(path, copy / path.name)
    prints = lambda paths: fingerprint.input_fingerprint(readers.discover(paths)[0])
    original = prints(nights["night1"])
    assert prints([copy / p.name for p in nights["night1"]]) == original
    users = copy / "users.csv"
    users.write_text(users.read_text().replace("712", "713"))
    changed = prints([copy / p.name for p in nights["night1"]])
    assert changed["users"] != original["users"]
    assert changed["consent_events"] == original["consent_events"]
    assert changed["plaid_json"] == original["plaid_json"]


def test_a_changed_file_is_validated_and_diffed(nights, monkeypatch):  # noqa: F811
    store = nights["store"]
    ingest(nights["night1"], raw_store=store)
    users = nights["night1"][0]
    users.write_text(users.read_text().replace("712", "713"))
    started = _no_validation(monkeypatch)
    report = ingest(nights["night1"], raw_store=store)
    assert "users" in started
    assert report.batch.batch_id == 2
    assert report.batch.changes["users"] == {"added": 0, "modified": 1, "removed": 0}
    # and that new input is the one the next unchanged ingest is compared with
    assert "input unchanged since batch 2" in str(ingest(nights["night1"], raw_store=store))


def test_replace_after_merge_of_the_same_input_is_a_full_ingest(nights, monkeypatch):  # noqa: F811
    store = nights["store"]
    ingest(nights["night1"], raw_store=store)
    started = _no_validation(monkeypatch)
    report = ingest(nights["night1"], raw_store=store, mode="replace")
    assert started  # a replace may tombstone rows the merge kept: not skipped
    assert report.batch is None  # (here nothing is absent, so nothing changes)
    assert "input unchanged" not in str(report)


@pytest.mark.parametrize("fresh_opstore", [True, False])
def test_an_opstore_without_the_stores_consent_events_gets_them(nights, monkeypatch, fresh_opstore):  # noqa: F811
    store, tmp = nights["store"], nights["tmp"]
    ingest(nights["night1"], raw_store=store, opstore_path=tmp / "first.sqlite")
    target = tmp / ("fresh.sqlite" if fresh_opstore else "first.sqlite")
    started = _no_validation(monkeypatch)
    report = ingest(nights["night1"], raw_store=store, opstore_path=target)
    assert bool(started) is fresh_opstore
    assert report.consent_events_added == (1 if fresh_opstore else 0)
    con = opstore.connect(target)
    try:
        assert opstore.consent_events(con)["event_id"].tolist() == ["e1"]
    finally:
        con.close()


def test_the_rules_are_part_of_the_fingerprint(nights, monkeypatch):  # noqa: F811
    sources = readers.discover(nights["night1"])[0]
    before = fingerprint.input_fingerprint(sources)
    fingerprint.rules_digest.cache_clear()
    monkeypatch.setattr(fingerprint, "VERSION", "changed")
    try:
        assert fingerprint.input_fingerprint(sources)["users"] != before["users"]
    finally:
        fingerprint.rules_digest.cache_clear()


def test_a_batch_written_before_fingerprints_is_never_taken_as_unchanged(nights):  # noqa: F811
    store = nights["store"]
    ingest(nights["night1"], raw_store=store)
    meta = rawstore.batch_dir(store, 1) / rawstore.BATCH_FILE
    raw = json.loads(meta.read_text())
    raw.pop("input")
    meta.write_text(json.dumps(raw))
    assert rawstore.batches(store)[0].input == {}
    assert "input unchanged" not in str(ingest(nights["night1"], raw_store=store))
