"""Escaping and the readable rendering of traces, criteria, signals and the customer preview."""

from __future__ import annotations

import fixture_run
import pandas as pd

from spendsense.dashboard.access import CustomerPreview
from spendsense.dashboard.preview import email_html, preview_body_html
from spendsense.dashboard.recommendations import recommendation_html
from spendsense.dashboard.render import esc, fmt_signal, json_html, kv_table, table
from spendsense.dashboard.trace_view import stages_table_html, trace_html
from spendsense.dashboard.user import criteria_html, criteria_rows, streams_html

XSS = fixture_run.XSS
XSS_ESCAPED = "&lt;script&gt;alert(1)&lt;/script&gt;"


def test_esc_escapes_markup_and_quotes():
    assert esc(XSS) == XSS_ESCAPED
    assert esc('" onmouseover="x') == "&quot; onmouseover=&quot;x"
    assert esc(None) == "—" and esc(float("nan")) == "—"


def test_tables_escape_cells_headers_and_nested_json():
    html = table([{"<b>col</b>": XSS}]) + kv_table({"k": XSS}) + json_html({"a": [{"b": XSS}], XSS: 1})
    assert "<script>" not in html and "<b>col</b>" not in html
    assert html.count(XSS_ESCAPED) == 4


def test_signal_formatting_by_kind():
    assert fmt_signal("max_utilization", 0.68) == "68.0%"
    assert fmt_signal("avg_monthly_income", 4030) == "$4,030.00"
    assert fmt_signal("emergency_fund_months", 2.25) == "2.2 months"
    assert fmt_signal("median_pay_gap_days", 14) == "14.0 days"
    assert fmt_signal("pay_frequency", None, "biweekly") == "biweekly"
    assert fmt_signal("has_savings_account", 1.0) == "yes"
    assert fmt_signal("card_count", 2.0) == "2"


def _rec(trace_user="u001"):
    rec = next(r for r in fixture_run.recommendation_rows("run1")
               if r["user_id"] == trace_user and r["kind"] == "education" and r["window_days"] == 30)
    return rec


def test_trace_renders_stages_filtered_items_and_guardrails_in_both_shapes():
    for trace in (fixture_run.trace_for(_rec("u001")), fixture_run.list_shaped(fixture_run.trace_for(_rec("u002")))):
        html = trace_html(trace)  # stages keyed by name (the trace contract) and as a list
        assert "<script>" not in html
        assert f"predatory product {XSS_ESCAPED}" in html
        for label in ("Consent", "Eligibility (offers)", "Persona match", "Signal triggers",
                      "Recency (not shown lately)", "Ranking and caps"):
            assert f"<td>{label}</td>" in html
        assert "business_rules" not in html and "signal_triggers" not in html  # labels, not keys
        assert "<li><b>offer_payday</b>: predatory product" in html and "<li><b>edu_overdraft</b>: not relevant" in html
        assert html.count('<span class="ss-badge ss-pass">passed</span>') >= 8
        assert "Guardrails" in html and "granted" in html and "content catalogue content-1" in html


def test_failed_stage_says_failed():
    html = stages_table_html({"stages": {"tone": {"passed": False, "reason": "rewritten", "filtered_out": []}}})
    assert '<span class="ss-badge ss-fail">failed</span>' in html and "<td>Tone check</td>" in html


def test_recommendation_card_escapes_rationale_and_shows_disclosure():
    rec = {**_rec(), "rationale": f"Because {XSS}", "status": "pending", "facts": [{"signal": "x", "text": XSS}]}
    html = recommendation_html(rec, fixture_run.trace_for(rec))
    assert "<script>" not in html
    assert f"Because {XSS_ESCAPED}" in html
    assert fixture_run.DISCLOSURE in html


