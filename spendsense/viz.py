"""Plotly figures for the notebooks and the report: each takes a table and returns a figure."""

from __future__ import annotations

import pandas as pd
import plotly.express as px
import plotly.graph_objects as go
import plotly.io as pio

# Figures render natively in JupyterLab (the mimetype) and as self-contained HTML in exported reports
# (plotly.js embedded once per notebook, so report.html works offline).
pio.renderers.default = "plotly_mimetype+notebook"

TEMPLATE = "plotly_white"
PERSONA_ORDER = ["high_utilization", "variable_income_budgeter", "cash_flow_stressed", "subscription_heavy",
                 "savings_builder", "none"]


def nothing_to_show(title: str, reason: str, height: int = 200) -> go.Figure:
    """An empty figure that says why there is nothing to plot (no users processed, no spending, ...)."""
    fig = go.Figure()
    fig.add_annotation(text=f"Nothing to show: {reason}", showarrow=False, x=0.5, y=0.5, xref="paper",
                       yref="paper", font={"size": 15, "color": "#555"})
    fig.update_xaxes(visible=False)
    fig.update_yaxes(visible=False)
    return _style(fig, title, height=height)


def _style(fig: go.Figure, title: str, height: int = 360) -> go.Figure:
    fig.update_layout(template=TEMPLATE, title=title, height=height, margin={"l": 40, "r": 20, "t": 60, "b": 40})
    return fig


def table_counts_bar(counts: pd.DataFrame) -> go.Figure:
    """Rows loaded per raw table (log scale)."""
    if counts.empty or not counts["row_count"].gt(0).any():
        return nothing_to_show("Rows loaded per table", "no rows were loaded")
    fig = px.bar(counts, x="table_name", y="row_count", text="row_count", log_y=True)
    return _style(fig.update_traces(textposition="outside"), "Rows loaded per table")


def transactions_per_month(monthly: pd.DataFrame) -> go.Figure:
    """Transactions per month with money in and out on a second axis."""
    if monthly.empty:
        return nothing_to_show("Transactions per month", "no transactions were loaded")
    fig = go.Figure()
    fig.add_bar(x=monthly["month"], y=monthly["transactions"], name="transactions", marker_color="#7f9cc7")
    fig.add_scatter(x=monthly["month"], y=monthly["money_out"], name="money out ($)", yaxis="y2",
                    line={"color": "#c7522a"})
    fig.add_scatter(x=monthly["month"], y=monthly["money_in"], name="money in ($)", yaxis="y2",
                    line={"color": "#2a9d8f"})
    fig.update_layout(yaxis={"title": "transactions"},
                      yaxis2={"title": "dollars", "overlaying": "y", "side": "right", "showgrid": False},
                      legend={"orientation": "h", "y": -0.2})
    return _style(fig, "Transactions per month")


def balance_distribution(balances: pd.DataFrame) -> go.Figure:
    """Current balances by kind of account (box plot, log scale)."""
    data = balances[balances["balance_current"] > 0]
    if data.empty:
        return nothing_to_show("Balances by account kind", "no account has a positive balance")
    fig = px.box(data, x="account_kind", y="balance_current", log_y=True, points=False,
                 labels={"balance_current": "current balance ($)", "account_kind": ""})
    return _style(fig, "Balances by account kind")


def income_distribution(income: pd.DataFrame) -> go.Figure:
    """Histogram of average monthly income deposits per user."""
    if income.empty or income["monthly_income"].dropna().empty:
        return nothing_to_show("Average monthly income, last 180 days", "no income deposits in the last 180 days")
    fig = px.histogram(income, x="monthly_income", nbins=40, labels={"monthly_income": "monthly income ($)"})
    return _style(fig, "Average monthly income, last 180 days")


def category_bar(counts: pd.DataFrame, x: str, y: str, title: str, color: str | None = None) -> go.Figure:
    """A labelled bar chart of counts per category."""
    if counts.empty:
        return nothing_to_show(title, f"no {y} to count")
    fig = px.bar(counts, x=x, y=y, color=color, text=y, barmode="group")
    return _style(fig.update_traces(textposition="outside"), title)


