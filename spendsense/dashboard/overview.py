"""Overview: persona mix per window, the run's metrics and fairness summary, and the review-queue size."""

from __future__ import annotations

import ipywidgets as widgets
import pandas as pd

from spendsense.dashboard.base import AXIS_STYLE, LAYOUT_STYLE, View, show_figure
from spendsense.dashboard.render import badge, esc, fmt_cell, fmt_pct, heading, json_html, kv_table, table


def flatten_metrics(metrics: dict, skip: tuple[str, ...] = ("fairness",), prefix: str = "") -> list[tuple[str, object]]:
    """Nested metrics as (dotted.key, value) rows; lists of records are summarized by their length."""
    rows: list[tuple[str, object]] = []
    for key, value in metrics.items():
        if not prefix and key in skip:
            continue
        name = f"{prefix}{key}"
        if isinstance(value, dict):
            rows.extend(flatten_metrics(value, skip, prefix=f"{name}."))
        elif isinstance(value, list) and value and all(isinstance(v, dict) for v in value):
            rows.append((name, f"{len(value)} rows"))
        else:
            rows.append((name, value))
    return rows


def fairness_rows(fairness: object) -> list[dict] | None:
    """The fairness summary as table rows when it is a list of records or a dict of records, else None."""
    if isinstance(fairness, list) and all(isinstance(r, dict) for r in fairness):
        return fairness
    if isinstance(fairness, dict):
        for key in ("parity", "parity_ratios", "ratios", "summary"):
            if isinstance(fairness.get(key), list):
                return fairness[key]
    return None


def fairness_html(fairness: object) -> str:
    """Fairness ratios with verdicts highlighted (flag in red); any other shape rendered as nested tables."""
    if fairness is None:
        return '<div class="ss-muted">No fairness summary in this run\'s metrics.json.</div>'
    rows = fairness_rows(fairness)
    if rows is None:
        return json_html(fairness)
    keys: list[str] = []
    for r in rows:
        keys.extend(k for k in r if k not in keys)

    def verdict(value):
        v = str(value or "")
        kind = "fail" if v == "flag" else "pass" if v == "ok" else "warn"
        return badge(v or "—", kind)

    fmts = {k: (lambda v: f"{float(v):.2f}" if isinstance(v, (int, float)) else fmt_cell(v))
            for k in keys if "ratio" in k}
    fmts["verdict"] = verdict
    flagged = sum(1 for r in rows if str(r.get("verdict")) == "flag")
    head = (badge(f"{flagged} unexplained ratio(s) below 0.8", "fail") if flagged
            else badge("no unexplained disparity", "pass"))
    return head + table(rows, [(k, k.replace("_", " ")) for k in keys], formatters=fmts,
                        raw_html=["verdict"] if "verdict" in keys else [], css="ss-fairness-table")


def quality_rows(metrics: dict | None) -> list[tuple[str, object]]:
    """The strict recommendation-quality figures of metrics.json (relevance, rationale truth, repeats)."""
    rel = (metrics or {}).get("relevance") or {}
    truth = (metrics or {}).get("rationale_truth") or {}
    if "not_admitted" not in rel or not truth:
        return []
    return [
        ("relevance: admitted by a trigger that holds",
         f"{fmt_pct(rel.get('share'))} ({rel['not_admitted']} not admitted)"),
        ("general items (at most per window)", f"{rel.get('general')} ({rel.get('general_max_per_user_window')})"),
        ("rationale truth: every premise holds",
         f"{fmt_pct(truth.get('share'))} ({truth.get('false_premises')} false)"),
        ("repeated rationale texts in a window", truth.get("repeated_rationales")),
    ]


