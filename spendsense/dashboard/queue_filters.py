"""The review queue's filter bar: status, persona, kind, window, flagged, score range, item, sort and page size,
kept as one `QueueFilter` in the `query` trait (a new filter starts at page 1)."""

from __future__ import annotations

import ipywidgets as widgets
from traitlets import Instance

from spendsense.dashboard.data.queue import SORT_LABELS, QueueFilter
from spendsense.dashboard.data.reviews import QUEUE_STATUSES, STATUSES

ANY = ("any", "")
STATUS_CHOICES = (("flagged and pending", ",".join(QUEUE_STATUSES)), ("flagged", "flagged"),
                  ("pending", "pending"), ("approved", "approved"), ("overridden", "overridden"),
                  ("suppressed", "suppressed"), ("any status", ",".join(STATUSES)))
FLAGGED_CHOICES = (("any", ""), ("ever flagged", "yes"), ("never flagged", "no"))
PAGE_SIZES = (25, 50, 100, 200)


def _dropdown(description: str, options, value, css: str, width: str = "200px") -> widgets.Dropdown:
    w = widgets.Dropdown(description=description, options=options, value=value,
                         layout=widgets.Layout(width=width), style={"description_width": "initial"})
    w.add_class(css)
    return w


def _number(value: str) -> float | None:
    text = (value or "").strip()
    return float(text) if text else None


class QueueFilters(widgets.VBox):
    """Filter, sort and page-size controls; `query` is the QueueFilter they describe (page 0 after a change)."""

    query = Instance(QueueFilter)

    def __init__(self, **kwargs):
        super().__init__(**kwargs)
        self.add_class("ss-queue-filters")
        self.status = _dropdown("Status", STATUS_CHOICES, STATUS_CHOICES[0][1], "ss-filter-status", "240px")
        self.persona = _dropdown("Persona", [ANY], "", "ss-filter-persona", "230px")
        self.kind = _dropdown("Kind", [ANY], "", "ss-filter-kind", "160px")
        self.window = _dropdown("Window", [ANY], "", "ss-filter-window", "140px")
        self.flagged = _dropdown("Flagged", FLAGGED_CHOICES, "", "ss-filter-flagged", "180px")
        self.item = _dropdown("Item", [ANY], "", "ss-filter-item", "220px")
        self.score_min = widgets.Text(description="Score from", placeholder="0", layout=widgets.Layout(width="150px"),
                                      style={"description_width": "initial"})
        self.score_min.add_class("ss-filter-score-min")
        self.score_max = widgets.Text(description="to", placeholder="1", layout=widgets.Layout(width="90px"),
                                      style={"description_width": "initial"})
        self.score_max.add_class("ss-filter-score-max")
        self.both = widgets.Checkbox(description="in both windows", indent=False, layout=widgets.Layout(width="140px"))
        self.both.add_class("ss-filter-both")
        self.sort = _dropdown("Sort", SORT_LABELS, "status", "ss-sort", "230px")
        self.descending = widgets.ToggleButton(description="descending", layout=widgets.Layout(width="110px"))
        self.descending.add_class("ss-sort-desc")
        self.page_size = _dropdown("Per page", PAGE_SIZES, 50, "ss-page-size", "140px")
        self.error = widgets.HTML()
        self.error.add_class("ss-filter-error")
        self.children = [
            widgets.HBox([self.status, self.persona, self.kind, self.window, self.flagged]),
            widgets.HBox([self.item, self.score_min, self.score_max, self.both, self.sort, self.descending,
                          self.page_size]),
            self.error]
        self.query = QueueFilter()
        for w in (self.status, self.persona, self.kind, self.window, self.flagged, self.item, self.both, self.sort,
                  self.descending, self.page_size):
            w.observe(lambda _: self._update(), names="value")
        for w in (self.score_min, self.score_max):
            w.continuous_update = False
            w.observe(lambda _: self._update(), names="value")

    def set_options(self, options: dict[str, list[str]]) -> None:
        """Offer the values present in the run (keeping the current choices when still offered)."""
        with self.hold_trait_notifications():
            for w, key in ((self.persona, "persona_id"), (self.kind, "kind"), (self.window, "window_days"),
                           (self.item, "item_id")):
                labels = [(f"{v} days" if key == "window_days" else v, v) for v in options.get(key, [])]
                if [ANY, *labels] != list(w.options):
                    current = w.value
                    w.options = [ANY, *labels]
                    w.value = current if current in {v for _, v in w.options} else ""

    def _update(self) -> None:
        try:
            query = QueueFilter(
                statuses=tuple(s for s in self.status.value.split(",") if s),
                persona_id=self.persona.value or None, kind=self.kind.value or None,
                window_days=int(self.window.value) if self.window.value else None,
                ever_flagged={"yes": True, "no": False}.get(self.flagged.value),
                score_min=_number(self.score_min.value), score_max=_number(self.score_max.value),
                item_id=self.item.value or None, both_windows=self.both.value, sort=self.sort.value,
                descending=self.descending.value, page=0, page_size=self.page_size.value)
        except ValueError:
            self.error.value = '<span class="ss-muted">score: enter a number such as 0.5</span>'
            return
        self.error.value = ""
        if query != self.query:
            self.query = query

    def go_to(self, page: int) -> None:
        """Show another page under the same filter."""
        self.query = self.query.model_copy(update={"page": max(0, page)})
