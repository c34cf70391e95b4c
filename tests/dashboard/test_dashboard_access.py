"""Role-enforced data access over the fixture run and a temporary opstore."""

from __future__ import annotations

import fixture_run
import pandas as pd
import pytest

from spendsense import opstore
from spendsense.dashboard.access import (
    AccessDenied,
    DashboardData,
    NoPublishedRun,
    mask_account,
    mask_name,
    resolve_role,
)

PER_USER_CALLS = [
    ("search_users", ("",)), ("user_profile", ("u001",)), ("signals", ("u001",)), ("credit_cards", ("u001",)),
    ("recurring_streams", ("u001",)), ("transactions", ("u001",)), ("payroll_deposits", ("u001",)),
    ("personas", ("u001",)), ("timeline", ("u001",)), ("recommendations", ("u001",)), ("traces", ("u001",)),
    ("decision_trace", ("r_u001_30_edu_util",)), ("review_queue", ()), ("review_history", ()),
    ("consent", ("u001",)), ("consent_history", ("u001",)), ("customer_preview", ("u001",)),
    ("user_bundle", ("u001",)), ("record_review", ("r_u001_30_edu_util", "approve")),
    ("set_consent", ("u001", "revoked")), ("recompute", ("u001",)),
]


def test_masks_hand_computed():
    assert mask_name("Jane Doe") == "J*** D***"
    assert mask_name("Mary Ann van Dyke") == "M*** A*** v*** D***"
    assert mask_name(None) == "—"
    assert mask_account("4523", "admin") == "••••4523"
    assert mask_account("4523", "operator") == "••23"
    assert mask_account(None, "operator") == "—"


def test_role_from_launch_can_only_be_narrowed_by_the_query_string(monkeypatch):
    monkeypatch.delenv("SPENDSENSE_ROLE", raising=False)
    assert resolve_role(None, "") == "operator"
    assert resolve_role("admin", "token=x&role=analyst") == "analyst"
    assert resolve_role("operator", "role=admin") == "operator"
    assert resolve_role("analyst", "role=operator") == "analyst"
    monkeypatch.setenv("SPENDSENSE_ROLE", "admin")
    assert resolve_role(None, "role=operator") == "operator"
    with pytest.raises(ValueError, match="unknown dashboard role"):
        resolve_role("root", "")


@pytest.mark.parametrize("method,args", PER_USER_CALLS)
def test_analyst_gets_permission_error_for_every_per_user_call(make_data, method, args):
    data = make_data("analyst")
    with pytest.raises(PermissionError):
        getattr(data, method)(*args)


def test_analyst_still_sees_aggregates(make_data):
    data = make_data("analyst")
    mix = data.persona_mix()
    thirty = mix[mix["window_days"] == 30].set_index("persona_id")["users"].to_dict()
    assert thirty == {"high_utilization": 1, "savings_builder": 1, "subscription_heavy": 1}
    assert data.metrics()["coverage"]["value"] == 1.0
    assert data.fairness()[0]["verdict"] == "flag"
    # 11 recommendations, minus u003's one (consent revoked after the run): 10 pending
    assert data.review_queue_size() == 10
    assert data.counts() == {"users": 3, "users_with_recommendations": 3, "recommendations": 11}


def test_operator_sees_masked_names_and_account_numbers(make_data):
    data = make_data("operator")
    assert data.user_profile("u001")["name"] == "J*** D***"
    labels = data.search_users("", "id")["label"].tolist()
    assert labels[0].startswith("u001 · J*** D***") and "Jane" not in " ".join(labels)
    cards = data.credit_cards("u001")
    assert set(cards["mask"]) == {"••23"}
    recs = data.recommendations("u001")
    util = recs.loc[recs["recommendation_id"] == "r_u001_30_edu_util", "rationale"].iloc[0]
    assert "ending in ••23 is at 68%" in util and "4523" not in util
    txns = data.transactions("u001")
    assert not txns["description"].str.contains("Jane").any()  # the raw "Zelle to Jane Doe" is hidden
    assert set(txns["account_mask"]) == {"••11", "••23"}
    with pytest.raises(AccessDenied, match="search by name"):
        data.search_users("Jane", "name")


