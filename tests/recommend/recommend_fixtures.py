"""Hand-made inputs for the recommend tests: a few users whose signals, cards, streams, accounts, consent and
delivery history make the expected recommendations easy to work out by hand."""

from __future__ import annotations

import datetime as dt
from functools import cache

import pandas as pd

from spendsense.content import load_catalog, load_guardrails, load_scoring
from spendsense.recommend import RecommendInputs
from spendsense.signals.catalog import SIGNALS, TABLE_COLUMNS

AS_OF = dt.date(2026, 10, 31)
CREATED = dt.datetime(2026, 11, 1, 2, 30)
RUN_ID = "test-run"
VERSIONS = {"config": "cfg-test", "content": "content-test", "code": {"spendsense": "test", "git_commit": None}}

# A neutral user: income, spending and a checking balance, nothing that triggers much.
BASE = {
    "spending_total": 2000.0, "avg_monthly_spending": 2000.0, "recurring_merchant_count": 0, "recurring_spend": 0.0,
    "recurring_spend_monthly": 0.0, "subscription_share": 0.0, "savings_balance": 0.0, "has_savings_account": 0,
    "net_savings_inflow": 0.0, "net_savings_inflow_monthly": 0.0, "savings_growth_rate": None,
    "emergency_fund_months": 0.0, "card_count": 0, "max_utilization": None, "cards_util_ge_30": 0,
    "cards_util_ge_50": 0, "cards_util_ge_80": 0, "minimum_payment_only": 0, "interest_charges": 0.0,
    "interest_charges_monthly": 0.0, "is_overdue": 0, "total_card_balance": 0.0, "total_credit_limit": 0.0,
    "payroll_count": 2, "median_pay_gap_days": 14.0, "pay_frequency": "biweekly", "pay_gap_cv": 0.0,
    "income_cv": 0.05, "avg_monthly_income": 4000.0, "checking_balance": 3000.0, "cash_flow_buffer_months": 1.5,
    "fee_count": 0, "fee_amount": 0.0,
}

USERS = {
    # high utilization: one Visa at 68%, paying interest; credit score 720, $48,000 a year
    "u_card": {"card_count": 1, "max_utilization": 0.68, "cards_util_ge_30": 1, "cards_util_ge_50": 1,
                "interest_charges": 87.0, "interest_charges_monthly": 87.0, "total_card_balance": 3400.0,
                "total_credit_limit": 5000.0},
    # the same card picture, but $12,000 a year and a credit score of 600: no balance-transfer card
    "u_lowincome": {"card_count": 1, "max_utilization": 0.7, "cards_util_ge_30": 1, "cards_util_ge_50": 1,
                "interest_charges": 40.0, "interest_charges_monthly": 40.0, "total_card_balance": 1400.0,
                "total_credit_limit": 2000.0, "avg_monthly_income": 1000.0},
    # a saver with a savings account: never offered another savings account
    "u_saver": {"savings_balance": 8000.0, "has_savings_account": 1, "net_savings_inflow": 300.0,
                "net_savings_inflow_monthly": 300.0, "savings_growth_rate": 0.04, "emergency_fund_months": 4.0},
    # subscriptions, one of whose merchant names would read as a judgment if quoted
    "u_subs": {"recurring_merchant_count": 4, "recurring_spend": 120.0, "recurring_spend_monthly": 120.0,
                "subscription_share": 0.12},
    # revoked consent but signals exist (computed before the revocation)
    "u_revoked": {"card_count": 1, "max_utilization": 0.9, "cards_util_ge_30": 1, "cards_util_ge_50": 1,
                "cards_util_ge_80": 1, "total_card_balance": 900.0, "total_credit_limit": 1000.0},
    # nothing stands out: persona none
    "u_plain": {},
}
PERSONAS = {"u_card": "high_utilization", "u_lowincome": "high_utilization", "u_saver": "savings_builder",
            "u_subs": "subscription_heavy", "u_revoked": "high_utilization", "u_plain": "none"}
CREDIT_SCORES = {"u_card": 720, "u_lowincome": 600, "u_saver": 760, "u_subs": 690, "u_revoked": 650, "u_plain": 700}
SUBTYPES = {"u_card": ["checking", "credit card"], "u_lowincome": ["checking", "credit card"],
            "u_saver": ["checking", "savings"], "u_subs": ["checking"], "u_revoked": ["checking", "credit card"],
            "u_plain": ["checking"]}
WINDOWS = (30, 180)


@cache
def config():
    """(catalog, scoring, guardrails) loaded once."""
    guardrails = load_guardrails()
    return load_catalog(guardrails=guardrails), load_scoring(), guardrails


