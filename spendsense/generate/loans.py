"""Mortgages and student loans: amortized balances, monthly payments from checking, liability rows."""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import pandas as pd
import pyarrow as pa

from spendsense.generate.calendar import EPOCH
from spendsense.generate.frames import dates, money, take, to_frame
from spendsense.generate.ledger import Kind, Slot, to_cents, uniform
from spendsense.generate.schedules import monthly_on_day
from spendsense.generate.world import World

STUDENT_LOAN_NAMES = [
    "Direct Unsubsidized Stafford",
    "Direct Subsidized Stafford",
    "Consolidation",
    "Grad PLUS",
]


@dataclass(frozen=True)
class Loans:
    """One entry per loan account (mortgage or student)."""

    rows: np.ndarray  # account rows
    user: np.ndarray
    kind: np.ndarray  # Slot.MORTGAGE or Slot.STUDENT
    rate: np.ndarray  # percent
    payment_cents: np.ndarray
    principal_cents: np.ndarray
    balance_cents: np.ndarray
    origination_epoch: np.ndarray  # days since 1970-01-01
    maturity_epoch: np.ndarray
    last_pay_day: np.ndarray  # day index, -1 when no payment yet
    next_due_day: np.ndarray  # day index
    term_years: np.ndarray
    variable_rate: np.ndarray
    loan_name: np.ndarray
    interest_accrued_cents: np.ndarray


def _month_epoch(month_index_from_as_of: np.ndarray, as_of_month: np.datetime64) -> np.ndarray:
    """Days since epoch of the 1st of a month given as an offset from as_of's month."""
    months = as_of_month + month_index_from_as_of.astype("timedelta64[M]")
    return (months.astype("datetime64[D]") - np.datetime64(EPOCH, "D")).astype(np.int64)


def add_loans(world: World, rng: np.random.Generator) -> Loans:
    """Draw every mortgage and student loan, add its payments to the ledger, and return the loan state."""
    cal, people, accounts = world.cal, world.people, world.accounts
    parts = []
    for slot in (Slot.MORTGAGE, Slot.STUDENT):
        users = np.flatnonzero(accounts.has(slot))
        m = users.size
        if slot == Slot.MORTGAGE:
            payment = people.monthly_net[users] * uniform(rng, world.config.spending.housing_share, m)
            rate = np.round(rng.uniform(2.75, 7.25, m), 3)
            years = np.where(rng.random(m) < 0.8, 30, 15)
            age_months = rng.integers(6, 12 * 15, m)
            dom = np.ones(m, dtype=np.int64) + rng.integers(0, 5, m)  # paid on the 1st-5th
            desc_group = world.catalog.group("mortgage")
            servicer = accounts.variant[accounts.index[users, slot]]
            desc = desc_group[servicer]
            variable = rng.random(m) < 0.15
        else:
            payment = rng.uniform(150, 600, m) * np.clip(people.monthly_net[users] / 4000, 0.6, 1.5)
            rate = np.round(rng.uniform(3.0, 7.5, m), 2)
            years = np.full(m, 10)
            age_months = rng.integers(6, 96, m)
            dom = rng.integers(5, 26, m)
            desc_group = world.catalog.group("student")
            desc = desc_group[accounts.variant[accounts.index[users, slot]]]
            variable = np.zeros(m, dtype=bool)
        i = rate / 100 / 12
        n_pay = years * 12
        principal = np.round(payment * (1 - (1 + i) ** -n_pay) / i, -2 if slot == Slot.MORTGAGE else 0)
        pay_cents = to_cents(principal * i / (1 - (1 + i) ** -n_pay))
        # payments in the history: months after origination, on `dom`
        orig_month = (cal.n_months - 1) - age_months  # month index of origination (may be negative)
        owner, month, day = monthly_on_day(cal, dom)
        keep = month > orig_month[owner]
        owner, month, day = owner[keep], month[keep], day[keep]
        world.ledger.add(
            user=users[owner],
            slot=Slot.CHECKING,
            day=day,
            cents=pay_cents[owner],
            desc=desc[owner],
            kind=Kind.LOAN_PAYMENT,
        )
        last_day = np.full(m, -1, dtype=np.int64)
        last_month = np.full(m, -1, dtype=np.int64)
        np.maximum.at(last_day, owner, day)
        np.maximum.at(last_month, owner, month)
        paid = np.where(last_month >= 0, last_month - orig_month, np.maximum(0, -orig_month - 1))
        growth = (1 + i) ** paid
        balance = principal * growth - (pay_cents / 100) * (growth - 1) / i
        next_month = np.where(last_month >= 0, last_month + 1, cal.n_months)
        next_due = cal.month_first[np.minimum(next_month, cal.month_first.size - 1)] + dom - 1
        as_of_month = np.datetime64(cal.as_of, "M")
        orig_offset = orig_month - (cal.n_months - 1)
        origination = _month_epoch(orig_offset, as_of_month)
        maturity = _month_epoch(orig_offset + n_pay, as_of_month)
        days_since = np.where(last_day >= 0, cal.T - last_day, 15)
        accrued = to_cents(balance * rate / 100 / 365 * days_since)
        names = np.where(slot == Slot.STUDENT, rng.integers(0, len(STUDENT_LOAN_NAMES), m), 0)
        parts.append(
            {
                "rows": accounts.index[users, slot],
                "user": users,
                "kind": np.full(m, int(slot)),
                "rate": rate,
                "payment_cents": pay_cents,
                "principal_cents": to_cents(principal),
                "balance_cents": to_cents(np.maximum(balance, 0)),
                "origination_epoch": origination,
                "maturity_epoch": maturity,
                "last_pay_day": last_day,
                "next_due_day": next_due,
                "term_years": years,
                "variable_rate": variable,
                "loan_name": names,
                "interest_accrued_cents": accrued,
            }
        )
    merged = {k: np.concatenate([p[k] for p in parts]) for k in parts[0]}
    return Loans(**merged)


