"""The review queue's query (paged, filtered, sorted and counted in SQL) and the conflict rule of decisions made on
a stale state, over the fixture run: 10 recommendations of consenting users (u001: 6, u002: 4; u003 revoked).

By score: u001/30 edu_util .91, u002/30 edu_subs .88, u001/180 edu_util .85, u001/30 edu_autopay .80,
u001/180 edu_budget .75, u001/180 offer_bt .72, u001/30 offer_bt .70, u002/30 edu_bills .60,
u002/30 offer_subapp .55, u002/180 edu_subs .52. In both windows: edu_util, offer_bt (u001), edu_subs (u002).
"""

from __future__ import annotations

import datetime as dt

import published_fixtures
import pytest

from spendsense import opstore
from spendsense.dashboard.access import QueueFilter
from spendsense.dashboard.app import DashboardApp
from spendsense.dashboard.data.reviews import stale_message
from spendsense.dashboard.timefmt import short_time

BY_SCORE = ["r_u001_30_edu_util", "r_u002_30_edu_subs", "r_u001_180_edu_util", "r_u001_30_edu_autopay",
            "r_u001_180_edu_budget", "r_u001_180_offer_bt", "r_u001_30_offer_bt", "r_u002_30_edu_bills",
            "r_u002_30_offer_subapp", "r_u002_180_edu_subs"]
ANY_STATUS = ("pending", "flagged", "approved", "overridden", "suppressed")


opstore_path = published_fixtures.opstore_path_each_backend  # these tests run on SQLite and PostgreSQL


def ids(page) -> list[str]:
    return page.rows["recommendation_id"].tolist()


def q(**kw) -> QueueFilter:
    return QueueFilter(**kw)


def test_default_page_is_everything_waiting_flagged_first_then_by_score(make_data):
    data = make_data("operator")
    page = data.review_queue()
    assert (page.total, page.users_total, page.showing) == (10, 2, "showing 1-10 of 10")
    assert ids(page) == BY_SCORE
    bob = make_data("operator", operator="bob")
    bob.record_review("r_u002_180_edu_subs", "flag", "check the wording")
    page = data.review_queue()
    assert ids(page)[0] == "r_u002_180_edu_subs" and ids(page)[1:] == BY_SCORE[:-1]
    row = page.rows.iloc[0]
    assert (row["status"], row["reviewed_by"], row["note"]) == ("flagged", "bob", "check the wording")


@pytest.mark.parametrize(("size", "page_no", "expected", "showing"), [
    (4, 0, BY_SCORE[0:4], "showing 1-4 of 10"),
    (4, 1, BY_SCORE[4:8], "showing 5-8 of 10"),
    (4, 2, BY_SCORE[8:10], "showing 9-10 of 10"),  # a short last page
    (4, 7, BY_SCORE[8:10], "showing 9-10 of 10"),  # beyond the end: the last page
    (5, 1, BY_SCORE[5:10], "showing 6-10 of 10"),  # exactly two pages
    (10, 0, BY_SCORE, "showing 1-10 of 10"),
])
def test_pagination_boundaries(make_data, size, page_no, expected, showing):
    page = make_data().review_queue(q(sort="score", descending=True, page_size=size, page=page_no))
    assert ids(page) == expected and page.showing == showing and page.total == 10


