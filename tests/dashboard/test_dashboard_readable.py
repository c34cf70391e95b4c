"""The operator's readable views: human timestamps, the trace summary in words, the recompute diff, criteria."""

from __future__ import annotations

import datetime as dt

import fixture_run
import pandas as pd

from spendsense.dashboard.recompute_view import diff_summary, recompute_diff
from spendsense.dashboard.timefmt import human_time
from spendsense.dashboard.trace_view import trace_summary_html, trace_summary_lines, versions_html
from spendsense.dashboard.user import criteria_html, evidence_html


def test_human_time_drops_seconds_and_names_the_zone():
    assert human_time("2026-12-02T14:02:33.123456") == "2 Dec 2026, 14:02 UTC"
    assert human_time("2026-12-02 14:02:33") == "2 Dec 2026, 14:02 UTC"
    assert human_time("2026-12-02T15:02:00+01:00") == "2 Dec 2026, 14:02 UTC"  # converted to UTC
    assert human_time(dt.datetime(2026, 1, 5, 9, 7, 59)) == "5 Jan 2026, 09:07 UTC"
    assert human_time(pd.Timestamp("2026-03-31 23:59:59.9", tz="UTC")) == "31 Mar 2026, 23:59 UTC"
    assert human_time("2026-10-31") == "31 Oct 2026" and human_time(dt.date(2026, 2, 1)) == "1 Feb 2026"
    assert human_time(None) == "—" and human_time("") == "—" and human_time(float("nan")) == "—"
    assert human_time(pd.NaT) == "—" and human_time("not a time") == "not a time"


def _trace():
    rec = next(r for r in fixture_run.recommendation_rows("run1")
               if r["user_id"] == "u001" and r["kind"] == "education" and r["window_days"] == 30 and r["rank"] == 1)
    return rec, fixture_run.trace_for(rec)


def test_trace_summary_says_why_score_guardrails_and_what_was_filtered_out():
    rec, trace = _trace()
    trace["what_would_change"]["text"] = "Highest card utilization from 68% to below 50% → none"
    lines = trace_summary_lines(trace)
    assert lines[0] == "Admitted because highest card utilization = 0.68 (>= 0.3, clears it by 0.38)."
    assert lines[1] == f"Persona: {rec['persona_id']} (tagged for the assigned persona {rec['persona_id']})."
    assert lines[2].startswith(f"Score {rec['score']:.2f}, rank {rec['rank']} within the cap — persona match ")
    assert lines[3] == "Guardrails passed: consent, eligibility, recency, tone."
    # 1 offer not eligible (named, with its reason), 1 not relevant, 1 cut by the caps (fixture_run.trace_for)
    assert lines[4] == ("Filtered out for this user: 1 not eligible, e.g. offer_payday: predatory product "
                        f"{fixture_run.XSS}; 1 not relevant (none of their triggers holds); 1 cut by the caps "
                        "(they ranked lower), e.g. edu_emergency: rank 6: at most 5 education items.")
    assert lines[5] == "What would change this: Highest card utilization from 68% to below 50% → none."
    html = trace_summary_html(trace)
    assert fixture_run.XSS not in html and "&lt;script&gt;" in html and html.count("<li>") == 6


def test_trace_summary_names_a_failed_guardrail_and_a_general_item():
    _, trace = _trace()
    trace["guardrails"]["tone"] = {"outcome": "rewrite", "detail": "'you always overspend' rewritten"}
    trace["stages"]["signal_triggers"]["admitted_by"] = []
    for stage in trace["stages"].values():
        stage["filtered_out"] = []
    lines = trace_summary_lines(trace)
    assert lines[0].startswith("Admitted as a general-audience item")
    assert lines[3] == ("Guardrails passed: consent, eligibility, recency. Guardrails not passed: tone (rewrite: "
                        "'you always overspend' rewritten).")
    assert lines[4] == "Nothing else was filtered out for this user."
    assert not any(line.startswith("What would change") for line in lines)  # none in this trace


