"""What would change this: hand-computed counterfactuals at the thresholds, null handling, texts, and properties."""

from __future__ import annotations

import json

import duckdb
import numpy as np
import pandas as pd
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from spendsense.config import ConfigError, validate_config
from spendsense.content import format_value
from spendsense.personas import (
    assign_personas,
    load_persona_config,
    load_signal_phrases,
    persona_counterfactuals,
    write_persona_counterfactuals,
)
from spendsense.personas.config import PersonaConfig
from spendsense.personas.phrases import SignalPhrases, check_phrases, format_values
from spendsense.signals import SIGNAL_NAMES

CFG = load_persona_config()
PHRASES = load_signal_phrases()
NEUTRAL = {"max_utilization": 0.10, "interest_charges": 0.0, "minimum_payment_only": 0, "is_overdue": 0,
           "median_pay_gap_days": 14.0, "cash_flow_buffer_months": 3.0, "fee_count": 0,
           "recurring_merchant_count": 0, "recurring_spend_monthly": 0.0, "subscription_share": 0.0,
           "savings_growth_rate": 0.0, "net_savings_inflow_monthly": 0.0}
INTS = ("fee_count", "recurring_merchant_count", "minimum_payment_only", "is_overdue")
STEADY_NONE = "Your signals show no area that needs focus right now."


def frame(*rows: dict, window: int = 30) -> pd.DataFrame:
    """signals_wide rows: every catalogue signal (NaN unless given), NEUTRAL defaults overridden."""
    records = []
    for i, row in enumerate(rows):
        rec = {name: np.nan for name in SIGNAL_NAMES} | NEUTRAL | {"user_id": f"u{i}", "window_days": window}
        records.append(rec | row)
    df = pd.DataFrame(records)
    for col in INTS:
        df[col] = df[col].astype("int64")
    return df


def with_scale(signal: str, scale: float) -> SignalPhrases:
    """The shipped phrases with one signal's cost scale replaced."""
    signals = dict(PHRASES.signals) | {signal: PHRASES.signals[signal].model_copy(update={"scale": scale})}
    return PHRASES.model_copy(update={"signals": signals})


def one(row: dict, window: int = 30, cfg: PersonaConfig = CFG, phrases: SignalPhrases = PHRASES) -> pd.Series:
    """The counterfactual of a single row."""
    return persona_counterfactuals(frame(row, window=window), cfg, phrases).iloc[0]


def changes(out: pd.Series) -> list[tuple]:
    """(signal, threshold, value, to, passes) of each stated change."""
    return [(c["signal"], c["threshold"], c["value"], c["to"], c["passes"]) for c in json.loads(out.changes)]


def test_just_at_the_threshold_steps_just_below_it():
    out = one({"max_utilization": 0.50})
    assert (out.persona_id, out.target_persona_id) == ("high_utilization", "none")
    assert out.cost == pytest.approx(0.1)  # (0.50 - 0.49) / 0.10
    assert changes(out) == [("max_utilization", 0.5, 0.5, 0.49, False)]
    assert out.text_operator == "Highest card utilization from 50% to below 50% → none (distance 0.10)"
    assert out.text_customer == ("If the balance on your most-used card, as a share of its limit, went from 50% to "
                                 "under 50%, your focus would move from paying down card balances to your everyday "
                                 "money habits.")
    entry = json.loads(out.changes)[0]
    assert entry | {"to": None} == {"persona_id": "high_utilization", "rule": "any[0]", "signal": "max_utilization",
                                    "label": "highest card utilization", "op": ">=", "threshold": 0.5, "value": 0.5,
                                    "to": None, "passes": False}


NO_SAVINGS = {"savings_growth_rate": np.nan, "net_savings_inflow_monthly": np.nan}  # no way to savings_builder


def test_just_below_the_threshold_steps_onto_it():
    out = one({"max_utilization": 0.4999} | NO_SAVINGS, phrases=with_scale("interest_charges", 1e-6))
    assert (out.persona_id, out.target_persona_id) == ("none", "high_utilization")
    assert changes(out) == [("max_utilization", 0.5, 0.4999, 0.5, True)]
    assert out.cost == pytest.approx(0.001)
    assert out.text_operator == "Highest card utilization from 50% to 50% or more → high_utilization (distance 0.00)"
    assert out.text_customer == STEADY_NONE  # a higher utilization is never offered as a goal


