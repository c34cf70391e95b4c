"""Property: whatever sequence of consent grants and revocations the operational store records, no recommendation
is generated, and none is delivered (user-facing), for a user whose latest consent event is not a grant."""

from __future__ import annotations

import datetime as dt
import sys
import tempfile
from pathlib import Path

import duckdb
import pandas as pd
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

sys.path.insert(0, str(Path(__file__).parent))

import recommend_fixtures as F

from spendsense import opstore
from spendsense.recommend import (
    RecommendInputs,
    delivered_recommendations,
    recommend,
    write_outputs,
)

CATALOG, SCORING, GUARDRAILS = F.config()
USERS = list(F.USERS)
T0 = dt.datetime(2026, 1, 1, 9, 0)

events = st.lists(st.tuples(st.sampled_from(USERS), st.sampled_from(["granted", "revoked"]),
                            st.integers(0, 5)), max_size=14)


def _record(con, seq) -> None:
    for user, event, hour in seq:  # few distinct hours: ties in occurred_at are common
        opstore.record_consent(con, user, event, source="test", actor="hypothesis",
                               occurred_at=T0 + dt.timedelta(hours=hour))


def _latest_granted(seq, before: set[str] | None = None) -> set[str]:
    """Users whose latest event (by time, then recording order) is a grant."""
    latest: dict[str, tuple[int, int, str]] = {}
    for i, (user, event, hour) in enumerate(seq):
        if user not in latest or (hour, i) >= latest[user][:2]:
            latest[user] = (hour, i, event)
    return {u for u, (_, _, e) in latest.items() if e == "granted"}


def _inputs(consent: pd.DataFrame) -> RecommendInputs:
    base = F.inputs()
    return RecommendInputs(base.signals_wide, base.credit_cards, base.recurring_streams, base.persona_assignments,
                           base.users, base.accounts, consent, base.history, base.as_of)


@settings(max_examples=20, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(events, events)
def test_no_recommendation_or_delivery_without_consent(before, after):
    with tempfile.TemporaryDirectory() as tmp:
        store = Path(tmp) / "opstore.sqlite"
        con = opstore.connect(store)
        try:
            _record(con, before)
            snapshot = opstore.consent_status(con)
        finally:
            con.close()
        granted = _latest_granted(before)
        assert set(snapshot.loc[snapshot["status"] == "granted", "user_id"]) == granted
        out = recommend(_inputs(snapshot), CATALOG, SCORING, GUARDRAILS, "prop-run", F.CREATED, F.VERSIONS)
        assert set(out.recommendations["user_id"]) <= granted
        assert set(out.decision_contexts["user_id"]) <= granted
        skipped = set(out.guardrail_events.loc[out.guardrail_events["guardrail"] == "consent", "user_id"])
        assert skipped == set(USERS) - granted
        # every user with consent gets either recommendations or a shortfall saying why not
        covered = set(out.recommendations["user_id"]) | set(out.shortfalls["user_id"])
        assert granted <= covered

        # consent changes after generation: only users still consenting are delivered (user-facing)
        warehouse = Path(tmp) / "warehouse.duckdb"
        with duckdb.connect(str(warehouse)) as wcon:
            write_outputs(wcon, out)
        con = opstore.connect(store)
        try:
            _record(con, [(u, e, h + 6) for u, e, h in after])  # later than every earlier event
        finally:
            con.close()
        now_granted = _latest_granted(before + [(u, e, h + 6) for u, e, h in after])
        delivered = delivered_recommendations(warehouse, store, delivered_at=F.CREATED)
        assert set(delivered["user_id"]) <= now_granted & granted
        expected = out.recommendations[out.recommendations["user_id"].isin(now_granted)]
        assert sorted(delivered["recommendation_id"]) == sorted(expected["recommendation_id"])