@pytest.mark.parametrize(("flt", "expected"), [
    ({"persona_id": "subscription_heavy"}, ["r_u002_30_edu_subs", "r_u002_30_edu_bills", "r_u002_30_offer_subapp"]),
    ({"persona_id": "none"}, ["r_u002_180_edu_subs"]),
    ({"kind": "offer"}, ["r_u001_180_offer_bt", "r_u001_30_offer_bt", "r_u002_30_offer_subapp"]),
    ({"window_days": 180}, ["r_u001_180_edu_util", "r_u001_180_edu_budget", "r_u001_180_offer_bt",
                            "r_u002_180_edu_subs"]),
    ({"item_id": "edu_util"}, ["r_u001_30_edu_util", "r_u001_180_edu_util"]),
    ({"score_min": 0.6, "score_max": 0.8}, ["r_u001_30_edu_autopay", "r_u001_180_edu_budget",
                                            "r_u001_180_offer_bt", "r_u001_30_offer_bt", "r_u002_30_edu_bills"]),
    ({"score_min": 0.86}, ["r_u001_30_edu_util", "r_u002_30_edu_subs"]),
    ({"both_windows": True}, ["r_u001_30_edu_util", "r_u002_30_edu_subs", "r_u001_180_edu_util",
                              "r_u001_180_offer_bt", "r_u001_30_offer_bt", "r_u002_180_edu_subs"]),
    ({"kind": "education", "window_days": 30, "persona_id": "high_utilization"},
     ["r_u001_30_edu_util", "r_u001_30_edu_autopay"]),
    ({"item_id": "edu_hysa"}, []),  # u003's only item: consent revoked, never in the queue
])
def test_each_filter_and_its_exact_count(make_data, flt, expected):
    page = make_data().review_queue(q(sort="score", descending=True, **flt))
    assert ids(page) == expected and page.total == len(expected)
    assert page.showing == (f"showing 1-{len(expected)} of {len(expected)}" if expected else "nothing matches")


def test_status_and_flagged_filters_follow_the_latest_review(make_data):
    alice = make_data("operator")
    alice.record_review("r_u001_30_edu_util", "approve")
    alice.record_review("r_u001_30_edu_autopay", "flag", "tone")
    alice.record_review("r_u001_30_edu_autopay", "approve")  # flagged once, approved since
    alice.record_review("r_u002_30_edu_bills", "flag", "duplicate of edu_subs")
    assert ids(alice.review_queue(q(statuses=("flagged",)))) == ["r_u002_30_edu_bills"]
    waiting = alice.review_queue()
    assert waiting.total == 8 and ids(waiting)[0] == "r_u002_30_edu_bills"
    assert sorted(ids(alice.review_queue(q(statuses=("approved",))))) == ["r_u001_30_edu_autopay",
                                                                          "r_u001_30_edu_util"]
    ever = alice.review_queue(q(statuses=ANY_STATUS, ever_flagged=True, sort="item"))
    assert ids(ever) == ["r_u002_30_edu_bills", "r_u001_30_edu_autopay"][::-1]  # by item: edu_autopay, edu_bills
    assert alice.review_queue(q(statuses=ANY_STATUS, ever_flagged=False)).total == 8
    assert waiting.status_counts == {"pending": 7, "flagged": 1, "approved": 0, "overridden": 0, "suppressed": 0}
    everything = alice.review_queue(q(statuses=()))  # no status chosen: every status
    assert everything.total == 10 and everything.status_counts["approved"] == 2


def test_sort_orders_are_stable_and_complete(make_data):
    data = make_data()
    by_user = ids(data.review_queue(q(sort="user")))
    assert by_user == ["r_u001_30_edu_util", "r_u001_30_offer_bt", "r_u001_30_edu_autopay",  # rank 1, 1, 2
                       "r_u001_180_edu_util", "r_u001_180_offer_bt", "r_u001_180_edu_budget",
                       "r_u002_30_edu_subs", "r_u002_30_offer_subapp", "r_u002_30_edu_bills", "r_u002_180_edu_subs"]
    assert ids(data.review_queue(q(sort="user", descending=True)))[:4] == [
        "r_u002_30_edu_subs", "r_u002_30_offer_subapp", "r_u002_30_edu_bills", "r_u002_180_edu_subs"]
    assert ids(data.review_queue(q(sort="score"))) == BY_SCORE[::-1]
    assert ids(data.review_queue(q(sort="kind", descending=True)))[:3] == [
        "r_u001_30_offer_bt", "r_u001_180_offer_bt", "r_u002_30_offer_subapp"]
    data.record_review("r_u002_30_edu_bills", "approve")
    data.record_review("r_u001_30_edu_autopay", "approve")
    decided = ids(data.review_queue(q(statuses=(), sort="decided", descending=True)))
    assert decided[:2] == ["r_u001_30_edu_autopay", "r_u002_30_edu_bills"] and len(decided) == 10  # undecided last
    pages = [ids(data.review_queue(q(sort="window", page_size=3, page=p))) for p in range(3)]  # 8 waiting
    assert [len(p) for p in pages] == [3, 3, 2]
    assert [i for p in pages for i in p] == ids(data.review_queue(q(sort="window")))  # pages tile the whole order


