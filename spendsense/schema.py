"""The raw-table contract: columns, DuckDB types and allowed values of every input table.

The generator writes exactly these columns, ingest validates against them, and docs/schema.md
documents them. Plaid's nested JSON fields are flattened with underscores
(balances.current -> balance_current, personal_finance_category.primary -> pfc_primary).
"""

from __future__ import annotations

import csv
from dataclasses import dataclass
from functools import cache

import pyarrow as pa

from spendsense import paths

# A derived table's declared SQL type -> the Arrow type its column is written from Python with (signals, personas,
# recommend). Text is large_string: one column of a step can pass Arrow's 2 GB string limit (persona criteria at
# 1,000,000 users are 3.5 GB); DuckDB stores both the same.
STORED_ARROW_TYPES = {"VARCHAR": pa.large_string(), "JSON": pa.large_string(), "VARCHAR[]": pa.list_(pa.large_string()),
                      "INTEGER": pa.int32(), "BIGINT": pa.int64(), "DOUBLE": pa.float64(), "BOOLEAN": pa.bool_(),
                      "DATE": pa.date32(), "TIMESTAMP": pa.timestamp("us")}


@dataclass(frozen=True)
class Column:
    """One column of a raw table."""

    name: str
    dtype: str  # DuckDB type: VARCHAR, DOUBLE, INTEGER, BOOLEAN, DATE, TIMESTAMP
    nullable: bool = True
    enum: str | None = None  # name of an entry in ENUMS
    doc: str = ""


ACCOUNT_TYPES: dict[str, tuple[str, ...]] = {
    # Plaid account types and the subtypes SpendSense recognises (Plaid's /accounts/get values).
    "depository": ("checking", "savings", "money market", "cd", "cash management", "hsa", "prepaid", "paypal", "ebt"),
    "credit": ("credit card", "paypal"),
    "loan": ("mortgage", "student", "auto", "business", "commercial", "construction", "consumer",
             "home equity", "line of credit", "loan", "other", "overdraft"),
    "investment": ("401k", "403b", "457b", "529", "brokerage", "ira", "roth", "roth 401k", "hsa",
                   "keogh", "pension", "retirement", "sep ira", "simple ira", "stock plan", "non-taxable brokerage account",
                   "crypto exchange", "other"),
    "other": ("other",),
}

SAVINGS_LIKE_SUBTYPES = ("savings", "money market", "cd", "cash management", "hsa")

ENUMS: dict[str, tuple[str, ...]] = {
    "account_type": tuple(ACCOUNT_TYPES),
    "account_subtype": tuple(sorted({s for subs in ACCOUNT_TYPES.values() for s in subs})),
    "holder_category": ("personal", "business"),
    "payment_channel": ("online", "in store", "other"),
    "confidence_level": ("VERY_HIGH", "HIGH", "MEDIUM", "LOW", "UNKNOWN"),
    "currency": ("USD", "CAD", "EUR", "GBP"),
    "apr_type": ("balance_transfer_apr", "cash_apr", "purchase_apr", "special"),
    "age_band": ("18-24", "25-34", "35-44", "45-54", "55-64", "65+"),
    "gender": ("female", "male", "nonbinary"),
    "region": ("northeast", "midwest", "south", "west"),
    "income_tier": ("low", "middle", "high"),
    "consent_event": ("granted", "revoked"),
}

