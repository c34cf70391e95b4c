"""The widget classes driven without a browser: selection, lazy panels, review buttons, consent, preview."""

from __future__ import annotations

import fixture_run
import pytest

from spendsense import opstore
from spendsense.dashboard.app import DashboardApp, build_app
from spendsense.dashboard.base import PLOTLY_MIME

XSS_ESCAPED = "&lt;script&gt;alert(1)&lt;/script&gt;"


@pytest.fixture
def app(make_data, tmp_path):
    return DashboardApp(make_data("admin", operator="alice"), previews_dir=tmp_path / "previews")


def _card(app, window, item):
    for card in app.recs_view.cards_box.children:
        if f"ss-rec-{window}-{item}" in card._dom_classes:
            return card
    raise AssertionError(f"no card for {window} {item}")


def _reviews(path):
    con = opstore.connect(path)
    try:
        return opstore.reviews(con)
    finally:
        con.close()


def test_overview_renders_for_analyst_and_customers_are_absent(make_data):
    app = DashboardApp(make_data("analyst"))
    assert list(app.tabs.titles) == ["Overview"] and "aggregates only" in app.notice.value
    assert not hasattr(app, "search")
    kpis = app.overview.kpis.value
    assert "<th>review queue (pending + flagged)</th><td>10</td>" in kpis
    assert "flag" in app.overview.fairness.value and "unexplained" in app.overview.fairness.value
    bars = app.overview.figure[PLOTLY_MIME]["data"]
    assert [b["name"] for b in bars] == ["30 days", "180 days"]


def test_build_app_without_a_run_explains_what_to_do(tmp_path, monkeypatch):
    monkeypatch.setenv("SPENDSENSE_RUNS_DIR", str(tmp_path / "none"))
    monkeypatch.delenv("SPENDSENSE_RUN_DIR", raising=False)
    widget = build_app(role="admin")
    assert "ss-no-run" in widget._dom_classes and "make run" in widget.value


def test_build_app_role_from_env_narrowed_by_query(runs_root, opstore_path, monkeypatch):
    monkeypatch.setenv("SPENDSENSE_RUNS_DIR", str(runs_root))
    monkeypatch.setenv("SPENDSENSE_ROLE", "operator")
    monkeypatch.setenv("QUERY_STRING", "token=abc&role=admin")  # cannot widen
    assert build_app().data.role == "operator"
    monkeypatch.setenv("QUERY_STRING", "token=abc&role=analyst")
    assert build_app().data.role == "analyst"


def test_picking_a_user_renders_only_the_visible_panel(app):
    app.tabs.selected_index = 1
    app.search.results.value = "u001"
    assert app.user_id == "u001"
    assert "u001 · Jane Doe" in app.user_view.header.value
    signals = app.user_view.signals.value
    assert "<td>max_utilization</td><td>68.0%</td><td>68.0%</td>" in signals
    assert "High Utilization" in app.user_view.personas.value
    assert "&lt;img src=x onerror=alert(2)&gt;Cafe" in app.user_view.evidence.value
    assert "<img" not in app.user_view.evidence.value
    balance = app.user_view.figure[PLOTLY_MIME]["data"][0]
    assert balance["name"] == "cash balance" and balance["x"][-1] == "2026-10-31" and balance["y"][-1] == 2500.0
    assert app.recs_view._stale and app.recs_view.cards_box.children == ()  # hidden: rendered when shown
    app.user_tabs.selected_index = 1
    assert len(app.recs_view.cards_box.children) == 6
    app.search.results.value = "u002"
    assert len(app.recs_view.cards_box.children) == 4
    assert "r_u002_30_edu_subs" in app.recs_view.cards_box.children[0].details.value


def test_search_modes(app):
    app.search.by.value = "name"
    app.search.text.value = "smith"
    assert [v for _, v in app.search.results.options] == ["u002"]
    app.search.by.value = "flag"
    app.search.flag.value = "consent_revoked"
    assert [v for _, v in app.search.results.options] == ["u003"]
    app.search.by.value = "persona"
    app.search.persona.value = "high_utilization"
    assert [v for _, v in app.search.results.options] == ["u001"]


def test_operator_search_has_no_name_mode_and_masks(make_data):
    app = DashboardApp(make_data("operator"))
    assert "name" not in [v for _, v in app.search.by.options]
    assert all("Jane" not in label for label, _ in app.search.results.options)
    assert app.consent_view.grant.disabled