def test_admin_sees_names_and_full_masks(make_data):
    data = make_data("admin")
    assert data.user_profile("u001")["name"] == "Jane Doe"
    assert data.search_users("smi", "name")["user_id"].tolist() == ["u002"]
    assert set(data.credit_cards("u001")["mask"]) == {"••••4523"}
    recs = data.recommendations("u001")
    assert recs["rationale"].str.contains("4523").any()


def test_search_by_persona_and_flags(make_data):
    data = make_data("operator")
    assert data.search_users("subscription_heavy", "persona")["user_id"].tolist() == ["u002"]
    assert data.search_users("util_50", "flag")["user_id"].tolist() == ["u001"]
    assert data.search_users("util_80", "flag")["user_id"].tolist() == []
    assert data.search_users("consent_revoked", "flag")["user_id"].tolist() == ["u003"]
    assert data.search_users("shortfall", "flag")["user_id"].tolist() == ["u002"]


def test_signals_side_by_side_and_evidence(make_data):
    data = make_data("operator")
    sig = data.signals("u001").set_index("signal")
    assert sig.loc["avg_monthly_income", "value_30"] == 4030.0
    assert sig.loc["avg_monthly_income", "value_180"] == 4180.0
    assert sig.loc["pay_frequency", "text_180"] == "biweekly"
    streams = data.stream_transactions("u001")
    netflix_180 = streams[(streams["window_days"] == 180) & (streams["merchant_key"] == "netflix")]
    assert netflix_180["transaction_id"].tolist() == ["t_nf0", "t_nf1", "t_nf2"]
    assert netflix_180["amount"].tolist() == [15.49, 15.49, 15.49]
    payroll = data.payroll_deposits("u001")
    assert payroll.groupby("window_days").size().to_dict() == {30: 2, 180: 3}
    assert set(payroll["amount"]) == {2000.0}


def test_timeline_rebuilds_balance_backwards_from_current(make_data):
    data = make_data("operator")
    bal = data.timeline("u001")["balance"].set_index("date")["balance"]
    # checking a001c holds 2,500 today; later outflows/inflows are undone going back in time
    assert bal[pd.Timestamp("2026-10-31")] == 2500.0
    assert bal[pd.Timestamp("2026-10-14")] == 2500.0 - 2000.0  # before the 10-15 payroll of 2,000
    # before 10-01 payroll (+2000), 10-02 rent (-1500) and 10-07 cafe (-4.5): 2500 - 2000 - 2000 + 1500 + 4.5
    assert bal[pd.Timestamp("2026-09-30")] == pytest.approx(4.5)
    spend = data.timeline("u001")["spending"].set_index("month")
    assert spend.loc[pd.Timestamp("2026-10-01"), "income"] == 4000.0


def test_personas_criteria_parsed(make_data):
    data = make_data("operator")
    p = data.personas("u002").set_index("window_days")
    assert p.loc[30, "persona_id"] == "subscription_heavy"
    assert p.loc[180, "criteria"][0] == {"persona_id": "subscription_heavy", "signal": "subscription_share",
                                         "operator": ">=", "threshold": 0.5, "value": 0.3, "passed": False}