def test_criteria_rows_accept_list_and_mapping_shapes():
    listed = [{"persona_id": "p", "signal": "s", "operator": ">=", "threshold": 1, "value": 2, "passed": True}]
    mapped = {"p": {"criteria": [{"signal": "s", "operator": ">=", "threshold": 1, "value": 2, "passed": True}],
                    "matched": True}}
    assert criteria_rows(listed)[0]["signal"] == "s"
    assert criteria_rows(mapped)[0] == {"persona_id": "p", "persona_matched": True, "signal": "s", "operator": ">=",
                                        "threshold": 1, "value": 2, "passed": True}
    html = criteria_html(mapped)
    assert '<span class="ss-badge ss-pass">pass</span>' in html


def test_streams_render_merchant_markup_as_text():
    streams = pd.DataFrame([{"window_days": 180, "merchant_key": "cafe", "merchant": fixture_run.XSS_MERCHANT,
                             "frequency": "MONTHLY", "occurrences": 3, "median_amount": 4.5,
                             "amount_in_window": 13.5, "is_subscription": False}])
    txns = pd.DataFrame([{"window_days": 180, "merchant_key": "cafe", "date": "2026-10-07", "amount": 4.5,
                          "description": fixture_run.XSS_MERCHANT, "account_mask": "••11"}])
    html = streams_html(streams, txns, 180)
    assert "<img" not in html and html.count("&lt;img src=x onerror=alert(2)&gt;Cafe") == 2


def test_email_preview_is_escaped_standalone_and_script_free():
    items = [{"item_id": "edu_autopay", "kind": "education", "title": f"Autopay {XSS}",
              "summary": None, "rationale": f"Because {XSS}", "disclosure": fixture_run.DISCLOSURE}]
    preview = CustomerPreview(user_id="u001", greeting_name="<b>Jane</b>", consent_status="granted", run_id="r1",
                              rows=items)
    body = preview_body_html(preview)
    assert "Hi &lt;b&gt;Jane&lt;/b&gt;," in body and f"Autopay {XSS_ESCAPED}" in body
    page = email_html(preview)
    assert page.startswith("<!DOCTYPE html>") and "<script" not in page
    assert "default-src 'none'" in page and fixture_run.DISCLOSURE in page


def test_revoked_preview_body_says_so_and_lists_nothing():
    preview = CustomerPreview(user_id="u001", greeting_name="Jane", consent_status="revoked", run_id="r1",
                              rows=[], message="Consent revoked: this customer sees no recommendations.")
    body = preview_body_html(preview)
    assert "Consent revoked" in body and "ss-item" not in body


def test_what_would_change_and_admitted_by_are_shown_escaped():
    from spendsense.dashboard.recommendations import recommendation_details_html
    from spendsense.dashboard.user import personas_html

    trace = {"stages": {"signal_triggers": {"admitted_by": [f"max_utilization = 0.68 (>= 0.3, clears it by 0.38) {XSS}"]}},
             "what_would_change": {"text": f"Highest card utilization from 68% to below 50% → none {XSS}"}}
    html = recommendation_details_html({"facts": [], "recommendation_id": "r"}, trace)
    assert "Admitted because highest card utilization = 0.68" in html and "clears it by 0.38" in html
    assert XSS not in html and XSS_ESCAPED in html
    assert "What would change this: Highest card utilization from 68% to below 50%" in html
    general = recommendation_details_html({"facts": []}, {"stages": {"signal_triggers": {"admitted_by": []}}})
    assert "general-audience item" in general
    personas = pd.DataFrame([{"window_days": 30, "persona_id": "high_utilization", "persona_name": "High Utilization",
                              "matched_personas": ["high_utilization"], "criteria": [],
                              "text_operator": "Interest charged from $42 to $0 → none"}])
    assert "What would change this:</b> Interest charged from $42 to $0 → none" in personas_html(personas)
    items = [{"item_id": "a", "kind": "education", "title": "T", "summary": None, "rationale": "R",
              "disclosure": fixture_run.DISCLOSURE}]
    preview = CustomerPreview(user_id="u001", greeting_name="Jane", consent_status="granted", run_id="r1",
                              rows=items, what_would_change=[f"If your savings grew by 2%, {XSS}"])
    body = preview_body_html(preview)
    assert "What could change what you see" in body and "If your savings grew by 2%" in body and XSS not in body
