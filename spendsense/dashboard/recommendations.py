"""Recommendations of a user: rationale, facts, score components, disclosure and a readable decision trace."""

from __future__ import annotations

from collections.abc import Mapping

import ipywidgets as widgets

from spendsense.dashboard.base import View
from spendsense.dashboard.render import (
    badge,
    css_token,
    esc,
    fmt_cell,
    fmt_number,
    heading,
    is_missing,
    json_html,
    kv_table,
    pass_fail,
    table,
)
from spendsense.dashboard.review import ReviewControls

STATUS_KIND = {"pending": "warn", "approved": "pass", "overridden": "info", "suppressed": "fail", "flagged": "fail"}
SCORE_COLUMNS = (("score_persona", "persona match", 0.4), ("score_signal", "signal match", 0.3),
                 ("score_priority", "content priority", 0.2), ("score_freshness", "freshness", 0.1))
TRACE_SECTIONS = ("inputs", "stages", "score", "score_components", "template_id", "guardrails", "versions")


# ------------------------------------------------------------------------------------------- trace rendering

def _stage_list(stages: object) -> list[dict]:
    """Stages as records whether stored as a list or as a mapping stage name -> details."""
    if isinstance(stages, Mapping):
        return [{"stage": k, **(v if isinstance(v, Mapping) else {"result": v})} for k, v in stages.items()]
    if isinstance(stages, list):
        return [dict(s) if isinstance(s, Mapping) else {"stage": s} for s in stages]
    return []


def _first(d: Mapping, *keys):
    for k in keys:
        if k in d and not is_missing(d[k]):
            return d[k]
    return None


def stages_html(stages: object) -> str:
    """Every filter stage with pass/fail, reason, and the candidates it removed with why."""
    rows = _stage_list(stages)
    if not rows:
        return '<div class="ss-muted">no stages recorded</div>'
    out = [('<table class="ss-table ss-stages"><thead><tr><th>stage</th><th>outcome</th><th>reason</th>'
            '<th>filtered out</th></tr></thead><tbody>')]
    for s in rows:
        name = _first(s, "stage", "name", "id")
        passed = _first(s, "passed", "pass", "result", "outcome", "status")
        reason = _first(s, "reason", "detail", "details", "why")
        removed = _first(s, "filtered_out", "removed", "rejected", "excluded", "dropped")
        if isinstance(removed, list) and removed:
            items = []
            for r in removed:
                if isinstance(r, Mapping) and isinstance(r.get("items"), list):  # a group (trace_contract)
                    names = ", ".join(str(i) for i in r["items"])
                    items.append(f"<li><b>{esc(r.get('count', len(r['items'])))} item(s)</b>: {esc(r.get('reason'))} "
                                 f'<span class="ss-muted">{esc(names)}</span></li>')
                elif isinstance(r, Mapping):
                    item = _first(r, "item_id", "id", "item")
                    why = _first(r, "reason", "why", "rule")
                    extra = {k: v for k, v in r.items() if k not in ("item_id", "id", "item", "reason", "why", "rule")}
                    tail = f' <span class="ss-muted">{esc(fmt_cell(extra))}</span>' if extra else ""
                    items.append(f"<li><b>{esc(item)}</b>: {esc(why)}{tail}</li>")
                else:
                    items.append(f"<li>{esc(fmt_cell(r))}</li>")
            removed_html = "<ul>" + "".join(items) + "</ul>"
        elif isinstance(removed, (int, float)) and not isinstance(removed, bool):
            removed_html = esc(fmt_number(removed))
        else:
            removed_html = '<span class="ss-muted">none</span>'
        others = {k: v for k, v in s.items() if k not in (
            "stage", "name", "id", "passed", "pass", "result", "outcome", "status", "reason", "detail", "details",
            "why", "filtered_out", "removed", "rejected", "excluded", "dropped")}
        reason_html = esc(fmt_cell(reason)) + (f"<div>{json_html(others)}</div>" if others else "")
        out.append(f"<tr><td>{esc(name)}</td><td>{pass_fail(passed)}</td><td>{reason_html}</td>"
                   f"<td>{removed_html}</td></tr>")
    out.append("</tbody></table>")
    return "".join(out)


