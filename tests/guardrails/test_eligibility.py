"""Offer eligibility: hand-made users and offers with hand-computed answers, plus a property check."""

import math

import numpy as np
import pandas as pd
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from spendsense.content import load_catalog, load_guardrails
from spendsense.content.models import Offer
from spendsense.guardrails.eligibility import eligibility_features, offer_eligibility

GUARDRAILS = load_guardrails()
CATALOG = load_catalog(guardrails=GUARDRAILS)


def _offer(oid, product_type, partner="Partner", **elig):
    return Offer(id=oid, version=1, partner=partner, title=f"Offer {oid}", product_type=product_type,
                 summary="A partner product used in tests.", persona_tags=["none"],
                 triggers=[{"signal": "avg_monthly_spending", "op": ">=", "value": 0}], priority=0.5,
                 rationale_template="spending_snapshot", so_that=f"This test product {oid} does one thing.",
                 eligibility=elig)


OFFERS = [
    _offer("savings-offer", "high_yield_savings", "P1", excluded_if_has_subtypes=["savings", "money market"]),
    _offer("card-offer", "balance_transfer_card", "P2", min_annual_income=30000, min_credit_score=670,
           max_utilization=0.8),
    _offer("bill-pay", "bill_pay_app", "P3", requires_subtypes=["checking"]),
    _offer("quick-cash", "payday_loan", "P4"),  # slipped past the loader: must never be eligible
]

USERS = pd.DataFrame([
    # user, window, monthly income, credit score, max utilization, subtypes held
    ("u1", 30, 3000.0, 700, 0.50, ["checking", "savings"]),
    ("u1", 180, 2400.0, 700, 0.85, ["checking", "savings"]),
    ("u2", 30, 2000.0, 720, None, ["checking"]),
    ("u3", 30, 2500.0, 670, 0.80, ["money market"]),
    ("u4", 180, None, None, 0.95, []),
], columns=["user_id", "window_days", "avg_monthly_income", "credit_score", "max_utilization", "account_subtypes"])

# (user, window) -> eligible offers, computed by hand
EXPECTED = {
    ("u1", 30): {"card-offer", "bill-pay"},          # has savings
    ("u1", 180): {"bill-pay"},                       # income 28,800 < 30,000 and utilization 0.85 > 0.80
    ("u2", 30): {"savings-offer", "bill-pay"},       # income 24,000 < 30,000
    ("u3", 30): {"card-offer"},                      # boundaries inclusive; money market; no checking
    ("u4", 180): {"savings-offer"},                  # unknowns fail minimums; no checking
}


@pytest.fixture(scope="module")
def table():
    return offer_eligibility(OFFERS, USERS, GUARDRAILS)


def test_hand_computed_eligibility(table):
    assert len(table) == len(USERS) * len(OFFERS)
    got = {k: set(g.loc[g["eligible"], "offer_id"]) for k, g in table.groupby(["user_id", "window_days"])}
    assert got == EXPECTED


def test_hand_computed_reasons(table):
    reason = table.set_index(["user_id", "window_days", "offer_id"])["reason"]
    assert reason[("u2", 30, "card-offer")] == "annual income $24000 below minimum $30000"
    assert reason[("u4", 180, "card-offer")] == ("annual income unknown below minimum $30000; credit score unknown "
                                                 "below minimum 670; utilization 95% above maximum 80%")
    assert reason[("u1", 180, "card-offer")] == ("annual income $28800 below minimum $30000; "
                                                 "utilization 85% above maximum 80%")
    assert reason[("u1", 30, "savings-offer")] == "already has 'savings'"
    assert reason[("u3", 30, "savings-offer")] == "already has 'money market'"
    assert reason[("u3", 30, "bill-pay")] == "needs one of 'checking'"
    assert reason[("u1", 30, "card-offer")] == ""
    assert reason[("u2", 30, "quick-cash")].startswith("product type 'payday_loan' is refused")


def test_rule_columns_and_order(table):
    assert list(table.columns[:8]) == ["user_id", "window_days", "offer_id", "offer_version", "partner",
                                       "product_type", "eligible", "reason"]
    rules = [c for c in table.columns if c.startswith("pass_")]
    assert table["eligible"].equals(table[rules].all(axis=1))
    assert list(table["offer_id"][:4]) == [o.id for o in OFFERS]
    assert list(table["user_id"]) == sorted(table["user_id"])


def test_predatory_offer_never_eligible(table):
    rows = table[table["offer_id"] == "quick-cash"]
    assert not rows["eligible"].any() and not rows["pass_product_type"].any()


def test_unreviewed_product_type_never_eligible():
    out = offer_eligibility([_offer("mystery", "crypto_trading")], USERS, GUARDRAILS)
    assert not out["eligible"].any()
    assert out["reason"].str.contains("not in allowed_product_types").all()


def test_has_subtype_columns_give_the_same_answer(table):
    flags = USERS.drop(columns="account_subtypes").assign(
        has_savings=[True, True, False, False, False],
        has_money_market=[False, False, False, True, False],
        has_checking=[True, True, True, False, False],
    )
    other = offer_eligibility(OFFERS, flags, GUARDRAILS)
    pd.testing.assert_frame_equal(other, table)


def test_missing_subtype_information_is_an_error():
    with pytest.raises(ValueError, match="has_checking"):
        offer_eligibility(OFFERS, USERS.drop(columns="account_subtypes"), GUARDRAILS)


SITUATION_SIGNALS = sorted({t.signal for o in CATALOG.offers for t in o.eligibility.situation})


