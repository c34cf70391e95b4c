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
    query_param,
    resolve_operator,
    resolve_role,
)
from spendsense.dashboard.consent import ConsentView
from spendsense.dashboard.loadtime import KERNEL_READY
from spendsense.dashboard.overview import OverviewView
from spendsense.dashboard.preview import PreviewView
from spendsense.dashboard.recommendations import RecommendationsView
from spendsense.dashboard.render import STYLE, badge, banner, esc
from spendsense.dashboard.review import ReviewQueueView
from spendsense.dashboard.timefmt import human_time
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
            self._panel_makers = [lambda: UserView(data), lambda: RecommendationsView(data),
                                  lambda: ConsentView(data), lambda: PreviewView(data, out_dir=previews_dir)]
            self.user_panels: list = [None] * len(USER_TABS)  # built on first open (lazy tabs)
            self._queue = None
            self.search.layout = widgets.Layout(flex="0 0 300px", width="300px", margin="0 12px 0 0")
            self.user_tabs = widgets.Tab(children=[self._placeholder() for _ in USER_TABS],
                                         layout=widgets.Layout(flex="1 1 auto", min_width="0", width="auto"))
            self.user_tabs.titles = USER_TABS
            self.user_tabs.add_class("ss-user-tabs")
            customers = widgets.HBox([self.search, self.user_tabs], layout=widgets.Layout(width="100%"))
            customers.add_class("ss-customers")
            children += [customers, self._placeholder()]
            titles += ["Customers", "Review queue"]
            traitlets.link((self.search, "user_id"), (self, "user_id"))
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
            f'{" · data as of " + esc(human_time(d.as_of)) if d.as_of else ""} · role {badge(d.role, "info")} · '
            f'operator <span class="ss-operator">{esc(d.operator)}</span></div>')

    @staticmethod
    def _placeholder() -> widgets.Box:
        """An empty tab body, filled with its view the first time the tab is opened."""
        box = widgets.VBox([widgets.HTML('<div class="ss-muted">Loading…</div>')])
        box.add_class("ss-lazy-tab")
        return box

    def _adopt(self, view, holder: widgets.Box) -> None:
        """Put a freshly built view into its tab and link it to the app's user and store revision."""
        traitlets.link((self, "revision"), (view, "revision"))
        if view is not self._queue:
            traitlets.dlink((self, "user_id"), (view, "user_id"))
        self.views.append(view)
        holder.children = [view]
        holder.remove_class("ss-lazy-tab")

    def user_panel(self, index: int):
        """The user tab's view at `index`, built (and linked) on first use."""
        if self.user_panels[index] is None:
            view = self.user_panels[index] = self._panel_makers[index]()
            self._adopt(view, self.user_tabs.children[index])
        return self.user_panels[index]

    @property
    def queue(self) -> ReviewQueueView:
        """The review queue, built (and linked) on first use."""
        if self._queue is None:
            self._queue = ReviewQueueView(self.data)
            self._queue.observe(self._open_from_queue, names="open_user")
            self._adopt(self._queue, self.tabs.children[2])
        return self._queue

    user_view = property(lambda self: self.user_panel(0), doc="The Signals & personas view (built on first use).")
    recs_view = property(lambda self: self.user_panel(1), doc="The Recommendations view (built on first use).")
    consent_view = property(lambda self: self.user_panel(2), doc="The Consent view (built on first use).")
    preview_view = property(lambda self: self.user_panel(3), doc="The Customer preview view (built on first use).")

    def _activate(self) -> None:
        """Mark the visible panels active (they render now, built on first open); hidden ones render when shown."""
        main = self.tabs.selected_index or 0
        self.overview.active = main == 0
        if self.data.role in PER_USER_ROLES:
            sub = self.user_tabs.selected_index or 0
            if main == 1:
                self.user_panel(sub)
            for i, view in enumerate(self.user_panels):
                if view is not None:
                    view.active = main == 1 and sub == i
            if main == 2:
                self.queue.active = True
            elif self._queue is not None:
                self._queue.active = False

    def _open_from_queue(self, change) -> None:
        if change["new"]:
            self.search.show(change["new"])
            self.tabs.selected_index = 1
            self.user_tabs.selected_index = 1

    def select_user(self, user_id: str) -> None:
        """Show a user (as if picked in the search list)."""
        self.search.show(user_id)

    def open_user(self, user_id: str) -> None:
        """A deep link (?user=u00042): the Customers tab showing that user, or a note when there is none."""
        if self.data.role not in PER_USER_ROLES:
            self.notice.value = banner(f"Role {self.data.role} cannot open a customer ({user_id}).", "warn")
            return
        if not self.data.has_user(user_id):
            self.notice.value = banner(f"No customer {user_id} in run {self.data.run_id}.", "warn")
            return
        self.search.show(user_id)
        self.tabs.selected_index = 1

    def reload(self, quiet: bool = False) -> None:
        """Switch to the newest published run and redraw every panel (quiet: no notice when nothing changed)."""
        try:
            changed = self.data.reload()
        except NoPublishedRun as exc:
            self.notice.value = banner(str(exc), "warn")
            return
        self._draw_header()
        if changed or not quiet:
            self.notice.value = banner(f"Now showing run {self.data.run_id}." if changed
                                       else "Already showing the latest run.", "info")
        if (changed or quiet) and self.data.role in PER_USER_ROLES:
            self.search.search()  # labels carry review and consent flags, which may have changed meanwhile
        self.revision += 1


