"""Signal triggers (and template requirements) of catalog entries evaluated over all rows at once."""

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


_COMPARE = {">": np.greater, ">=": np.greater_equal, "<": np.less, "<=": np.less_equal, "==": np.equal,
            "!=": np.not_equal}


class ConditionMasks:
    """Truth of trigger conditions on every row of a frame, as Trigger.mask defines it (null values are False),
    with each column converted once and each distinct condition evaluated once."""

    def __init__(self, frame: pd.DataFrame, rows: np.ndarray | None = None):
        self.frame = frame
        self.rows = rows  # only these rows of the frame (positions), or all
        self.n = len(frame) if rows is None else len(rows)
        self.columns: dict[str, np.ndarray] = {}
        self.masks: dict[tuple, np.ndarray] = {}

    def _column(self, name: str) -> pd.Series:
        col = self.frame[name]
        return col if self.rows is None else col.iloc[self.rows]

    def __call__(self, trig) -> np.ndarray:
        key = (trig.signal, trig.op, trig.value)
        if key in self.masks:
            return self.masks[key]
        if trig.signal not in self.frame.columns:
            out = np.zeros(self.n, dtype=bool)
        elif isinstance(trig.value, str):
            col = self._column(trig.signal)
            values = col.to_numpy(dtype=object)
            present = col.notna().to_numpy()
            out = present & _COMPARE[trig.op](values, trig.value).astype(bool)
        else:
            if trig.signal not in self.columns:
                self.columns[trig.signal] = pd.to_numeric(self._column(trig.signal), errors="coerce") \
                    .to_numpy(dtype=float, na_value=np.nan)
            x = self.columns[trig.signal]
            with np.errstate(invalid="ignore"):
                out = ~np.isnan(x) & _COMPARE[trig.op](x, float(trig.value))
        self.masks[key] = out
        return out