def test_open_user_list_offers_every_matching_user_not_only_the_page(make_data):
    page = make_data().review_queue(q(sort="user", page_size=2))
    assert set(page.rows["user_id"]) == {"u001"}
    assert page.users[["user_id", "items", "waiting"]].values.tolist() == [["u001", 6, 6], ["u002", 4, 4]]
    only = make_data().review_queue(q(kind="offer", window_days=30, page_size=1))
    assert only.users["user_id"].tolist() == ["u001", "u002"] and only.users_total == 2


def test_both_windows_are_paired_with_their_state(make_data):
    data = make_data()
    data.record_review("r_u001_180_edu_util", "flag", "check the 180-day figure")
    rows = data.review_queue(q(statuses=())).rows.set_index("recommendation_id")
    util = rows.loc["r_u001_30_edu_util"]
    assert (util["other_id"], util["other_window_days"], util["other_status"]) == (
        "r_u001_180_edu_util", 180, "flagged")
    assert util["other_latest_review_id"] == rows.loc["r_u001_180_edu_util", "latest_review_id"] != ""
    assert rows.loc["r_u001_180_offer_bt", "other_id"] == "r_u001_30_offer_bt"
    assert rows.loc["r_u002_180_edu_subs", "other_id"] == "r_u002_30_edu_subs"
    assert rows["other_id"].isna().sum() == 4  # autopay, budget, bills, subapp: one window only


def test_rationale_beside_each_row_is_masked_for_the_role(make_data):
    op = make_data("operator").review_queue(q(item_id="offer_bt")).rows
    assert all("••23" in r and "4523" not in r for r in op["rationale"])
    admin = make_data("admin").review_queue(q(item_id="offer_bt")).rows
    assert all("Visa ending in 4523" in r for r in admin["rationale"])


def test_analysts_cannot_page_the_queue(make_data):
    from spendsense.dashboard.access import AccessDenied

    with pytest.raises(AccessDenied):
        make_data("analyst").review_queue()


# ------------------------------------------------------------------------------------------ the conflict rule


def _reviews(path):
    con = opstore.connect(path)
    try:
        return opstore.reviews(con), opstore.audit_log(con)
    finally:
        con.close()


def test_a_flag_made_against_a_stale_state_is_refused_and_writes_nothing(make_data, opstore_path):
    alice, bob = make_data(operator="alice"), make_data(operator="bob")
    seen_by_bob = bob.review_queue(q(item_id="edu_util", window_days=30)).rows.iloc[0]["latest_review_id"]
    assert seen_by_bob == ""  # no review yet
    approved = alice.record_review("r_u001_30_edu_util", "approve", expected_latest="")
    before = _reviews(opstore_path)
    with pytest.raises(opstore.StaleDecision) as refused:
        bob.record_review("r_u001_30_edu_util", "flag", "looks off", expected_latest=seen_by_bob)
    assert (refused.value.latest["review_id"], refused.value.latest["operator"],
            refused.value.latest["action"]) == (approved, "alice", "approve")
    after = _reviews(opstore_path)
    assert len(after[0]) == len(before[0]) and len(after[1]) == len(before[1])  # nothing half-written
    fresh = bob.review_queue(q(item_id="edu_util", window_days=30, statuses=())).rows.iloc[0]
    assert (fresh["status"], fresh["latest_review_id"], fresh["reviewed_by"]) == ("approved", approved, "alice")
    # a decision made against the fresh state is accepted
    flagged = bob.record_review("r_u001_30_edu_util", "flag", "looks off", expected_latest=approved)
    reviews, _ = _reviews(opstore_path)
    assert reviews["review_id"].iloc[-1] == flagged and reviews["operator"].iloc[-1] == "bob"
    with pytest.raises(opstore.StaleDecision):  # alice's page still shows her approval
        alice.record_review("r_u001_30_edu_util", "approve", expected_latest=approved)
    alice.record_review("r_u001_30_edu_util", "approve")  # no expected state: not checked (scripts, old callers)