def test_none_user_with_only_concern_personas_within_reach_gets_the_nearest_and_a_supportive_text():
    out = one(NO_SAVINGS)  # savings from a missing value is no improvement; a cent of interest is nearest
    assert (out.persona_id, out.target_persona_id) == ("none", "high_utilization")
    assert changes(out) == [("interest_charges", 0, 0, 0.01, True)]
    assert out.cost == pytest.approx(0.01 / 25)
    assert out.text_operator == "Interest charged from $0 to above $0 → high_utilization (distance 0.00)"
    assert out.text_customer == STEADY_NONE


def test_none_user_nearest_to_savings_builder_through_savings_growth():
    out = one({"savings_growth_rate": 0.012})  # though a cent of interest (0.0004) is nearer, it is a step back
    assert (out.persona_id, out.target_persona_id) == ("none", "savings_builder")
    assert changes(out) == [("savings_growth_rate", 0.02, 0.012, 0.02, True)]
    assert out.cost == pytest.approx(0.8)
    assert out.text_operator == "Savings growth from 1% to 2% or more → savings_builder (distance 0.80)"
    assert out.text_customer == ("If your savings growth went from 1% to 2% or more, your focus would move from your "
                                 "everyday money habits to growing your savings.")


def test_none_user_nearest_to_savings_builder_through_inflow():
    out = one({"net_savings_inflow_monthly": 150.0, "savings_growth_rate": 0.001})  # $50 / $100 beats 1.9 points
    assert (out.persona_id, out.target_persona_id) == ("none", "savings_builder")
    assert changes(out) == [("net_savings_inflow_monthly", 200, 150, 200, True)]
    assert out.text_operator == "Net savings inflow per month from $150 to $200 or more → savings_builder (distance 0.50)"
    assert out.text_customer == ("If what you move into savings each month went from $150 to $200 or more, your focus "
                                 "would move from your everyday money habits to growing your savings.")


def test_none_user_reaching_savings_builder_also_lowers_utilization():
    out = one({"max_utilization": 0.40, "savings_growth_rate": 0.012})
    assert out.target_persona_id == "savings_builder"
    assert changes(out) == [("savings_growth_rate", 0.02, 0.012, 0.02, True), ("max_utilization", 0.3, 0.4, 0.29, True)]
    assert out.cost == pytest.approx(0.8 + 1.1)
    assert out.text_customer.startswith("If your savings growth went from 1% to 2% or more and the balance on your "
                                        "most-used card, as a share of its limit, went from 40% to under 30%, ")


def test_improvements_only_even_when_a_missing_value_would_be_cheaper():
    out = one({"savings_growth_rate": np.nan, "net_savings_inflow_monthly": -20000.0})
    # growth from "no savings balance" costs the fixed 100 but is no improvement; $20,200 more a month costs 202
    assert out.target_persona_id == "savings_builder"
    assert changes(out) == [("net_savings_inflow_monthly", 200, -20000, 200, True)]
    assert out.cost == pytest.approx(202.0)
    assert out.text_customer.startswith("If what you move into savings each month went from -$20,000 to $200 or more")


def test_any_persona_with_two_passing_children_needs_both_flipped():
    out = one({"max_utilization": 0.60, "interest_charges": 10.0})
    assert out.target_persona_id == "none"
    assert changes(out) == [("max_utilization", 0.5, 0.6, 0.49, False), ("interest_charges", 0, 10, 0, False)]
    assert out.cost == pytest.approx(1.1 + 0.4)  # 0.11 / 0.10 + $10 / $25
    assert out.text_operator == ("Highest card utilization from 60% to below 50% and interest charged from $10 to $0 "
                                 "→ none (distance 1.50)")
    assert out.text_customer.startswith("If the balance on your most-used card, as a share of its limit, went from "
                                        "60% to under 50% and the interest charged on your cards went from $10 to $0, "
                                        "your focus would move from paying down card balances to ")


