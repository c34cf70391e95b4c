"""Persona rules per persona, boundaries, NULL handling, priority resolution, `none`, and the criteria trace."""

from __future__ import annotations

import json

import duckdb
import numpy as np
import pandas as pd
import pytest

from spendsense.personas import assign_personas, load_persona_config, write_persona_assignments
from spendsense.personas.config import rule_conditions
from spendsense.signals import SIGNAL_NAMES

CFG = load_persona_config()
PRIORITY = ["high_utilization", "variable_income_budgeter", "cash_flow_stressed", "subscription_heavy",
            "savings_builder"]

# A row that matches no persona: one card at 10%, biweekly pay, a 3-month buffer, no fees, no subscriptions, no saving.
NEUTRAL = {"max_utilization": 0.10, "interest_charges": 0.0, "minimum_payment_only": 0, "is_overdue": 0,
           "median_pay_gap_days": 14.0, "cash_flow_buffer_months": 3.0, "fee_count": 0,
           "recurring_merchant_count": 0, "recurring_spend_monthly": 0.0, "subscription_share": 0.0,
           "savings_growth_rate": 0.0, "net_savings_inflow_monthly": 0.0}


def frame(*rows: dict, window: int = 30) -> pd.DataFrame:
    """signals_wide rows: every catalogue signal present (NaN unless given), NEUTRAL defaults overridden."""
    records = []
    for i, row in enumerate(rows):
        rec = {name: np.nan for name in SIGNAL_NAMES}
        rec.update(NEUTRAL)
        rec.update({"user_id": f"u{i}", "window_days": window}, **row)
        records.append(rec)
    df = pd.DataFrame(records)
    for col in ("fee_count", "recurring_merchant_count", "minimum_payment_only", "is_overdue"):
        df[col] = df[col].astype("int64")
    return df


def assigned(row: dict, window: int = 30) -> tuple[str, list[str]]:
    out = assign_personas(frame(row, window=window), CFG).iloc[0]
    return out.persona_id, list(out.matched_personas)


def test_config_declares_exactly_the_five_personas_in_priority_order():
    assert [p.id for p in CFG.by_priority()] == PRIORITY
    assert [p.priority for p in CFG.by_priority()] == [1, 2, 3, 4, 5]
    for p in CFG.personas:
        assert p.name and p.why_it_matters and p.educational_focus


def test_neutral_row_is_none():
    out = assign_personas(frame({}), CFG).iloc[0]
    assert (out.persona_id, out.persona_name, list(out.matched_personas)) == ("none", "No persona", [])


@pytest.mark.parametrize("row, matches", [
    ({"max_utilization": 0.50}, True),               # >= 0.50 at the boundary
    ({"max_utilization": 0.4999}, False),
    ({"interest_charges": 0.01}, True),
    ({"minimum_payment_only": 1}, True),
    ({"is_overdue": 1}, True),
    ({"max_utilization": np.nan}, False),            # no cards: nothing to flag
])
def test_high_utilization(row, matches):
    assert assigned(row) == (("high_utilization", ["high_utilization"]) if matches else ("none", []))


@pytest.mark.parametrize("row, matches", [
    ({"median_pay_gap_days": 46.0, "cash_flow_buffer_months": 0.99}, True),
    ({"median_pay_gap_days": 45.0, "cash_flow_buffer_months": 0.5}, False),     # > 45 is strict
    ({"median_pay_gap_days": 60.0, "cash_flow_buffer_months": 1.0}, False),     # < 1 is strict
    ({"median_pay_gap_days": np.nan, "cash_flow_buffer_months": 0.2}, False),   # no payroll: not this persona
    ({"median_pay_gap_days": 60.0, "cash_flow_buffer_months": np.nan}, False),  # no spending: buffer undefined
])
def test_variable_income_budgeter(row, matches):
    assert assigned(row)[0] == ("variable_income_budgeter" if matches else "none")


@pytest.mark.parametrize("fees, window, matches", [(1, 30, True), (0, 30, False), (1, 180, False), (2, 180, True)])
def test_cash_flow_stressed_thresholds_per_window(fees, window, matches):
    assert assigned({"fee_count": fees}, window)[0] == ("cash_flow_stressed" if matches else "none")


