"""The API in process (FastAPI's TestClient) over the dashboard fixture run: each endpoint's answer and refusals
by role, the envelope and error codes, consent enforcement, rate limits, size limits, audit and metrics.

Fixture: u001 Jane Doe (granted; 6 recommendations, Visa ending 4523), u002 John Smith (granted; 4), u003 Ann
Lee (granted, then revoked in the opstore; 1 recommendation). Nothing is reviewed at the start.
"""

from __future__ import annotations

import pandas as pd
import pytest
from fastapi.testclient import TestClient

from spendsense import opstore, opstore_api

ENVELOPE_KEYS = {"status", "data", "message", "timestamp", "request_id"}


def code(response) -> str:
    return response.json()["data"]["code"]


def approve(client, token, rec_id):
    r = client.post(f"/v1/operator/review/{rec_id}", json={"action": "approve"}, headers=token("operator"))
    assert r.status_code == 201, r.text
    return r


def test_every_answer_has_the_envelope_and_echoes_the_request_id(client, token):
    r = client.get("/v1/health", headers={"X-Request-ID": "abc-123"})
    assert r.status_code == 200 and set(r.json()) == ENVELOPE_KEYS
    assert r.json()["request_id"] == "abc-123" and r.headers["X-Request-ID"] == "abc-123"
    assert r.json()["data"]["ready"] is True and r.json()["data"]["published_run"] == "20261031T023000Z"
    bad = client.get("/v1/users/u001", headers={"X-Request-ID": "not valid!"})  # made up instead
    assert set(bad.json()) == ENVELOPE_KEYS and bad.json()["status"] == "error"
    assert bad.headers["X-Request-ID"] == bad.json()["request_id"] != "not valid!"


def test_a_missing_expired_or_foreign_token_is_unauthenticated(client, token):
    from spendsense.api import auth

    assert client.get("/v1/users/u001").status_code == 401
    expired = {"Authorization": "Bearer " + auth.issue("x" * 40, "admin", "eve", ttl_s=-10)}
    foreign = {"Authorization": "Bearer " + auth.issue("y" * 40, "admin", "eve")}
    for headers in (expired, foreign, {"Authorization": "Basic abc"}):
        r = client.get("/v1/users/u001", headers=headers)
        assert r.status_code == 401 and code(r) == "unauthenticated" and r.headers["WWW-Authenticate"] == "Bearer"


def test_a_user_as_each_role_sees_them(client, token):
    admin = client.get("/v1/users/u001", headers=token("admin")).json()["data"]
    operator = client.get("/v1/users/u001", headers=token("operator")).json()["data"]
    assert admin["name"] == "Jane Doe" and operator["name"] == "J*** D***"
    assert admin["consent"] == operator["consent"] == "granted"
    r = client.get("/v1/users/u001", headers=token("analyst"))
    assert r.status_code == 403 and code(r) == "forbidden"
    assert client.get("/v1/users/u001", headers=token("customer", "u001")).status_code == 200
    r = client.get("/v1/users/u002", headers=token("customer", "u001"))
    assert r.status_code == 403 and code(r) == "forbidden"
    r = client.get("/v1/users/nobody", headers=token("admin"))
    assert r.status_code == 404 and code(r) == "not_found"


def test_without_granted_consent_only_an_admin_reads_a_person(client, token):
    r = client.get("/v1/users/u003", headers=token("operator"))
    assert r.status_code == 403 and code(r) == "consent_required"
    assert "Ann" not in r.text  # no personal data in error text
    assert client.get("/v1/users/u003", headers=token("admin")).json()["data"]["consent"] == "revoked"
    r = client.get("/v1/recommendations/u003", headers=token("operator"))
    assert code(r) == "consent_required"
    audit = client.get("/v1/recommendations/u003?include=trace", headers=token("admin")).json()["data"]
    assert audit["items"] == [] and [x["recommendation_id"] for x in audit["recommendations"]] == \
        ["r_u003_30_edu_hysa"]