def test_all_persona_needs_only_its_cheapest_condition():
    out = one({"median_pay_gap_days": 50.0, "cash_flow_buffer_months": 0.5})
    assert out.persona_id == "variable_income_budgeter"
    assert changes(out) == [("median_pay_gap_days", 45, 50, 45, False)]  # 5 / 15 beats 0.5 / 0.5
    assert out.text_operator == "Median gap between paychecks from 50 days to 45 days or less → none (distance 0.33)"


def test_a_tie_is_broken_by_config_order():
    out = one({"median_pay_gap_days": 52.5, "cash_flow_buffer_months": 0.75})  # 7.5 / 15 = 0.25 / 0.5
    assert [c[0] for c in changes(out)] == ["median_pay_gap_days"]


@pytest.mark.parametrize("window, fees, text", [(30, 1, "from 1 to 0"), (180, 2, "from 2 to 1 or fewer"),
                                                (180, 3, "from 3 to 1 or fewer")])
def test_value_by_window_thresholds(window, fees, text):
    out = one({"fee_count": fees}, window=window)
    assert (out.persona_id, out.target_persona_id) == ("cash_flow_stressed", "none")
    threshold = {30: 1, 180: 2}[window]
    assert changes(out) == [("fee_count", threshold, fees, threshold - 1, False)]
    assert out.cost == fees - threshold + 1
    assert out.text_operator == f"Overdraft, NSF and late fees {text} → none (distance {out.cost:.2f})"


def test_when_null_pass_flips_the_cheaper_side_and_keeps_a_supportive_text():
    out = one({"max_utilization": np.nan, "net_savings_inflow_monthly": 300.0})
    assert out.persona_id == "savings_builder"
    # dropping below $200 costs 100.01 / 100; inventing a card at 30% costs the fixed 100
    assert changes(out) == [("net_savings_inflow_monthly", 200, 300, 199.99, False)]
    assert out.text_operator == "Net savings inflow per month from $300 to below $200 → none (distance 1.00)"
    assert out.text_customer == ("Your steady saving and low card balances are what keep your focus on growing your "
                                 "savings.")


def test_null_signal_is_quoted_with_its_null_label():
    cfg = custom_config({"signal": "median_pay_gap_days", "op": ">", "value": 45})
    out = one({"median_pay_gap_days": np.nan}, cfg=cfg, phrases=custom_phrases())
    assert (out.persona_id, out.target_persona_id, out.cost) == ("none", "p", 100.0)
    assert changes(out) == [("median_pay_gap_days", 45, None, 46, True)]
    assert out.text_operator == ("Median gap between paychecks from fewer than two paychecks to above 45 days → p "
                                 "(distance 100.00)")


def custom_config(criteria: dict, *more: tuple[str, dict]) -> PersonaConfig:
    """A config of persona `p` (priority 1) and any more (id, criteria), in that priority order."""
    personas = [("p", criteria), *more]
    return PersonaConfig.model_validate({"personas": [
        {"id": pid, "name": pid.upper(), "priority": i + 1, "criteria": rule, "why_it_matters": "x",
         "educational_focus": ["x"]} for i, (pid, rule) in enumerate(personas)]})


def custom_phrases(**concern: bool) -> SignalPhrases:
    """The shipped phrases plus persona `p` (not a concern) and the given ones (concern or not)."""
    extra = PHRASES.personas["subscription_heavy"]
    added = {pid: extra.model_copy(update={"focus": f"{pid} things", "steady": f"Steady {pid}.", "concern": c})
             for pid, c in ({"p": False} | concern).items()}
    return PHRASES.model_copy(update={"personas": dict(PHRASES.personas) | added})


