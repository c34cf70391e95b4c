"""Recommendations of a user: rationale, facts, score components, disclosure and a readable decision trace."""

from __future__ import annotations

from collections.abc import Mapping

import ipywidgets as widgets

from spendsense.dashboard.base import View
from spendsense.dashboard.render import (
    badge,
    css_token,
    esc,
    fmt_number,
    heading,
    is_missing,
    json_html,
    kv_table,
    table,
)
from spendsense.dashboard.review import ReviewControls
from spendsense.dashboard.timefmt import human_time
from spendsense.dashboard.trace_view import trace_details_html, trace_summary_html

STATUS_KIND = {"pending": "warn", "approved": "pass", "overridden": "info", "suppressed": "fail", "flagged": "fail"}
SCORE_COLUMNS = (("score_persona", "persona match", 0.4), ("score_signal", "signal match", 0.3),
                 ("score_priority", "content priority", 0.2), ("score_freshness", "freshness", 0.1))


def score_html(rec: Mapping) -> str:
    """Score components with their weights and the total."""
    rows = []
    for col, label, weight in SCORE_COLUMNS:
        if col in rec:
            value = rec.get(col)
            rows.append({"component": label, "value": value, "weight": weight,
                         "contribution": None if is_missing(value) else float(value) * weight})
    rows.append({"component": "total score", "value": rec.get("score"), "weight": None, "contribution": None})
    fmt = {"value": lambda v: fmt_number(v, 3), "contribution": lambda v: fmt_number(v, 3),
           "weight": lambda v: fmt_number(v, 1)}
    return table(rows, [("component", "component"), ("value", "value"), ("weight", "weight"),
                        ("contribution", "weighted")], formatters=fmt, css="ss-score")


def facts_html(facts: object) -> str:
    """The structured facts quoted in the rationale."""
    if isinstance(facts, list) and facts and all(isinstance(f, Mapping) for f in facts):
        return table(facts, css="ss-facts")
    if facts in (None, [], {}):
        return '<div class="ss-muted">no facts recorded</div>'
    return json_html(facts)


def review_status_html(rec: Mapping) -> str:
    """The latest review: status badge, who, when, why, and the replacement."""
    status = rec.get("status", "pending")
    out = badge(status, STATUS_KIND.get(status, "info"))
    if status != "pending":
        who = f" by {rec.get('reviewed_by')} on {human_time(rec.get('reviewed_at'))}"
        if not is_missing(rec.get("replacement_item_id")):
            who += f"; replaced with {rec.get('replacement_item_id')}"
        if not is_missing(rec.get("review_reason")) and rec.get("review_reason"):
            who += f"; reason: {rec.get('review_reason')}"
        out += f' <span class="ss-muted">{esc(who)}</span>'
    return f'<span class="ss-status ss-status-{esc(status)}">{out}</span>'


def recommendation_html(rec: Mapping, trace: object) -> str:
    """One recommendation card's text: header, rationale, facts, score, disclosure and the trace."""
    return recommendation_summary_html(rec) + recommendation_details_html(rec, trace)


def recommendation_summary_html(rec: Mapping) -> str:
    """The card's top: title, kind, window, rank, score, review status, rationale and disclosure."""
    head = (f'<div class="ss-h2 ss-rec-title">{esc(rec.get("title"))} '
            f'{badge(rec.get("kind"), "info")} <span class="ss-muted">{esc(rec.get("item_id"))} · '
            f'{esc(int(rec.get("window_days")))} days · rank {esc(rec.get("rank"))} · score '
            f'{esc(fmt_number(rec.get("score"), 3))} · persona {esc(rec.get("persona_id"))}</span></div>')
    status = f'<div>{review_status_html(rec)}</div>'
    rationale = f'<div class="ss-rationale"><b>Because:</b> {esc(rec.get("rationale"))}</div>'
    disclosure = f'<div class="ss-disclosure">{esc(rec.get("disclosure"))}</div>'
    return head + status + rationale + disclosure