def test_versions_in_words_not_git_dirty():
    html = versions_html({"versions": {"code": {"git_commit": "b4c940f1dba99fc9427b", "git_dirty": True,
                                                "spendsense": "0.1.0"}, "config": "5a17", "content": "c1"},
                          "created_at": "2026-12-01 23:10:48.567315"})
    assert "git_dirty" not in html and "fail" not in html
    assert "commit b4c940f1db (with uncommitted changes in the working tree)" in html
    assert "decided 1 Dec 2026, 23:10 UTC" in html


def test_recompute_diff_added_removed_changed():
    published = pd.DataFrame([
        {"window_days": 30, "item_id": "a", "title": "A", "score": 0.900, "rank": 1},
        {"window_days": 30, "item_id": "b", "title": "B", "score": 0.800, "rank": 2},
        {"window_days": 180, "item_id": "c", "title": "C", "score": 0.700, "rank": 1},
        {"window_days": 180, "item_id": "d", "title": "D", "score": 0.600, "rank": 2}])
    now = pd.DataFrame([
        {"window_days": 30, "item_id": "a", "title": "A", "score": 0.9002, "rank": 1},  # within 0.0005: same
        {"window_days": 30, "item_id": "b", "title": "B", "score": 0.750, "rank": 2},
        {"window_days": 180, "item_id": "d", "title": "D", "score": 0.600, "rank": 1},
        {"window_days": 180, "item_id": "e", "title": "E", "score": 0.500, "rank": 2}])
    diff = recompute_diff(published, now)
    got = {(r.window_days, r.item_id): r.change for r in diff.itertuples()}
    assert got == {(180, "e"): "added", (180, "c"): "removed", (30, "b"): "score changed",
                   (180, "d"): "rank changed", (30, "a"): "unchanged"}
    assert list(diff["change"]) == ["added", "removed", "score changed", "rank changed", "unchanged"]
    assert round(float(diff.loc[diff["item_id"] == "b", "score_delta"].iloc[0]), 3) == -0.05
    assert diff_summary(diff) == "1 added, 1 removed, 1 score changed, 1 rank changed, 1 unchanged"
    assert diff_summary(recompute_diff(published, pd.DataFrame())) == "4 removed"


def test_criteria_put_pass_fail_first_in_a_narrow_table():
    html = criteria_html([{"persona_id": "high_utilization", "rule": "any[0]", "signal": "max_utilization",
                           "op": ">=", "threshold": 0.5, "value": 0.68, "when_null": "fail", "passed": True}])
    assert "<th>Result</th><th>Persona</th><th>Criterion</th><th>Value</th>" in html
    assert "<td>highest card utilization ≥ 50.0%</td>" in html and ">68.0%</td>" in html
    assert "when_null" not in html and "any[0]" not in html
    assert html.index("ss-badge ss-pass") < html.index("highest card utilization")


def test_evidence_says_its_real_lookback_and_what_the_count_counts():
    empty = pd.DataFrame(columns=["window_days"])
    streams = pd.DataFrame([{"window_days": 30, "merchant_key": k, "merchant": k, "frequency": f, "occurrences": 3,
                             "median_amount": 9.0, "amount_in_window": 9.0, "is_subscription": sub}
                            for k, f, sub in (("gym", "MONTHLY", True), ("rent", "BIWEEKLY", False))])
    html = evidence_html({"credit_cards": empty, "recurring_streams": streams, "stream_transactions": empty,
                          "payroll_deposits": empty}, "2026-10-31")
    assert "Evidence for the 30-day window" in html and "Evidence for the 180-day window" in html
    assert "Recurring streams, last 90 days" in html and "Payroll deposits, last 90 days" in html
    assert "Recurring streams, last 180 days" in html  # the 180-day window looks back 180 days
    assert "2 stream(s), 1 of them subscriptions" in html and "card balances as of 2026-10-31" in html
