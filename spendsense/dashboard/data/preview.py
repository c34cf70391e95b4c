"""The customer preview: what the customer would see of this run, or why nothing is shown.

Nothing at all when consent is not granted. Approved rows are shown, and an override shows its replacement item
instead of the original. An item is held back when any of its rows (either window) is flagged, suppressed or
overridden: an explicit doubt wins over an approval. Duplicates across windows keep the higher score (then the
shorter window); education comes before offers.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field

import pandas as pd

from spendsense.dashboard.data.redaction import mask_name
from spendsense.dashboard.render import is_missing

DISCLOSURE = ("This is educational content, not financial advice. "
              "Consult a licensed advisor for personalized guidance.")
COLUMNS = ["item_id", "kind", "title", "summary", "rationale", "disclosure", "score", "window_days", "windows",
           "recommendation_id", "source"]
HOLDING_BACK = ("flagged", "suppressed", "overridden")
KIND_ORDER = {"education": 0, "offer": 1}


@dataclass
class CustomerPreview:
    """What the customer would see: approved items of both windows merged, or why nothing is shown."""

    user_id: str
    greeting_name: str
    consent_status: str
    run_id: str
    items: pd.DataFrame
    message: str = ""
    disclosure: str = DISCLOSURE
    as_of: str = ""
    notes: list[str] = field(default_factory=list)
    what_would_change: list[str] = field(default_factory=list)  # supportive customer texts, one per distinct text


def greeting(name: object, role: str) -> str:
    """The first name the customer is greeted with, as the role may see it."""
    first = str(name).split()[0] if name and str(name).split() else "there"
    return first if role == "admin" else mask_name(first)


def refused(**base) -> CustomerPreview:
    """The preview of a user without granted consent (base["consent_status"]): nothing."""
    msg = ("Consent revoked: this customer sees no recommendations." if base["consent_status"] == "revoked"
           else "No consent on record: this customer sees no recommendations.")
    return CustomerPreview(items=pd.DataFrame(columns=COLUMNS), message=msg, **base)


def build(recs: pd.DataFrame, catalog: dict[str, dict], replacement_label: Callable[[str, str], str],
          customer_texts: pd.Series, **base) -> CustomerPreview:
    """The preview from the user's reviewed recommendations (`recs`, with status and replacement_item_id).

    replacement_label(recommendation_id, item_id): the label of an eligible replacement (for an item an override
    names that is not among the user's recommendations).
    """
    if not len(recs):
        return CustomerPreview(items=pd.DataFrame(columns=COLUMNS), message="No recommendations in this run.",
                               **base)
    held = set(recs.loc[recs["status"].isin(HOLDING_BACK), "item_id"])
    shown = recs[recs["status"] == "approved"].assign(source="recommended")
    by_item = recs.sort_values(["score", "window_days"], ascending=[False, True]).drop_duplicates("item_id")
    by_item = by_item.set_index("item_id")
    replacements = []
    for _, row in recs[recs["status"] == "overridden"].iterrows():
        item = row["replacement_item_id"]
        if is_missing(item):
            continue
        if item in by_item.index:
            rep = by_item.loc[item].to_dict()
            rep.update(item_id=item, window_days=row["window_days"], recommendation_id=row["recommendation_id"],
                       source="operator replacement")
        else:
            label = replacement_label(row["recommendation_id"], item)
            title = catalog.get(item, {}).get("title") or label.rsplit(" (", 1)[0]
            rep = {"item_id": item, "kind": row["kind"], "title": title,
                   "rationale": None, "disclosure": row.get("disclosure") or DISCLOSURE,
                   "score": row["score"], "window_days": row["window_days"],
                   "recommendation_id": row["recommendation_id"], "source": "operator replacement"}
        replacements.append(rep)
    items = pd.concat([shown, pd.DataFrame(replacements)], ignore_index=True) if replacements else shown
    items = items[~items["item_id"].isin(held)]
    if len(items):
        windows = items.groupby("item_id")["window_days"].agg(lambda w: sorted({int(x) for x in w}))
        items = items.sort_values(["score", "window_days"], ascending=[False, True], kind="stable")
        items = items.drop_duplicates("item_id").copy()
        items["windows"] = items["item_id"].map(windows)
        items = items.assign(_k=items["kind"].map(KIND_ORDER).fillna(2)).sort_values(
            ["_k", "score"], ascending=[True, False], kind="stable").drop(columns="_k")
    items["summary"] = [catalog.get(i, {}).get("summary") for i in items["item_id"]]
    notes = []
    pending = int((recs["status"] == "pending").sum())
    if pending:
        notes.append(f"{pending} recommendation(s) still pending review are not shown.")
    if held:
        notes.append(f"{len(held)} item(s) held back (flagged, suppressed or overridden).")
    msg = "" if len(items) else "Nothing approved yet: the customer sees no recommendations."
    for col in COLUMNS:
        if col not in items:
            items[col] = None
    return CustomerPreview(items=items[COLUMNS].reset_index(drop=True), message=msg, notes=notes,
                           what_would_change=list(dict.fromkeys(customer_texts.dropna())), **base)
