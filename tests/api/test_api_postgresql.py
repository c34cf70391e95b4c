"""The API over an operational store on PostgreSQL: the in-process tests that write and read the store (consent,
feedback, reviews, registration, audit, readiness), run again with `opstore_path` a postgresql:// database."""

from __future__ import annotations

import published_fixtures
from test_api_inprocess import (  # noqa: F401 - collected here again, with this module's opstore_path
    test_consent_revoked_between_two_calls_hides_the_recommendations_at_once,
    test_consent_writes_follow_the_dashboard_rule,
    test_every_call_is_audited_and_counted,
    test_feedback_is_appended_once_and_becomes_the_click_through,
    test_registering_a_user_then_conflict,
    test_reviews_one_and_many_with_the_dashboard_refusals,
    test_the_dashboard_and_the_api_show_a_role_the_same,
)

from spendsense import opstore

opstore_path = published_fixtures.opstore_path_postgresql  # the store of these tests: PostgreSQL


def test_the_store_behind_the_api_is_postgresql_and_ready(client, token, opstore_path):
    health = client.get("/v1/health/ready", headers=token("operator"))
    assert health.status_code == 200 and health.json()["data"]["store"]
    assert opstore.is_postgresql(client.app.state.views.con)
    with opstore.connect(opstore_path) as con:
        assert opstore.consent_status(con, user_id="u003")["status"].tolist() == ["revoked"]
