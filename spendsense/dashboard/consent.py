"""Consent panel: current status and full history of a user; revoke (operators, admins) or grant (admins)."""

from __future__ import annotations

import ipywidgets as widgets

from spendsense.dashboard.base import View
from spendsense.dashboard.render import badge, esc, heading, is_missing, table


def fmt_utc(value: object) -> str:
    """An ISO-8601 UTC timestamp as 'YYYY-MM-DD HH:MM:SS UTC'."""
    if is_missing(value) or not str(value):
        return "—"
    text = str(value).replace("T", " ")
    return f"{text[:19]} UTC" if len(text) >= 19 else text


def consent_status_html(consent: dict) -> str:
    """The current status line: granted / revoked / none with when, source and actor."""
    status = consent.get("status", "none")
    kind = {"granted": "pass", "revoked": "fail"}.get(status, "warn")
    when = consent.get("occurred_at")
    detail = "" if status == "none" else (
        f" since {fmt_utc(when)} (source {consent.get('source')}, recorded by {consent.get('actor')})")
    effect = {"granted": "Recommendations may be shown once approved.",
              "revoked": "Nothing is shown to this customer and no new recommendations are generated.",
              }.get(status, "No consent on record: nothing is shown to this customer.")
    return (f'<div class="ss-consent-line">{heading("Consent", 2)}{badge(status, kind)}'
            f'<span class="ss-muted">{esc(detail)}</span><div>{esc(effect)}</div></div>')


class ConsentView(View):
    """Consent status and history of the selected user, with grant and revoke recorded in the opstore."""

    css_class = "ss-consent"

    def __init__(self, data, **kwargs):
        super().__init__(data, **kwargs)
        self.status = widgets.HTML()
        self.status.add_class("ss-consent-status")
        self.note = widgets.Text(placeholder="note, e.g. customer asked by phone on 2026-11-02",
                                 layout=widgets.Layout(width="420px"))
        self.note.add_class("ss-consent-note")
        self.revoke = widgets.Button(description="Revoke consent", button_style="danger",
                                     layout=widgets.Layout(width="auto"))
        self.revoke.add_class("ss-consent-revoke")
        self.grant = widgets.Button(description="Grant consent", button_style="success",
                                    layout=widgets.Layout(width="auto"))
        self.grant.add_class("ss-consent-grant")
        if data.role != "admin":
            self.grant.disabled = True
            self.grant.tooltip = "granting consent on a customer's behalf needs the admin role"
        self.revoke.on_click(lambda _: self.record("revoked"))
        self.grant.on_click(lambda _: self.record("granted"))
        self.history = widgets.HTML()
        self.history.add_class("ss-consent-history")
        self.children = [self.message, self.status, widgets.HBox([self.note, self.revoke, self.grant]),
                         self.history]

    def render(self) -> None:
        if not self.user_id:
            self.status.value = '<div class="ss-muted">Pick a user on the left.</div>'
            self.history.value = ""
            return
        consent = self.data.consent(self.user_id)
        self.status.value = consent_status_html(consent)
        self.revoke.disabled = consent["status"] == "revoked"
        history = self.data.consent_history(self.user_id)
        cols = [("occurred_at", "occurred at"), ("event", "event"), ("source", "source"), ("actor", "actor"),
                ("recorded_at", "recorded at"), ("origin", "stored in")]
        self.history.value = heading("History", 2) + table(
            history, cols, formatters={"occurred_at": fmt_utc, "recorded_at": fmt_utc}, empty="no consent events",
            css="ss-consent-table")

    def record(self, event: str) -> None:
        """Record a grant or revocation for the selected user; every panel reflects it at once."""
        try:
            event_id = self.data.set_consent(self.user_id, event, self.note.value)
        except Exception as exc:  # noqa: BLE001 - shown as a message
            self.show_error(exc)
            return
        self.note.value = ""
        self.say(f"Consent {event} for {self.user_id} recorded by {self.data.operator} (event {event_id}).", "pass")
        self.bump()
