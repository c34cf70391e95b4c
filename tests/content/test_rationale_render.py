"""Rationale rendering: formats, facts quoted exactly, row choice per source, fallbacks."""

import pandas as pd
import pytest

from spendsense.content import (
    RationaleError,
    RationaleTemplate,
    format_value,
    load_catalog,
    load_guardrails,
    rationale_inputs,
    render_rationale,
    render_with_fallback,
    template_values,
    verify_rationale,
)
from spendsense.guardrails.tone import check_tone

GUARDRAILS = load_guardrails()
CATALOG = load_catalog(guardrails=GUARDRAILS)


@pytest.mark.parametrize("value,fmt,expected", [
    (3400, "usd", "$3,400"),
    (87.5, "usd", "$87.50"),
    (87, "usd", "$87"),
    (9.99, "usd", "$9.99"),
    (0.5, "usd", "$0.50"),
    (2.675, "usd", "$2.68"),          # half away from zero on the decimal spelling, not binary
    (99.995, "usd", "$100"),          # rounds to $100.00, so whole dollars
    (100.4, "usd", "$100"),
    (1234.5, "usd", "$1,235"),
    (-12.5, "usd", "-$12.50"),
    (0, "usd", "$0"),
    (0.68, "pct", "68%"),
    (0.685, "pct", "69%"),
    (0.004, "pct", "less than 1%"),
    (0.005, "pct", "1%"),
    (0, "pct", "0%"),
    (1.25, "pct", "125%"),
    (-0.05, "pct", "-5%"),
    (24.99, "rate", "24.99%"),
    (20.0, "rate", "20%"),
    (19.5, "rate", "19.5%"),
    (1.5, "months", "1.5 months"),
    (1.04, "months", "1.0 month"),
    (0.04, "months", "0.0 months"),
    (12.25, "months", "12.3 months"),
    (45, "days", "45 days"),
    (1, "days", "1 day"),
    (14.5, "days", "15 days"),
    (3, "count", "3"),
    (1234, "count", "1,234"),
    (1, "count:fee", "1 fee"),
    (2.0, "count:fee", "2 fees"),
    (3, "count:credit card", "3 credit cards"),
    (1, "count:person|people", "1 person"),
    (4, "count:person|people", "4 people"),
    (4523.0, "text", "4523"),
    ("0042", "text", "0042"),
    (["Netflix"], "list", "Netflix"),
    (["Netflix", "Hulu"], "list", "Netflix and Hulu"),
    (["Netflix", "Hulu", "Spotify"], "list", "Netflix, Hulu, and Spotify"),
])
def test_format_value(value, fmt, expected):
    assert format_value(value, fmt) == expected


def test_issue_example_renders_exactly():
    template = RationaleTemplate(
        id="example", version=1, source="top_card_by_utilization",
        text="We noticed your {card_name} ending in {mask} is at {utilization:pct} utilization "
             "({balance:usd} of a {credit_limit:usd} limit). Bringing this below 30% could improve your credit "
             "score and reduce interest charges of {interest:usd}/month.",
        fields={"card_name": "credit_cards.card_name", "mask": "credit_cards.mask",
                "utilization": "credit_cards.utilization", "balance": "credit_cards.balance",
                "credit_limit": "credit_cards.credit_limit", "interest": "credit_cards.interest_charges_monthly"},
    )
    text, facts = render_rationale(template, {"card_name": "Visa", "mask": "4523", "utilization": 0.68,
                                              "balance": 3400.0, "credit_limit": 5000.0, "interest": 87.0})
    assert text == ("We noticed your Visa ending in 4523 is at 68% utilization ($3,400 of a $5,000 limit). "
                    "Bringing this below 30% could improve your credit score and reduce interest charges of "
                    "$87/month.")
    assert facts == [
        {"signal": "credit_cards.card_name", "value": "Visa", "text": "Visa"},
        {"signal": "credit_cards.mask", "value": "4523", "text": "4523"},
        {"signal": "credit_cards.utilization", "value": 0.68, "text": "68%"},
        {"signal": "credit_cards.balance", "value": 3400.0, "text": "$3,400"},
        {"signal": "credit_cards.credit_limit", "value": 5000.0, "text": "$5,000"},
        {"signal": "credit_cards.interest_charges_monthly", "value": 87.0, "text": "$87"},
    ]
    assert verify_rationale(template, text, facts) == []


def test_verify_catches_a_fact_that_does_not_match():
    template = CATALOG.templates["spending_snapshot"]
    text, facts = render_rationale(template, {"avg_monthly_spending": 2345.678})
    assert text == "Your spending has averaged $2,346 a month during this period."
    assert verify_rationale(template, text, [dict(facts[0], value=2500.0)]) == [
        "fact 'avg_monthly_spending': '$2,346' does not format value 2500.0"]
    assert "does not appear" in verify_rationale(template, text.replace("2,346", "2,300"), facts)[0]
    assert verify_rationale(template, text, []) == ["no fact for 'avg_monthly_spending'"]