def test_consent_revoked_between_two_calls_hides_the_recommendations_at_once(client, token):
    approve(client, token, "r_u001_30_edu_util")
    me = token("customer", "u001")
    first = client.get("/v1/recommendations/u001", headers=me)
    assert [i["item_id"] for i in first.json()["data"]["items"]] == ["edu_util"]
    assert "••23" in first.json()["data"]["items"][0]["rationale"] and "4523" not in first.text
    r = client.post("/v1/consent", json={"user_id": "u001", "event": "revoked", "reason": "app setting"},
                    headers=me)
    assert r.status_code == 201 and r.json()["data"]["status"] == "revoked"
    second = client.get("/v1/recommendations/u001", headers=me)
    assert second.status_code == 403 and code(second) == "consent_required"
    assert code(client.get("/v1/recommendations/u001", headers=token("operator"))) == "consent_required"


def test_consent_writes_follow_the_dashboard_rule(client, token):
    body = {"user_id": "u002", "event": "granted"}
    assert code(client.post("/v1/consent", json=body, headers=token("operator"))) == "forbidden"
    assert code(client.post("/v1/consent", json=body, headers=token("analyst"))) == "forbidden"
    assert code(client.post("/v1/consent", json=body, headers=token("customer", "u001"))) == "forbidden"
    assert client.post("/v1/consent", json={**body, "event": "revoked"}, headers=token("operator")).status_code \
        == 201
    assert client.post("/v1/consent", json=body, headers=token("admin")).status_code == 201
    data = client.get("/v1/consent/u002", headers=token("operator")).json()["data"]
    assert data["status"] == "granted" and [e["event"] for e in data["history"]][-2:] == ["revoked", "granted"]
    assert [e["source"] for e in data["history"]][-2:] == ["api", "api"]
    future = client.post("/v1/consent", json={**body, "occurred_at": "2099-01-01T00:00:00Z"},
                         headers=token("admin"))
    assert future.status_code == 422 and code(future) == "validation"


def test_strict_bodies_reject_unknown_fields_and_bad_values(client, token):
    r = client.post("/v1/feedback", json={"user_id": "u001", "recommendation_id": "r_u001_30_edu_util",
                                          "reaction": "clicked", "extra": 1}, headers=token("customer", "u001"))
    assert r.status_code == 422 and code(r) == "validation"
    assert r.json()["data"]["details"][0]["location"] == ["body", "extra"]
    r = client.post("/v1/feedback", json={"user_id": "u001", "recommendation_id": "r_u001_30_edu_util",
                                          "reaction": "love"}, headers=token("customer", "u001"))
    assert code(r) == "validation" and "love" not in r.text  # input values are not echoed
    big = client.post("/v1/consent", content=b"{" + b" " * 70_000 + b"}", headers={
        **token("admin"), "Content-Type": "application/json"})
    assert big.status_code == 413 and code(big) == "validation"


def test_feedback_is_appended_once_and_becomes_the_click_through(client, token, opstore_path):
    runs_latest = lambda: client.get("/v1/runs/latest", headers=token("analyst")).json()["data"]
    assert runs_latest()["click_through"] == {"status": "no feedback yet"}
    me = token("customer", "u001")
    body = {"user_id": "u001", "recommendation_id": "r_u001_30_edu_util", "reaction": "clicked",
            "feedback_id": "fb-0001-abc"}
    assert client.post("/v1/feedback", json=body, headers=me).status_code == 201
    again = client.post("/v1/feedback", json=body, headers=me)
    assert again.status_code == 200 and again.json()["data"]["recorded"] is False
    r = client.post("/v1/feedback", json={**body, "recommendation_id": "r_u002_30_edu_subs", "feedback_id": None},
                    headers=me)
    assert r.status_code == 404 and code(r) == "not_found"
    assert code(client.post("/v1/feedback", json=body, headers=token("analyst"))) == "forbidden"
    ct = runs_latest()["click_through"]
    assert ct["recommendations_clicked"] == 1 and ct["recommendations_delivered"] == 11
    assert ct["click_through_rate"] == round(1 / 11, 4)
    con = opstore.connect(opstore_path)
    try:
        rows = opstore_api.feedback(con)
        assert rows[["user_id", "item_id", "reaction"]].values.tolist() == [["u001", "edu_util", "clicked"]]
    finally:
        con.close()