def test_review_recording_is_append_only_and_latest_wins(make_data, opstore_path):
    data = make_data("operator", operator="alice")
    data.record_review("r_u001_30_edu_util", "flag", "check the numbers")
    rid = data.record_review("r_u001_30_edu_util", "approve")
    recs = data.recommendations("u001").set_index("recommendation_id")
    assert recs.loc["r_u001_30_edu_util", "status"] == "approved"
    assert recs.loc["r_u001_30_edu_util", "reviewed_by"] == "alice"
    con = opstore.connect(opstore_path)
    rows = opstore.reviews(con)
    con.close()
    assert rows["action"].tolist() == ["flag", "approve"]
    assert rows["review_id"].iloc[-1] == rid
    assert set(rows["operator"]) == {"alice"} and set(rows["role"]) == {"operator"}
    assert rows["reason"].iloc[0] == "check the numbers" and pd.isna(rows["reason"].iloc[1])
    counts = data.review_counts()
    assert counts["approved"] == 1 and counts["pending"] == 9


def test_review_validation(make_data):
    data = make_data("operator")
    with pytest.raises(ValueError, match="reason is required"):
        data.record_review("r_u001_30_edu_util", "suppress", "  ")
    with pytest.raises(ValueError, match="not an eligible item"):
        data.record_review("r_u001_30_edu_util", "override", "better", replacement_item_id="offer_payday")
    with pytest.raises(KeyError, match="not in run"):
        data.record_review("r_nope", "approve")
    with pytest.raises(PermissionError, match="no granted consent"):
        data.record_review("r_u003_30_edu_hysa", "approve")
    # flagging a revoked user's item is still allowed (it never reaches the customer)
    data.record_review("r_u003_30_edu_hysa", "flag", "consent revoked after the run")


def test_replacement_options_come_from_trace_alternatives_and_other_window(make_data):
    data = make_data("operator")
    opts = {item: label for label, item in data.replacement_options("r_u001_30_edu_util")}
    assert set(opts) == {"edu_emergency", "edu_budget"}  # cut by business rules + 180d item of the same kind
    assert {item for _, item in data.replacement_options("r_u001_180_edu_budget")} == {"edu_autopay"}
    assert data.replacement_options("r_u001_30_offer_bt") == []
    data.record_review("r_u001_30_edu_util", "override", "emergency fund first", "edu_emergency")
    assert data.recommendations("u001").set_index("recommendation_id").loc[
        "r_u001_30_edu_util", "replacement_item_id"] == "edu_emergency"


def test_preview_merges_windows_without_duplicates(make_data):
    data = make_data("admin")
    for rid in ("r_u001_30_offer_bt", "r_u001_180_offer_bt", "r_u001_180_edu_budget"):
        data.record_review(rid, "approve")
    preview = data.customer_preview("u001")
    assert preview.greeting_name == "Jane"
    assert preview.items["item_id"].tolist() == ["edu_budget", "offer_bt"]  # education first, one offer_bt
    bt = preview.items.set_index("item_id").loc["offer_bt"]
    assert bt["windows"] == [30, 180] and bt["score"] == 0.72  # the higher-scoring row is kept
    assert all(d == fixture_run.DISCLOSURE for d in preview.items["disclosure"])
    assert "3 recommendation(s) still pending review are not shown." in preview.notes


def test_preview_shows_only_approved_and_holds_back_doubted_items(make_data):
    data = make_data("admin")
    assert data.customer_preview("u001").items.empty  # nothing approved yet
    data.record_review("r_u001_30_edu_util", "approve")
    data.record_review("r_u001_180_edu_util", "flag", "68% looks stale")
    data.record_review("r_u001_30_edu_autopay", "override", "budget first", "edu_budget")
    items = data.customer_preview("u001").items
    assert items["item_id"].tolist() == ["edu_budget"]  # util held by the flag; autopay replaced
    assert items["source"].tolist() == ["operator replacement"]