def test_bulk_approve_reports_the_one_stale_item_and_records_the_others(make_data, opstore_path):
    alice, bob = make_data(operator="alice"), make_data(operator="bob")
    page = alice.review_queue(q(window_days=30, kind="education"))
    decisions = list(zip(page.rows["recommendation_id"], page.rows["latest_review_id"]))
    assert [d[0] for d in decisions] == ["r_u001_30_edu_util", "r_u002_30_edu_subs", "r_u001_30_edu_autopay",
                                         "r_u002_30_edu_bills"]
    bob.record_review("r_u002_30_edu_subs", "flag", "needs the new wording")
    results = alice.record_reviews(decisions, "approve", "reviewed in bulk")
    assert [bool(r["review_id"]) for r in results] == [True, False, True, True]
    assert results[1]["stale"]["operator"] == "bob" and results[1]["stale"]["action"] == "flag"
    reviews, _ = _reviews(opstore_path)
    last = reviews.tail(3)
    assert last["recommendation_id"].tolist() == ["r_u001_30_edu_util", "r_u001_30_edu_autopay",
                                                  "r_u002_30_edu_bills"]
    assert set(last["reason"]) == {"reviewed in bulk"} and set(last["operator"]) == {"alice"}
    counts = alice.review_queue().status_counts
    assert (counts["flagged"], counts["pending"]) == (1, 6)  # 10 - 3 approved - 1 flagged


def test_bulk_refuses_what_single_decisions_refuse(make_data):
    data = make_data()
    with pytest.raises(ValueError, match="bulk decisions"):
        data.record_reviews([("r_u001_30_edu_util", "")], "suppress", "x")
    results = data.record_reviews([("r_u001_30_edu_util", ""), ("r_u003_30_edu_hysa", "")], "approve")
    assert results[0]["review_id"] and results[1]["stale"] is None
    assert "no granted consent" in results[1]["error"]


def test_the_stale_message_names_who_did_what_and_when():
    latest = {"review_id": "x", "action": "approve", "operator": "alice",
              "recorded_at": "2026-12-01T14:02:31.123456+00:00", "reason": None}
    today = dt.datetime(2026, 12, 1, 18, 0, tzinfo=dt.UTC)
    assert stale_message(latest, lambda t: short_time(t, now=today)) == (
        "alice approved this at 14:02 UTC; the queue now shows it.")
    assert short_time("2026-11-30T09:05:00+00:00", now=today) == "30 Nov 09:05 UTC"
    assert short_time("2025-11-30T09:05:00+00:00", now=today) == "30 Nov 2025 09:05 UTC"
    assert short_time(None) == "—"


# ----------------------------------------------------------------------- the page: widgets and the poll