def test_reviews_one_and_many_with_the_dashboard_refusals(client, token):
    op = token("operator")
    r = client.post("/v1/operator/review/r_u001_30_edu_autopay", json={"action": "suppress"}, headers=op)
    assert r.status_code == 422 and "reason" in r.json()["message"]
    r = client.post("/v1/operator/review/r_u001_30_edu_autopay",
                    json={"action": "override", "reason": "better fit", "replacement_item_id": "nope"}, headers=op)
    assert code(r) == "validation"
    assert code(client.post("/v1/operator/review/r_u003_30_edu_hysa", json={"action": "approve"}, headers=op)) \
        == "consent_required"
    assert code(client.post("/v1/operator/review/r_none", json={"action": "approve"}, headers=op)) == "not_found"
    assert code(client.post("/v1/operator/review/r_u001_30_edu_util", json={"action": "approve"},
                            headers=token("analyst"))) == "forbidden"
    bulk = client.post("/v1/operator/review", json={"recommendation_ids": [
        "r_u002_30_edu_subs", "r_u002_30_edu_bills", "r_none", "r_u003_30_edu_hysa"]}, headers=op).json()["data"]
    assert bulk["approved"] == 2
    assert [x["code"] for x in bulk["results"]] == ["ok", "ok", "not_found", "consent_required"]
    items = client.get("/v1/recommendations/u002", headers=op).json()["data"]["items"]
    assert sorted(i["item_id"] for i in items) == ["edu_bills", "edu_subs"]


def test_a_decision_on_a_stale_state_is_a_conflict(client, token):
    op = token("operator")
    first = client.post("/v1/operator/review/r_u001_30_edu_util",
                        json={"action": "approve", "expected_review_id": ""}, headers=op)
    assert first.status_code == 201
    # a second operator who also saw no review yet flags it: refused, nothing written
    stale = client.post("/v1/operator/review/r_u001_30_edu_util",
                        json={"action": "flag", "reason": "check", "expected_review_id": ""}, headers=op)
    assert stale.status_code == 409 and code(stale) == "conflict"
    fresh = client.post("/v1/operator/review/r_u001_30_edu_util",
                        json={"action": "flag", "reason": "check",
                              "expected_review_id": first.json()["data"]["review_id"]}, headers=op)
    assert fresh.status_code == 201


def test_the_queue_and_the_user_list_page_by_cursor(client, token):
    op = token("operator")
    seen, cursor = [], None
    while True:
        page = client.get("/v1/operator/review", params={"limit": 3, **({"cursor": cursor} if cursor else {})},
                          headers=op).json()["data"]
        seen += [i["recommendation_id"] for i in page["items"]]
        cursor = page["next_cursor"]
        if not cursor:
            break
    assert len(seen) == len(set(seen)) == page["total"] == 10  # u003's one is not queued (consent revoked)
    users, cursor = [], None
    for _ in range(5):
        page = client.get("/v1/users", params={"limit": 1, **({"cursor": cursor} if cursor else {})},
                          headers=op).json()["data"]
        users += [i["user_id"] for i in page["items"]]
        cursor = page["next_cursor"]
        if not cursor:
            break
    assert users == ["u001", "u002", "u003"]
    flagged = client.get("/v1/users", params={"persona": "subscription_heavy"}, headers=op).json()["data"]
    assert [i["user_id"] for i in flagged["items"]] == ["u002"]
    assert client.get("/v1/users", params={"limit": 101}, headers=op).status_code == 422
    assert code(client.get("/v1/users", params={"cursor": "%%%"}, headers=op)) == "validation"
    assert code(client.get("/v1/users", params={"flag": "rich"}, headers=op)) == "validation"