def test_review_buttons_record_and_show_at_once(app, opstore_path):
    app.tabs.selected_index = 1
    app.user_tabs.selected_index = 1
    app.select_user("u001")
    recs = app.recs_view
    card = _card(app, 30, "edu_util")
    card.controls.buttons["approve"].click()
    assert "Recorded approve of r_u001_30_edu_util by alice" in recs.message.value
    assert "ss-status-approved" in _card(app, 30, "edu_util").content.value
    card = _card(app, 30, "edu_autopay")
    assert f"Because {XSS_ESCAPED}" in card.content.value
    card.controls.buttons["flag"].click()  # no reason: refused with a message, nothing written
    assert "reason is required" in recs.message.value
    card.controls.reason.value = "wording"
    card.controls.buttons["flag"].click()
    card = _card(app, 30, "edu_util")
    assert [v for _, v in card.controls.replacement.options][1:] == ["edu_emergency", "edu_budget"]
    card.controls.reason.value = "emergency fund first"
    card.controls.replacement.value = "edu_emergency"
    card.controls.buttons["override"].click()
    assert "ss-status-overridden" in _card(app, 30, "edu_util").content.value
    rows = _reviews(opstore_path)
    assert rows[["recommendation_id", "action"]].values.tolist() == [
        ["r_u001_30_edu_util", "approve"], ["r_u001_30_edu_autopay", "flag"], ["r_u001_30_edu_util", "override"]]
    assert rows["replacement_item_id"].iloc[-1] == "edu_emergency"
    assert app.revision == 3
    app.tabs.selected_index = 2  # the queue reflects the decisions
    assert "flagged: 1" in app.queue.counts.value and "overridden: 1" in app.queue.counts.value


def test_consent_revoke_empties_the_preview_at_once(app, opstore_path, tmp_path):
    app.tabs.selected_index = 1
    app.select_user("u001")
    app.user_tabs.selected_index = 1
    _card(app, 30, "offer_bt").controls.buttons["approve"].click()
    _card(app, 180, "offer_bt").controls.buttons["approve"].click()
    app.user_tabs.selected_index = 3
    body = app.preview_view.body.value
    assert body.count("ss-item-offer_bt") == 1 and "Hi Jane," in body
    app.preview_view.export.click()
    exported = tmp_path / "previews" / "u001_20261031T023000Z.html"
    assert exported.exists() and "Balance-transfer card" in exported.read_text()
    link = app.preview_view.exported.value
    assert 'download="u001_20261031T023000Z.html"' in link and "data:text/html;base64," in link
    app.user_tabs.selected_index = 2
    consent = app.consent_view
    consent.note.value = "asked by phone"

    def events():
        con = opstore.connect(opstore_path)
        try:
            return len(opstore.consent_events(con))
        finally:
            con.close()

    before = events()
    consent.revoke.click()  # first a confirmation; nothing recorded yet
    assert consent.confirm_box.layout.display == "flex" and "Revoke consent for u001?" in consent.confirm_text.value
    assert "granted" in consent.status.value and events() == before
    consent.confirm_no.click()
    assert consent.confirm_box.layout.display == "none" and "Nothing recorded" in consent.message.value
    assert events() == before
    consent.revoke.click()
    consent.confirm_yes.click()
    assert events() == before + 1 and "revoked" in app.consent_view.status.value
    assert app.consent_view.revoke.disabled
    app.user_tabs.selected_index = 3
    assert "Consent revoked" in app.preview_view.body.value and 'class="ss-item' not in app.preview_view.body.value
    app.user_tabs.selected_index = 1
    assert _card(app, 30, "offer_bt").controls.buttons["approve"].disabled


def test_queue_open_user_jumps_to_recommendations(app):
    app.tabs.selected_index = 2
    assert [v for _, v in app.queue.pick.options] == ["u001", "u002"]
    app.queue.pick.value = "u002"
    app.queue.open_button.click()
    assert app.user_id == "u002" and app.tabs.selected_index == 1 and app.user_tabs.selected_index == 1
    assert len(app.recs_view.cards_box.children) == 4


def test_recompute_button_reflects_engine_availability(app):
    ok, _ = app.data.recompute_available()
    assert app.user_view.recompute_button.disabled == (not ok)
    if not ok:
        assert "recompute_user" in app.user_view.recompute_note.value


def test_reload_switches_run(app, runs_root):
    fixture_run.build_run(runs_root, "20261101T023000Z")
    app.reload_button.click()
    assert "20261101T023000Z" in app.header.value and "Now showing run" in app.notice.value


def test_recompute_button_runs_the_engine_and_masks_for_operators(make_data):
    app = DashboardApp(make_data("operator"))
    if app.user_view.recompute_button.disabled:
        pytest.skip(app.data.recompute_available()[1])
    app.tabs.selected_index = 1
    app.select_user("u001")
    app.user_view.recompute_button.click()
    out = app.user_view.recompute_out.value
    assert "Recomputed now in" in out and "recommendation(s) recomputed (not published)" in out
    assert "4523" not in out and "••23" in out  # the recomputed rationale and card mask are masked too