def test_queue_view_pages_bulk_approves_and_shows_a_stale_refusal(make_data):
    app = DashboardApp(make_data("operator", operator="alice"))
    bob = make_data("operator", operator="bob")
    app.tabs.selected_index = 2
    view = app.queue
    view.filters.page_size.value = 25
    assert "showing 1-10 of 10" in view.showing.value and view.next.disabled
    view.filters.kind.value = "offer"
    assert "showing 1-3 of 3" in view.showing.value
    rows = view.table.visible()
    assert [r.row["recommendation_id"] for r in rows] == ["r_u001_180_offer_bt", "r_u001_30_offer_bt",
                                                          "r_u002_30_offer_subapp"]
    bob.record_review("r_u001_30_offer_bt", "flag", "partner changed terms")  # alice's page shows it pending
    view.select_page.value = True
    assert view.bulk_approve.description == "Approve selected (3)"
    view.bulk_approve.click()
    assert "Approved 2 of 3 by alice" in view.message.value and "bob flagged this at" in view.message.value
    assert "showing 1-1 of 1" in view.showing.value  # the fresh state: bob's flag waits, the approved two left
    row = view.table.visible()[0].row
    assert (row["recommendation_id"], row["status"], row["reviewed_by"]) == ("r_u001_30_offer_bt", "flagged", "bob")
    assert view.bulk_approve.disabled and view.table.selected == []


def test_the_poll_learns_of_another_operators_decision(make_data):
    app = DashboardApp(make_data("operator", operator="alice"))
    bob = make_data("operator", operator="bob")
    app.tabs.selected_index = 2
    assert app.watch.check() is False
    revision = app.revision
    bob.record_review("r_u002_30_edu_bills", "flag", "duplicate")
    assert app.watch.check() is True and app.revision == revision + 1
    assert "flagged: 1" in app.queue.counts.value
    assert app.queue.table.visible()[0].row["recommendation_id"] == "r_u002_30_edu_bills"
    app.queue.table.visible()[1].approve.click()  # own write: shown at once, not bumped twice by the poll
    assert app.revision == revision + 2 and app.watch.check() is False


def test_recommendation_card_buttons_follow_the_same_rule(make_data):
    app = DashboardApp(make_data("operator", operator="alice"))
    app.tabs.selected_index = 1
    app.user_tabs.selected_index = 1
    app.select_user("u001")
    make_data("operator", operator="bob").record_review("r_u001_30_edu_util", "approve")
    card = next(c for c in app.recs_view.cards_box.children if "ss-rec-30-edu_util" in c._dom_classes)
    card.controls.reason.value = "wording"
    card.controls.buttons["flag"].click()
    assert "bob approved this at" in app.recs_view.message.value and "ss-stale" in app.recs_view.message.value
    card = next(c for c in app.recs_view.cards_box.children if "ss-rec-30-edu_util" in c._dom_classes)
    assert "ss-status-approved" in card.content.value  # redrawn with the fresh state
    card.controls.reason.value = "wording"
    card.controls.buttons["flag"].click()  # now made on the fresh state: recorded
    assert "Recorded flag of r_u001_30_edu_util by alice" in app.recs_view.message.value


def test_opstore_checks_the_expected_latest_review_inside_the_write(tmp_path):
    con = opstore.connect(tmp_path / "ops.sqlite")
    try:
        first = opstore.record_review(con, "r1", "u1", "approve", "alice", "operator", None,
                                      expected_latest=opstore.NO_REVIEW)
        assert opstore.latest_review(con, "r1")["review_id"] == first
        with pytest.raises(opstore.StaleDecision, match="made against no review, but the latest is approve by alice"):
            opstore.record_review(con, "r1", "u1", "flag", "bob", "operator", "x", expected_latest=opstore.NO_REVIEW)
        second = opstore.record_review(con, "r1", "u1", "flag", "bob", "operator", "x", expected_latest=first)
        with pytest.raises(opstore.StaleDecision):
            opstore.record_review(con, "r1", "u1", "approve", "alice", "operator", None, expected_latest=first)
        assert opstore.reviews(con)["review_id"].tolist() == [first, second]
        assert len(opstore.audit_log(con)) == 2  # a refused decision leaves no audit row either
        assert not con.in_transaction
        assert opstore.latest_review(con, "r2") is None
    finally:
        con.close()