@pytest.mark.parametrize("row, matches", [
    ({"recurring_merchant_count": 3, "recurring_spend_monthly": 50.0}, True),
    ({"recurring_merchant_count": 3, "recurring_spend_monthly": 49.99, "subscription_share": 0.10}, True),
    ({"recurring_merchant_count": 3, "recurring_spend_monthly": 49.99, "subscription_share": 0.0999}, False),
    ({"recurring_merchant_count": 2, "recurring_spend_monthly": 500.0, "subscription_share": 0.9}, False),
    ({"recurring_merchant_count": 4, "recurring_spend_monthly": 20.0, "subscription_share": np.nan}, False),
])
def test_subscription_heavy(row, matches):
    assert assigned(row)[0] == ("subscription_heavy" if matches else "none")


@pytest.mark.parametrize("row, matches", [
    ({"savings_growth_rate": 0.02, "max_utilization": 0.29}, True),
    ({"net_savings_inflow_monthly": 200.0, "max_utilization": 0.29}, True),
    ({"savings_growth_rate": 0.05, "max_utilization": np.nan}, True),            # no cards passes explicitly
    ({"savings_growth_rate": 0.05, "max_utilization": 0.30}, False),             # < 0.30 is strict
    ({"savings_growth_rate": np.nan, "net_savings_inflow_monthly": 199.99}, False),
    ({"savings_growth_rate": 0.0199, "net_savings_inflow_monthly": 150.0}, False),
])
def test_savings_builder(row, matches):
    assert assigned(row)[0] == ("savings_builder" if matches else "none")


EVERYTHING = {"max_utilization": 0.2, "interest_charges": 12.0, "median_pay_gap_days": 60.0,
              "cash_flow_buffer_months": 0.5, "fee_count": 2, "recurring_merchant_count": 5,
              "recurring_spend_monthly": 80.0, "savings_growth_rate": 0.05}


@pytest.mark.parametrize("drop, winner", [
    ((), "high_utilization"),
    (("interest_charges",), "variable_income_budgeter"),
    (("interest_charges", "median_pay_gap_days"), "cash_flow_stressed"),
    (("interest_charges", "median_pay_gap_days", "fee_count"), "subscription_heavy"),
    (("interest_charges", "median_pay_gap_days", "fee_count", "recurring_merchant_count"), "savings_builder"),
])
def test_priority_resolution(drop, winner):
    row = {k: (NEUTRAL[k] if k in drop else v) for k, v in EVERYTHING.items()}
    persona, matched = assigned(row)
    assert persona == winner
    assert matched == PRIORITY[PRIORITY.index(winner):]


def test_criteria_trace_lists_every_condition_with_value_and_result():
    out = assign_personas(frame({"fee_count": 1, "max_utilization": np.nan}, window=180), CFG).iloc[0]
    criteria = json.loads(out.criteria)
    assert len(criteria) == sum(len(rule_conditions(p.criteria)) for p in CFG.personas) == 13
    by_key = {(c["persona_id"], c["rule"]): c for c in criteria}
    assert by_key[("cash_flow_stressed", "all[0]")] == {
        "persona_id": "cash_flow_stressed", "rule": "all[0]", "signal": "fee_count", "op": ">=", "threshold": 2,
        "value": 1, "when_null": "fail", "passed": False}
    assert by_key[("savings_builder", "all[1]")] == {
        "persona_id": "savings_builder", "rule": "all[1]", "signal": "max_utilization", "op": "<", "threshold": 0.3,
        "value": None, "when_null": "pass", "passed": True}
    assert by_key[("subscription_heavy", "all[1].any[1]")]["threshold"] == 0.1
    assert by_key[("high_utilization", "any[0]")]["passed"] is False


