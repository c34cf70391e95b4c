"""Signal triggers of catalog entries evaluated over all users at once."""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np
import pandas as pd

from spendsense.content.models import EducationItem, Offer

KEYS = ["user_id", "window_days"]


def trigger_matches(entries: Sequence[EducationItem | Offer], signals_wide: pd.DataFrame) -> pd.DataFrame:
    """For every (user_id, window_days) x entry: how many of the entry's triggers hold, and which.

    Returns user_id, window_days, item_id, triggers_total, triggers_matched, matched_triggers (the matching
    conditions as text, '; '-joined, '' when none). Triggers are any-of: an entry is triggered when
    triggers_matched >= 1; an entry without triggers has triggers_total 0. Null signal values never match.
    Loops over entries and their triggers only; each trigger is one vector comparison over all users.
    """
    frame = signals_wide.reset_index(drop=True)
    parts = []
    for e in entries:
        count = np.zeros(len(frame), dtype=np.int64)
        text = np.full(len(frame), "", dtype=object)
        for t in e.triggers:
            hit = t.mask(frame).to_numpy()
            count += hit
            label = t.describe()
            text = np.where(hit, np.where(text == "", label, text + "; " + label), text)
        parts.append(pd.DataFrame({
            "user_id": frame["user_id"].to_numpy(), "window_days": frame["window_days"].to_numpy(),
            "item_id": e.id, "triggers_total": len(e.triggers), "triggers_matched": count,
            "matched_triggers": text,
        }))
    if not parts:
        return pd.DataFrame(columns=KEYS + ["item_id", "triggers_total", "triggers_matched", "matched_triggers"])
    return pd.concat(parts, ignore_index=True).sort_values(KEYS, kind="stable").reset_index(drop=True)
