"""User search and the user panel: signals 30d vs 180d with evidence, personas with criteria, a timeline."""

from __future__ import annotations

import functools
from collections.abc import Mapping

import ipywidgets as widgets
import pandas as pd
from traitlets import Unicode

from spendsense.dashboard.access import FLAG_OPTIONS
from spendsense.dashboard.base import AXIS_STYLE, LAYOUT_STYLE, View, show_figure
from spendsense.dashboard.recompute_view import recompute_html
from spendsense.dashboard.render import (
    badge,
    banner,
    esc,
    fmt_cell,
    fmt_pct,
    fmt_signal,
    fmt_usd,
    heading,
    is_missing,
    pass_fail,
    table,
)
from spendsense.dashboard.trace_view import OP_WORDS, signal_label

WINDOWS = (30, 180)


# ------------------------------------------------------------------------------------------- pure renderers

def criteria_rows(criteria: object) -> list[dict]:
    """Persona criteria JSON as rows (persona, signal, operator, threshold, value, passed), whatever its nesting.

    Accepts a list of criterion records, or a mapping persona -> list of records / persona -> {criteria: [...]}.
    """
    if criteria is None:
        return []
    if isinstance(criteria, list):
        return [dict(c) if isinstance(c, Mapping) else {"criterion": c} for c in criteria]
    if isinstance(criteria, Mapping):
        rows = []
        for persona, value in criteria.items():
            if isinstance(value, Mapping) and isinstance(value.get("criteria"), list):
                extra = {k: v for k, v in value.items() if k != "criteria"}
                rows += [{"persona_id": persona, **{f"persona_{k}": v for k, v in extra.items()}, **c}
                         for c in value["criteria"] if isinstance(c, Mapping)]
            elif isinstance(value, list):
                rows += [{"persona_id": persona, **c} for c in value if isinstance(c, Mapping)]
            elif isinstance(value, Mapping):
                rows.append({"persona_id": persona, **value})
            else:
                rows.append({"persona_id": persona, "value": value})
        return rows
    return [{"criterion": criteria}]


def criteria_html(criteria: object) -> str:
    """Criteria as a narrow table: pass/fail first, then the persona, the test in words and the user's value.

    Narrow on purpose: the result column must be visible without sideways scrolling beside the other window.
    """
    rows = criteria_rows(criteria)
    if not rows:
        return '<div class="ss-muted">no criteria recorded</div>'
    body = []
    for r in rows:
        signal = r.get("signal")
        op = r.get("op", r.get("operator"))
        test = (f"{signal_label(signal)} {OP_WORDS.get(str(op), op)} {fmt_signal(str(signal), r.get('threshold'))}"
                if signal else fmt_cell(r.get("criterion")))
        value = fmt_signal(str(signal), r.get("value")) if signal else fmt_cell(r.get("value"))
        persona = r.get("persona_id", r.get("persona"))
        body.append(f"<tr><td>{pass_fail(r.get('passed'))}</td><td>{esc(fmt_cell(persona))}</td>"
                    f"<td>{esc(test)}</td><td class=\"num\">{esc(value)}</td></tr>")
    return ('<table class="ss-table ss-criteria"><thead><tr><th>Result</th><th>Persona</th><th>Criterion</th>'
            f'<th>Value</th></tr></thead><tbody>{"".join(body)}</tbody></table>')


def profile_html(profile: dict) -> str:
    """The user's header: id and name (as the role may see it), demographics and consent."""
    consent = profile.get("consent", "none")
    kind = "pass" if consent == "granted" else "fail"
    head = (f'<div class="ss-h ss-user-title">{esc(profile["user_id"])} · {esc(profile.get("name"))} '
            f'{badge("consent " + str(consent), kind)}</div>')
    facts = [(k.replace("_", " "), profile.get(k)) for k in
             ("age_band", "gender", "region", "income_tier", "credit_score", "accounts", "created_at")
             if k in profile]
    if profile.get("skipped"):
        facts.append(("skipped by the pipeline", profile["skipped"]))
    line = " · ".join(f"{esc(k)} <b>{esc(fmt_cell(v))}</b>" for k, v in facts)
    return head + f'<div class="ss-profile ss-muted">{line}</div>'