def test_savings_holder_never_offered_savings_in_the_real_catalog():
    catalog = CATALOG
    users = pd.DataFrame({
        "user_id": ["a", "b", "c", "d"], "window_days": 30, "avg_monthly_income": 9000.0,
        "credit_score": 820, "max_utilization": 0.05, **{c: 1.0 for c in SITUATION_SIGNALS},
        "account_subtypes": [["savings"], ["checking", "savings"], ["checking"], ["money market", "checking"]],
    })
    out = offer_eligibility(catalog.offers, users, GUARDRAILS)
    savings = out[out["product_type"] == "high_yield_savings"].set_index("user_id")["eligible"]
    assert savings.to_dict() == {"a": False, "b": False, "c": True, "d": False}


def test_below_minimum_income_or_credit_never_eligible_in_the_real_catalog():
    catalog = CATALOG
    n = 40
    rng = np.random.default_rng(7)
    users = pd.DataFrame({
        "user_id": [f"u{i:02d}" for i in range(n)], "window_days": 180,
        "avg_monthly_income": rng.uniform(0, 5000, n).round(2), "credit_score": rng.integers(300, 851, n),
        "max_utilization": rng.uniform(0, 1.2, n), "account_subtypes": [["checking"]] * n,
        **{c: rng.uniform(0, 6000, n) for c in SITUATION_SIGNALS}, "card_count": rng.integers(0, 3, n),
        "cash_flow_buffer_months": rng.uniform(0, 4, n),
    })
    out = offer_eligibility(catalog.offers, users, GUARDRAILS).merge(users, on=["user_id", "window_days"])
    mins = {o.id: o.eligibility for o in catalog.offers}
    for _, r in out[out["eligible"]].iterrows():
        e = mins[r["offer_id"]]
        assert r["avg_monthly_income"] * 12 >= e.min_annual_income
        assert e.min_credit_score is None or r["credit_score"] >= e.min_credit_score
        assert e.max_credit_score is None or r["credit_score"] <= e.max_credit_score
        assert e.max_utilization is None or r["max_utilization"] <= e.max_utilization
        assert all(t.holds(r[t.signal]) for t in e.situation)


def test_eligibility_features_from_raw_tables():
    signals = pd.DataFrame({"user_id": ["u1", "u1", "u2"], "window_days": [30, 180, 30],
                            "avg_monthly_income": [3000.0, 2900.0, None], "max_utilization": [0.4, 0.5, None],
                            "spending_total": [1.0, 2.0, 3.0]})
    users = pd.DataFrame({"user_id": ["u1", "u2"], "credit_score": [700, 610]})
    accounts = pd.DataFrame({"user_id": ["u1", "u1", "u1", "u2"],
                             "subtype": ["savings", "checking", "savings", None]})
    feats = eligibility_features(signals, users, accounts)
    assert list(feats.columns) == ["user_id", "window_days", "avg_monthly_income", "max_utilization",
                                   "spending_total", "credit_score", "account_subtypes"]
    assert feats["account_subtypes"].tolist() == [["checking", "savings"], ["checking", "savings"], []]
    assert feats["credit_score"].tolist() == [700, 700, 610]


def _reference(offer, income, score, util, held, values):
    """Plain scalar statement of the rules, for the property test."""
    e = offer.eligibility
    annual = None if income is None else income * 12
    ok = GUARDRAILS.refused_reason(offer.product_type) is None and \
        offer.product_type in GUARDRAILS.allowed_product_types
    ok &= e.min_annual_income <= 0 or (annual is not None and annual >= e.min_annual_income)
    ok &= e.min_credit_score is None or (score is not None and score >= e.min_credit_score)
    ok &= e.max_credit_score is None or (score is not None and score <= e.max_credit_score)
    ok &= all(values[t.signal] is not None and t.holds(values[t.signal]) for t in e.situation)
    ok &= e.max_utilization is None or util is None or util <= e.max_utilization
    ok &= not (set(held) & set(e.excluded_if_has_subtypes))
    ok &= not e.requires_subtypes or bool(set(held) & set(e.requires_subtypes))
    return ok


user_rows = st.lists(st.tuples(
    st.one_of(st.none(), st.floats(0, 8000, allow_nan=False)),
    st.one_of(st.none(), st.integers(300, 850)),
    st.one_of(st.none(), st.floats(0, 1.5, allow_nan=False)),
    st.lists(st.sampled_from(["checking", "savings", "money market", "cd", "credit card", "cash management"]),
             unique=True, max_size=4),
    st.fixed_dictionaries({c: st.one_of(st.none(), st.integers(0, 3) if c == "card_count"
                                         else st.floats(-100, 8000, allow_nan=False)) for c in SITUATION_SIGNALS}),
), min_size=1, max_size=12)


@settings(max_examples=60, deadline=None)
@given(user_rows)
def test_vectorized_rules_match_the_scalar_reference(rows):
    catalog_offers = list(CATALOG.offers) + [OFFERS[-1]]
    users = pd.DataFrame([(f"u{i:02d}", 30, inc, sc, ut, held, *[sit[c] for c in SITUATION_SIGNALS])
                          for i, (inc, sc, ut, held, sit) in enumerate(rows)],
                         columns=[*USERS.columns, *SITUATION_SIGNALS])
    out = offer_eligibility(catalog_offers, users, GUARDRAILS)
    by_id = {o.id: o for o in catalog_offers}
    for i, (inc, sc, ut, held, sit) in enumerate(rows):
        got = out[out["user_id"] == f"u{i:02d}"].set_index("offer_id")["eligible"]
        for oid, offer in by_id.items():
            expected = _reference(offer, inc, sc, None if ut is None or math.isnan(ut) else ut, held, sit)
            assert bool(got[oid]) == expected, (oid, inc, sc, ut, held, sit)
