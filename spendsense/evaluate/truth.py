"""Strict relevance and rationale truth: each recommendation re-checked against the catalog's own rules on the
stored signals, independently of the engine that chose it (definitions: docs/evaluation.md).

- admitted: at least one of the item's own triggers holds on the user-window's signals_wide row (general items,
  which have no triggers, are counted separately);
- premises_hold: every premise (`requires`) of the rationale template actually used holds on that row;
- repeated: another recommendation of the same user-window carries the identical rationale text.

Vectorized: one pass per catalog entry and per template over the rows that use it, never a loop per row.
"""

from __future__ import annotations

import numpy as np
import pandas as pd

from spendsense.content import Catalog

TRUTH_COLUMNS = ("recommendation_id", "user_id", "window_days", "kind", "item_id", "template_id", "general",
                 "admitted", "premises_hold", "repeated")


def recommendation_truth(recommendations: pd.DataFrame, signals_wide: pd.DataFrame, catalog: Catalog) -> pd.DataFrame:
    """One row per recommendation: general, admitted (a trigger of the item holds), premises_hold, repeated.

    recommendations: recommendation_id, user_id, window_days, kind, item_id, template_id, and the rationale as
    text (rationale) or as its number among the user-window's distinct texts (rationale_no, truth_inputs.sql).
    An item or template missing from the catalog counts as not admitted / premises not holding."""
    recs = recommendations.reset_index(drop=True)
    rows = recs[["user_id", "window_days"]].merge(signals_wide, on=["user_id", "window_days"], how="left")
    n = len(recs)
    general = np.zeros(n, dtype=bool)
    admitted = np.zeros(n, dtype=bool)
    premises = np.zeros(n, dtype=bool)
    item_codes, item_vocab = pd.factorize(recs["item_id"])
    entries = {e.id: e for e in (*catalog.education, *catalog.offers)}
    for k, item_id in enumerate(item_vocab):
        entry = entries.get(item_id)
        if entry is None:
            continue
        at = np.flatnonzero(item_codes == k)
        if entry.audience == "general":
            general[at] = True
            continue
        sub = rows.iloc[at]
        hit = np.zeros(len(at), dtype=bool)
        for trig in entry.triggers:
            hit |= trig.mask(sub).to_numpy(dtype=bool)
        admitted[at] = hit
    tpl_codes, tpl_vocab = pd.factorize(recs["template_id"])
    for k, template_id in enumerate(tpl_vocab):
        template = catalog.templates.get(template_id)
        if template is None:
            continue
        at = np.flatnonzero(tpl_codes == k)
        sub = rows.iloc[at]
        ok = np.ones(len(at), dtype=bool)
        for req in template.requires:
            ok &= req.mask(sub).to_numpy(dtype=bool)
        premises[at] = ok
    text = "rationale_no" if "rationale_no" in recs.columns else "rationale"
    repeated = recs.duplicated(["user_id", "window_days", text], keep=False).to_numpy()
    out = recs[["recommendation_id", "user_id", "window_days", "kind", "item_id", "template_id"]].copy()
    out["general"], out["admitted"], out["premises_hold"], out["repeated"] = general, admitted, premises, repeated
    return out[list(TRUTH_COLUMNS)]


def truth_metrics(truth: pd.DataFrame) -> dict:
    """relevance (admitted share of targeted recommendations), general items (count, most per user-window),
    rationale truth (share with every premise holding) and repeated rationales (count, user-windows)."""
    targeted = truth[~truth["general"]]
    general = truth[truth["general"]]
    per_window = general.groupby(["user_id", "window_days"]).size()
    repeated = truth[truth["repeated"]]
    share = lambda mask: float(mask.mean()) if len(mask) else None
    return {
        "share": share(targeted["admitted"]),
        "targeted": len(targeted),
        "not_admitted": int((~targeted["admitted"]).sum()),
        "general": len(general),
        "general_max_per_user_window": int(per_window.max()) if len(per_window) else 0,
        "rationale_truth": share(truth["premises_hold"]),
        "false_premises": int((~truth["premises_hold"]).sum()),
        "repeated_rationales": len(repeated),
        "user_windows_with_repeats": int(repeated[["user_id", "window_days"]].drop_duplicates().shape[0]),
    }


def truth_by_item(truth: pd.DataFrame) -> pd.DataFrame:
    """Per item: recommendations, how many a holding trigger admitted, general, premises holding, repeated."""
    if not len(truth):
        return pd.DataFrame(columns=["item_id", "kind", "recommendations", "admitted", "general", "premises_hold",
                                     "repeated"])
    return (truth.groupby(["item_id", "kind"], as_index=False)
            .agg(recommendations=("recommendation_id", "size"), admitted=("admitted", "sum"),
                 general=("general", "sum"), premises_hold=("premises_hold", "sum"), repeated=("repeated", "sum"))
            .sort_values(["kind", "recommendations", "item_id"], ascending=[True, False, True])
            .reset_index(drop=True))