def persona_mix_figure(mix: pd.DataFrame) -> dict:
    """Grouped bars (a plain plotly figure dict): users per persona, one colour per window."""
    data = [{"type": "bar", "name": f"{int(window)} days", "x": part["persona_id"].tolist(),
             "y": [int(u) for u in part["users"]], "text": [int(u) for u in part["users"]], "textposition": "outside"}
            for window, part in mix.groupby("window_days")]
    layout = {**LAYOUT_STYLE, "barmode": "group", "height": 300, "margin": {"l": 40, "r": 10, "t": 40, "b": 60},
              "title": {"text": "Persona mix per window"}, "legend": {"orientation": "h", "y": 1.15},
              "xaxis": dict(AXIS_STYLE), "yaxis": {**AXIS_STYLE, "title": {"text": "users"}}}
    return {"data": data, "layout": layout}


class OverviewView(View):
    """Run-level figures every role may see (aggregates only)."""

    css_class = "ss-overview"

    def __init__(self, data, **kwargs):
        super().__init__(data, **kwargs)
        self.refresh_button = widgets.Button(description="Refresh",
                                             layout=widgets.Layout(width="110px"))
        self.refresh_button.add_class("ss-overview-refresh")
        self.refresh_button.on_click(lambda _: self.refresh())
        self.kpis = widgets.HTML()
        self.kpis.add_class("ss-kpis")
        self.mix = widgets.HTML()
        self.mix.add_class("ss-persona-mix")
        self.plot = widgets.Output(layout=widgets.Layout(width="100%"))
        self.plot.add_class("ss-persona-plot")
        self.metrics = widgets.HTML()
        self.metrics.add_class("ss-metrics")
        self.fairness = widgets.HTML()
        self.fairness.add_class("ss-fairness")
        self.children = [self.message, self.refresh_button, self.kpis,
                         self.mix, self.plot, self.metrics, self.fairness]
        self._plotted_run = None
        self.figure: dict | None = None

    def render(self) -> None:
        self.say("")
        d = self.data
        counts = d.counts()
        review = d.review_counts()
        metrics = d.metrics()
        self.kpis.value = heading(f"Run {d.run_id}" + (f" · data as of {d.as_of}" if d.as_of else "")) + "".join(
            f'<div class="ss-muted ss-source">{esc(line)}</div>' for line in d.source_lines()) + kv_table([
            ("users", counts["users"]),
            ("users with recommendations", counts["users_with_recommendations"]),
            ("recommendations", counts["recommendations"]),
            *quality_rows(metrics),
            ("review queue (pending + flagged)", review["pending"] + review["flagged"]),
            ("flagged", review["flagged"]), ("approved", review["approved"]),
            ("overridden", review["overridden"]), ("suppressed", review["suppressed"]),
        ], css="ss-kpi-table")
        mix = d.persona_mix()
        if len(mix):
            wide = mix.pivot_table(index=["persona_id"], columns="window_days", values="users", fill_value=0)
            rows = [{"persona": p, **{f"{int(w)} days": int(wide.loc[p, w]) for w in wide.columns}} for p in wide.index]
            self.mix.value = heading("Persona mix", 2) + table(rows, css="ss-mix-table") + "".join(
                f'<div class="ss-muted">{esc(int(w))} days: ' + esc(", ".join(
                    f"{p} {fmt_pct(s)}" for p, s in zip(part["persona_id"], part["share"]))) + "</div>"
                for w, part in mix.groupby("window_days"))
            if self._plotted_run != d.run_id:
                self.figure = show_figure(self.plot, persona_mix_figure(mix))
                self._plotted_run = d.run_id
        else:
            self.mix.value = heading("Persona mix", 2) + '<div class="ss-muted">no persona assignments</div>'
        if metrics is None:
            self.metrics.value = heading("Metrics", 2) + '<div class="ss-muted">No metrics.json in this run.</div>'
            self.fairness.value = heading("Fairness", 2) + fairness_html(None)
        else:
            self.metrics.value = heading("Metrics", 2) + kv_table(flatten_metrics(metrics), css="ss-metrics-table")
            self.fairness.value = heading("Fairness", 2) + fairness_html(d.fairness())
