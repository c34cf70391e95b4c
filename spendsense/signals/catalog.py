"""The signal catalogue (names, families, units) and the column types of every derived signal table."""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class SignalSpec:
    """One behavioral signal: its name, family, DuckDB type and unit (docs/signals.md defines it)."""

    name: str
    family: str
    dtype: str  # DOUBLE, INTEGER (counts and 0/1 flags) or VARCHAR (categorical)
    unit: str


SIGNALS: tuple[SignalSpec, ...] = (
    SignalSpec("spending_total", "spending", "DOUBLE", "USD in window"),
    SignalSpec("avg_monthly_spending", "spending", "DOUBLE", "USD per 30 days"),
    SignalSpec("recurring_merchant_count", "subscriptions", "INTEGER", "count"),
    SignalSpec("recurring_spend", "subscriptions", "DOUBLE", "USD in window"),
    SignalSpec("recurring_spend_monthly", "subscriptions", "DOUBLE", "USD per 30 days"),
    SignalSpec("subscription_share", "subscriptions", "DOUBLE", "fraction 0-1"),
    SignalSpec("savings_balance", "savings", "DOUBLE", "USD"),
    SignalSpec("has_savings_account", "savings", "INTEGER", "0/1"),
    SignalSpec("net_savings_inflow", "savings", "DOUBLE", "USD in window"),
    SignalSpec("net_savings_inflow_monthly", "savings", "DOUBLE", "USD per 30 days"),
    SignalSpec("savings_growth_rate", "savings", "DOUBLE", "fraction"),
    SignalSpec("emergency_fund_months", "savings", "DOUBLE", "months"),
    SignalSpec("card_count", "credit", "INTEGER", "count"),
    SignalSpec("max_utilization", "credit", "DOUBLE", "fraction"),
    SignalSpec("cards_util_ge_30", "credit", "INTEGER", "count"),
    SignalSpec("cards_util_ge_50", "credit", "INTEGER", "count"),
    SignalSpec("cards_util_ge_80", "credit", "INTEGER", "count"),
    SignalSpec("minimum_payment_only", "credit", "INTEGER", "0/1"),
    SignalSpec("interest_charges", "credit", "DOUBLE", "USD in window"),
    SignalSpec("interest_charges_monthly", "credit", "DOUBLE", "USD per 30 days"),
    SignalSpec("is_overdue", "credit", "INTEGER", "0/1"),
    SignalSpec("total_card_balance", "credit", "DOUBLE", "USD"),
    SignalSpec("total_credit_limit", "credit", "DOUBLE", "USD"),
    SignalSpec("payroll_count", "income", "INTEGER", "count in lookback"),
    SignalSpec("median_pay_gap_days", "income", "DOUBLE", "days"),
    SignalSpec("pay_frequency", "income", "VARCHAR", "category"),
    SignalSpec("pay_gap_cv", "income", "DOUBLE", "ratio"),
    SignalSpec("income_cv", "income", "DOUBLE", "ratio"),
    SignalSpec("avg_monthly_income", "income", "DOUBLE", "USD per 30 days"),
    SignalSpec("checking_balance", "income", "DOUBLE", "USD"),
    SignalSpec("cash_flow_buffer_months", "income", "DOUBLE", "months"),
    SignalSpec("fee_count", "fees", "INTEGER", "count in window"),
    SignalSpec("fee_amount", "fees", "DOUBLE", "USD in window"),
)

SIGNAL_NAMES: tuple[str, ...] = tuple(s.name for s in SIGNALS)
CATEGORICAL_SIGNALS: tuple[str, ...] = tuple(s.name for s in SIGNALS if s.dtype == "VARCHAR")
NUMERIC_SIGNALS: tuple[str, ...] = tuple(s.name for s in SIGNALS if s.dtype != "VARCHAR")
PAY_FREQUENCIES: tuple[str, ...] = ("weekly", "biweekly", "semi-monthly", "monthly", "irregular")

Columns = tuple[tuple[str, str], ...]

TABLE_COLUMNS: dict[str, Columns] = {
    "signals": (
        ("user_id", "VARCHAR"), ("window_days", "INTEGER"), ("signal", "VARCHAR"), ("value", "DOUBLE"),
        ("value_text", "VARCHAR"),
    ),
    "signals_wide": (("user_id", "VARCHAR"), ("window_days", "INTEGER"))
    + tuple((s.name, s.dtype) for s in SIGNALS),
    "credit_cards": (
        ("user_id", "VARCHAR"), ("window_days", "INTEGER"), ("account_id", "VARCHAR"), ("mask", "VARCHAR"),
        ("card_name", "VARCHAR"), ("balance", "DOUBLE"), ("credit_limit", "DOUBLE"), ("utilization", "DOUBLE"),
        ("flag_30", "BOOLEAN"), ("flag_50", "BOOLEAN"), ("flag_80", "BOOLEAN"),
        ("minimum_payment_amount", "DOUBLE"), ("payments_in_window", "INTEGER"),
        ("largest_payment_in_window", "DOUBLE"), ("last_payment_amount", "DOUBLE"),
        ("minimum_payment_only", "BOOLEAN"), ("interest_charges", "DOUBLE"), ("interest_charges_monthly", "DOUBLE"),
        ("is_overdue", "BOOLEAN"), ("apr_percentage", "DOUBLE"),
    ),
    "recurring_streams": (
        ("user_id", "VARCHAR"), ("window_days", "INTEGER"), ("merchant_key", "VARCHAR"), ("merchant", "VARCHAR"),
        ("frequency", "VARCHAR"), ("occurrences", "INTEGER"), ("occurrences_in_window", "INTEGER"),
        ("median_gap_days", "DOUBLE"), ("mean_amount", "DOUBLE"), ("median_amount", "DOUBLE"),
        ("amount_stable", "BOOLEAN"), ("first_date", "DATE"), ("last_date", "DATE"), ("is_subscription", "BOOLEAN"),
        ("amount_in_window", "DOUBLE"), ("transaction_ids", "VARCHAR[]"),
    ),
    "payroll_deposits": (
        ("user_id", "VARCHAR"), ("window_days", "INTEGER"), ("transaction_id", "VARCHAR"),
        ("account_id", "VARCHAR"), ("date", "DATE"), ("amount", "DOUBLE"),
    ),
    "skipped_users": (("user_id", "VARCHAR"), ("reason", "VARCHAR")),
}