def test_missing_value_raises_with_the_names():
    template = CATALOG.templates["card_utilization"]
    with pytest.raises(RationaleError) as exc:
        render_rationale(template, {"card_name": "Visa", "mask": None, "utilization": float("nan"),
                                    "balance": 10.0, "credit_limit": 100.0})
    assert exc.value.missing == ["mask", "utilization"]


def test_template_model_rejects_bad_declarations():
    base = {"id": "t", "version": 1, "source": "signals_wide", "text": "Spending {x:usd} this month.",
                "fields": {"x": "avg_monthly_spending"}}
    RationaleTemplate(**base)
    with pytest.raises(ValueError, match="unknown format"):
        RationaleTemplate(**dict(base, text="Spending {x:dollars} this month."))
    with pytest.raises(ValueError, match="unknown signal"):
        RationaleTemplate(**dict(base, fields={"x": "avg_spend"}))
    with pytest.raises(ValueError, match="declared but not used"):
        RationaleTemplate(**dict(base, fields={"x": "avg_monthly_spending", "y": "fee_count"}))
    with pytest.raises(ValueError, match="'list' format only applies"):
        RationaleTemplate(**dict(base, text="Spending {x:list} this month."))
    with pytest.raises(ValueError, match="lists only recurring_streams.merchant, with the 'list' format"):
        RationaleTemplate(id="t", version=1, source="top_subscription_streams", text="Streams like {m} here.",
                          fields={"m": "recurring_streams.merchant"})


# --- hand-made warehouse rows --------------------------------------------------------------------------------

SIGNALS = pd.DataFrame([
    {"user_id": "u1", "window_days": 30, "avg_monthly_spending": 2000.0, "max_utilization": 0.68,
     "card_count": 3, "total_card_balance": 4580.0, "total_credit_limit": 7000.0, "minimum_payment_only": 1,
     "interest_charges": 12.5, "is_overdue": 0, "recurring_merchant_count": 4, "recurring_spend_monthly": 46.47, "subscription_share": 0.023,
     "fee_count": 0, "fee_amount": 0.0, "savings_balance": 0.0, "emergency_fund_months": 0.0,
     "net_savings_inflow_monthly": None, "savings_growth_rate": None, "checking_balance": 640.0,
     "cash_flow_buffer_months": 0.32, "median_pay_gap_days": 14.0, "avg_monthly_income": 3100.0, "income_cv": 0.04},
    {"user_id": "u2", "window_days": 30, "avg_monthly_spending": 1500.0, "max_utilization": None,
     "card_count": 0, "total_card_balance": 0.0, "total_credit_limit": 0.0, "minimum_payment_only": 0,
     "is_overdue": 0, "recurring_merchant_count": 0, "recurring_spend_monthly": 0.0, "subscription_share": 0.0,
     "fee_count": 2, "fee_amount": 68.0, "savings_balance": 4500.0, "emergency_fund_months": 3.0,
     "net_savings_inflow_monthly": 250.0, "savings_growth_rate": 0.06, "checking_balance": 300.0,
     "cash_flow_buffer_months": 0.2, "median_pay_gap_days": 61.0, "avg_monthly_income": 2200.0, "income_cv": 0.41},
])
CARDS = pd.DataFrame([
    # u1 has three cards: two tie on utilization (the larger balance wins); only one carries interest
    {"user_id": "u1", "window_days": 30, "account_id": "c-b", "mask": "1111", "card_name": "Blue Card",
     "balance": 680.0, "credit_limit": 1000.0, "utilization": 0.68, "interest_charges": 0.0,
     "interest_charges_monthly": 0.0, "apr_percentage": 19.99},
    {"user_id": "u1", "window_days": 30, "account_id": "c-a", "mask": "4523", "card_name": "Visa",
     "balance": 3400.0, "credit_limit": 5000.0, "utilization": 0.68, "interest_charges": 0.0,
     "interest_charges_monthly": 0.0, "apr_percentage": 24.99},
    {"user_id": "u1", "window_days": 30, "account_id": "c-c", "mask": "9000", "card_name": "Store Card",
     "balance": 500.0, "credit_limit": 1000.0, "utilization": 0.5, "interest_charges": 12.5,
     "interest_charges_monthly": 12.5, "apr_percentage": None},
])
STREAMS = pd.DataFrame([
    {"user_id": "u1", "window_days": 30, "merchant": m, "frequency": "MONTHLY", "occurrences": 3,
     "mean_amount": a, "amount_in_window": a, "is_subscription": sub, "last_date": pd.Timestamp("2026-10-20")}
    for m, a, sub in [("Netflix", 15.49, True), ("Spotify", 10.99, True), ("Hulu", 10.99, True),
                      ("Gym", 9.0, True), ("Grocer", 80.0, False)]
])


@pytest.fixture(scope="module")
def inputs():
    return rationale_inputs(SIGNALS, CARDS, STREAMS).set_index("user_id", drop=False)