def mortgage_table(loans: Loans, ids: pa.Array, cal) -> pd.DataFrame:
    """mortgage_liabilities rows."""
    sel = loans.kind == Slot.MORTGAGE
    paid = loans.last_pay_day[sel] >= 0
    return to_frame(
        "mortgage_liabilities",
        {
            "account_id": ids.take(pa.array(loans.rows[sel])),
            "interest_rate_percentage": loans.rate[sel],
            "interest_rate_type": take(["fixed", "variable"], loans.variable_rate[sel].astype(np.int64)),
            "last_payment_amount": money(loans.payment_cents[sel], valid=paid),
            "last_payment_date": dates(cal.epoch_day0, loans.last_pay_day[sel], valid=paid),
            "next_monthly_payment": money(loans.payment_cents[sel]),
            "next_payment_due_date": dates(cal.epoch_day0, loans.next_due_day[sel]),
            "origination_date": dates(0, loans.origination_epoch[sel]),
            "origination_principal_amount": money(loans.principal_cents[sel]),
            "maturity_date": dates(0, loans.maturity_epoch[sel]),
            "past_due_amount": money(np.zeros(sel.sum(), dtype=np.int64)),
            "loan_term": take(["15 year", "30 year"], (loans.term_years[sel] == 30).astype(np.int64)),
        },
    )


def student_table(loans: Loans, ids: pa.Array, cal) -> pd.DataFrame:
    """student_liabilities rows."""
    sel = loans.kind == Slot.STUDENT
    paid = loans.last_pay_day[sel] >= 0
    return to_frame(
        "student_liabilities",
        {
            "account_id": ids.take(pa.array(loans.rows[sel])),
            "interest_rate_percentage": loans.rate[sel],
            "is_overdue": np.zeros(sel.sum(), dtype=bool),
            "last_payment_amount": money(loans.payment_cents[sel], valid=paid),
            "last_payment_date": dates(cal.epoch_day0, loans.last_pay_day[sel], valid=paid),
            "minimum_payment_amount": money(loans.payment_cents[sel]),
            "next_payment_due_date": dates(cal.epoch_day0, loans.next_due_day[sel]),
            "expected_payoff_date": dates(0, loans.maturity_epoch[sel]),
            "loan_name": take(STUDENT_LOAN_NAMES, loans.loan_name[sel]),
            "origination_principal_amount": money(loans.principal_cents[sel]),
            "outstanding_interest_amount": money(loans.interest_accrued_cents[sel]),
        },
    )
