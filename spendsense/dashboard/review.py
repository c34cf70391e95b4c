"""Review workflow: per-recommendation controls (approve, flag, override, suppress) and the review queue (paged,
filtered and sorted in SQL; per-row and bulk decisions, each made against the state the page shows)."""

from __future__ import annotations

from collections.abc import Callable, Mapping

import ipywidgets as widgets
from traitlets import Unicode

from spendsense.dashboard.base import View
from spendsense.dashboard.data.queue import QueuePage
from spendsense.dashboard.data.reviews import stale_message
from spendsense.dashboard.queue_filters import QueueFilters
from spendsense.dashboard.queue_table import QueueTable
from spendsense.dashboard.render import badge, esc, heading, kv_table, table
from spendsense.dashboard.timefmt import short_time
from spendsense.opstore import StaleDecision

NO_REPLACEMENT = ("— choose an eligible replacement —", "")
QUEUE_STYLE = """<style>
.ss-q-row { border-bottom: 1px solid #e4e7eb; padding: 4px 0; align-items: flex-start; }
.ss-q-line { display: flex; flex-wrap: wrap; gap: 10px; align-items: baseline; }
.ss-q-title { font-weight: 600; } .ss-q-other { color: #2a6f97; font-size: 12px; }
.ss-q-rationale { color: #3e4c59; margin: 2px 0; white-space: normal; line-height: 1.35; }
.ss-q-last { font-size: 11.5px; }
.ss-banner.ss-stale { background: #fff4e5; border-left: 4px solid #c7522a; } .ss-q-pager { align-items: center; gap: 8px; }
</style>"""
ACTION_DONE = {"approve": "Approved", "flag": "Flagged"}


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
        self.seen = str(rec.get("latest_review_id") or "")  # the state a decision from here is made against
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
            review_id = self.data.record_review(self.recommendation_id, action, self.reason.value, replacement,
                                                expected_latest=self.seen)
        except StaleDecision as exc:
            self.on_change(stale_message(exc.latest, short_time), "stale")  # the view redraws the fresh state
            return
        except (ValueError, KeyError, PermissionError) as exc:
            self.on_change(str(exc).strip("'\""), "warn")
            return
        except Exception as exc:  # noqa: BLE001 - shown as a message, never as a traceback
            self.on_change(f"The review was not recorded ({type(exc).__name__}: {exc}); please retry.", "fail")
            return
        what = f"{action} of {self.recommendation_id}" + (f" (replaced with {replacement})" if replacement else "")
        self.on_change(f"Recorded {what} by {self.data.operator} as review {review_id}.", "pass")


