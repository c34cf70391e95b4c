"""guardrail_events: consent skips, eligibility blocks, recency blocks, rationale drops, tone rewrites/rejections."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pyarrow as pa

from spendsense.recommend.assemble.common import Decisions, recency_reasons
from spendsense.recommend.outputs import arrow_table, empty_arrow
from spendsense.recommend.select import STAGE_CODE

NO_CONSENT = "no consent on record"


def guardrail_event_table(d: Decisions, sw: pd.DataFrame, users: pd.Series, status: pd.DataFrame) -> pa.Table:
    """Consent skips, eligibility blocks, recency blocks, rationale drops and tone rewrites/rejections."""
    items, cands = d.items, d.cands
    _, m = cands.shape
    uid, win = d.uid, d.win
    parts: list[pa.Table] = []

    def part(user, window, item, guardrail, outcome, rule, detail) -> None:
        parts.append(arrow_table({"run_id": d.run_id, "user_id": user, "window_days": window,
                                  "item_id": item, "guardrail": guardrail, "outcome": outcome, "rule": rule,
                                  "detail": detail}, "guardrail_events"))

    everyone = pd.Index(pd.unique(np.concatenate([users.to_numpy(dtype=object),
                                                  sw["user_id"].to_numpy(dtype=object)])))
    st = status.set_index("user_id").reindex(everyone)
    statuses = st["status"].to_numpy(dtype=object)
    skip = statuses != "granted"
    if skip.any():
        rule = np.where(pd.isna(statuses), NO_CONSENT, statuses)[skip].astype(str).astype(object)
        when = pd.to_datetime(st["occurred_at"]).dt.strftime("%Y-%m-%d %H:%M:%S").to_numpy(dtype=object)[skip]
        detail = np.where(pd.isna(when), "no consent event for this user: nothing is generated",
                          "consent " + rule + " at " + when.astype(str).astype(object)
                          + ": nothing is generated, even where signals exist")
        k = int(skip.sum())
        part(everyone.to_numpy(dtype=object)[skip], np.full(k, None, dtype=object), np.full(k, None, dtype=object),
             "consent", "skipped", rule, detail)
    f = cands.eligibility_failures
    if len(f):
        rr = f["row"].to_numpy()
        part(uid[rr], win[rr], items.item_id[f["col"].to_numpy()], "eligibility", "blocked",
             f["rules"].to_numpy(dtype=object), f["reason"].to_numpy(dtype=object))
    r, c = np.nonzero(d.code == STAGE_CODE["recency"])
    if len(r):
        part(uid[r], win[r], items.item_id[c], "recency", "blocked", f"recency_days={d.scoring.recency_days}",
             recency_reasons(np.floor(cands.days_since[r, c]).astype(np.int64), d.scoring.recency_days))
    r, c = np.nonzero(d.code == STAGE_CODE["rationale"])
    if len(r):
        part(uid[r], win[r], items.item_id[c], "rationale", "dropped", items.template[c],
             "no template in the fallback chain could be filled")
    units = d.rendered.units
    cells = np.flatnonzero(d.rendered.cell_unit >= 0)
    if cells.size:
        u = d.rendered.cell_unit[cells]
        flagged = units.tone_action[u] != "pass"
        if flagged.any():
            cells, u = cells[flagged], u[flagged]
            r, c = np.divmod(cells, m)
            action = units.tone_action[u]
            part(uid[r], win[r], items.item_id[c], "tone", np.where(action == "rewrite", "rewritten", "rejected"),
                 units.tone_rules.take(pa.array(u)), units.tone_matches.take(pa.array(u)))
    if not parts:
        return empty_arrow("guardrail_events")
    return pa.concat_tables(parts)