def test_consent_revoke_hides_the_preview_and_is_audited(make_data, opstore_path):
    data = make_data("operator", operator="bob")
    data.record_review("r_u001_30_offer_bt", "approve")
    assert data.customer_preview("u001").items["item_id"].tolist() == ["offer_bt"]
    event_id = data.set_consent("u001", "revoked", note="customer called")
    preview = data.customer_preview("u001")
    assert preview.items.empty and preview.consent_status == "revoked"
    assert "Consent revoked" in preview.message
    assert data.consent("u001")["status"] == "revoked"
    assert data.review_queue_size() == 4  # u001's and u003's items leave the queue: u002's 4 remain
    con = opstore.connect(opstore_path)
    events, audit = opstore.consent_events(con), opstore.audit_log(con)
    con.close()
    row = events.set_index("event_id").loc[event_id]
    assert (row["user_id"], row["event"], row["source"], row["actor"]) == ("u001", "revoked", "dashboard", "bob")
    revoked = audit[audit["action"] == "consent.revoked"].iloc[-1]
    assert (revoked["actor"], revoked["role"], revoked["target"]) == ("bob", "operator", "u001")
    note = audit[audit["action"] == "consent.note"].iloc[-1]
    assert note["detail"]["note"] == "customer called"


def test_only_admin_may_grant_consent(make_data):
    with pytest.raises(AccessDenied, match="grant consent"):
        make_data("operator").set_consent("u003", "granted")
    admin = make_data("admin")
    admin.set_consent("u003", "granted")
    assert admin.consent("u003")["status"] == "granted"


def test_reload_follows_latest_and_missing_run_is_clear(tmp_path, make_data, runs_root):
    data = make_data("operator")
    assert not data.reload() and not data.latest_differs()
    staged = fixture_run.copy_run(data.run_dir, runs_root, "20261101T023000Z")
    from spendsense import runs

    runs.publish(staged, runs_root)
    assert data.latest_differs()
    assert data.reload() and data.run_dir.name == "20261101T023000Z"
    with pytest.raises(NoPublishedRun, match="make run"):
        DashboardData(runs_root=tmp_path / "empty", role="operator")


def test_recompute_is_reported_unavailable_without_the_engine_function(make_data, monkeypatch):
    data = make_data("operator")
    monkeypatch.setattr(DashboardData, "recompute_function", staticmethod(lambda: None))
    ok, why = data.recompute_available()
    assert not ok and "spendsense.recompute.recompute_user" in why
    with pytest.raises(RuntimeError, match="unavailable"):
        data.recompute("u001")


def test_recompute_runs_the_engine_for_consenting_users_only(make_data, opstore_path):
    data = make_data("operator", operator="carol")
    ok, why = data.recompute_available()
    if not ok:
        pytest.skip(why)
    result = data.recompute("u001")
    recs = result["recommendations"]
    assert len(recs) and set(recs["user_id"]) == {"u001"}
    assert not recs["rationale"].str.contains("4523").any()  # masked for the operator role
    assert "refused" in data.recompute("u003")["status"]  # consent revoked: nothing computed
    con = opstore.connect(opstore_path)
    audit = opstore.audit_log(con)
    con.close()
    assert (audit["action"] == "user.recompute").sum() == 2 and set(audit.loc[
        audit["action"] == "user.recompute", "actor"]) == {"carol"}
    with pytest.raises(KeyError, match="not in run"):
        data.recompute("u999")


def test_one_users_consent_agrees_with_everyones(make_data):
    """A user switch ranks one user's events in SQLite; the batch path ranks everyone's in DuckDB: same rule."""
    admin = make_data("admin")
    admin.set_consent("u003", "granted")
    admin.set_consent("u003", "revoked")
    everyone = admin._consent_all().set_index("user_id")
    for user_id in everyone.index:
        history = admin.consent_history(user_id)
        assert admin.consent(user_id)["status"] == everyone.loc[user_id, "status"] == history["event"].iloc[-1]
        assert admin.consent(user_id)["occurred_at"] == everyone.loc[user_id, "occurred_at"]
    history = admin.consent_history("u003")
    assert history["event"].tolist()[-2:] == ["granted", "revoked"]
    assert history["origin"].tolist()[-2:] == ["opstore", "opstore"]
    assert admin.consent("u003")["status"] == "revoked"
