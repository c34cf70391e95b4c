"""Review workflow: per-recommendation controls (approve, flag, override, suppress) and the review queue."""

from __future__ import annotations

from collections.abc import Callable, Mapping

import ipywidgets as widgets
from traitlets import Unicode

from spendsense.dashboard.base import View
from spendsense.dashboard.render import badge, esc, heading, kv_table, table

NO_REPLACEMENT = ("— choose an eligible replacement —", "")
QUEUE_FILTERS = (("flagged and pending", ("flagged", "pending")), ("flagged only", ("flagged",)),
                 ("pending only", ("pending",)))


class ReviewControls(widgets.VBox):
    """Approve, flag, override (with an eligible replacement) or suppress one recommendation, with a reason."""

    recommendation_id = Unicode("")

    def __init__(self, data, on_change: Callable[[str, str], None], **kwargs):
        super().__init__(**kwargs)
        self.data, self.on_change = data, on_change
        self.add_class("ss-review-controls")
        self.reason = widgets.Text(placeholder="reason (required to flag, override or suppress)",
                                   layout=widgets.Layout(width="360px"))
        self.reason.add_class("ss-reason")
        self.replacement = widgets.Dropdown(options=[NO_REPLACEMENT], layout=widgets.Layout(width="300px"))
        self.replacement.add_class("ss-replacement")
        self.buttons = {}
        for action, label, style in (("approve", "Approve", "success"), ("flag", "Flag for review", "warning"),
                                     ("override", "Override", "info"), ("suppress", "Suppress", "danger")):
            b = widgets.Button(description=label, button_style=style,
                               layout=widgets.Layout(width="auto"))
            b.add_class(f"ss-{action}")
            b.on_click(lambda _, a=action: self.submit(a))
            self.buttons[action] = b
        self.children = [widgets.HBox([self.buttons["approve"], self.buttons["flag"], self.reason]),
                         widgets.HBox([self.replacement, self.buttons["override"], self.buttons["suppress"]])]
        self.options: list[tuple[str, str]] = []

    def show(self, rec: Mapping, consent: str, options: list[tuple[str, str]] | None = None) -> None:
        """Point the controls at a recommendation; approving and overriding need granted consent."""
        self.recommendation_id = str(rec["recommendation_id"])
        self.options = list(options or [])
        self.replacement.options = [NO_REPLACEMENT] + self.options
        self.replacement.value = ""
        self.reason.value = ""
        granted = consent == "granted"
        self.buttons["approve"].disabled = not granted
        self.buttons["override"].disabled = not granted or not self.options
        tip = "" if granted else f"consent {consent}: approving is disabled"
        self.buttons["approve"].tooltip = tip or "approve: the customer will see this item"
        self.buttons["override"].tooltip = tip or ("replace with the chosen eligible item" if self.options
                                                   else "no eligible replacement for this item")

    def submit(self, action: str) -> None:
        """Record the decision; report success or the reason it was refused."""
        replacement = (self.replacement.value or None) if action == "override" else None
        try:
            review_id = self.data.record_review(self.recommendation_id, action, self.reason.value, replacement)
        except (ValueError, KeyError, PermissionError) as exc:
            self.on_change(str(exc).strip("'\""), "warn")
            return
        except Exception as exc:  # noqa: BLE001 - shown as a message, never as a traceback
            self.on_change(f"The review was not recorded ({type(exc).__name__}: {exc}); please retry.", "fail")
            return
        what = f"{action} of {self.recommendation_id}" + (f" (replaced with {replacement})" if replacement else "")
        self.on_change(f"Recorded {what} by {self.data.operator} as review {review_id}.", "pass")


class ReviewQueueView(View):
    """Flagged and pending recommendations, recent decisions, and (admins) the audit log."""

    css_class = "ss-review-queue"
    open_user = Unicode("")

    def __init__(self, data, limit: int = 200, **kwargs):
        super().__init__(data, **kwargs)
        self.limit = limit
        self.filter = widgets.Dropdown(options=QUEUE_FILTERS, value=QUEUE_FILTERS[0][1], description="Show",
                                       layout=widgets.Layout(width="300px"))
        self.filter.add_class("ss-queue-filter")
        self.filter.observe(lambda _: self.refresh(), names="value")
        self.refresh_button = widgets.Button(description="Refresh", layout=widgets.Layout(width="110px"))
        self.refresh_button.on_click(lambda _: self.refresh())
        self.counts = widgets.HTML()
        self.counts.add_class("ss-queue-counts")
        self.table = widgets.HTML()
        self.table.add_class("ss-queue-table")
        self.pick = widgets.Dropdown(options=[], layout=widgets.Layout(width="520px"))
        self.pick.add_class("ss-queue-pick")
        self.open_button = widgets.Button(description="Open user", layout=widgets.Layout(width="120px"))
        self.open_button.add_class("ss-queue-open")
        self.open_button.on_click(lambda _: self._open())
        self.history = widgets.HTML()
        self.history.add_class("ss-review-history")
        self.audit = widgets.HTML()
        self.audit.add_class("ss-audit-log")
        self.children = [self.message, widgets.HBox([self.filter, self.refresh_button]), self.counts,
                         widgets.HBox([self.pick, self.open_button]), self.table, self.history, self.audit]

    def _open(self) -> None:
        if self.pick.value:
            self.open_user = ""
            self.open_user = self.pick.value

    def render(self) -> None:
        d = self.data
        counts = d.review_counts()
        self.counts.value = heading("Review queue") + " ".join(
            badge(f"{k}: {v}", "fail" if k == "flagged" else "warn" if k == "pending" else "info")
            for k, v in counts.items())
        queue = d.review_queue(self.filter.value, limit=self.limit)
        self.table.value = table(
            queue, [("status", "status"), ("user_id", "user"), ("window_days", "window"), ("kind", "kind"),
                    ("rank", "rank"), ("title", "title"), ("note", "note"), ("recommendation_id", "id")],
            empty="nothing waiting", css="ss-queue") + (
            f'<div class="ss-muted">showing the first {esc(self.limit)}</div>' if len(queue) >= self.limit else "")
        users = list(dict.fromkeys(queue["user_id"])) if len(queue) else []
        self.pick.options = [(f"{u} ({int((queue['user_id'] == u).sum())} waiting)", u) for u in users]
        history = d.review_history(limit=50)
        self.history.value = heading("Recent decisions", 2) + table(history, empty="no reviews yet",
                                                                     css="ss-history-table")
        if d.role == "admin":
            log = d.audit_log(limit=50)
            self.audit.value = heading("Audit log", 2) + table(log, empty="empty", css="ss-audit-table")
        else:
            self.audit.value = kv_table([("audit log", "visible to admins")])
