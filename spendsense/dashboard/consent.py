"""Consent panel: current status and full history of a user; revoke (operators, admins) or grant (admins)."""

from __future__ import annotations

import ipywidgets as widgets

from spendsense.dashboard.base import View
from spendsense.dashboard.render import badge, banner, esc, heading, table
from spendsense.dashboard.timefmt import human_time

CONFIRM_TEXT = {
    "revoked": "Revoke consent for {user}? From now on nothing is shown to this customer and no new "
               "recommendations are generated for them.",
    "granted": "Record a consent grant for {user} on the customer's behalf? Approved recommendations may then be "
               "shown to them.",
}


def consent_status_html(consent: dict) -> str:
    """The current status line: granted / revoked / none with when, source and actor."""
    status = consent.get("status", "none")
    kind = {"granted": "pass", "revoked": "fail"}.get(status, "warn")
    when = consent.get("occurred_at")
    detail = "" if status == "none" else (
        f" since {human_time(when)} (source {consent.get('source')}, recorded by {consent.get('actor')})")
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
        self.revoke.on_click(lambda _: self.ask("revoked"))
        self.grant.on_click(lambda _: self.ask("granted"))
        self.confirm_text = widgets.HTML()
        self.confirm_yes = widgets.Button(description="Yes, record it", button_style="danger",
                                          layout=widgets.Layout(width="auto"))
        self.confirm_yes.add_class("ss-consent-confirm-yes")
        self.confirm_no = widgets.Button(description="Cancel", layout=widgets.Layout(width="auto"))
        self.confirm_no.add_class("ss-consent-confirm-no")
        self.confirm_yes.on_click(lambda _: self.confirm())
        self.confirm_no.on_click(lambda _: self.cancel())
        self.confirm_box = widgets.VBox([self.confirm_text, widgets.HBox([self.confirm_yes, self.confirm_no])],
                                        layout=widgets.Layout(display="none"))
        self.confirm_box.add_class("ss-consent-confirm")
        self.pending: tuple[str, str] | None = None  # (event, user) waiting for confirmation
        self.history = widgets.HTML()
        self.history.add_class("ss-consent-history")
        self.children = [self.message, self.status, widgets.HBox([self.note, self.revoke, self.grant]),
                         self.confirm_box, self.history]

    def ask(self, event: str) -> None:
        """First step of a consent change: say what it does and wait for Yes or Cancel."""
        if not self.user_id:
            return
        self.pending = (event, self.user_id)
        self.confirm_text.value = banner(CONFIRM_TEXT[event].format(user=self.user_id), "warn")
        self.confirm_yes.description = "Yes, revoke consent" if event == "revoked" else "Yes, grant consent"
        self.confirm_box.layout.display = "flex"

    def cancel(self) -> None:
        """Drop the pending consent change; nothing is recorded."""
        self.pending = None
        self.confirm_box.layout.display = "none"
        self.say("Nothing recorded.", "info")

    def confirm(self) -> None:
        """Record the pending change, if it is still for the user on screen."""
        pending, self.pending = self.pending, None
        self.confirm_box.layout.display = "none"
        if pending is None or pending[1] != self.user_id:
            self.say("The customer changed before confirming; nothing recorded.", "warn")
            return
        self.record(pending[0])

    def render(self) -> None:
        if self.pending and self.pending[1] != self.user_id:
            self.pending = None
            self.confirm_box.layout.display = "none"
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
            history, cols, formatters={"occurred_at": human_time, "recorded_at": human_time}, empty="no consent events",
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