def signals_html(signals: pd.DataFrame) -> str:
    """Signals of both windows side by side, formatted by kind."""
    if not len(signals):
        return '<div class="ss-muted">no signals for this user</div>'
    rows = []
    for r in signals.to_dict("records"):
        row = {"signal": r["signal"] + (" (subscriptions only)" if r["signal"] == "recurring_merchant_count" else "")}
        for w in WINDOWS:
            row[f"{w} days"] = fmt_signal(r["signal"], r.get(f"value_{w}"), r.get(f"text_{w}"))
        rows.append(row)
    return table(rows, [("signal", "signal")] + [(f"{w} days", f"{w} days") for w in WINDOWS], css="ss-signals-table")


def cards_html(cards: pd.DataFrame, window: int) -> str:
    """Per-card utilization evidence for one window."""
    part = cards[cards["window_days"] == window] if len(cards) else cards
    if not len(part):
        return '<div class="ss-muted">no credit cards</div>'
    cols = [("card_name", "card"), ("mask", "number"), ("balance", "balance"), ("credit_limit", "limit"),
            ("utilization", "utilization"), ("flags", "flags"), ("minimum_payment_only", "min. payment only"),
            ("interest_charges", "interest"), ("is_overdue", "overdue"), ("apr_percentage", "APR %")]
    rows = part.to_dict("records")
    for r in rows:
        r["flags"] = " ".join(f"≥{t}%" for t in (30, 50, 80) if r.get(f"flag_{t}") is True or r.get(f"flag_{t}") == 1)
    fmts = {"balance": fmt_usd, "credit_limit": fmt_usd, "utilization": lambda v: fmt_pct(v, 0),
            "interest_charges": fmt_usd}
    return table(rows, [c for c in cols if c[0] in part.columns or c[0] == "flags"], formatters=fmts,
                 css="ss-cards-table")


def streams_html(streams: pd.DataFrame, stream_txns: pd.DataFrame, window: int) -> str:
    """Recurring streams of one window, each expandable to its transactions."""
    part = streams[streams["window_days"] == window] if len(streams) else streams
    if not len(part):
        return '<div class="ss-muted">no recurring streams</div>'
    out = []
    for s in part.to_dict("records"):
        txns = stream_txns[(stream_txns["window_days"] == window) & (stream_txns["merchant_key"] == s["merchant_key"])] \
            if len(stream_txns) else stream_txns
        sub = badge("subscription", "info") if s.get("is_subscription") is True else ""
        summary = (f"{esc(s.get('merchant'))} · {esc(s.get('frequency'))} · {esc(fmt_cell(s.get('occurrences')))}× "
                   f"· median {esc(fmt_usd(s.get('median_amount')))} · {esc(fmt_usd(s.get('amount_in_window')))} "
                   f"in window {sub}")
        body = table(txns, [("date", "date"), ("amount", "amount"), ("description", "description"),
                            ("account_mask", "account")],
                     formatters={"amount": fmt_usd}, empty="transactions not in this run", css="ss-stream-txns")
        out.append(f'<details class="ss-stream"><summary>{summary}</summary>{body}</details>')
    return "".join(out)


def payroll_html(payroll: pd.DataFrame, window: int) -> str:
    """Payroll deposit dates and amounts of one window."""
    part = payroll[payroll["window_days"] == window] if len(payroll) else payroll
    if not len(part):
        return '<div class="ss-muted">no payroll deposits</div>'
    return table(part, [("date", "date"), ("amount", "amount"), ("account_mask", "account")],
                 formatters={"amount": fmt_usd}, css="ss-payroll-table")


