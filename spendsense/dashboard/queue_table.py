"""The review queue's rows: a pool of row widgets (select box, the row with its rationale, per-row approve, flag with
a reason, and approve both windows), reused page after page; `selected` holds the ids ticked on the page."""

from __future__ import annotations

from collections.abc import Callable

import ipywidgets as widgets
from ipywidgets.widgets.widget_bool import CheckboxStyle
from ipywidgets.widgets.widget_string import HTMLStyle, TextStyle
from traitlets import List

from spendsense.dashboard.render import badge, esc, fmt_cell
from spendsense.dashboard.timefmt import short_time

STATUS_KIND = {"flagged": "fail", "pending": "warn", "approved": "pass", "overridden": "info", "suppressed": "info"}
OPEN_STATUSES = ("pending", "flagged")
# decide(decisions=[(recommendation_id, expected_latest_review_id)], action, reason)
Decide = Callable[[list[tuple[str, str]], str, str], None]


def row_html(row: dict) -> str:
    """One queue row: status, user, window, persona, kind, rank, score, item and title, the last decision, and the
    rationale below (every value escaped)."""
    last = (f'{esc(row["reviewed_by"])} · {esc(short_time(row["reviewed_at"]))}'
            + (f' · “{esc(row["note"])}”' if row.get("note") else "") if row.get("reviewed_by") else "no decision yet")
    other = ""
    if isinstance(row.get("other_id"), str) and row["other_id"]:
        other = (f' <span class="ss-q-other">also in {esc(fmt_cell(row["other_window_days"]))} days: '
                 f'{esc(row["other_status"])}</span>')
    return (f'<div class="ss-q-line"><span class="ss-q-status ss-status-{esc(row["status"])}">'
            f'{badge(row["status"], STATUS_KIND.get(row["status"], "info"))}</span>'
            f'<b class="ss-q-user">{esc(row["user_id"])}</b>'
            f'<span class="ss-q-cell">{esc(fmt_cell(row["window_days"]))} d</span>'
            f'<span class="ss-q-cell">{esc(row["persona_id"])}</span>'
            f'<span class="ss-q-cell">{esc(row["kind"])} #{esc(fmt_cell(row["rank"]))}</span>'
            f'<span class="ss-q-cell ss-q-score">score {float(row["score"]):.2f}</span>'
            f'<span class="ss-q-title">{esc(row["title"])} <span class="ss-muted">({esc(row["item_id"])})</span>'
            f'</span>{other}</div>'
            f'<div class="ss-q-rationale">{esc(row["rationale"])}</div>'
            f'<div class="ss-q-last ss-muted">{last} · <span class="ss-q-id">{esc(row["recommendation_id"])}</span>'
            f'</div>')


class Shared:
    """Layouts and styles every row shares (one widget model each, not one per row: a page of 50 rows is ~350
    widgets instead of ~1,000, which is what the browser has to create)."""

    def __init__(self):
        self.row = widgets.Layout(align_items="flex-start", width="100%")
        self.select = widgets.Layout(width="28px")
        self.body = widgets.Layout(flex="1 1 auto", min_width="0")
        self.reason = widgets.Layout(width="170px")
        self.button = widgets.Layout(width="auto")
        self.checkbox_style = CheckboxStyle()
        self.html_style = HTMLStyle()
        self.text_style = TextStyle()
        self.button_style = widgets.ButtonStyle()


