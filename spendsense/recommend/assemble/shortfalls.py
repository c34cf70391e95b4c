"""recommendation_shortfalls (user-windows with fewer items of a kind than the minimum, and why) and
recommendation_funnel (candidates entering and removed at each stage, per kind)."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pyarrow as pa

from spendsense.recommend.assemble.common import Decisions
from spendsense.recommend.outputs import arrow_table
from spendsense.recommend.select import CUT_NO_EDUCATION, CUT_PARTNER, KINDS, STAGE_CODE, STAGES
from spendsense.recommend.tables import TABLE_COLUMNS


def shortfall_table(d: Decisions, sw: pd.DataFrame, users: pd.Series, granted: set[str]) -> pa.Table:
    """One row per consenting user-window and kind with fewer items than the minimum, saying why."""
    items, code, s = d.items, d.code, d.scoring
    cols_out: dict[str, list] = {c: [] for c, _ in TABLE_COLUMNS["recommendation_shortfalls"]}
    for kind, need in (("education", s.education.min), ("offer", s.offers.min)):
        cols = items.columns(kind)
        sub = code[:, cols]
        delivered = (sub == 0).sum(axis=1)
        short = np.flatnonzero(delivered < need)
        if not short.size:
            continue
        count = {st: (sub[short] == STAGE_CODE[st]).sum(axis=1) for st in STAGES[1:]}
        ineligible = ((~d.cands.eligible[:, cols]) & d.cands.relevant[:, cols])[short].sum(axis=1)
        cut = d.sel.cut[:, cols][short]
        no_edu = (cut == CUT_NO_EDUCATION).any(axis=1)
        partner = (cut == CUT_PARTNER).sum(axis=1)
        cols_out["user_id"] += d.uid[short].tolist()
        cols_out["window_days"] += d.win[short].tolist()
        cols_out["kind"] += [kind] * len(short)
        cols_out["required"] += [need] * len(short)
        cols_out["delivered"] += delivered[short].tolist()
        cols_out["reason"] += [shortfall_reason(kind, int(delivered[i]), int(count["recency"][j]),
                                                int(count["rationale"][j]), int(count["tone"][j]),
                                                int(ineligible[j]), int(partner[j]), bool(no_edu[j]),
                                                s.recency_days)
                               for j, i in enumerate(short)]
    present = set(sw["user_id"].to_numpy(dtype=object).tolist())
    missing = sorted((set(users.to_numpy(dtype=object).tolist()) & granted) - present)  # granted after signals
    windows = sorted(sw["window_days"].unique().tolist()) or [30, 180]
    for user in missing:
        for w in windows:
            for kind, need in (("education", s.education.min), ("offer", s.offers.min)):
                cols_out["user_id"].append(user)
                cols_out["window_days"].append(w)
                cols_out["kind"].append(kind)
                cols_out["required"].append(need)
                cols_out["delivered"].append(0)
                cols_out["reason"].append("no signals for this user in this run (consent was granted after "
                                          "the signal step ran)")
    frame = pd.DataFrame({k: v for k, v in cols_out.items() if k != "run_id"})
    frame = frame.sort_values(["user_id", "window_days", "kind"], kind="stable")
    return arrow_table({"run_id": d.run_id, **{k: frame[k].to_numpy(dtype=object if k in
                                                                        ("user_id", "kind", "reason")
                                                                        else np.int64) for k in frame}},
                       "recommendation_shortfalls")

def funnel_table(d: Decisions, all_rows: int) -> pa.Table:
    """Candidates entering and removed at each stage, per kind."""
    n, _ = d.cands.shape
    out: dict[str, list] = {c: [] for c, _ in TABLE_COLUMNS["recommendation_funnel"]}
    for kind in KINDS:
        cols = d.items.columns(kind)
        counts = np.bincount(d.code[:, cols].ravel(), minlength=len(STAGES) + 1)
        remaining = all_rows * len(cols)
        for i, stage in enumerate(STAGES):
            removed = (all_rows - n) * len(cols) if stage == "consent" else int(counts[STAGE_CODE[stage]])
            for k, v in (("run_id", d.run_id), ("stage_order", i + 1), ("stage", stage), ("kind", kind),
                         ("candidates_in", remaining), ("removed", removed),
                         ("remaining", remaining - removed)):
                out[k].append(v)
            remaining -= removed
        if remaining != int(counts[0]):
            raise AssertionError(f"funnel for {kind} does not add up: {remaining} != {int(counts[0])}")
    return arrow_table({k: np.array(v, dtype=object) for k, v in out.items()}, "recommendation_funnel")

def shortfall_reason(kind: str, delivered: int, recency: int, rationale: int, tone: int, ineligible: int,
                     partner: int, no_education: bool, recency_days: int) -> str:
    """Why fewer than the minimum items of a kind survived, e.g. '2 relevant education items; 3 more filtered by
    recency (shown in the last 30 days)'."""
    noun = "item" if kind == "education" else "offer"
    what = "relevant education" if kind == "education" else "eligible and relevant"
    parts = [f"{delivered} {what} {noun}{'' if delivered == 1 else 's'}"]
    if no_education:
        parts.append("offers are shown only alongside education, and no education item survived")
    if ineligible:
        parts.append(f"{ineligible} more relevant {noun}{'' if ineligible == 1 else 's'} failed eligibility")
    if recency:
        parts.append(f"{recency} more filtered by recency (shown in the last {recency_days} days)")
    if partner:
        parts.append(f"{partner} more removed by the per-partner cap")
    if rationale:
        parts.append(f"{rationale} more without a rationale that could be filled")
    if tone:
        parts.append(f"{tone} more dropped by the tone check")
    if len(parts) == 1:
        parts.append(f"no other {noun} matches the persona or any signal")
    return "; ".join(parts)