def test_an_improvement_that_lands_on_a_concern_persona_is_not_a_goal():
    # c (concern, priority 2) matches whenever g does, so growing savings lands on c: the next improvement, h, wins
    grow = {"signal": "savings_growth_rate", "op": ">=", "value": 0.02}
    cfg = custom_config({"signal": "fee_count", "op": ">=", "value": 5}, ("c", {"all": [grow]}), ("g", grow),
                        ("h", {"signal": "net_savings_inflow_monthly", "op": ">=", "value": 200}))
    out = one({"savings_growth_rate": 0.01}, cfg=cfg, phrases=custom_phrases(c=True, g=False, h=False))
    assert (out.persona_id, out.target_persona_id) == ("none", "h")  # g costs 1.0 but lands on c; h costs 2.0
    assert changes(out) == [("net_savings_inflow_monthly", 200, 0, 200, True)]
    assert out.text_customer == ("If what you move into savings each month went from $0 to $200 or more, your focus "
                                 "would move from your everyday money habits to h things.")
    without_h = custom_config({"signal": "fee_count", "op": ">=", "value": 5}, ("c", {"all": [grow]}), ("g", grow))
    out = one({"savings_growth_rate": 0.01}, cfg=without_h, phrases=custom_phrases(c=True, g=False))
    assert (out.target_persona_id, out.text_customer) == ("c", STEADY_NONE)  # the nearest overall, supportive


def test_a_candidate_that_does_not_verify_gives_way_to_the_next():
    impossible = {"all": [{"signal": "max_utilization", "op": ">=", "value": 0.5},
                          {"signal": "max_utilization", "op": "<=", "value": 0.4}]}
    cfg = custom_config(impossible, ("r", {"signal": "fee_count", "op": ">=", "value": 3}))
    out = persona_counterfactuals(frame({"max_utilization": 0.45}, {"max_utilization": 0.1, "fee_count": 2}), cfg,
                                  custom_phrases(p=True, r=True))
    # row 0: p costs 0.5 + 0.5 but setting utilization to 0.5 and then 0.4 matches nothing; r (3 fees) is next
    assert list(out.target_persona_id) == ["r", "r"]
    assert list(out.cost) == [3.0, 1.0]
    assert [c["signal"] for c in json.loads(out.changes[0])] == ["fee_count"]


@pytest.mark.parametrize("op, value, persona, target, text", [
    ("not_null", np.nan, "none", None, "No single signal change would give this user a persona"),
    ("is_null", np.nan, "p", None, "No single signal change would move this user out of p"),
    ("not_null", 0.4, "p", "none", "Highest card utilization from 40% to no card → none (distance 100.00)"),
    ("is_null", 0.4, "none", "p", "Highest card utilization from 40% to no card → p (distance 100.00)"),
])
def test_null_ops_only_change_by_becoming_missing(op, value, persona, target, text):
    out = one({"max_utilization": value}, cfg=custom_config({"signal": "max_utilization", "op": op}),
              phrases=custom_phrases())
    assert (out.persona_id, out.target_persona_id, out.text_operator) == (persona, target, text)
    if target is None:
        assert np.isnan(out.cost) and out.changes == "[]"
        assert out.text_customer == (STEADY_NONE if persona == "none" else
                                     "No single change in your recent activity would move your focus away from p things.")


def test_every_user_window_gets_one_row_in_input_order():
    df = pd.concat([frame({"max_utilization": 0.7}, {}, window=30), frame({"fee_count": 2}, {}, window=180)])
    out = persona_counterfactuals(df, CFG, PHRASES)
    assert list(zip(out.user_id, out.window_days)) == list(zip(df.user_id, df.window_days))
    assert list(out.persona_id) == list(assign_personas(df, CFG).persona_id)
    assert persona_counterfactuals(df.iloc[0:0], CFG, PHRASES).empty


def test_write_persona_counterfactuals():
    con = duckdb.connect()
    write_persona_counterfactuals(con, persona_counterfactuals(frame({"max_utilization": 0.7}, {}), CFG, PHRASES))
    assert con.execute("select column_name, data_type from information_schema.columns "
                       "where table_name = 'persona_counterfactuals' order by ordinal_position").fetchall() == [
        ("user_id", "VARCHAR"), ("window_days", "INTEGER"), ("persona_id", "VARCHAR"),
        ("target_persona_id", "VARCHAR"), ("cost", "DOUBLE"), ("changes", "JSON"), ("text_operator", "VARCHAR"),
        ("text_customer", "VARCHAR")]
    assert con.execute("select json_array_length(changes) from persona_counterfactuals order by user_id"
                       ).fetchall() == [(1,), (1,)]


