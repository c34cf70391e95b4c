"""The whole operator dashboard: header, overview, customers (search + user panels), review queue."""

from __future__ import annotations

import logging
import os
from pathlib import Path

import ipywidgets as widgets
import traitlets
from traitlets import Int, Unicode

from spendsense.dashboard.access import (
    PER_USER_ROLES,
    DashboardData,
    NoPublishedRun,
    resolve_operator,
    resolve_role,
)
from spendsense.dashboard.consent import ConsentView
from spendsense.dashboard.overview import OverviewView
from spendsense.dashboard.preview import PreviewView
from spendsense.dashboard.recommendations import RecommendationsView
from spendsense.dashboard.render import STYLE, badge, banner, esc
from spendsense.dashboard.review import ReviewQueueView
from spendsense.dashboard.user import UserSearch, UserView
from spendsense.dashboard.watch import ReviewWatch

log = logging.getLogger("spendsense.dashboard")

USER_TABS = ("Signals & personas", "Recommendations", "Consent", "Customer preview")
MAIN_TABS = ("Overview", "Customers", "Review queue")


class DashboardApp(widgets.VBox):
    """The dashboard: `user_id` is the selected customer, `revision` counts writes to the opstore."""

    user_id = Unicode("")
    revision = Int(0)

    def __init__(self, data: DashboardData, previews_dir: Path | None = None, **kwargs):
        super().__init__(**kwargs)
        self.data = data
        self.add_class("ss-app")
        self.style_html = widgets.HTML(STYLE)
        self.header = widgets.HTML()
        self.header.add_class("ss-header")
        self.reload_button = widgets.Button(description="Load latest run",
                                            layout=widgets.Layout(width="150px"),
                                            tooltip="switch to the newest published run")
        self.reload_button.add_class("ss-reload")
        self.reload_button.on_click(lambda _: self.reload())
        self.notice = widgets.HTML()
        self.notice.add_class("ss-notice")
        self.overview = OverviewView(data)
        self.views: list = [self.overview]
        children = [self.overview]
        titles = ["Overview"]
        if data.role in PER_USER_ROLES:
            self.search = UserSearch(data)
            self.user_view = UserView(data)
            self.recs_view = RecommendationsView(data)
            self.consent_view = ConsentView(data)
            self.preview_view = PreviewView(data, out_dir=previews_dir)
            self.queue = ReviewQueueView(data)
            self.user_panels = [self.user_view, self.recs_view, self.consent_view, self.preview_view]
            self.search.layout = widgets.Layout(flex="0 0 300px", width="300px", margin="0 12px 0 0")
            self.user_tabs = widgets.Tab(children=self.user_panels,
                                         layout=widgets.Layout(flex="1 1 auto", min_width="0", width="auto"))
            self.user_tabs.titles = USER_TABS
            self.user_tabs.add_class("ss-user-tabs")
            customers = widgets.HBox([self.search, self.user_tabs], layout=widgets.Layout(width="100%"))
            customers.add_class("ss-customers")
            children += [customers, self.queue]
            titles += ["Customers", "Review queue"]
            self.views += self.user_panels + [self.queue]
            traitlets.link((self.search, "user_id"), (self, "user_id"))
            for view in self.user_panels:
                traitlets.dlink((self, "user_id"), (view, "user_id"))
            self.queue.observe(self._open_from_queue, names="open_user")
            self.user_tabs.observe(lambda _: self._activate(), names="selected_index")
        for view in self.views:
            traitlets.link((self, "revision"), (view, "revision"))
        self.watch = ReviewWatch(data)  # others' decisions reach this page within a few seconds
        traitlets.link((self, "revision"), (self.watch, "revision"))
        self.watch.start()
        self.tabs = widgets.Tab(children=children)
        self.tabs.titles = titles
        self.tabs.add_class("ss-main-tabs")
        self.tabs.observe(lambda _: self._activate(), names="selected_index")
        self.children = [self.style_html, widgets.HBox([self.header, self.reload_button]), self.notice, self.tabs]
        self._draw_header()
        if data.role not in PER_USER_ROLES:
            self.notice.value = banner(f"Role {data.role}: aggregates only; per-user data is not available.", "info")
            self.notice.add_class("ss-role-note")
        self._activate()

    def _draw_header(self) -> None:
        d = self.data
        self.header.value = (
            f'<div class="ss-h">SpendSense operator dashboard</div>'
            f'<div class="ss-muted">run <b class="ss-run-id">{esc(d.run_id)}</b>'
            f'{" · data as of " + esc(d.as_of) if d.as_of else ""} · role {badge(d.role, "info")} · '
            f'operator <span class="ss-operator">{esc(d.operator)}</span></div>')

    def _activate(self) -> None:
        """Mark the visible panels active (they render now) and the hidden ones inactive (they render when shown)."""
        main = self.tabs.selected_index or 0
        self.overview.active = main == 0
        if self.data.role in PER_USER_ROLES:
            sub = self.user_tabs.selected_index or 0
            for i, view in enumerate(self.user_panels):
                view.active = main == 1 and sub == i
            self.queue.active = main == 2

    def _open_from_queue(self, change) -> None:
        if change["new"]:
            self.search.show(change["new"])
            self.tabs.selected_index = 1
            self.user_tabs.selected_index = 1

    def select_user(self, user_id: str) -> None:
        """Show a user (as if picked in the search list)."""
        self.search.show(user_id)

    def reload(self) -> None:
        """Switch to the newest published run and redraw every panel."""
        try:
            changed = self.data.reload()
        except NoPublishedRun as exc:
            self.notice.value = banner(str(exc), "warn")
            return
        self._draw_header()
        self.notice.value = banner(f"Now showing run {self.data.run_id}." if changed
                                   else "Already showing the latest run.", "info")
        if changed and self.data.role in PER_USER_ROLES:
            self.search.search()
        self.revision += 1


def build_app(run_dir: Path | str | None = None, role: str | None = None, operator: str | None = None,
              opstore_path: Path | str | None = None, previews_dir: Path | str | None = None) -> widgets.Widget:
    """Build the dashboard for the launch role (narrowed by ?role= in the page URL) over a published run.

    run_dir defaults to env SPENDSENSE_RUN_DIR, else the latest published run (env SPENDSENSE_RUNS_DIR or
    reports/runs). Without a published run, returns a message widget saying how to make one.
    """
    effective = resolve_role(role)
    run_dir = run_dir or os.environ.get("SPENDSENSE_RUN_DIR") or None
    try:
        data = DashboardData(run_dir=run_dir, role=effective, operator=resolve_operator(operator),
                             opstore_path=opstore_path)
    except NoPublishedRun as exc:
        msg = widgets.HTML(STYLE + banner(str(exc), "warn"))
        msg.add_class("ss-app")
        msg.add_class("ss-no-run")
        return msg
    return DashboardApp(data, previews_dir=Path(previews_dir) if previews_dir else None)
