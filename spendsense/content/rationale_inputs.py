"""The rows rationales are rendered from: one per (user_id, window_days) with every value a template can quote.

`rationale_inputs(signals_wide, credit_cards, recurring_streams)` holds every signals_wide column plus the columns
of each template source's chosen row, named `<source>.<column>` (e.g. `top_card_by_utilization.mask`). Vectorized;
no per-user loop.
"""

from __future__ import annotations

import numpy as np
import pandas as pd

KEYS = ["user_id", "window_days"]
MAX_STREAMS = 5  # list-valued stream fields carry up to this many streams; templates take their `limit`


def _key_positions(left: pd.DataFrame, right: pd.DataFrame) -> np.ndarray:
    """For each row of left, the row of right with the same (user_id, window_days) (right's keys are unique),
    -1 where there is none."""
    if not len(right):
        return np.full(len(left), -1, dtype=np.int64)
    lu, ru = left["user_id"].to_numpy(dtype=object), right["user_id"].to_numpy(dtype=object)
    lw, rw = left["window_days"].to_numpy(), right["window_days"].to_numpy()
    if len(lu) == len(ru) and (lu == ru).all() and (lw == rw).all():
        return np.arange(len(left), dtype=np.int64)
    users = pd.Index(pd.unique(right["user_id"].to_numpy(dtype=object)))
    windows = pd.Index(pd.unique(right["window_days"].to_numpy()))
    width = len(windows) + 1
    code = lambda f: (users.get_indexer(pd.Index(f["user_id"].to_numpy(dtype=object))) * width
                      + windows.get_indexer(pd.Index(f["window_days"].to_numpy())))
    rk, lk = code(right), code(left)
    pos = pd.Index(rk).get_indexer(pd.Index(lk))
    pos[(lk < 0) | (lk % width == width - 1)] = -1  # unknown user or window (get_indexer gave -1)
    return pos


def _without(frame: pd.DataFrame, columns: list[str]) -> pd.DataFrame:
    """frame without the given columns (those present), as frame.drop(columns=...) but cheaper for small frames."""
    keep = [i for i, c in enumerate(frame.columns) if c not in columns]
    return frame if len(keep) == frame.shape[1] else frame.take(keep, axis=1)


def _left_joined(left: pd.DataFrame, right: pd.DataFrame, prefix: str) -> pd.DataFrame:
    """right's non-key columns (prefixed) aligned to left's rows as `left.merge(right, on=KEYS, how='left')` aligns
    them (right has one row per key; missing rows are nulls, with the same dtype promotion as the merge)."""
    values = _without(right, KEYS).reset_index(drop=True)
    pos = _key_positions(left, right)
    if len(values) != len(left) or not (pos == np.arange(len(left))).all():
        values = values.reindex(pos)
    out = values.set_axis([f"{prefix}.{c}" for c in values.columns], axis=1)
    return out.reset_index(drop=True)


def rationale_inputs(signals_wide: pd.DataFrame, credit_cards: pd.DataFrame,
                     recurring_streams: pd.DataFrame) -> pd.DataFrame:
    """One row per (user_id, window_days) of signals_wide with the values every template source can quote.

    Row choice per source (ties broken so the result is deterministic):
    - top_card_by_utilization: highest utilization, then highest balance, then account_id.
    - top_card_by_interest: among cards with interest_charges > 0, the most interest, then highest
      utilization, then account_id (users with no interest get nulls, so such templates fall back).
    - top_subscription_stream: among streams with is_subscription, the most amount_in_window, then highest
      mean_amount, then merchant.
    - top_subscription_streams: the first MAX_STREAMS streams in that order; `merchant` as a list.
    """
    base = signals_wide.reset_index(drop=True)
    parts = [base]
    cards = _without(credit_cards, ["transaction_ids"])
    by_util = _grouped_order(cards, [("utilization", False), ("balance", False), ("account_id", True)])
    parts.append(_left_joined(base, _first_per_key(by_util), "top_card_by_utilization"))
    paying = cards[pd.to_numeric(cards["interest_charges"], errors="coerce").fillna(0) > 0]
    by_int = _grouped_order(paying, [("interest_charges", False), ("utilization", False), ("account_id", True)])
    parts.append(_left_joined(base, _first_per_key(by_int), "top_card_by_interest"))

    streams = _without(recurring_streams, ["transaction_ids"])
    subs = streams[streams["is_subscription"].fillna(False).astype(bool)]
    subs = _grouped_order(subs, [("amount_in_window", False), ("mean_amount", False), ("merchant", True)])
    parts.append(_left_joined(base, _first_per_key(subs), "top_subscription_stream"))
    text_cols = ["merchant"]  # the only stream text a template lists today; add columns here when needed
    top = subs.groupby(KEYS, sort=False).head(MAX_STREAMS).reset_index(drop=True)
    parts.append(_left_joined(base, _lists_per_key(top, text_cols), "top_subscription_streams"))
    return pd.concat(parts, axis=1)


def _grouped_order(frame: pd.DataFrame, by: list[tuple[str, bool]]) -> pd.DataFrame:
    """Rows grouped by (user_id, window_days) and, within a group, ordered by `by` (column, ascending).

    Numeric columns sort with nulls last; text columns sort by their value. One np.lexsort over integer
    and float keys (much faster than sorting the string columns themselves).
    """
    keys = []
    for col, ascending in reversed(by):  # np.lexsort: the last key is the primary one
        values = frame[col]
        if pd.api.types.is_numeric_dtype(values) or pd.api.types.is_bool_dtype(values):
            v = pd.to_numeric(values, errors="coerce").to_numpy(dtype=float)
            keys.append(v if ascending else -v)
        else:
            codes = pd.factorize(values, sort=True)[0]
            keys.append(codes if ascending else -codes)
    keys.append(frame["window_days"].to_numpy())
    keys.append(pd.factorize(frame["user_id"])[0])
    return frame.iloc[np.lexsort(keys)].reset_index(drop=True)


def _first_per_key(frame: pd.DataFrame) -> pd.DataFrame:
    """The first row of each consecutive (user_id, window_days) run of a grouped frame."""
    if frame.empty:
        return frame
    starts = _run_starts(frame)
    return frame.iloc[starts].reset_index(drop=True)


def _run_starts(frame: pd.DataFrame) -> np.ndarray:
    """Positions where a new (user_id, window_days) run begins."""
    user = frame["user_id"].to_numpy(dtype=object)
    window = frame["window_days"].to_numpy()
    return np.flatnonzero(np.r_[True, (user[1:] != user[:-1]) | (window[1:] != window[:-1])])


def _lists_per_key(frame: pd.DataFrame, columns: list[str]) -> pd.DataFrame:
    """One row per consecutive (user_id, window_days) run of a sorted frame, each column as a list in order.

    Group boundaries are found with numpy; only the final list objects are built per group.
    """
    if frame.empty:
        return pd.DataFrame({**{k: frame[k] for k in KEYS}, **{c: pd.Series(dtype=object) for c in columns}})
    starts = _run_starts(frame)
    out = frame.iloc[starts][KEYS].reset_index(drop=True)
    bounds = list(zip(starts.tolist(), np.r_[starts[1:], len(frame)].tolist(), strict=True))
    for c in columns:
        values = frame[c].to_numpy(dtype=object).tolist()
        out[c] = pd.Series([values[a:b] for a, b in bounds], dtype=object)
    return out
