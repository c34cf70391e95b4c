"""Which items an operator may put in place of a recommendation (an override), read from the decision trace.

Eligible means the item passed every filter for this user and window: the candidates the trace's business-rules
stage cut (count and partner caps; `spendsense.recommend.trace_contract.business_rule_cuts`), and the user's
recommendations of the same kind in the other window. Never an item already recommended in the same window, and
only items of the recommendation's kind (when the content catalog knows the item's kind).
"""

from __future__ import annotations

from collections.abc import Mapping

import pandas as pd

from spendsense.recommend.trace_contract import DecisionTrace, business_rule_cuts


def replacement_options(recs: pd.DataFrame, traces: Mapping[str, DecisionTrace],
                        catalog: Mapping[str, dict] | None = None) -> dict[str, list[tuple[str, str]]]:
    """Eligible replacements per recommendation of one user: (label, item_id) lists by recommendation_id."""
    catalog = catalog or {}
    out: dict[str, list[tuple[str, str]]] = {}
    if not len(recs):
        return out
    titles = recs.drop_duplicates("item_id").set_index("item_id")["title"].to_dict()
    in_window = recs.groupby("window_days")["item_id"].agg(set).to_dict()
    of_kind = recs.groupby("kind")["item_id"].agg(lambda s: sorted(set(s))).to_dict()
    for rec in recs[["recommendation_id", "item_id", "kind", "window_days"]].to_dict("records"):
        options: dict[str, str] = {}
        trace = traces.get(rec["recommendation_id"])
        for cut in business_rule_cuts(trace) if trace is not None else []:
            options.setdefault(str(cut["item_id"]), str(catalog.get(cut["item_id"], {}).get("title") or cut["item_id"]))
        for item in of_kind.get(rec["kind"], []):
            options.setdefault(str(item), str(titles.get(item, item)))
        for item in in_window.get(rec["window_days"], set()) | {rec["item_id"]}:
            options.pop(str(item), None)
        for item in list(options):
            kind = catalog.get(item, {}).get("kind")
            if kind is not None and kind != rec["kind"]:
                options.pop(item)
        out[rec["recommendation_id"]] = [(f"{title} ({item})", item) for item, title in options.items()]
    return out