def guardrails_html(guardrails: object) -> str:
    """Guardrail outcomes (consent, eligibility, tone, ...) with pass/fail."""
    rows = _stage_list(guardrails)
    if not rows:
        return json_html(guardrails) if guardrails else '<div class="ss-muted">no guardrail outcomes recorded</div>'
    out = [('<table class="ss-table ss-guardrails"><thead><tr><th>guardrail</th><th>outcome</th><th>detail</th>'
            '</tr></thead><tbody>')]
    for g in rows:
        name = _first(g, "name", "guardrail", "stage", "id")
        outcome = _first(g, "passed", "outcome", "result", "status", "action")
        rest = {k: v for k, v in g.items() if k not in ("name", "guardrail", "stage", "id", "passed", "outcome",
                                                        "result", "status", "action")}
        detail = _first(rest, "detail", "reason", "details")
        more = {k: v for k, v in rest.items() if k not in ("detail", "reason", "details")}
        cell = esc(fmt_cell(detail)) + (f"<div>{json_html(more)}</div>" if more else "")
        out.append(f"<tr><td>{esc(name)}</td><td>{pass_fail(outcome)}</td><td>{cell}</td></tr>")
    out.append("</tbody></table>")
    return "".join(out)


def trace_html(trace: object) -> str:
    """A decision trace made readable: inputs, stages, score components, template, guardrails, versions, rest."""
    if trace is None:
        return '<div class="ss-muted">no decision trace stored for this recommendation</div>'
    if not isinstance(trace, Mapping):
        return json_html(trace)
    parts = []
    if "inputs" in trace:
        parts.append(f'<div class="ss-h2">Inputs</div>{json_html(trace["inputs"])}')
    if "stages" in trace:
        parts.append(f'<div class="ss-h2">Filter stages</div>{stages_html(trace["stages"])}')
    score = trace.get("score_components", trace.get("score"))
    if score is not None:
        parts.append(f'<div class="ss-h2">Score</div>{json_html(score)}')
    if "template_id" in trace:
        parts.append(f'<div class="ss-h2">Template</div>{esc(trace["template_id"])}')
    if "guardrails" in trace:
        parts.append(f'<div class="ss-h2">Guardrails</div>{guardrails_html(trace["guardrails"])}')
    if "versions" in trace:
        parts.append(f'<div class="ss-h2">Versions</div>{json_html(trace["versions"])}')
    rest = {k: v for k, v in trace.items() if k not in TRACE_SECTIONS}
    if rest:
        parts.append(f'<div class="ss-h2">Other</div>{json_html(rest)}')
    return "".join(parts)


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
        who = f" by {rec.get('reviewed_by')} at {fmt_cell(rec.get('reviewed_at'))}"
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


def admitted_html(trace: object) -> str:
    """Which of the item's triggers admitted it, with the user's value and the margin over the threshold."""
    stages = _stage_list(trace.get("stages")) if isinstance(trace, Mapping) else []
    stage = next((s for s in stages if s.get("stage") == "signal_triggers"), {})
    admitted = stage.get("admitted_by") or []
    if not admitted:
        text = "general-audience item (no trigger; at most one per window)" if stage else "no trace"
        return f'<div class="ss-admitted ss-muted">Admitted: {esc(text)}</div>'
    return ('<div class="ss-admitted"><b>Admitted by:</b> '
            + "; ".join(esc(a) for a in admitted) + "</div>")


def what_would_change_html(trace: object) -> str:
    """The user-window's 'what would change the persona' line from the trace (nothing when absent)."""
    change = (trace or {}).get("what_would_change") or {} if isinstance(trace, Mapping) else {}
    if not change.get("text"):
        return ""
    return f'<div class="ss-what-would-change"><b>What would change the persona:</b> {esc(change["text"])}</div>'


def recommendation_details_html(rec: Mapping, trace: object) -> str:
    """The card's expandable parts: why it was admitted, facts, score components and the decision trace."""
    return admitted_html(trace) + what_would_change_html(trace) + (f'<details class="ss-rec-details"><summary>Facts and score</summary>{facts_html(rec.get("facts"))}'
               f'{score_html(rec)}{kv_table([("template", rec.get("template_id")), ("recommendation id", rec.get("recommendation_id")), ("item version", rec.get("item_version"))])}</details>'
               f'<details class="ss-trace"><summary>Decision trace</summary>{trace_html(trace)}</details>')


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