def change_html(text: object) -> str:
    """The 'what would change this' line of a persona (nothing when the run has none)."""
    if is_missing(text) or not text:
        return ""
    return f'<div class="ss-what-would-change"><b>What would change this:</b> {esc(text)}</div>'


def personas_html(personas: pd.DataFrame) -> str:
    """Persona per window with the personas matched and every criterion with its value."""
    if not len(personas):
        return '<div class="ss-muted">no persona assignment (user skipped?)</div>'
    cols = []
    for r in personas.to_dict("records"):
        matched = r.get("matched_personas")
        matched = ", ".join(matched) if isinstance(matched, list) and matched else "none"
        pid = r.get("persona_id")
        window = int(r["window_days"])
        cols.append(
            f'<div class="ss-persona ss-persona-{window}">'
            f'{heading(f"{window} days", 2)}'
            f'<div>{badge(r.get("persona_name") or pid, "info" if pid != "none" else "warn")} '
            f'<span class="ss-muted">({esc(pid)}; matched: {esc(matched)})</span></div>'
            f'{change_html(r.get("text_operator"))}{criteria_html(r.get("criteria"))}</div>')
    return '<div class="ss-cols">' + "".join(cols) + "</div>"


@functools.cache
def cadence_lookback_days(window: int) -> int:
    """Days recurring streams and payroll look back for a window: max(window, cadence_min_lookback_days)."""
    from spendsense.signals.config import load_signal_config

    return max(int(window), load_signal_config().cadence_min_lookback_days)


def streams_heading_html(streams: pd.DataFrame, window: int) -> str:
    """The streams heading with the truth about the count beside it: only subscriptions are counted."""
    part = streams[streams["window_days"] == window] if len(streams) else streams
    subs = int((part["is_subscription"] == True).sum()) if len(part) and "is_subscription" in part else 0
    return (f'<div class="ss-h2">Recurring streams, last {cadence_lookback_days(window)} days</div>'
            f'<div class="ss-muted ss-streams-count">{len(part)} stream(s), {subs} of them subscriptions '
            "(weekly or monthly, steady amount, charged in the window): the recurring merchant count counts "
            "only those</div>")


def evidence_html(bundle: dict, as_of: str = "") -> str:
    """Cards, recurring streams and payroll of both windows, side by side, each labelled with its real period."""
    cols = []
    at = f" as of {as_of}" if as_of else ""
    for w in WINDOWS:
        lookback = cadence_lookback_days(w)
        cols.append(
            f'<div class="ss-evidence-{w}">{heading(f"Evidence for the {w}-day window", 2)}'
            f'<div class="ss-muted ss-evidence-periods">card balances{esc(at)}; card interest and payments over '
            f'the last {w} days; recurring streams and payroll over the last {lookback} days (the cadence '
            f'signals look back max({w}, {cadence_lookback_days(1)}) days)</div>'
            f'<div class="ss-h2">Credit cards</div>{cards_html(bundle["credit_cards"], w)}'
            f'{streams_heading_html(bundle["recurring_streams"], w)}'
            f'{streams_html(bundle["recurring_streams"], bundle["stream_transactions"], w)}'
            f'<div class="ss-h2">Payroll deposits, last {lookback} days</div>'
            f'{payroll_html(bundle["payroll_deposits"], w)}</div>')
    return '<div class="ss-cols ss-evidence">' + "".join(cols) + "</div>"


