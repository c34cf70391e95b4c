"""Several processes writing to one operational store at once while a run publishes its deliveries (PostgreSQL,
and the same on SQLite): nothing lost, nothing doubled, each stale review refused exactly once."""

from __future__ import annotations

import multiprocessing as mp

import pandas as pd

from spendsense import opstore

WORKERS, SHARED, CONSENTS_EACH, DELIVERIES_EACH, PUBLISHED = 4, 12, 16, 60, 20_000


def _published() -> pd.DataFrame:
    """The run's deliveries the publish records (one per user and item)."""
    n = PUBLISHED
    return pd.DataFrame({"run_id": "RUN", "user_id": [f"p{i // 4}" for i in range(n)],
                         "item_id": [f"i{i % 4}" for i in range(n)], "kind": "education",
                         "recommendation_id": [f"RUN-rec{i}" for i in range(n)],
                         "delivered_at": "2026-11-30T06:00:00Z"})


def _api_deliveries(worker: int) -> pd.DataFrame:
    """A worker's deliveries: half its own, half the same rows every worker records (stored once)."""
    rows = [(f"w{worker}-u{i}" if i % 2 else f"common-u{i}") for i in range(DELIVERIES_EACH)]
    return pd.DataFrame({"run_id": "API", "user_id": rows, "item_id": "i1", "kind": "offer"})


def _publisher(url: str, start, results) -> None:
    """The publish: record the run's deliveries (twice, as a re-run of the publish step would)."""
    try:
        con = opstore.connect(url)
        start.wait(timeout=120)
        first = opstore.record_deliveries(con, _published())
        again = opstore.record_deliveries(con, _published())
        con.close()
        results.put(("publish", first, again))
    except Exception as exc:  # noqa: BLE001 - reported to the parent, which fails the test
        start.abort()
        results.put(("error", f"publisher: {type(exc).__name__}: {exc}", None))


def _worker(url: str, worker: int, start, round_two, results) -> None:
    """An API worker / dashboard writer: consent changes, deliveries and two racing rounds of reviews."""
    try:
        con = opstore.connect(url)  # every process also races to create (or migrate) the schema
        start.wait(timeout=120)
        won, refused = 0, 0
        for i in range(CONSENTS_EACH):
            opstore.record_consent(con, f"w{worker}", "granted" if i % 2 else "revoked", "app", f"w{worker}")
            if i == CONSENTS_EACH // 2:
                opstore.record_deliveries(con, _api_deliveries(worker))
        for k in range(SHARED):  # round 1: everyone decides on an unreviewed recommendation
            try:
                opstore.record_review(con, f"shared-{k}", "u", "flag", f"op{worker}", "operator", "first look",
                                      expected_latest=opstore.NO_REVIEW)
                won += 1
            except opstore.StaleDecision:
                refused += 1
        round_two.wait(timeout=120)
        for k in range(SHARED):  # round 2: everyone decides against round 1's winner
            seen = _round_one_winner(con, k)
            try:
                opstore.record_review(con, f"shared-{k}", "u", "approve", f"op{worker}", "operator", None,
                                      expected_latest=seen)
                won += 1
            except opstore.StaleDecision:
                refused += 1
        con.close()
        results.put(("worker", won, refused))
    except Exception as exc:  # noqa: BLE001 - reported to the parent, which fails the test
        start.abort()
        round_two.abort()
        results.put(("error", f"worker {worker}: {type(exc).__name__}: {exc}", None))


def _round_one_winner(con, k: int) -> str:
    """The review_id of the first review recorded for shared-k."""
    reviews = opstore.reviews(con)
    return reviews.loc[reviews["recommendation_id"] == f"shared-{k}", "review_id"].iat[0]


def test_writers_and_a_publish_at_once_lose_nothing_and_refuse_each_stale_decision_once(opstore_location):
    url = opstore_location
    ctx = mp.get_context("fork")
    start, round_two, results = ctx.Barrier(WORKERS + 1), ctx.Barrier(WORKERS), ctx.Queue()
    procs = [ctx.Process(target=_worker, args=(url, w, start, round_two, results)) for w in range(WORKERS)]
    procs.append(ctx.Process(target=_publisher, args=(url, start, results)))
    for p in procs:
        p.start()
    got = [results.get(timeout=600) for _ in procs]
    for p in procs:
        p.join(timeout=60)
    errors = [r[1] for r in got if r[0] == "error"]
    assert not errors, errors
    assert all(p.exitcode == 0 for p in procs)

    publish = next(r for r in got if r[0] == "publish")
    assert publish[1:] == (PUBLISHED, 0)  # all recorded once, the re-run adds nothing
    won = sum(r[1] for r in got if r[0] == "worker")
    refused = sum(r[2] for r in got if r[0] == "worker")
    assert won == 2 * SHARED  # exactly one winner per recommendation and round
    assert refused == 2 * SHARED * (WORKERS - 1)  # every other attempt refused, once

    with opstore.connect(url) as con:
        deliveries = opstore.deliveries(con)
        common = DELIVERIES_EACH // 2
        assert len(deliveries) == PUBLISHED + WORKERS * (DELIVERIES_EACH - common) + common
        assert deliveries["delivery_id"].is_unique
        assert (deliveries["run_id"] == "RUN").sum() == PUBLISHED

        events = opstore.consent_events(con)
        assert len(events) == WORKERS * CONSENTS_EACH
        # recording order (rowid) is commit order: recorded_at, taken inside the write lock, never goes back
        assert events["recorded_at"].is_monotonic_increasing
        # each worker's last change (i = 15, odd) was a grant
        assert opstore.consent_status(con)["status"].tolist() == ["granted"] * WORKERS

        reviews = opstore.reviews(con)
        assert len(reviews) == 2 * SHARED
        assert reviews.groupby("recommendation_id")["action"].agg(list).tolist() == [["flag", "approve"]] * SHARED
        audit = opstore.audit_log(con)
        assert (audit["action"].str.startswith("review.")).sum() == 2 * SHARED  # refusals write nothing
        assert (audit["action"].str.startswith("consent.")).sum() == WORKERS * CONSENTS_EACH