TABLES: dict[str, tuple[Column, ...]] = {
    "users": (
        Column("user_id", "VARCHAR", False, doc="Stable user key, e.g. u000001"),
        Column("name", "VARCHAR", False, doc="Fake full name (Faker); personal data, masked for operators"),
        Column("age_band", "VARCHAR", False, "age_band"),
        Column("gender", "VARCHAR", False, "gender"),
        Column("region", "VARCHAR", False, "region"),
        Column("income_tier", "VARCHAR", False, "income_tier"),
        Column("credit_score", "INTEGER", False, doc="Synthetic credit score, 300-850"),
        Column("created_at", "DATE", False),
    ),
    "consent_events": (
        Column("event_id", "VARCHAR", False),
        Column("user_id", "VARCHAR", False),
        Column("event", "VARCHAR", False, "consent_event"),
        Column("occurred_at", "TIMESTAMP", False),
        Column("source", "VARCHAR", False, doc="Where the event came from: signup, app, operator, import"),
        Column("actor", "VARCHAR", False, doc="Who recorded it: the user, an operator name, or a system"),
    ),
    "accounts": (
        Column("account_id", "VARCHAR", False),
        Column("user_id", "VARCHAR", False),
        Column("name", "VARCHAR", False),
        Column("official_name", "VARCHAR"),
        Column("mask", "VARCHAR", doc="Last 4 digits of the account number"),
        Column("type", "VARCHAR", False, "account_type"),
        Column("subtype", "VARCHAR", True, "account_subtype"),
        Column("balance_available", "DOUBLE"),
        Column("balance_current", "DOUBLE", doc="For credit and loan accounts: the amount owed"),
        Column("balance_limit", "DOUBLE"),
        Column("iso_currency_code", "VARCHAR", False, "currency"),
        Column("holder_category", "VARCHAR", True, "holder_category", doc="Business accounts are excluded"),
    ),
    "transactions": (
        Column("transaction_id", "VARCHAR", False),
        Column("account_id", "VARCHAR", False),
        Column("date", "DATE", False, doc="Posted date"),
        Column("authorized_date", "DATE"),
        Column("amount", "DOUBLE", False, doc="Plaid sign: positive = money out of the account, negative = in"),
        Column("iso_currency_code", "VARCHAR", False, "currency"),
        Column("name", "VARCHAR", False, doc="Raw transaction description"),
        Column("merchant_name", "VARCHAR"),
        Column("merchant_entity_id", "VARCHAR"),
        Column("payment_channel", "VARCHAR", False, "payment_channel"),
        Column("pfc_primary", "VARCHAR", False, doc="personal_finance_category.primary (v1 or v2 code)"),
        Column("pfc_detailed", "VARCHAR", False, doc="personal_finance_category.detailed (v1 or v2 code)"),
        Column("pfc_confidence_level", "VARCHAR", True, "confidence_level"),
        Column("pending", "BOOLEAN", False),
    ),
    "credit_liabilities": (
        Column("account_id", "VARCHAR", False),
        Column("is_overdue", "BOOLEAN"),
        Column("last_payment_amount", "DOUBLE"),
        Column("last_payment_date", "DATE"),
        Column("last_statement_balance", "DOUBLE"),
        Column("last_statement_issue_date", "DATE"),
        Column("minimum_payment_amount", "DOUBLE"),
        Column("next_payment_due_date", "DATE"),
    ),
    "credit_aprs": (
        Column("account_id", "VARCHAR", False),
        Column("apr_type", "VARCHAR", False, "apr_type"),
        Column("apr_percentage", "DOUBLE", False),
        Column("balance_subject_to_apr", "DOUBLE"),
        Column("interest_charge_amount", "DOUBLE", doc="Interest charged on the last statement"),
    ),
    "mortgage_liabilities": (
        Column("account_id", "VARCHAR", False),
        Column("interest_rate_percentage", "DOUBLE"),
        Column("interest_rate_type", "VARCHAR"),
        Column("last_payment_amount", "DOUBLE"),
        Column("last_payment_date", "DATE"),
        Column("next_monthly_payment", "DOUBLE"),
        Column("next_payment_due_date", "DATE"),
        Column("origination_date", "DATE"),
        Column("origination_principal_amount", "DOUBLE"),
        Column("maturity_date", "DATE"),
        Column("past_due_amount", "DOUBLE"),
        Column("loan_term", "VARCHAR"),
    ),
    "student_liabilities": (
        Column("account_id", "VARCHAR", False),
        Column("interest_rate_percentage", "DOUBLE"),
        Column("is_overdue", "BOOLEAN"),
        Column("last_payment_amount", "DOUBLE"),
        Column("last_payment_date", "DATE"),
        Column("minimum_payment_amount", "DOUBLE"),
        Column("next_payment_due_date", "DATE"),
        Column("expected_payoff_date", "DATE"),
        Column("loan_name", "VARCHAR"),
        Column("origination_principal_amount", "DOUBLE"),
        Column("outstanding_interest_amount", "DOUBLE"),
    ),
}

# Load order: a table's foreign keys point at tables earlier in this list.
TABLE_ORDER = ("users", "consent_events", "accounts", "transactions", "credit_liabilities", "credit_aprs",
               "mortgage_liabilities", "student_liabilities")

PRIMARY_KEYS = {
    "users": ("user_id",),
    "consent_events": ("event_id",),
    "accounts": ("account_id",),
    "transactions": ("transaction_id",),
    "credit_liabilities": ("account_id",),
    "credit_aprs": ("account_id", "apr_type"),
    "mortgage_liabilities": ("account_id",),
    "student_liabilities": ("account_id",),
}

FOREIGN_KEYS = {  # table -> (column, referenced table, referenced column)
    "consent_events": ("user_id", "users", "user_id"),
    "accounts": ("user_id", "users", "user_id"),
    "transactions": ("account_id", "accounts", "account_id"),
    "credit_liabilities": ("account_id", "accounts", "account_id"),
    "credit_aprs": ("account_id", "accounts", "account_id"),
    "mortgage_liabilities": ("account_id", "accounts", "account_id"),
    "student_liabilities": ("account_id", "accounts", "account_id"),
}


def column_names(table: str) -> tuple[str, ...]:
    """Column names of a raw table, in contract order."""
    return tuple(c.name for c in TABLES[table])


@cache
def category_codes() -> frozenset[str]:
    """Every personal_finance_category code (primary and detailed) of taxonomy v1 and v2."""
    codes: set[str] = set()
    with (paths.TAXONOMY_DIR / "pfc_taxonomy_v1.csv").open(encoding="utf-8") as fh:
        for row in csv.DictReader(fh):
            codes.update((row["PRIMARY"].strip(), row["DETAILED"].strip()))
    with (paths.TAXONOMY_DIR / "pfc_taxonomy_v2_v1_crosswalk.csv").open(encoding="utf-8") as fh:
        for row in csv.DictReader(fh):
            codes.update((row["pfc_v2_primary"].strip(), row["pfc_v2_detailed"].strip()))
    codes.discard("")
    return frozenset(codes)