def test_shipped_phrases_cover_every_persona_signal_and_reject_unknown_keys():
    check_phrases(PHRASES, CFG)
    raw = PHRASES.model_dump()
    raw["signals"]["fee_count"]["colour"] = "red"
    with pytest.raises(ConfigError, match="colour"):
        validate_config(raw, SignalPhrases, "signal_phrases.yaml")
    raw = PHRASES.model_dump()
    raw["signals"]["is_overdue"]["customer_states"] = None
    with pytest.raises(ConfigError, match="customer_states"):
        validate_config(raw, SignalPhrases, "signal_phrases.yaml")
    lacking = PHRASES.model_copy(update={"signals": {k: v for k, v in PHRASES.signals.items() if k != "fee_count"}})
    with pytest.raises(ValueError, match="fee_count"):
        check_phrases(lacking, CFG)


@settings(max_examples=300, deadline=None)
@given(st.lists(st.floats(-2e6, 2e6, allow_nan=False), min_size=1, max_size=20),
       st.sampled_from(["usd", "pct", "months", "days", "count"]))
def test_vectorized_formats_equal_format_value(values, fmt):
    assert format_values(np.array(values), fmt).to_pylist() == [format_value(v, fmt) for v in values]


def maybe(strategy):
    """A value or a missing one."""
    return st.one_of(st.just(np.nan), strategy)


ROW = st.fixed_dictionaries({
    "max_utilization": maybe(st.floats(0, 1.2)), "interest_charges": st.sampled_from([0.0, 0.5, 12.0, 300.0]),
    "minimum_payment_only": st.integers(0, 1), "is_overdue": st.integers(0, 1),
    "median_pay_gap_days": maybe(st.floats(5, 90)), "cash_flow_buffer_months": maybe(st.floats(-1, 6)),
    "fee_count": st.integers(0, 4), "recurring_merchant_count": st.integers(0, 8),
    "recurring_spend_monthly": st.floats(0, 400), "subscription_share": maybe(st.floats(0, 0.6)),
    "savings_growth_rate": maybe(st.floats(-0.2, 0.3)), "net_savings_inflow_monthly": st.floats(-500, 1500),
})


@settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(st.lists(ROW, min_size=1, max_size=12), st.sampled_from([30, 180]))
def test_applying_the_stated_changes_changes_the_persona(rows, window):
    df = frame(*rows, window=window)
    out = persona_counterfactuals(df, CFG, PHRASES)
    assert len(out) == len(df)
    assert (out.text_operator.str.len() > 0).all() and (out.text_customer.str.len() > 0).all()
    changed = df.copy().astype({c: float for c in INTS})
    for i, stated in enumerate(out.changes):
        for change in json.loads(stated):
            changed.loc[i, change["signal"]] = np.nan if change["to"] is None else change["to"]
    again = assign_personas(changed, CFG).persona_id
    reached = out.target_persona_id.notna()
    assert (again[reached] == out.target_persona_id[reached]).all()
    assert (out.target_persona_id[reached] != out.persona_id[reached]).all()
    assert (out.changes[~reached] == "[]").all()
    steady = {p.steady for p in PHRASES.personas.values()}
    for i in np.flatnonzero(reached & ~out.text_customer.isin(steady)):  # a goal: improvements only
        assert out.persona_id[i] != "none" or not PHRASES.personas[out.target_persona_id[i]].concern
        for change in json.loads(out.changes[i]):
            delta = change["to"] - change["value"]  # both numbers: never from or to a missing value
            assert delta <= 0 if PHRASES.signals[change["signal"]].better == "lower" else delta >= 0


def test_a_persona_with_more_conditions_than_a_bit_code_holds_is_refused():
    many = {"any": [{"signal": "fee_count", "op": ">=", "value": k} for k in range(64)]}
    with pytest.raises(ValueError, match="more than 63 conditions"):
        persona_counterfactuals(frame({}), custom_config(many), custom_phrases())