def test_the_profile_of_one_window(client, token):
    data = client.get("/v1/profile/u001", params={"window": "30"}, headers=token("operator")).json()["data"]
    signals = {s["signal"]: s["value"] for s in data["signals"]}
    assert signals["max_utilization"] == 0.68
    assert data["persona"]["persona_id"] == "high_utilization" and data["persona"]["criteria"]
    cards = data["evidence"]["credit_cards"]
    assert cards and {c["window_days"] for c in cards} == {30} and all("4523" not in str(c) for c in cards)
    assert client.get("/v1/profile/u001", params={"window": "90"}, headers=token("operator")).status_code == 422
    assert code(client.get("/v1/profile/u001", headers=token("customer", "u001"))) == "forbidden"


def test_registering_a_user_then_conflict(client, token):
    body = {"user_id": "u900", "name": "New Person"}
    assert client.post("/v1/users", json=body, headers=token("operator")).status_code == 201
    assert code(client.post("/v1/users", json=body, headers=token("operator"))) == "conflict"
    assert code(client.post("/v1/users", json={"user_id": "u001", "name": "X"}, headers=token("admin"))) == \
        "conflict"
    got = client.get("/v1/users/u900", headers=token("operator")).json()["data"]
    assert got["in_published_run"] is False and got["registered_at"]


def test_rate_limit_answers_429_with_retry_after(make_app, token):
    with TestClient(make_app(per_token="3/minute")) as c:
        h = token("operator")
        assert [c.get("/v1/users/u001", headers=h).status_code for _ in range(3)] == [200] * 3
        r = c.get("/v1/users/u001", headers=h)
        assert r.status_code == 429 and code(r) == "rate_limited" and 1 <= int(r.headers["Retry-After"]) <= 60
        assert c.get("/v1/users/u002", headers=token("operator", subject="other")).status_code == 200


def test_every_call_is_audited_and_counted(client, token, opstore_path):
    client.get("/v1/users/u001", headers={**token("operator", subject="alice"), "X-Request-ID": "req-42"})
    client.get("/v1/users/u003", headers=token("operator", subject="alice"))
    con = opstore.connect(opstore_path)
    try:
        log = opstore.audit_log(con)
    finally:
        con.close()
    api = log[log["action"].str.startswith("api.")]
    rows = [(r.actor, r.role, r.target, r.detail["route"], r.detail["status"], r.detail["outcome"])
            for r in api.itertuples()]
    assert ("alice", "operator", "u001", "/v1/users/{user_id}", 200, "ok") in rows
    assert ("alice", "operator", "u003", "/v1/users/{user_id}", 403, "consent_required") in rows
    assert "req-42" in {d["request_id"] for d in api["detail"]}
    text = client.get("/metrics").text
    assert 'spendsense_api_requests_total{method="GET",route="/v1/users/{user_id}",status="403"} 1.0' in text
    assert "spendsense_api_request_seconds_bucket" in text


@pytest.mark.parametrize("role", ["admin", "operator"])
def test_the_dashboard_and_the_api_show_a_role_the_same(client, token, runs_root, opstore_path, role):
    from spendsense.dashboard.access import DashboardData

    approve(client, token, "r_u001_180_edu_budget")
    data = DashboardData(runs_root=runs_root, role=role, operator="x", opstore_path=opstore_path)
    try:
        api_user = client.get("/v1/users/u001", headers=token(role)).json()["data"]
        assert api_user["name"] == data.user_profile("u001")["name"]
        api_items = client.get("/v1/recommendations/u001", headers=token(role)).json()["data"]["items"]
        preview = data.customer_preview("u001").items
        assert [i["item_id"] for i in api_items] == list(preview["item_id"])
        assert [i["rationale"] for i in api_items] == [None if pd.isna(x) else x for x in preview["rationale"]]
    finally:
        data.close()
