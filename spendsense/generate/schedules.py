"""Vectorized date schedules: monthly on a day-of-month, anchored back from as_of, or with random gaps."""

from __future__ import annotations

import numpy as np

from spendsense.generate.calendar import Calendar
from spendsense.generate.ledger import group_arange

# Amount pattern of habitual purchases: any 3 consecutive occurrences hold a low, a middle and a high
# amount (spread > 2x), so no run of them is ever "stable" under the +-20% (or $5) rule.
UNSTABLE_PATTERN = np.array([0.62, 1.0, 1.5])


def monthly_on_day(
    cal: Calendar, dom: np.ndarray, jitter: np.ndarray | None = None
) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """One date per month per owner on day-of-month `dom[owner]`, shifted by `jitter(size)` if given.

    Returns (owner, month index, day) for every date within [0, T].
    """
    owner, month = group_arange(np.full(dom.size, cal.n_months))
    day = cal.day_of_month_day(month, dom[owner])
    if jitter is not None:
        day = day + jitter(day.size)
    keep = (day >= 0) & (day <= cal.T)
    return owner[keep], month[keep], day[keep]


def anchored(
    cal: Calendar, last_days_ago: np.ndarray, period: np.ndarray, start_day: np.ndarray, jitter_of=None
) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Dates going back from as_of: T - last_days_ago - round(period * k) (+ jitter), k = 0, 1, ...

    Stops before `start_day`. Returns (owner, k, day). `jitter_of(size)` draws a jitter per occurrence.
    """
    span = cal.T - last_days_ago - start_day
    counts = np.where(span >= 0, np.floor(span / period).astype(np.int64) + 1, 0)
    owner, k = group_arange(counts)
    day = cal.T - last_days_ago[owner] - np.rint(period[owner] * k).astype(np.int64)
    if jitter_of is not None:
        day = day + jitter_of(day.size)
    keep = (day >= np.maximum(start_day[owner], 0)) & (day <= cal.T)
    return owner[keep], k[keep], day[keep]


def random_gaps(
    cal: Calendar, gap_low: np.ndarray, gap_high: np.ndarray, rng: np.random.Generator
) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Dates with gaps drawn uniformly from [gap_low, gap_high] (inclusive), from a random first day to as_of.

    Returns (owner, k, day) with k the occurrence number within the owner's stream.
    """
    first = (rng.random(gap_low.size) * (gap_high + 1)).astype(np.int64)
    counts = (cal.T - first) // np.maximum(gap_low, 1) + 1
    owner, k = group_arange(counts)
    gaps = gap_low[owner] + (rng.random(owner.size) * (gap_high[owner] - gap_low[owner] + 1)).astype(np.int64)
    gaps[k == 0] = 0
    day = np.cumsum(gaps)
    starts = np.cumsum(counts) - counts
    base = np.zeros(counts.size, dtype=np.int64)
    nonempty = counts > 0
    base[nonempty] = day[starts[nonempty]]
    day = day - base[owner] + first[owner]
    keep = day <= cal.T
    return owner[keep], k[keep], day[keep]
