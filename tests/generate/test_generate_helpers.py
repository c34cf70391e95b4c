"""Small building blocks: calendar, id strings, dictionary columns, schedules."""

from __future__ import annotations

import datetime as dt

import numpy as np
import pytest

from spendsense.generate.calendar import Calendar, add_months, history_start
from spendsense.generate.frames import dictionary, id_width, padded
from spendsense.generate.ledger import group_arange
from spendsense.generate.schedules import UNSTABLE_PATTERN


@pytest.mark.parametrize(
    "as_of, start",
    [
        (dt.date(2026, 10, 31), dt.date(2025, 10, 1)),
        (dt.date(2026, 10, 15), dt.date(2025, 9, 1)),
        (dt.date(2026, 3, 1), dt.date(2025, 2, 1)),
        (dt.date(2024, 2, 29), dt.date(2023, 1, 1)),
    ],
)
def test_history_start_gives_at_least_13_months(as_of, start):
    assert history_start(as_of, 13) == start
    assert add_months(start, 13) - dt.timedelta(days=1) <= as_of


def test_calendar_days():
    cal = Calendar.build(dt.date(2026, 10, 31), 13)
    assert cal.T == (dt.date(2026, 10, 31) - dt.date(2025, 10, 1)).days
    assert cal.n_months == 13
    assert cal.to_date(cal.month_first[12]) == dt.date(2026, 10, 1)
    assert cal.day_of_month_day(np.array([4]), np.array([31]))[0] == (dt.date(2026, 2, 28) - cal.start).days
    friday = (dt.date(2025, 10, 4) - cal.start).days  # a Saturday -> Friday the 3rd
    assert cal.previous_business_day(np.array([friday]))[0] == friday - 1


def test_padded_ids():
    assert padded("t", np.array([0, 7, 12345678901]), 11).to_pylist() == [
        "t00000000000",
        "t00000000007",
        "t12345678901",
    ]
    assert padded("u", np.array([1, 100]), 5).to_pylist() == ["u00001", "u00100"]
    assert id_width(100, "t") == 11 and id_width(10**12, "t") == 15
    with pytest.raises(ValueError):
        padded("u", np.array([100000]), 5)


def test_dictionary_column_keeps_values_and_nulls():
    arr = dictionary(["b", None, "a"], np.array([0, 1, 2, 0]))
    assert arr.to_pylist() == ["b", None, "a", "b"]
    assert arr.dictionary.to_pylist() == ["a", "b"]


def test_group_helpers():
    owner, pos = group_arange(np.array([2, 0, 3]))
    assert owner.tolist() == [0, 0, 2, 2, 2] and pos.tolist() == [0, 1, 0, 1, 2]


def test_unstable_pattern_is_never_stable():
    """Any three consecutive habitual amounts (with +-7% noise) spread beyond +-20% of their median."""
    lo = UNSTABLE_PATTERN.min() * 1.07
    hi = UNSTABLE_PATTERN.max() * 0.93
    assert hi - lo > 0.4 * UNSTABLE_PATTERN.max() * 1.07