def timeline_figure(timeline: dict, as_of: str = "") -> dict | None:
    """Daily cash balance (top) over monthly money out and in (bottom), as a plain plotly figure dict."""
    bal, spend = timeline["balance"], timeline["spending"]
    if not len(bal) and not len(spend):
        return None
    data = []
    if len(bal):
        data.append({"type": "scatter", "mode": "lines", "name": "cash balance", "xaxis": "x", "yaxis": "y",
                     "x": [d.strftime("%Y-%m-%d") for d in pd.to_datetime(bal["date"])],
                     "y": [round(float(v), 2) for v in bal["balance"]], "line": {"color": "#2a6f97"}})
    if len(spend):
        months = [d.strftime("%Y-%m") for d in pd.to_datetime(spend["month"])]
        data.append({"type": "bar", "name": "money out", "x": months, "xaxis": "x2", "yaxis": "y2",
                     "y": [round(float(v), 2) for v in spend["spending"]], "marker": {"color": "#c7522a"}})
        data.append({"type": "bar", "name": "money in", "x": months, "xaxis": "x2", "yaxis": "y2",
                     "y": [round(float(v), 2) for v in spend["income"]], "marker": {"color": "#2a9d8f"}})
    layout = {**LAYOUT_STYLE, "height": 380, "barmode": "group", "margin": {"l": 60, "r": 10, "t": 40, "b": 30},
              "legend": {"orientation": "h", "y": -0.12},
              "xaxis": {**AXIS_STYLE, "domain": [0, 1], "anchor": "y"},
              "yaxis": {**AXIS_STYLE, "domain": [0.58, 1], "anchor": "x", "tickprefix": "$"},
              "xaxis2": {**AXIS_STYLE, "domain": [0, 1], "anchor": "y2", "type": "category"},
              "yaxis2": {**AXIS_STYLE, "domain": [0, 0.42], "anchor": "x2", "tickprefix": "$"},
              "annotations": [
                  {"text": "Cash balance (checking and savings)", "x": 0.5, "y": 1.0, "xref": "paper",
                   "yref": "paper", "xanchor": "center", "yanchor": "bottom", "showarrow": False},
                  {"text": "Money out and in per month", "x": 0.5, "y": 0.42, "xref": "paper", "yref": "paper",
                   "xanchor": "center", "yanchor": "bottom", "showarrow": False}]}
    return {"data": data, "layout": layout}


# ------------------------------------------------------------------------------------------- widgets

class UserSearch(widgets.VBox):
    """Find users by id, persona, flag or name (name only for admins); the selection sets `user_id`."""

    user_id = Unicode("")

    def __init__(self, data, limit: int = 200, **kwargs):
        super().__init__(**kwargs)
        self.data, self.limit = data, limit
        self.add_class("ss-search")
        self.by = widgets.Dropdown(options=data.search_options(), value="id", description="Search by",
                                   layout=widgets.Layout(width="280px"))
        self.by.add_class("ss-search-by")
        self.text = widgets.Text(placeholder="user id, e.g. u000042", continuous_update=True,
                                 layout=widgets.Layout(width="280px"))
        self.text.add_class("ss-search-text")
        self.persona = widgets.Dropdown(options=data.persona_options(), layout=widgets.Layout(width="280px"))
        self.persona.add_class("ss-search-persona")
        self.flag = widgets.Dropdown(options=[(label, key) for key, label in FLAG_OPTIONS.items()],
                                     layout=widgets.Layout(width="280px"))
        self.flag.add_class("ss-search-flag")
        self.results = widgets.Select(options=[], rows=16, layout=widgets.Layout(width="280px"))
        self.results.add_class("ss-user-list")
        self.count = widgets.HTML()
        self.count.add_class("ss-search-count")
        self.by.observe(self._mode, names="value")
        for w in (self.text, self.persona, self.flag):
            w.observe(lambda _: self.search(), names="value")
        self.results.observe(self._picked, names="value")
        self._mode()

    def _mode(self, _=None) -> None:
        mode = self.by.value
        field = {"id": self.text, "name": self.text, "persona": self.persona, "flag": self.flag}[mode]
        self.text.placeholder = "part of a name" if mode == "name" else "user id, e.g. u000042"
        self.children = [self.by, field, self.count, self.results]
        self.search()

    def search(self) -> None:
        """Run the search and list the matches."""
        mode = self.by.value
        query = {"id": self.text.value, "name": self.text.value, "persona": self.persona.value or "",
                 "flag": self.flag.value or ""}[mode]
        try:
            found = self.data.search_users(query, by=mode, limit=self.limit)
        except (ValueError, PermissionError) as exc:
            self.count.value = banner(str(exc), "warn")
            return
        options = list(zip(found["label"], found["user_id"]))
        current = self.user_id
        self.results.unobserve(self._picked, names="value")
        try:
            self.results.options = options
            self.results.value = current if current in set(found["user_id"]) else None
        finally:
            self.results.observe(self._picked, names="value")
        more = " (first shown)" if len(options) >= self.limit else ""
        self.count.value = f'<span class="ss-muted">{esc(len(options))} user(s){esc(more)}</span>'

    def _picked(self, change) -> None:
        if change["new"]:
            self.user_id = change["new"]

    def show(self, user_id: str) -> None:
        """Select a user from outside (e.g. the review queue), adding it to the list if needed."""
        ids = [v for _, v in self.results.options]
        if user_id not in ids:
            label = self.data.search_users(user_id, by="id", limit=5)
            match = label[label["user_id"] == user_id]
            if len(match):
                self.results.options = list(self.results.options) + [(match["label"].iloc[0], user_id)]
        self.results.value = user_id if user_id in [v for _, v in self.results.options] else None
        self.user_id = user_id