def test_rationale_inputs_pick_rows_deterministically(inputs):
    u1, u2 = inputs.loc["u1"], inputs.loc["u2"]
    assert len(inputs) == 2
    assert u1["top_card_by_utilization.mask"] == "4523"          # tie on 0.68: larger balance wins
    assert u1["top_card_by_interest.mask"] == "9000"             # the only card with interest
    assert u1["top_subscription_stream.merchant"] == "Netflix"   # Grocer is not a subscription
    assert list(u1["top_subscription_streams.merchant"]) == ["Netflix", "Hulu", "Spotify", "Gym"]  # ties: name
    assert pd.isna(u2["top_card_by_utilization.mask"]) and pd.isna(u2["top_subscription_stream.merchant"])


def test_rendered_catalog_rationales_quote_the_data(inputs):
    u1 = inputs.loc["u1"]
    r = render_with_fallback(CATALOG.templates, "card_utilization", u1)
    assert r.template_id == "card_utilization"
    assert r.text.startswith("We noticed your Visa ending in 4523 is at 68% utilization ($3,400 of a $5,000 limit), above")
    r = render_with_fallback(CATALOG.templates, "subscriptions_top", u1)
    assert r.text == ("You have 4 recurring charges adding up to about $46.47 a month, including Netflix, Hulu, "
                      "and Spotify. That is 2% of your spending.")
    assert [f["text"] for f in r.facts] == ["4 recurring charges", "$46.47", "Netflix, Hulu, and Spotify", "2%"]
    assert r.facts[2] == {"signal": "recurring_streams.merchant", "value": ["Netflix", "Hulu", "Spotify"],
                          "text": "Netflix, Hulu, and Spotify"}
    r = render_with_fallback(CATALOG.templates, "card_interest_rate", u1)  # the interest card has no APR
    assert r.template_id == "card_interest"
    assert "Store Card ending in 9000 was charged $12.50 in interest" in r.text


def test_fallbacks_follow_requirements_and_missing_values(inputs):
    u2 = inputs.loc["u2"]
    assert render_with_fallback(CATALOG.templates, "card_utilization", u2).template_id == "spending_snapshot"
    assert render_with_fallback(CATALOG.templates, "subscriptions_top", u2).template_id == "spending_snapshot"
    r = render_with_fallback(CATALOG.templates, "fees", u2)
    assert r.text.startswith("You paid $68 in overdraft, insufficient-funds or late fees (2 fees) during this period.")
    u1 = inputs.loc["u1"]
    assert render_with_fallback(CATALOG.templates, "fees", u1).template_id == "cash_buffer"  # fee_count is 0
    assert render_with_fallback(CATALOG.templates, "savings_progress", u1).template_id == "emergency_fund_start"
    assert render_with_fallback(CATALOG.templates, "savings_progress", u2).template_id == "savings_progress"
    empty = {"avg_monthly_spending": None}
    with pytest.raises(RationaleError, match="no template in chain card_utilization -> card_totals"):
        render_with_fallback(CATALOG.templates, "card_utilization", empty)


def test_no_rationale_quotes_zero_spending_or_zero_months():
    """A window with no spending gets no "$0 a month" sentence; a buffer under 0.1 months is never "about 0.0"."""
    idle = {"avg_monthly_spending": 0.0, "avg_monthly_income": 0.0, "card_count": 0, "checking_balance": 0.0,
            "cash_flow_buffer_months": None, "savings_balance": 0.0, "emergency_fund_months": None}
    for template_id in ("spending_snapshot", "emergency_fund_start", "credit_builder_start", "income_average"):
        with pytest.raises(RationaleError, match="avg_monthly_spending > 0"):
            render_with_fallback(CATALOG.templates, template_id, idle)
    thin = {"avg_monthly_spending": 1500.0, "checking_balance": 50.19, "cash_flow_buffer_months": 50.19 / 1500,
            "fee_count": 3, "fee_amount": 100.0, "fee_types": "overdraft"}
    r = render_with_fallback(CATALOG.templates, "cash_buffer", thin)   # 0.03 months would read "about 0.0"
    assert r.text == "Your spending has averaged $1,500 a month during this period."
    assert render_with_fallback(CATALOG.templates, "fees_and_buffer", thin).template_id == "fees"


def test_every_template_renders_passes_tone_and_verifies(inputs):
    rendered = 0
    for user in ("u1", "u2"):
        row = inputs.loc[user]
        for template_id in CATALOG.templates:
            r = render_with_fallback(CATALOG.templates, template_id, row)
            template = CATALOG.templates[r.template_id]
            assert verify_rationale(template, r.text, r.facts) == []
            assert len(r.facts) == len(template.fields)
            assert all(f["text"] in r.text for f in r.facts)
            assert check_tone(r.text, GUARDRAILS).action == "pass"
            rendered += 1
    assert rendered == 2 * len(CATALOG.templates)


def test_template_values_truncate_stream_lists(inputs):
    template = CATALOG.templates["subscriptions_top"]
    values = template_values(template, inputs.loc["u1"])
    assert values["merchants"] == ["Netflix", "Hulu", "Spotify"] and template.limit == 3