def signals_wide(users=None) -> pd.DataFrame:
    """signals_wide rows (typed like the signal step) for the fixture users, both windows."""
    rows = []
    for user in users or USERS:
        for w in WINDOWS:
            rows.append({"user_id": user, "window_days": w, **BASE, **USERS[user]})
    frame = pd.DataFrame(rows)
    for name, dtype in TABLE_COLUMNS["signals_wide"]:
        if dtype == "INTEGER":
            frame[name] = frame[name].astype("Int32")
        elif dtype == "DOUBLE":
            frame[name] = pd.to_numeric(frame[name]).astype(float)
    return frame[[c for c, _ in TABLE_COLUMNS["signals_wide"]]]


def credit_cards() -> pd.DataFrame:
    """One card for each card user (the Visa of u_card is the example card of the issue)."""
    rows = []
    cards = {"u_card": ("4523", "Visa", 3400.0, 5000.0, 87.0, 24.99), "u_lowincome": ("1188", "Everyday Card", 1400.0,
                                                                                   2000.0, 40.0, 29.99),
             "u_revoked": ("7777", "Store Card", 900.0, 1000.0, 0.0, 26.0)}
    for user, (mask, name, balance, limit, interest, apr) in cards.items():
        for w in WINDOWS:
            rows.append({"user_id": user, "window_days": w, "account_id": f"{user}-cc", "mask": mask,
                         "card_name": name, "balance": balance, "credit_limit": limit, "utilization": balance / limit,
                         "flag_30": balance / limit >= 0.3, "flag_50": balance / limit >= 0.5,
                         "flag_80": balance / limit >= 0.8, "minimum_payment_amount": 35.0,
                         "payments_in_window": 1, "largest_payment_in_window": 100.0, "last_payment_amount": 100.0,
                         "minimum_payment_only": False, "interest_charges": interest,
                         "interest_charges_monthly": interest, "is_overdue": False, "apr_percentage": apr})
    return pd.DataFrame(rows, columns=[c for c, _ in TABLE_COLUMNS["credit_cards"]])


MERCHANTS = [("Reckless Rides", 40.0), ("StreamFlix", 30.0), ("Tune Box", 25.0), ("Gym Club", 25.0)]


def recurring_streams() -> pd.DataFrame:
    """u_subs's four subscriptions; the largest is named so that quoting it would fail the tone check."""
    rows = []
    for w in WINDOWS:
        for merchant, amount in MERCHANTS:
            rows.append({"user_id": "u_subs", "window_days": w, "merchant_key": merchant.lower(), "merchant": merchant,
                         "frequency": "MONTHLY", "occurrences": 6, "occurrences_in_window": 1 if w == 30 else 6,
                         "median_gap_days": 30.0, "mean_amount": amount, "median_amount": amount,
                         "amount_stable": True, "first_date": dt.date(2026, 5, 1), "last_date": dt.date(2026, 10, 20),
                         "is_subscription": True, "amount_in_window": amount if w == 30 else amount * 6,
                         "transaction_ids": []})
    return pd.DataFrame(rows, columns=[c for c, _ in TABLE_COLUMNS["recurring_streams"]])


def persona_assignments(users=None) -> pd.DataFrame:
    """One persona per fixture user-window (hand-assigned), matched personas = [the persona] (or none)."""
    rows = []
    for user in users or USERS:
        p = PERSONAS[user]
        for w in WINDOWS:
            rows.append({"user_id": user, "window_days": w, "persona_id": p, "persona_name": p.replace("_", " ").title(),
                         "matched_personas": [] if p == "none" else [p], "criteria": "[]"})
    return pd.DataFrame(rows)


def users_table() -> pd.DataFrame:
    return pd.DataFrame({"user_id": list(CREDIT_SCORES), "credit_score": list(CREDIT_SCORES.values())})


def accounts() -> pd.DataFrame:
    return pd.DataFrame([(u, s) for u, subs in SUBTYPES.items() for s in subs], columns=["user_id", "subtype"])


def consent(statuses: dict[str, str] | None = None) -> pd.DataFrame:
    """A consent snapshot: everyone granted except u_revoked (unless given)."""
    statuses = statuses or {u: ("revoked" if u == "u_revoked" else "granted") for u in USERS}
    return pd.DataFrame({"user_id": list(statuses), "status": list(statuses.values()),
                         "occurred_at": pd.Timestamp("2026-01-05 09:00")})


def history(rows: list[tuple[str, str, float]] = ()) -> pd.DataFrame:
    """Deliveries (user, item, days before CREATED)."""
    return pd.DataFrame({"user_id": [r[0] for r in rows], "item_id": [r[1] for r in rows],
                         "delivered_at": [pd.Timestamp(CREATED) - pd.Timedelta(days=r[2]) for r in rows]})


def inputs(statuses=None, deliveries=(), users=None) -> RecommendInputs:
    """RecommendInputs for the fixture users."""
    return RecommendInputs(signals_wide(users), credit_cards(), recurring_streams(), persona_assignments(users),
                           users_table(), accounts(), consent(statuses), history(deliveries), AS_OF)


def signal_names() -> list[str]:
    return [s.name for s in SIGNALS]