def signal_distributions(wide: pd.DataFrame, signals: list[str]) -> go.Figure:
    """Histograms of several signals, 30-day vs 180-day window overlaid, one panel per signal."""
    if wide.empty or wide[signals].notna().sum().sum() == 0:
        return nothing_to_show("Signal distributions, 30 vs 180 days", "no consenting users processed"
                               if wide.empty else "no user has a value for these signals")
    long = wide.melt(id_vars=["user_id", "window_days"], value_vars=signals, var_name="signal")
    long["window"] = long["window_days"].astype(str) + "d"
    fig = px.histogram(long.dropna(subset=["value"]), x="value", color="window", facet_col="signal",
                       facet_col_wrap=3, barmode="overlay", opacity=0.6, nbins=30)
    fig.update_xaxes(matches=None, showticklabels=True)
    fig.update_yaxes(matches=None)
    fig.for_each_annotation(lambda a: a.update(text=a.text.split("=")[-1]))
    return _style(fig, "Signal distributions, 30 vs 180 days", height=260 * ((len(signals) + 2) // 3))


def window_scatter(wide: pd.DataFrame, signal: str) -> go.Figure:
    """Each user's value of one signal over 30 days against 180 days."""
    if wide.empty or not {30, 180} <= set(wide["window_days"]):
        return nothing_to_show(f"{signal}: 30-day vs 180-day window", "no consenting users processed" if wide.empty
                               else "the run does not have both a 30- and a 180-day window")
    pivot = wide.pivot(index="user_id", columns="window_days", values=signal).reset_index()
    pivot.columns = [str(c) for c in pivot.columns]
    fig = px.scatter(pivot, x="180", y="30", hover_name="user_id",
                     labels={"180": f"{signal}, 180 days", "30": f"{signal}, 30 days"})
    lim = pd.concat([pivot["30"], pivot["180"]]).dropna()
    if len(lim):
        fig.add_shape(type="line", x0=lim.min(), y0=lim.min(), x1=lim.max(), y1=lim.max(),
                      line={"dash": "dot", "color": "grey"})
    return _style(fig, f"{signal}: 30-day vs 180-day window")


def persona_mix(assignments: pd.DataFrame) -> go.Figure:
    """Users per persona, one bar group per window."""
    if assignments.empty:
        return nothing_to_show("Persona mix per window", "no consenting users processed")
    counts = assignments.groupby(["window_days", "persona_id"]).size().rename("users").reset_index()
    counts["window"] = counts["window_days"].astype(str) + "d"
    fig = px.bar(counts, x="persona_id", y="users", color="window", barmode="group", text="users",
                 category_orders={"persona_id": PERSONA_ORDER})
    return _style(fig.update_traces(textposition="outside"), "Persona mix per window")


def persona_transitions(assignments: pd.DataFrame) -> go.Figure:
    """Heatmap of users moving from their 180-day persona to their 30-day persona."""
    if assignments.empty or not {30, 180} <= set(assignments["window_days"]):
        return nothing_to_show("Persona transitions: 180-day → 30-day", "no consenting users processed"
                               if assignments.empty else "the run does not have both a 30- and a 180-day window")
    pivot = assignments.pivot(index="user_id", columns="window_days", values="persona_id")
    matrix = pd.crosstab(pivot[180], pivot[30]).reindex(index=PERSONA_ORDER, columns=PERSONA_ORDER, fill_value=0)
    fig = px.imshow(matrix, text_auto=True, color_continuous_scale="Blues",
                    labels={"x": "persona, 30 days", "y": "persona, 180 days", "color": "users"})
    return _style(fig, "Persona transitions: 180-day → 30-day", height=480)


def funnel(stages: pd.DataFrame, title: str = "Candidates through each filter stage") -> go.Figure:
    """A funnel of candidate counts through the selection stages."""
    fig = go.Figure(go.Funnel(y=stages["stage"], x=stages["candidates"], textinfo="value+percent initial"))
    return _style(fig, title, height=420)


def persona_combinations(assignments: pd.DataFrame, top: int = 15) -> go.Figure:
    """Users per combination of matched personas (how often behaviors co-occur), per window."""
    if assignments.empty:
        return nothing_to_show("Users per combination of matched personas", "no consenting users processed")
    combos = assignments.assign(
        combination=assignments["matched_personas"].map(lambda v: " + ".join(sorted(v)) if len(v) else "none"),
        window=assignments["window_days"].astype(str) + "d",
    )
    counts = combos.groupby(["combination", "window"]).size().rename("users").reset_index()
    keep = counts.groupby("combination")["users"].sum().nlargest(top).index
    counts = counts[counts["combination"].isin(keep)]
    fig = px.bar(counts, y="combination", x="users", color="window", barmode="group", orientation="h", text="users")
    fig.update_yaxes(categoryorder="total ascending", title="")
    return _style(fig, "Users per combination of matched personas", height=140 + 34 * len(keep))


def utilization_histogram(cards: pd.DataFrame) -> go.Figure:
    """Per-card utilization with the 30/50/80% flag lines."""
    if cards.empty:
        return nothing_to_show("Credit card utilization (one bar per card)", "no credit cards among the processed users")
    data = cards[cards["window_days"] == cards["window_days"].max()]
    fig = px.histogram(data, x="utilization", nbins=40, labels={"utilization": "utilization (balance / limit)"})
    for x in (0.3, 0.5, 0.8):
        fig.add_vline(x=x, line_dash="dot", line_color="#c7522a", annotation_text=f"{x:.0%}")
    return _style(fig, "Credit card utilization (one bar per card)")


def stream_frequencies(streams: pd.DataFrame) -> go.Figure:
    """Recurring streams per Plaid frequency class, split by whether they count as subscriptions."""
    if streams.empty:
        return nothing_to_show("Merchant streams by frequency", "no recurring merchant streams found")
    counts = streams.groupby(["window_days", "frequency", "is_subscription"]).size().rename("streams").reset_index()
    counts["window"] = counts["window_days"].astype(str) + "d"
    counts["counted"] = counts["is_subscription"].map({True: "subscription", False: "not counted"})
    fig = px.bar(counts, x="frequency", y="streams", color="counted", facet_col="window", text="streams")
    return _style(fig, "Merchant streams by frequency")


def recommendation_funnel(funnel: pd.DataFrame) -> go.Figure:
    """Candidates remaining after each selection stage, education and offers side by side."""
    if funnel.empty or not funnel["remaining"].gt(0).any():
        return nothing_to_show("Candidates remaining after each stage", "no candidates: no consenting users processed")
    fig = go.Figure()
    for kind, part in funnel.groupby("kind", sort=True):
        part = part.sort_values("stage_order")
        fig.add_trace(go.Funnel(name=kind, y=part["stage"], x=part["remaining"], textinfo="value+percent initial"))
    return _style(fig, "Candidates remaining after each stage", height=440)


def coverage_bars(coverage: pd.DataFrame) -> go.Figure:
    """Coverage and its two parts (has a persona, enough behaviors) per window."""
    if coverage.empty or coverage["coverage"].isna().all():
        return nothing_to_show("Coverage", "no consenting users processed")
    long = coverage.melt(id_vars=["window_days"], value_vars=["with_persona", "enough_behaviors", "coverage"],
                         var_name="measure", value_name="share")
    long["window"] = long["window_days"].astype(str).map(lambda w: "all" if w == "all" else f"{w}d")
    fig = px.bar(long, x="measure", y="share", color="window", barmode="group", text_auto=".0%",
                 range_y=[0, 1.1])
    fig.update_yaxes(tickformat=".0%")
    return _style(fig, "Coverage")


def fairness_ratios(parity: pd.DataFrame, threshold: float = 0.8) -> go.Figure:
    """Demographic parity ratio per outcome and attribute, with the four-fifths line."""
    data = parity.dropna(subset=["parity_ratio"])
    if data.empty:
        reasons = sorted(set(parity["verdict"])) if len(parity) else ["no consenting users processed"]
        return nothing_to_show("Demographic parity ratio (lowest group rate / highest)",
                               "no ratio to compare (" + "; ".join(reasons) + ")")
    fig = px.bar(data, x="attribute", y="parity_ratio", color="outcome", barmode="group", text_auto=".2f",
                 hover_data=["lowest_group", "highest_group", "verdict", "parity_ratio_eligible"], range_y=[0, 1.1])
    fig.add_hline(y=threshold, line_dash="dash", line_color="#c7522a", annotation_text="four-fifths rule (0.8)")
    return _style(fig, "Demographic parity ratio (lowest group rate / highest)")


def group_rate_intervals(rates: pd.DataFrame, outcome: str) -> go.Figure:
    """Each group's rate of one outcome with its Wilson interval, one panel per attribute."""
    data = rates[rates["outcome"] == outcome].copy()
    if data.empty:
        return nothing_to_show(f"{outcome.replace('_', ' ')} rate by group (95% interval)",
                               "no consenting users processed")
    data["err_plus"] = data["ci_high"] - data["rate"]
    data["err_minus"] = data["rate"] - data["ci_low"]
    fig = px.scatter(data, x="group", y="rate", error_y="err_plus", error_y_minus="err_minus", facet_col="attribute",
                     hover_data=["n"], range_y=[0, 1.05])
    fig.update_xaxes(matches=None)
    fig.for_each_annotation(lambda a: a.update(text=a.text.split("=")[-1]))
    return _style(fig, f"{outcome.replace('_', ' ')} rate by group (95% interval)")


def stage_latency(timings: pd.DataFrame) -> go.Figure:
    """Wall time of each pipeline stage."""
    if timings.empty:
        return nothing_to_show("Batch time per stage (seconds)", "no stage timings recorded")
    fig = px.bar(timings, x="stage", y="seconds", text_auto=".2f")
    return _style(fig, "Batch time per stage (seconds)")


def signals_by_family() -> dict[str, list[str]]:
    """Numeric signal names grouped by family, in catalog order (for one distribution panel per family)."""
    from spendsense.signals import SIGNALS

    families: dict[str, list[str]] = {}
    for spec in SIGNALS:
        if spec.dtype != "VARCHAR":
            families.setdefault(spec.family, []).append(spec.name)
    return families