def build_app(run_dir: Path | str | None = None, role: str | None = None, operator: str | None = None,
              opstore_path: Path | str | None = None, previews_dir: Path | str | None = None) -> widgets.Widget:
    """Build the dashboard for the launch role (narrowed by ?role= in the page URL) over a published run.

    run_dir defaults to env SPENDSENSE_RUN_DIR, else the latest published run (env SPENDSENSE_RUNS_DIR or
    reports/runs). Without a published run, returns a message widget saying how to make one. In a preheated
    kernel the app is built for the launch role before any page asks for it, then brought up to date (newest
    run, store revision, the URL's role, operator and ?user=) when a page claims the kernel.
    """
    preheated = os.environ.get("VOILA_PREHEAT", "False") != "False"
    run_dir = run_dir or os.environ.get("SPENDSENSE_RUN_DIR") or None
    previews = Path(previews_dir) if previews_dir else None

    def make(effective: str, name: str) -> widgets.Widget:
        try:
            data = DashboardData(run_dir=run_dir, role=effective, operator=name, opstore_path=opstore_path)
        except NoPublishedRun as exc:
            msg = widgets.HTML(STYLE + banner(str(exc), "warn"))
            msg.add_class("ss-app")
            msg.add_class("ss-no-run")
            return msg
        return DashboardApp(data, previews_dir=previews)

    app = make(resolve_role(role, ""), resolve_operator(operator, "")) if preheated else None
    if isinstance(app, DashboardApp):
        warm_up(app.data)
        mark = app.data.review_mark()  # the store's state the preheated panels show
    if preheated:
        announce_ready()
    wait_for_page_request()  # returns at once unless preheated
    effective, name = resolve_role(role), resolve_operator(operator)
    if not isinstance(app, DashboardApp) or (app.data.role, app.data.operator) != (effective, name):
        app = make(effective, name)
    elif preheated and (app.data.latest_differs() or app.data.review_mark() != mark):
        app.reload(quiet=True)  # the newest run and the store's current state, not the ones at preheat time
    if isinstance(app, DashboardApp) and (user := (query_param("user") or "").strip()):
        app.open_user(user)
    return app


def warm_up(data: DashboardData) -> None:
    """Run one customer's reads and renderers once (imports, DuckDB caches), so the first real one is fast."""
    from spendsense.dashboard.recommendations import recommendation_details_html
    from spendsense.dashboard.user import evidence_html, personas_html

    if data.role not in PER_USER_ROLES:
        return
    try:
        first = data.search_users("", by="id", limit=1)
        if not len(first):
            return
        user_id = first["user_id"].iloc[0]
        bundle = data.user_bundle(user_id)
        evidence_html(bundle, data.as_of)
        personas_html(bundle["personas"])
        traces = data.traces(user_id)
        for rec in data.recommendations(user_id).to_dict("records"):
            recommendation_details_html(rec, traces.get(rec["recommendation_id"]))
    except Exception:
        log.warning("dashboard warm-up failed", exc_info=True)


def announce_ready() -> None:
    """Say in the server's log that this preheated kernel is built and warm (Voila's own "pool is filled" line
    only means the kernel started): a kernel's stderr file descriptor is the server's."""
    import sys

    print(f"{KERNEL_READY} (pid {os.getpid()})", file=sys.__stderr__, flush=True)


def wait_for_page_request() -> None:
    """In a preheated kernel (voila --preheat), wait until a page claims it: its URL (QUERY_STRING) is known then.

    Voila runs the notebook ahead of any request in a pooled kernel; everything before this call (imports)
    is done by the time a page arrives. Outside preheat mode this returns at once.
    """
    if os.environ.get("VOILA_PREHEAT", "False") != "False":
        from voila.utils import wait_for_request

        wait_for_request()