def recommendation_details_html(rec: Mapping, trace: object) -> str:
    """The card's trace: the summary in words, then facts and score and the trace's details, folded."""
    return (f'<div class="ss-trace-card"><div class="ss-h2">Why this was recommended</div>'
            f'{trace_summary_html(trace)}</div>'
            f'<details class="ss-rec-details"><summary>Facts and score</summary>{facts_html(rec.get("facts"))}'
            f'{score_html(rec)}{kv_table([("template", rec.get("template_id")), ("recommendation id", rec.get("recommendation_id")), ("item version", rec.get("item_version"))])}</details>'
            f'<details class="ss-trace"><summary>Decision trace details</summary>{trace_details_html(trace)}</details>')


# ------------------------------------------------------------------------------------------- widgets

class RecommendationCard(widgets.VBox):
    """One recommendation with its review controls; reused across users to keep switching cheap."""

    def __init__(self, data, on_change, **kwargs):
        super().__init__(**kwargs)
        self.add_class("ss-rec-card")
        self.content = widgets.HTML()
        self.content.add_class("ss-rec-content")
        self.details = widgets.HTML()
        self.details.add_class("ss-rec-details-panel")
        self.controls = ReviewControls(data, on_change=on_change)
        self.children = [self.content, self.controls, self.details]
        self._token_class: str | None = None

    def show(self, rec: Mapping, trace: object, consent: str, options: list[tuple[str, str]]) -> None:
        """Fill the card with a recommendation."""
        token = f"ss-rec-{int(rec['window_days'])}-{css_token(rec['item_id'])}"
        if self._token_class != token:
            if self._token_class:
                self.remove_class(self._token_class)
            self.add_class(token)
            self._token_class = token
        self.content.value = recommendation_summary_html(rec)
        self.details.value = recommendation_details_html(rec, trace)
        self.controls.show(rec, consent, options)


class RecommendationsView(View):
    """All recommendations of the selected user, grouped by window, each with its trace and review controls."""

    css_class = "ss-recommendations"

    def __init__(self, data, **kwargs):
        super().__init__(data, **kwargs)
        self.summary = widgets.HTML()
        self.summary.add_class("ss-recs-summary")
        self.cards_box = widgets.VBox()
        self.pool: list[RecommendationCard] = []
        self.children = [self.message, self.summary, self.cards_box]

    def _changed(self, text: str, kind: str) -> None:
        self.say(text, kind)
        if kind in ("pass", "stale"):  # stale: refused, another decision came first; redraw the fresh state
            self.bump()

    def render(self) -> None:
        if not self.user_id:
            self.summary.value = '<div class="ss-muted">Pick a user on the left.</div>'
            self.cards_box.children = []
            return
        recs = self.data.recommendations(self.user_id)
        traces = self.data.traces(self.user_id)
        consent = self.data.consent(self.user_id)["status"]
        shortfalls = self.data.shortfalls(self.user_id)
        parts = [heading(f"Recommendations for {self.user_id} ({len(recs)})")]
        if consent != "granted":
            parts.append(f'<div class="ss-banner ss-fail">{esc("Consent " + consent + ": these recommendations are hidden from the customer; approving is disabled.")}</div>')
        if len(shortfalls):
            parts.append('<div class="ss-h2">Shortfalls</div>' + table(shortfalls.drop(columns=[
                c for c in ("run_id", "user_id") if c in shortfalls.columns]), css="ss-shortfalls"))
        if not len(recs):
            parts.append('<div class="ss-muted">No recommendations for this user in this run.</div>')
        self.summary.value = "".join(parts)
        while len(self.pool) < len(recs):
            self.pool.append(RecommendationCard(self.data, on_change=self._changed))
        options = self.data.replacement_options_for_user(self.user_id, recs, traces)
        rows = recs.to_dict("records")
        for card, rec in zip(self.pool, rows):
            rid = rec["recommendation_id"]
            card.show(rec, traces.get(rid), consent, options.get(rid, []))
        self.cards_box.children = self.pool[:len(rows)]
