"""Stream keys and Plaid-style frequency labels (window 30: lookback 2026-08-03 .. 10-31)."""

from __future__ import annotations

import datetime as dt

import pandas as pd
import pytest
from signal_fixtures import AS_OF, WarehouseBuilder, consent_frame

from spendsense.signals import compute_signals, load_signal_config


def days(start: str, step: int, n: int) -> list[str]:
    first = dt.date.fromisoformat(f"2026-{start}")
    return [(first + dt.timedelta(days=step * i)).isoformat() for i in range(n)]


@pytest.fixture(scope="module")
def streams():
    b = WarehouseBuilder().user("u1")
    b.account("c1", "u1", balance=100.0)
    for d in days("08-07", 14, 7):                                    # every other Friday
        b.txn("c1", d, 40.0, "CLEANING CO", "HOME_IMPROVEMENT_REPAIR_AND_MAINTENANCE", merchant="Cleaning Co")
    for d in ("08-01", "08-14", "09-01", "09-15", "10-01", "10-15"):   # 1st and 15th, 08-15 moved to Friday
        b.txn("c1", d, 25.0, "TUTOR", "GENERAL_SERVICES_EDUCATION", merchant="Tutor")
    for d in ("08-05", "08-08", "08-28", "10-08"):                    # gaps 3, 20, 41: no cadence
        b.txn("c1", d, 12.0, "KIOSK", "GENERAL_MERCHANDISE_OTHER_GENERAL_MERCHANDISE", merchant="Kiosk")
    # one merchant under two spellings and a changing store number: one stream by normalized merchant_name
    for d, spelling in (("09-03", "SPOTIFY"), ("10-03", "Spotify"), ("08-03", "spotify ")):
        b.txn("c1", d, 10.99, f"SPOTIFY P{d[-2:]}", "ENTERTAINMENT_MUSIC_AND_AUDIO", merchant=spelling)
    # no merchant_name: the normalized transaction name is the key (digits and punctuation dropped)
    for d, store in (("08-20", "1041"), ("09-19", "2210"), ("10-20", "1041")):
        b.txn("c1", d, 8.0, f"SQ *JOE'S CAFE #{store}", "FOOD_AND_DRINK_COFFEE")
    # two charges on one day count as two occurrences (gap 0)
    for d in ("09-10", "09-10", "10-10"):
        b.txn("c1", d, 5.0, "PARKING", "TRANSPORTATION_PARKING", merchant="City Parking")
    out = compute_signals(b.build(), AS_OF, consent_frame({"u1": "granted"}), load_signal_config(), windows=(30,))
    return out.recurring_streams.set_index("merchant_key")


def test_frequency_labels(streams):
    assert streams.loc["merchant:cleaning co", "frequency"] == "BIWEEKLY"       # median 14, drifting dates
    assert streams.loc["merchant:tutor", "frequency"] == "SEMI_MONTHLY"         # median 14, same two days
    assert streams.loc["merchant:kiosk", "frequency"] == "UNKNOWN"              # median 20
    assert streams.loc["merchant:spotify", "frequency"] == "MONTHLY"
    assert streams.loc["merchant:city parking", "median_gap_days"] == 15       # gaps 0 and 30: (0 + 30) / 2
    assert streams.loc["merchant:city parking", "occurrences"] == 3


def test_only_weekly_and_monthly_count_as_subscriptions(streams):
    subs = set(streams.index[streams.is_subscription])
    assert subs == {"merchant:spotify", "name:sq joe s cafe"}


def test_merchant_keys(streams):
    spotify = streams.loc["merchant:spotify"]
    assert spotify.occurrences == 3 and spotify.merchant == "SPOTIFY"            # alphabetically first spelling
    cafe = streams.loc["name:sq joe s cafe"]
    assert cafe.occurrences == 3 and cafe.merchant.startswith("SQ *JOE'S CAFE")


def test_gaps_stop_at_the_lookback():
    """The first occurrence inside L has no gap: the one before it is outside L (window 30: L = 08-03 .. 10-31)."""
    b = WarehouseBuilder().user("u1")
    b.account("c1", "u1", balance=100.0)
    for d in ("06-01", "07-01", "08-01", "09-01", "10-01", "10-29"):
        b.txn("c1", d, 30.0, "GYM", "PERSONAL_CARE_GYMS_AND_FITNESS_CENTERS", merchant="Gym")
    out = compute_signals(b.build(), AS_OF, consent_frame({"u1": "granted"}), load_signal_config(), windows=(30, 180))
    gym = out.recurring_streams.set_index("window_days")
    assert gym.loc[30, "occurrences"] == 3 and gym.loc[30, "occurrences_in_window"] == 1
    assert gym.loc[30, "median_gap_days"] == 29                    # 09-01 -> 10-01 -> 10-29: gaps 30, 28
    assert gym.loc[30, "first_date"] == pd.Timestamp("2026-09-01")
    assert gym.loc[180, "occurrences"] == 6
    assert gym.loc[180, "median_gap_days"] == 30                   # gaps 30, 31, 31, 30, 28
    assert gym.loc[180, "amount_in_window"] == 180.0 and gym.loc[180, "mean_amount"] == 30.0
    assert list(gym.loc[180, "transaction_ids"]) == sorted(gym.loc[180, "transaction_ids"])