class QueueRow(widgets.HBox):
    """One row of the queue page; `show(row)` points it at a recommendation (the state it shows is what a
    decision from this row is made against)."""

    def __init__(self, decide: Decide, on_select: Callable[[], None], shared: Shared, **kwargs):
        super().__init__(layout=shared.row, **kwargs)
        self.add_class("ss-q-row")
        self.decide, self.row = decide, {}
        self.select = widgets.Checkbox(indent=False, layout=shared.select, style=shared.checkbox_style)
        self.select.add_class("ss-q-select")
        self.select.observe(lambda _: on_select(), names="value")
        self.body = widgets.HTML(layout=shared.body, style=shared.html_style)
        self.body.add_class("ss-q-body")
        self.reason = widgets.Text(placeholder="reason to flag", layout=shared.reason, style=shared.text_style)
        self.reason.add_class("ss-q-reason")
        self.approve = self._button("Approve", "success", "ss-q-approve", shared, lambda: self._decide("approve", False))
        self.flag = self._button("Flag", "warning", "ss-q-flag", shared, lambda: self._decide("flag", False))
        self.both = self._button("Approve both windows", "", "ss-q-approve-both", shared,
                                 lambda: self._decide("approve", True))
        self.base = [self.select, self.body, self.approve, self.flag, self.reason]

    @staticmethod
    def _button(label: str, style: str, css: str, shared: Shared, on_click: Callable[[], None]) -> widgets.Button:
        b = widgets.Button(description=label, button_style=style, layout=shared.button, style=shared.button_style)
        b.add_class(css)
        b.on_click(lambda _: on_click())
        return b

    def show(self, row: dict) -> None:
        if self.row:
            self.remove_class(f"ss-q-id-{self.row['recommendation_id']}")
        self.row = row
        self.add_class(f"ss-q-id-{row['recommendation_id']}")
        self.body.value = row_html(row)
        self.reason.value = ""
        self.select.value = False
        self.approve.disabled = row["status"] == "approved"
        has_other = isinstance(row.get("other_id"), str) and bool(row["other_id"])
        self.both.disabled = row["status"] == "approved" and row.get("other_status") == "approved"
        self.children = self.base + [self.both] if has_other else self.base

    def hide(self) -> None:
        if self.row:
            self.remove_class(f"ss-q-id-{self.row['recommendation_id']}")
        self.row = {}
        self.select.value = False

    def decision(self) -> tuple[str, str]:
        """(recommendation_id, the latest review id this row shows) for a decision made from it."""
        return self.row["recommendation_id"], self.row.get("latest_review_id") or ""

    def _decide(self, action: str, both_windows: bool) -> None:
        decisions = [self.decision()]
        if both_windows:
            decisions.append((self.row["other_id"], self.row.get("other_latest_review_id") or ""))
        self.decide(decisions, action, self.reason.value)


class QueueTable(widgets.VBox):
    """The rows of one page (a pool of QueueRow widgets, grown as needed and reused)."""

    selected = List()

    def __init__(self, decide: Decide, **kwargs):
        super().__init__(**kwargs)
        self.add_class("ss-q-table")
        self.decide = decide
        self.pool: list[QueueRow] = []
        self.shared = Shared()
        self.empty = widgets.HTML('<div class="ss-muted">nothing matches these filters</div>')
        self.empty.add_class("ss-q-empty")
        self._drawing = False

    def show(self, rows: list[dict]) -> None:
        """Draw these rows (selection cleared)."""
        self._drawing = True
        try:
            while len(self.pool) < len(rows):
                self.pool.append(QueueRow(self.decide, self._selection_changed, self.shared))
            for row_widget, row in zip(self.pool, rows):
                row_widget.show(row)
            for row_widget in self.pool[len(rows):]:
                row_widget.hide()
            self.children = self.pool[:len(rows)] if rows else [self.empty]
        finally:
            self._drawing = False
        self._selection_changed()

    def select_all(self, value: bool) -> None:
        """Tick (or untick) every row of the page."""
        self._drawing = True
        try:
            for r in self.visible():
                r.select.value = value
        finally:
            self._drawing = False
        self._selection_changed()

    def visible(self) -> list[QueueRow]:
        return [r for r in self.pool if r.row]

    def selected_decisions(self) -> list[tuple[str, str]]:
        """(recommendation_id, latest review id shown) of every ticked row."""
        return [r.decision() for r in self.visible() if r.select.value]

    def _selection_changed(self) -> None:
        if not self._drawing:
            self.selected = [rid for rid, _ in self.selected_decisions()]
