"""Day arithmetic for the generator: every date is an integer day index from the history's first day."""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass

import numpy as np

EPOCH = dt.date(1970, 1, 1)


def add_months(day: dt.date, months: int) -> dt.date:
    """The same day-of-month `months` later (clipped to the month's length)."""
    y, m = divmod(day.month - 1 + months, 12)
    year, month = day.year + y, m + 1
    last = (dt.date(year + (month == 12), month % 12 + 1, 1) - dt.timedelta(days=1)).day
    return dt.date(year, month, min(day.day, last))


def history_start(as_of: dt.date, months: int) -> dt.date:
    """First day of the month that opens at least `months` full months of history ending at as_of."""
    earliest = add_months(as_of, -months) + dt.timedelta(days=1)
    return earliest.replace(day=1)


@dataclass(frozen=True)
class Calendar:
    """History from `start` (day 0) to `as_of` (day T), with month boundaries as day indices."""

    start: dt.date
    as_of: dt.date
    month_first: np.ndarray  # day index of the 1st of each month, from start's month to 3 months after as_of
    n_months: int  # months from start's month through as_of's month

    @classmethod
    def build(cls, as_of: dt.date, months: int) -> Calendar:
        """The calendar of `months` months of history ending at as_of."""
        start = history_start(as_of, months)
        firsts = []
        i = 0
        while True:
            first = add_months(start, i)
            firsts.append((first - start).days)
            if first > as_of:
                break
            i += 1
        n_months = len(firsts) - 1
        for extra in range(1, 4):
            firsts.append((add_months(start, n_months + extra) - start).days)
        return cls(start=start, as_of=as_of, month_first=np.array(firsts, dtype=np.int64), n_months=n_months)

    @property
    def T(self) -> int:
        """Day index of as_of."""
        return (self.as_of - self.start).days

    @property
    def epoch_day0(self) -> int:
        """Days from 1970-01-01 to the first day (for Arrow date32)."""
        return (self.start - EPOCH).days

    @property
    def month_len(self) -> np.ndarray:
        """Days in each month of month_first (all but the last entry)."""
        return np.diff(self.month_first)

    def weekday(self, days: np.ndarray) -> np.ndarray:
        """Weekday (Monday = 0) of day indices."""
        return (self.start.weekday() + np.asarray(days)) % 7

    def month_index(self, days: np.ndarray) -> np.ndarray:
        """Index into month_first of the month holding each day."""
        return np.searchsorted(self.month_first, np.asarray(days), side="right") - 1

    def day_of_month_day(self, month: np.ndarray, dom: np.ndarray) -> np.ndarray:
        """Day index of day-of-month `dom` (clipped to the month's length) in month `month`."""
        month = np.asarray(month)
        lengths = self.month_len[month]
        return self.month_first[month] + np.minimum(np.asarray(dom), lengths) - 1

    def to_date(self, day: int) -> dt.date:
        """The date of one day index."""
        return self.start + dt.timedelta(days=int(day))

    def previous_business_day(self, days: np.ndarray) -> np.ndarray:
        """Move Saturdays and Sundays back to the Friday before."""
        wd = self.weekday(days)
        return np.asarray(days) - np.where(wd == 5, 1, 0) - np.where(wd == 6, 2, 0)