def reference(row: pd.Series, window: int) -> list[str]:
    """A plain per-row restatement of the issue's five rules, to check the vectorized evaluation against."""
    v = {k: (None if pd.isna(x) else x) for k, x in row.items()}
    out = []
    if ((v["max_utilization"] is not None and v["max_utilization"] >= 0.5) or v["interest_charges"] > 0
            or v["minimum_payment_only"] == 1 or v["is_overdue"] == 1):
        out.append("high_utilization")
    if (v["median_pay_gap_days"] is not None and v["median_pay_gap_days"] > 45
            and v["cash_flow_buffer_months"] is not None and v["cash_flow_buffer_months"] < 1):
        out.append("variable_income_budgeter")
    if v["fee_count"] >= (1 if window == 30 else 2):
        out.append("cash_flow_stressed")
    if v["recurring_merchant_count"] >= 3 and (v["recurring_spend_monthly"] >= 50 or (
            v["subscription_share"] is not None and v["subscription_share"] >= 0.10)):
        out.append("subscription_heavy")
    if ((v["savings_growth_rate"] is not None and v["savings_growth_rate"] >= 0.02)
            or v["net_savings_inflow_monthly"] >= 200) and (v["max_utilization"] is None or v["max_utilization"] < 0.3):
        out.append("savings_builder")
    return out


def test_vectorized_assignment_agrees_with_a_per_row_reference():
    rng = np.random.default_rng(7)
    n = 2000

    def maybe_null(x):
        return np.where(rng.random(n) < 0.15, np.nan, x)

    df = frame(*[{}] * n)
    df["window_days"] = rng.choice([30, 180], n)
    df["max_utilization"] = maybe_null(rng.choice([0.1, 0.29, 0.3, 0.49, 0.5, 0.9], n))
    df["interest_charges"] = rng.choice([0.0, 0.0, 0.0, 5.0], n)
    df["minimum_payment_only"] = rng.choice([0, 0, 0, 1], n)
    df["is_overdue"] = rng.choice([0, 0, 0, 0, 1], n)
    df["median_pay_gap_days"] = maybe_null(rng.choice([7.0, 14.0, 45.0, 46.0, 60.0], n))
    df["cash_flow_buffer_months"] = maybe_null(rng.choice([0.2, 0.99, 1.0, 3.0], n))
    df["fee_count"] = rng.choice([0, 1, 2, 3], n)
    df["recurring_merchant_count"] = rng.choice([0, 2, 3, 5], n)
    df["recurring_spend_monthly"] = rng.choice([10.0, 49.99, 50.0, 90.0], n)
    df["subscription_share"] = maybe_null(rng.choice([0.01, 0.0999, 0.1, 0.3], n))
    df["savings_growth_rate"] = maybe_null(rng.choice([0.0, 0.0199, 0.02, 0.1], n))
    df["net_savings_inflow_monthly"] = rng.choice([0.0, 199.99, 200.0, 500.0], n)
    out = assign_personas(df, CFG)
    for i in range(n):
        want = reference(df.iloc[i], int(df.window_days.iloc[i]))
        assert list(out.matched_personas.iloc[i]) == want, df.iloc[i].to_dict()
        assert out.persona_id.iloc[i] == (want[0] if want else "none")
        passed = {(c["persona_id"]) for c in json.loads(out.criteria.iloc[i]) if c["passed"]}
        assert set(want) <= passed


def test_missing_signal_or_window_threshold_is_a_clear_error():
    with pytest.raises(ValueError, match="persona subscription_heavy: signal 'subscription_share' is not a column"):
        assign_personas(frame({}).drop(columns="subscription_share"), CFG)
    with pytest.raises(ValueError, match=r"persona cash_flow_stressed: fee_count has no threshold for window\(s\) \[90\]"):
        assign_personas(frame({}, window=90), CFG)


def test_empty_input_gives_empty_assignments():
    out = assign_personas(frame({}).iloc[0:0], CFG)
    assert out.empty and list(out.columns) == ["user_id", "window_days", "persona_id", "persona_name",
                                               "matched_personas", "criteria"]


def test_write_persona_assignments():
    con = duckdb.connect()
    df = assign_personas(frame(EVERYTHING, {}), CFG)
    write_persona_assignments(con, df)
    assert con.execute("select column_name, data_type from information_schema.columns "
                       "where table_name = 'persona_assignments' order by ordinal_position").fetchall() == [
        ("user_id", "VARCHAR"), ("window_days", "INTEGER"), ("persona_id", "VARCHAR"), ("persona_name", "VARCHAR"),
        ("matched_personas", "VARCHAR[]"), ("criteria", "JSON")]
    rows = con.execute("select user_id, persona_id, len(matched_personas), json_array_length(criteria) "
                       "from persona_assignments order by user_id").fetchall()
    assert rows == [("u0", "high_utilization", 5, 13), ("u1", "none", 0, 13)]