class ReviewQueueView(View):
    """The review queue: filters, exact counts, one page of rows (per-row and bulk decisions), "Open user" over
    every user matching the filters, recent decisions and (admins) the audit log."""

    css_class = "ss-review-queue"
    open_user = Unicode("")

    def __init__(self, data, **kwargs):
        super().__init__(data, **kwargs)
        self.page: QueuePage | None = None
        self.counts = widgets.HTML()
        self.counts.add_class("ss-queue-counts")
        self.filters = QueueFilters()
        self.filters.observe(lambda _: self._on_state(None), names="query")
        self.table = QueueTable(self.decide)
        self.table.observe(lambda _: self._draw_bulk(), names="selected")
        self.showing = widgets.HTML()
        self.showing.add_class("ss-queue-showing")
        self.prev = self._button("‹ Previous", "ss-page-prev", lambda: self.filters.go_to(self.filters.query.page - 1))
        self.next = self._button("Next ›", "ss-page-next", lambda: self.filters.go_to(self.filters.query.page + 1))
        self.refresh_button = self._button("Refresh", "ss-queue-refresh", self.refresh)
        self.select_page = widgets.Checkbox(description="select all on this page", indent=False,
                                            layout=widgets.Layout(width="190px"))
        self.select_page.add_class("ss-select-page")
        self.select_page.observe(lambda c: self.table.select_all(c["new"]), names="value")
        self.bulk_reason = widgets.Text(placeholder="one reason for the selected items (required to flag)",
                                        layout=widgets.Layout(width="340px"))
        self.bulk_reason.add_class("ss-bulk-reason")
        self.bulk_approve = self._button("Approve selected", "ss-bulk-approve", lambda: self._bulk("approve"), "success")
        self.bulk_flag = self._button("Flag selected", "ss-bulk-flag", lambda: self._bulk("flag"), "warning")
        self.pick = widgets.Dropdown(options=[], layout=widgets.Layout(width="420px"))
        self.pick.add_class("ss-queue-pick")
        self.open_button = self._button("Open user", "ss-queue-open", self._open)
        self.users_note = widgets.HTML()
        self.history = widgets.HTML()
        self.history.add_class("ss-review-history")
        self.audit = widgets.HTML()
        self.audit.add_class("ss-audit-log")
        pager = widgets.HBox([self.prev, self.showing, self.next, self.refresh_button])
        pager.add_class("ss-q-pager")
        self.children = [widgets.HTML(QUEUE_STYLE), self.message, self.counts, self.filters, pager,
                         widgets.HBox([self.select_page, self.bulk_reason, self.bulk_approve, self.bulk_flag]),
                         self.table, widgets.HBox([self.pick, self.open_button, self.users_note]),
                         self.history, self.audit]

    @staticmethod
    def _button(label: str, css: str, on_click, style: str = "") -> widgets.Button:
        b = widgets.Button(description=label, button_style=style, layout=widgets.Layout(width="auto"))
        b.add_class(css)
        b.on_click(lambda _: on_click())
        return b

    def _open(self) -> None:
        if self.pick.value:
            self.open_user = ""
            self.open_user = self.pick.value

    def render(self) -> None:
        d = self.data
        self.counts.value = heading("Review queue") + " ".join(
            badge(f"{k}: {v}", "fail" if k == "flagged" else "warn" if k == "pending" else "info")
            for k, v in d.review_counts().items())
        self.filters.set_options(d.queue_options())
        page = self.page = d.review_queue(self.filters.query)
        self.table.show(page.rows.to_dict("records"))  # rows first: "showing …" then means they are drawn
        self.showing.value = (f'<b class="ss-q-showing">{esc(page.showing)}</b>'
                              f'<span class="ss-muted"> · {esc(page.users_total)} user(s)</span>')
        self.prev.disabled = page.first <= 1
        self.next.disabled = page.last >= page.total
        self.select_page.value = False
        users = page.users
        self.pick.options = [(f"{u} ({w} waiting, {n} shown by the filters)", u)
                             for u, n, w in zip(users["user_id"], users["items"], users["waiting"])]
        if self.pick.options and self.pick.value is None:
            self.pick.index = 0
        self.users_note.value = (f'<span class="ss-muted">the first {len(users)} of {page.users_total} users</span>'
                                 if len(users) < page.users_total else "")
        self._draw_bulk()
        self.history.value = heading("Recent decisions", 2) + table(
            d.review_history(limit=50), formatters={"recorded_at": short_time}, empty="no reviews yet",
            css="ss-history-table")
        if d.role == "admin":
            self.audit.value = heading("Audit log", 2) + table(d.audit_log(limit=50), formatters={
                "recorded_at": short_time}, empty="empty", css="ss-audit-table")
        else:
            self.audit.value = kv_table([("audit log", "visible to admins")])

    def _draw_bulk(self) -> None:
        n = len(self.table.selected)
        self.bulk_approve.description = f"Approve selected ({n})"
        self.bulk_flag.description = f"Flag selected ({n})"
        self.bulk_approve.disabled = self.bulk_flag.disabled = n == 0

    def _bulk(self, action: str) -> None:
        decisions = self.table.selected_decisions()
        if decisions:
            self.decide(decisions, action, self.bulk_reason.value)

    def decide(self, decisions: list[tuple[str, str]], action: str, reason: str) -> None:
        """Record one decision on these items (each against the state this page showed), then show what was
        recorded, what was refused as stale and why, and the fresh state."""
        if action == "flag" and not (reason or "").strip():
            self.say("A reason is required to flag; nothing was recorded.", "warn")
            return
        try:
            results = self.data.record_reviews(decisions, action, reason)
        except Exception as exc:  # noqa: BLE001 - shown as a message, never as a traceback
            self.show_error(exc)
            return
        self.say(*decision_summary(results, action, self.data.operator))
        self.bulk_reason.value = ""
        self.bump()  # every linked panel, this one included, redraws the fresh state


def decision_summary(results: list[dict], action: str, operator: str) -> tuple[str, str]:
    """(message, kind) for the outcome of a decision on one or many items."""
    done = [r for r in results if r["review_id"]]
    stale = [r for r in results if r["stale"] is not None]
    refused = [r for r in results if r["error"] and r["stale"] is None]
    if len(results) == 1:
        r = results[0]
        if r["review_id"]:
            return f"Recorded {action} of {r['recommendation_id']} by {operator} as review {r['review_id']}.", "pass"
        return (stale_message(r["stale"], short_time), "stale") if stale else (r["error"], "warn")
    parts = [f"{ACTION_DONE[action]} {len(done)} of {len(results)} by {operator}."]
    if stale:
        parts.append(f"Refused as stale ({len(stale)}), another decision came first: " + "; ".join(
            f"{r['recommendation_id']}: {stale_message(r['stale'], short_time)}" for r in stale))
    if refused:
        parts.append(f"Refused ({len(refused)}): " + "; ".join(f"{r['recommendation_id']}: {r['error']}"
                                                               for r in refused))
    return " ".join(parts), "pass" if not (stale or refused) else "stale" if stale else "warn"
