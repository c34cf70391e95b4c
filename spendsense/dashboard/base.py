"""The base of every dashboard view: traitlets state (user, revision, visibility) and lazy, guarded refresh."""

from __future__ import annotations

import json
import logging
import traceback

import ipywidgets as widgets
from traitlets import Bool, Int, Unicode

from spendsense.dashboard.access import AccessDenied, DashboardData
from spendsense.dashboard.render import banner

log = logging.getLogger("spendsense.dashboard")

PLOTLY_MIME = "application/vnd.plotly.v1+json"
PLOT_CONFIG = {"displayModeBar": False}
LAYOUT_STYLE = {"paper_bgcolor": "white", "plot_bgcolor": "white", "font": {"family": "system-ui, sans-serif",
                "size": 12, "color": "#1f2933"}, "colorway": ["#2a6f97", "#c7522a", "#2a9d8f", "#e9c46a", "#6d597a"]}
AXIS_STYLE = {"gridcolor": "#e4e7eb", "linecolor": "#cbd2d9", "zerolinecolor": "#cbd2d9"}


def _json_default(value):
    """JSON for the values a figure dict may hold: dates as ISO text, numpy scalars as numbers."""
    if hasattr(value, "isoformat"):
        return value.isoformat()
    if hasattr(value, "item"):
        return value.item()
    if hasattr(value, "tolist"):
        return value.tolist()
    raise TypeError(f"not JSON serializable: {type(value).__name__}")


def figure_bundle(fig, config: dict | None = None) -> dict:
    """A figure (plain {data, layout} dict, or a plotly Figure) as the mime bundle plotly's renderer draws.

    This is what fig.show() sends to JupyterLab's plotly renderer, built directly: plotly's renderer module
    imports nbformat (seconds of jsonschema imports per kernel), and plain dicts skip plotly's validators,
    which cost ~100 ms per figure on a user switch.
    """
    if hasattr(fig, "to_plotly_json"):
        from plotly.io import to_json

        fig = json.loads(to_json(fig.to_dict(), validate=False, remove_uids=False))
    fig_dict = {"data": fig.get("data", []), "layout": fig.get("layout", {}),
                "config": dict(PLOT_CONFIG if config is None else config)}
    return {PLOTLY_MIME: json.loads(json.dumps(fig_dict, default=_json_default))}


def show_figure(output: widgets.Output, fig, config: dict | None = None) -> dict | None:
    """Make an Output widget show a plotly figure (or nothing for None); returns the bundle.

    The figure is written to the widget's `outputs` state rather than displayed inside `with output:`:
    output capture makes the kernel announce a capture msg_id that Voila's executor (nbclient) hooks
    into while the notebook runs, which intermittently left the page load waiting for a reply that
    never came. Setting the state is one plain widget update.
    """
    if fig is None:
        output.outputs = ()
        return None
    bundle = figure_bundle(fig, config)
    output.outputs = ({"output_type": "display_data", "data": bundle, "metadata": {}},)
    return bundle


class View(widgets.VBox):
    """A panel that shows `data` for `user_id`; re-renders when the user or the store revision changes.

    Only a visible (`active`) view renders at once; a hidden one is marked stale and renders when shown, so
    switching users costs only the panel on screen. Writers bump `revision` (linked across all views) so every
    panel reflects a review or consent change at once. Errors render as a message, never as a traceback.
    """

    user_id = Unicode("")
    revision = Int(0)
    active = Bool(False)
    css_class = "ss-view"

    def __init__(self, data: DashboardData, **kwargs):
        super().__init__(**kwargs)
        self.data = data
        self._stale = True
        self.add_class(self.css_class)
        self.message = widgets.HTML("")
        self.message.add_class("ss-message")
        self.observe(self._on_state, names=["user_id", "revision"])
        self.observe(self._on_active, names="active")

    def _on_state(self, change) -> None:
        if self.active:
            self.refresh()
        else:
            self._stale = True

    def _on_active(self, change) -> None:
        if change["new"] and self._stale:
            self.refresh()

    def refresh(self) -> None:
        """Render now, showing any failure as a short message."""
        self._stale = False
        try:
            self.render()
        except Exception as exc:  # noqa: BLE001 - a panel must never show a traceback to an operator
            self.show_error(exc)

    def render(self) -> None:
        """Draw the panel for the current state."""
        raise NotImplementedError

    def say(self, text: str, kind: str = "info") -> None:
        """Show a one-line message above the panel."""
        self.message.value = banner(text, kind) if text else ""

    def show_error(self, exc: BaseException) -> None:
        """Turn an exception into a message an operator can act on; log the traceback for the maintainers."""
        if isinstance(exc, AccessDenied):
            self.say(str(exc), "warn")
        elif isinstance(exc, (ValueError, KeyError, PermissionError, LookupError)):
            self.say(str(exc).strip("'\""), "warn")
        else:
            log.error("dashboard panel %s failed: %s", type(self).__name__, traceback.format_exc())
            self.say(f"Something went wrong ({type(exc).__name__}: {exc}). The action was not completed.", "fail")

    def bump(self) -> None:
        """Tell every linked view that the operational store changed."""
        self.revision += 1