class UserView(View):
    """Everything about one user: profile, signals, personas, evidence, a timeline, and on-demand recompute."""

    css_class = "ss-user-view"

    def __init__(self, data, **kwargs):
        super().__init__(data, **kwargs)
        self.header = widgets.HTML()
        self.header.add_class("ss-user-header")
        self.signals = widgets.HTML()
        self.signals.add_class("ss-signals")
        self.personas = widgets.HTML()
        self.personas.add_class("ss-personas")
        self.evidence = widgets.HTML()
        self.evidence.add_class("ss-evidence-panel")
        self.plot = widgets.Output(layout=widgets.Layout(width="100%", min_height="380px"))
        self.plot.add_class("ss-timeline")
        ok, why = data.recompute_available()
        self.recompute_button = widgets.Button(description="Recompute this user", disabled=not ok,
                                               tooltip=why or "recompute signals, persona and recommendations "
                                                              "for this user now (nothing is published)",
                                               layout=widgets.Layout(width="200px"))
        self.recompute_button.add_class("ss-recompute")
        self.recompute_note = widgets.HTML(f'<span class="ss-muted">{esc(why)}</span>' if why else "")
        self.recompute_note.add_class("ss-recompute-note")
        self.recompute_out = widgets.HTML()
        self.recompute_out.add_class("ss-recompute-result")
        self.recompute_button.on_click(lambda _: self.recompute())
        self.body = widgets.VBox([self.header, self.signals, self.personas, self.evidence, self.plot,
                                  widgets.HBox([self.recompute_button, self.recompute_note]), self.recompute_out])
        self.children = [self.message, self.body]
        self.bundle: dict | None = None
        self.figure: dict | None = None

    def render(self) -> None:
        if not self.user_id:
            self.say("Pick a user on the left.")
            self.header.value = self.signals.value = self.personas.value = self.evidence.value = ""
            self.figure = show_figure(self.plot, None)
            return
        self.say("")
        b = self.bundle = self.data.user_bundle(self.user_id)
        self.header.value = profile_html(b["profile"])
        self.signals.value = heading("Signals, 30 vs 180 days") + signals_html(b["signals"])
        self.personas.value = heading("Personas") + personas_html(b["personas"])
        self.evidence.value = evidence_html(b, self.data.as_of)
        self.recompute_out.value = ""
        self.figure = show_figure(self.plot, timeline_figure(b["timeline"], self.data.as_of))

    def recompute(self) -> None:
        """Run the engine's single-user path and show its result beside the published one (not saved)."""
        try:
            result = self.data.recompute(self.user_id)
        except Exception as exc:  # noqa: BLE001
            self.show_error(exc)
            return
        seconds = result.pop("_seconds", 0)
        self.recompute_out.value = recompute_html(result, self.data.recommendations(self.user_id), seconds)
