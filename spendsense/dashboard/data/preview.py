"""The customer preview: what the customer would see of this run, or why nothing is shown.

Nothing at all when consent is not granted. Approved rows are shown, and an override shows its replacement item
instead of the original. An item is held back when any of its rows (either window) is flagged, suppressed or
overridden: an explicit doubt wins over an approval. Duplicates across windows keep the higher score (then the
shorter window); education comes before offers.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from functools import cached_property

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
    rows: list[dict]  # the items shown, each with every key of COLUMNS, in display order
    message: str = ""
    disclosure: str = DISCLOSURE
    as_of: str = ""
    notes: list[str] = field(default_factory=list)
    what_would_change: list[str] = field(default_factory=list)  # supportive customer texts, one per distinct text

    @cached_property
    def items(self) -> pd.DataFrame:
        """The items shown as a frame (COLUMNS), for the dashboard's views."""
        return pd.DataFrame(self.rows, columns=COLUMNS)


def greeting(name: object, role: str) -> str:
    """The first name the customer is greeted with, as the role may see it."""
    first = str(name).split()[0] if name and str(name).split() else "there"
    return first if role == "admin" else mask_name(first)


def refused(**base) -> CustomerPreview:
    """The preview of a user without granted consent (base["consent_status"]): nothing."""
    msg = ("Consent revoked: this customer sees no recommendations." if base["consent_status"] == "revoked"
           else "No consent on record: this customer sees no recommendations.")
    return CustomerPreview(rows=[], message=msg, **base)


def build(recs: list[dict], catalog: dict[str, dict], replacement_label: Callable[[str, str], str],
          customer_texts: list[str], **base) -> CustomerPreview:
    """The preview from the user's reviewed recommendations (`recs`: plain rows with status and
    replacement_item_id, in the warehouse's order), over plain rows: one person's call pays no frame costs.

    replacement_label(recommendation_id, item_id): the label of an eligible replacement (for an item an override
    names that is not among the user's recommendations).
    """
    if not recs:
        return CustomerPreview(rows=[], message="No recommendations in this run.", **base)
    held = {r["item_id"] for r in recs if r["status"] in HOLDING_BACK}
    shown = [{**r, "source": "recommended"} for r in recs if r["status"] == "approved"]
    best: dict[str, dict] = {}  # per item, its best row: highest score, then the shorter window
    for r in sorted(recs, key=_best_first):
        best.setdefault(r["item_id"], r)
    replacements = []
    for row in recs:
        item = row["replacement_item_id"] if row["status"] == "overridden" else None
        if is_missing(item):
            continue
        if item in best:
            rep = {**best[item], "item_id": item, "window_days": row["window_days"],
                   "recommendation_id": row["recommendation_id"], "source": "operator replacement"}
        else:
            label = replacement_label(row["recommendation_id"], item)
            title = catalog.get(item, {}).get("title") or label.rsplit(" (", 1)[0]
            rep = {"item_id": item, "kind": row["kind"], "title": title,
                   "rationale": None, "disclosure": row.get("disclosure") or DISCLOSURE,
                   "score": row["score"], "window_days": row["window_days"],
                   "recommendation_id": row["recommendation_id"], "source": "operator replacement"}
        replacements.append(rep)
    candidates = [r for r in shown + replacements if r["item_id"] not in held]
    windows: dict[str, set[int]] = {}
    for r in candidates:
        windows.setdefault(r["item_id"], set()).add(int(r["window_days"]))
    items: dict[str, dict] = {}
    for r in sorted(candidates, key=_best_first):  # stable: ties keep the rows' order
        items.setdefault(r["item_id"], r)
    ordered = sorted(items.values(), key=lambda r: (KIND_ORDER.get(r["kind"], 2), -_score(r)))
    rows = [{**{c: r.get(c) for c in COLUMNS}, "windows": sorted(windows[r["item_id"]]),
             "summary": catalog.get(r["item_id"], {}).get("summary")} for r in ordered]
    notes = []
    pending = sum(r["status"] == "pending" for r in recs)
    if pending:
        notes.append(f"{pending} recommendation(s) still pending review are not shown.")
    if held:
        notes.append(f"{len(held)} item(s) held back (flagged, suppressed or overridden).")
    msg = "" if rows else "Nothing approved yet: the customer sees no recommendations."
    return CustomerPreview(rows=rows, message=msg, notes=notes,
                           what_would_change=list(dict.fromkeys(t for t in customer_texts if not is_missing(t))),
                           **base)


def _score(row: dict) -> float:
    score = row.get("score")
    return float("-inf") if is_missing(score) else float(score)


def _best_first(row: dict) -> tuple[float, int]:
    """Sort key: higher score first, then the shorter window (pandas' sort put missing scores last too)."""
    return -_score(row), int(row["window_days"])
