"""Fairness math on hand-made tables with known ratios."""

import math

import pandas as pd
import pytest

from spendsense.evaluate.fairness import group_rates, parity_ratios, wilson_interval


def _table(spec):
    """Rows from {(group, outcome, eligible): count}."""
    rows = []
    for (group, outcome, eligible), count in spec.items():
        rows += [{"region": group, "got_offer": outcome, "eligible": eligible}] * count
    return pd.DataFrame(rows)


def test_rates_and_parity_ratio_match_hand_computation():
    # west: 20 of 40 -> 0.50; south: 12 of 40 -> 0.30; ratio 0.30 / 0.50 = 0.6 -> flag
    t = _table({("west", 1, True): 20, ("west", 0, True): 20, ("south", 1, True): 12, ("south", 0, True): 28})
    rates = group_rates(t, "got_offer", groups=("region",))
    assert rates.set_index("group")["rate"].to_dict() == {"south": 0.3, "west": 0.5}
    ratios = parity_ratios(rates, min_group_size=20)
    row = ratios.iloc[0]
    assert row["parity_ratio"] == pytest.approx(0.6)
    assert row["lowest_group"] == "south" and row["highest_group"] == "west"
    assert row["verdict"] == "flag"


def test_disparity_explained_by_eligibility_is_separated_from_the_rest():
    # Raw: west 30/40 = 0.75, south 15/40 = 0.375 -> ratio 0.5.
    # Among eligible: west 30/40 = 0.75, south 15/20 = 0.75 -> ratio 1.0: explained by eligibility.
    t = _table({("west", 1, True): 30, ("west", 0, True): 10,
                ("south", 1, True): 15, ("south", 0, True): 5, ("south", 0, False): 20})
    rates = group_rates(t, "got_offer", groups=("region",), eligible="eligible")
    row = parity_ratios(rates, min_group_size=20).iloc[0]
    assert row["parity_ratio"] == pytest.approx(0.5)
    assert row["parity_ratio_eligible"] == pytest.approx(1.0)
    assert row["unexplained_ratio"] == pytest.approx(1.0)
    assert row["verdict"] == "explained by eligibility"


def test_small_groups_get_an_interval_not_a_verdict():
    t = _table({("west", 1, True): 5, ("west", 0, True): 5, ("south", 0, True): 10})
    rates = group_rates(t, "got_offer", groups=("region",))
    row = parity_ratios(rates, min_group_size=20).iloc[0]
    assert row["verdict"] == "insufficient sample" and math.isnan(row["parity_ratio"])
    west = rates.set_index("group").loc["west"]
    assert 0 < west["ci_low"] < 0.5 < west["ci_high"] < 1


def test_wilson_interval_known_value():
    # 8 of 10 at 95%: Wilson interval (0.4902, 0.9433)
    lo, hi = wilson_interval(pd.Series([8]), pd.Series([10]))
    assert lo[0] == pytest.approx(0.4902, abs=1e-4) and hi[0] == pytest.approx(0.9433, abs=1e-4)


def test_no_one_served_anywhere_is_parity_not_a_flag():
    t = _table({("west", 0, True): 25, ("south", 0, True): 25})
    row = parity_ratios(group_rates(t, "got_offer", groups=("region",))).iloc[0]
    assert row["parity_ratio"] == 1.0 and row["verdict"] == "ok"


def test_users_of_unknown_demographics_are_a_reported_group_never_compared():
    from spendsense.evaluate.fairness import UNKNOWN

    # 25 known "a" users (20 with the outcome), 25 known "b" (10), 30 unknown (0): unknown is reported, the ratio
    # compares a and b only: 0.4 / 0.8 = 0.5
    table = pd.DataFrame({"age_band": ["a"] * 25 + ["b"] * 25 + [None] * 30,
                          "outcome": [1] * 20 + [0] * 5 + [1] * 10 + [0] * 15 + [0] * 30})
    rates = group_rates(table, "outcome", groups=("age_band",))
    assert rates.set_index("group")["n"].to_dict() == {"a": 25, "b": 25, UNKNOWN: 30}
    row = parity_ratios(rates).iloc[0]
    assert row["parity_ratio"] == pytest.approx(0.5) and row["groups"] == 3 and row["groups_compared"] == 2
    assert row["lowest_group"] == "b"


def test_an_attribute_known_for_nobody_says_so():
    table = pd.DataFrame({"age_band": ["unknown"] * 40, "outcome": [1] * 40})
    row = parity_ratios(group_rates(table, "outcome", groups=("age_band",))).iloc[0]
    assert row["verdict"] == "demographics unknown" and row["groups_compared"] == 0


def test_no_users_give_empty_tables_with_their_columns():
    table = pd.DataFrame({"age_band": pd.Series([], dtype=object), "outcome": pd.Series([], dtype=int)})
    parity = parity_ratios(group_rates(table, "outcome", groups=("age_band",)))
    assert parity.empty and "verdict" in parity.columns
