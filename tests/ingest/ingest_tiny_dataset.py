"""Test helper: a tiny hand-made valid dataset (2 users) and writers for it as CSV, Parquet and Plaid-shaped JSON.

Hand-computed facts about it (used by the tests):
- users 2, consent events 3, accounts 6 of which 1 business (b1) -> 5 loaded
- transactions 9 of which 2 on the business account -> 7 loaded
- credit_liabilities 1, credit_aprs 2, mortgage 1, student 1 (none on the business account)
"""

from __future__ import annotations

import hashlib
import json
from pathlib import Path

import pandas as pd
import pyarrow as pa
import pyarrow.parquet as pq

from spendsense.schema import TABLES

USERS = [
    {
        "user_id": "u1",
        "name": "Ada Park",
        "age_band": "25-34",
        "gender": "female",
        "region": "west",
        "income_tier": "middle",
        "credit_score": 712,
        "created_at": "2024-03-01",
    },
    {
        "user_id": "u2",
        "name": "Ben Ortiz",
        "age_band": "45-54",
        "gender": "male",
        "region": "south",
        "income_tier": "high",
        "credit_score": 780,
        "created_at": "2023-11-15",
    },
]
CONSENT = [
    {
        "event_id": "e1",
        "user_id": "u1",
        "event": "granted",
        "occurred_at": "2026-01-05 10:00:00",
        "source": "signup",
        "actor": "u1",
    },
    {
        "event_id": "e2",
        "user_id": "u2",
        "event": "granted",
        "occurred_at": "2026-01-06 09:30:00",
        "source": "signup",
        "actor": "u2",
    },
    {
        "event_id": "e3",
        "user_id": "u2",
        "event": "revoked",
        "occurred_at": "2026-06-01 12:00:00",
        "source": "app",
        "actor": "u2",
    },
]


def _acct(
    account_id,
    user_id,
    name,
    mask,
    type_,
    subtype,
    available,
    current,
    limit,
    holder="personal",
    official=None,
):
    return {
        "account_id": account_id,
        "user_id": user_id,
        "name": name,
        "official_name": official,
        "mask": mask,
        "type": type_,
        "subtype": subtype,
        "balance_available": available,
        "balance_current": current,
        "balance_limit": limit,
        "iso_currency_code": "USD",
        "holder_category": holder,
    }


ACCOUNTS = [
    _acct("a1", "u1", "Everyday Checking", "1111", "depository", "checking", 1200.0, 1250.0, None),
    _acct(
        "a2",
        "u1",
        "Visa Signature",
        "2222",
        "credit",
        "credit card",
        1600.0,
        3400.0,
        5000.0,
        official="Visa Signature Rewards",
    ),
    _acct("a3", "u2", "High Yield Savings", "3333", "depository", "savings", 8000.0, 8000.0, None),
    _acct("a4", "u2", "Home Mortgage", "4444", "loan", "mortgage", None, 210000.0, None),
    _acct("a5", "u2", "Student Loan", "5555", "loan", "student", None, 12000.0, None),
    _acct(
        "b1",
        "u2",
        "Ortiz LLC Operating",
        "9999",
        "depository",
        "checking",
        50000.0,
        50000.0,
        None,
        holder="business",
    ),
]


def _txn(transaction_id, account_id, date, amount, name, merchant, channel, primary, detailed, pending=False):
    return {
        "transaction_id": transaction_id,
        "account_id": account_id,
        "date": date,
        "authorized_date": date,
        "amount": amount,
        "iso_currency_code": "USD",
        "name": name,
        "merchant_name": merchant,
        "merchant_entity_id": None if merchant is None else f"m_{merchant.lower()}",
        "payment_channel": channel,
        "pfc_primary": primary,
        "pfc_detailed": detailed,
        "pfc_confidence_level": "HIGH",
        "pending": pending,
    }


TRANSACTIONS = [
    _txn("t1", "a1", "2026-10-01", -2500.0, "ACME PAYROLL", None, "other", "INCOME", "INCOME_WAGES"),
    _txn(
        "t2",
        "a1",
        "2026-10-03",
        82.15,
        "FRESH MARKET #12",
        "FreshMarket",
        "in store",
        "FOOD_AND_DRINK",
        "FOOD_AND_DRINK_GROCERIES",
    ),
    _txn(
        "t3",
        "a2",
        "2026-10-05",
        15.49,
        "NETFLIX.COM",
        "Netflix",
        "online",
        "ENTERTAINMENT",
        "ENTERTAINMENT_TV_AND_MOVIES",
    ),
    _txn(
        "t4",
        "a1",
        "2026-10-10",
        500.0,
        "VISA PAYMENT",
        None,
        "online",
        "LOAN_PAYMENTS",
        "LOAN_PAYMENTS_CREDIT_CARD_PAYMENT",
    ),
    _txn(
        "t5",
        "a2",
        "2026-10-10",
        -500.0,
        "PAYMENT THANK YOU",
        None,
        "online",
        "LOAN_PAYMENTS",
        "LOAN_PAYMENTS_CREDIT_CARD_PAYMENT",
    ),
    _txn(
        "t6",
        "a2",
        "2026-10-20",
        87.0,
        "INTEREST CHARGE",
        None,
        "other",
        "BANK_FEES",
        "BANK_FEES_INTEREST_CHARGE",
    ),
    _txn(
        "t7",
        "a3",
        "2026-10-15",
        -200.0,
        "TRANSFER FROM CHECKING",
        None,
        "other",
        "TRANSFER_IN",
        "TRANSFER_IN_SAVINGS",
        pending=True,
    ),
    _txn(
        "t8",
        "b1",
        "2026-10-12",
        300.0,
        "OFFICE DEPOT",
        "Office Depot",
        "in store",
        "GENERAL_MERCHANDISE",
        "GENERAL_MERCHANDISE_OFFICE_SUPPLIES",
    ),
    _txn(
        "t9", "b1", "2026-10-13", -4000.0, "CLIENT INVOICE 17", None, "other", "INCOME", "INCOME_OTHER_INCOME"
    ),
]
CREDIT = [
    {
        "account_id": "a2",
        "is_overdue": False,
        "last_payment_amount": 500.0,
        "last_payment_date": "2026-10-10",
        "last_statement_balance": 3300.0,
        "last_statement_issue_date": "2026-10-01",
        "minimum_payment_amount": 66.0,
        "next_payment_due_date": "2026-10-28",
    }
]
APRS = [
    {
        "account_id": "a2",
        "apr_type": "purchase_apr",
        "apr_percentage": 24.99,
        "balance_subject_to_apr": 3300.0,
        "interest_charge_amount": 87.0,
    },
    {
        "account_id": "a2",
        "apr_type": "cash_apr",
        "apr_percentage": 29.99,
        "balance_subject_to_apr": 0.0,
        "interest_charge_amount": 0.0,
    },
]
MORTGAGE = [
    {
        "account_id": "a4",
        "interest_rate_percentage": 6.1,
        "interest_rate_type": "fixed",
        "last_payment_amount": 1650.0,
        "last_payment_date": "2026-10-01",
        "next_monthly_payment": 1650.0,
        "next_payment_due_date": "2026-11-01",
        "origination_date": "2019-06-15",
        "origination_principal_amount": 260000.0,
        "maturity_date": "2049-06-15",
        "past_due_amount": 0.0,
        "loan_term": "30 year",
    }
]
STUDENT = [
    {
        "account_id": "a5",
        "interest_rate_percentage": 4.5,
        "is_overdue": False,
        "last_payment_amount": 180.0,
        "last_payment_date": "2026-10-05",
        "minimum_payment_amount": 180.0,
        "next_payment_due_date": "2026-11-05",
        "expected_payoff_date": "2032-05-05",
        "loan_name": "Consolidation",
        "origination_principal_amount": 25000.0,
        "outstanding_interest_amount": 310.5,
    }
]

RAW = {
    "users": USERS,
    "consent_events": CONSENT,
    "accounts": ACCOUNTS,
    "transactions": TRANSACTIONS,
    "credit_liabilities": CREDIT,
    "credit_aprs": APRS,
    "mortgage_liabilities": MORTGAGE,
    "student_liabilities": STUDENT,
}
EXPECTED_ROWS = {
    "users": 2,
    "consent_events": 3,
    "accounts": 5,
    "transactions": 7,
    "credit_liabilities": 1,
    "credit_aprs": 2,
    "mortgage_liabilities": 1,
    "student_liabilities": 1,
}


def tiny_tables() -> dict[str, pd.DataFrame]:
    """The valid dataset as text-and-number DataFrames in contract column order."""
    return {t: pd.DataFrame(rows, columns=[c.name for c in TABLES[t]]) for t, rows in RAW.items()}


def write_csv(tables: dict[str, pd.DataFrame], folder: Path) -> Path:
    """Write <folder>/<table>.csv for every table; returns folder."""
    folder.mkdir(parents=True, exist_ok=True)
    for table, df in tables.items():
        df.to_csv(folder / f"{table}.csv", index=False)
    return folder


def arrow_table(table: str, df: pd.DataFrame) -> pa.Table:
    """A DataFrame of the tiny dataset as an Arrow table with the contract's types."""
    types = {
        "VARCHAR": pa.string(),
        "DOUBLE": pa.float64(),
        "INTEGER": pa.int32(),
        "BOOLEAN": pa.bool_(),
        "DATE": pa.date32(),
        "TIMESTAMP": pa.timestamp("us"),
    }
    arrays = {}
    for col in TABLES[table]:
        values = df[col.name].astype(object).where(df[col.name].notna(), None).tolist()
        if col.dtype == "DATE":
            values = [None if v is None else pd.Timestamp(v).date() for v in values]
        if col.dtype == "TIMESTAMP":
            values = [None if v is None else pd.Timestamp(v).to_pydatetime() for v in values]
        arrays[col.name] = pa.array(values, type=types[col.dtype], from_pandas=False)
    return pa.table(arrays)


def write_parquet(tables: dict[str, pd.DataFrame], folder: Path) -> Path:
    """Write <folder>/<table>.parquet for every table with contract types; returns folder."""
    folder.mkdir(parents=True, exist_ok=True)
    for table, df in tables.items():
        pq.write_table(arrow_table(table, df), folder / f"{table}.parquet")
    return folder


def _clean(record: dict) -> dict:
    return {k: (None if isinstance(v, float) and pd.isna(v) else v) for k, v in record.items()}


def plaid_account(a: dict) -> dict:
    """One account in Plaid's /accounts/get shape."""
    a = _clean(a)
    out = {
        "account_id": a["account_id"],
        "balances": {
            "available": a["balance_available"],
            "current": a["balance_current"],
            "iso_currency_code": a["iso_currency_code"],
            "limit": a["balance_limit"],
            "unofficial_currency_code": None,
        },
        "mask": a["mask"],
        "name": a["name"],
        "official_name": a["official_name"],
        "subtype": a["subtype"],
        "type": a["type"],
        "verification_status": None,
    }
    if a["holder_category"] is not None:
        out["holder_category"] = a["holder_category"]
    return out


def plaid_transaction(t: dict) -> dict:
    """One transaction in Plaid's /transactions/get shape."""
    t = _clean(t)
    out = {
        k: t[k]
        for k in (
            "transaction_id",
            "account_id",
            "date",
            "authorized_date",
            "amount",
            "iso_currency_code",
            "name",
            "merchant_name",
            "merchant_entity_id",
            "payment_channel",
            "pending",
        )
    }
    out["personal_finance_category"] = {
        "primary": t["pfc_primary"],
        "detailed": t["pfc_detailed"],
        "confidence_level": t["pfc_confidence_level"],
    }
    out["location"] = {"city": None, "region": None}
    out["counterparties"] = []
    return out


def plaid_documents(tables: dict[str, pd.DataFrame]) -> dict[str, dict]:
    """Per user: '<user>.transactions.json' ({accounts, transactions}) and '<user>.liabilities.json'."""
    docs = {}
    accounts = tables["accounts"].to_dict("records")
    for user in tables["users"]["user_id"]:
        mine = [a for a in accounts if a["user_id"] == user]
        ids = {a["account_id"] for a in mine}
        txns = [
            plaid_transaction(t) for t in tables["transactions"].to_dict("records") if t["account_id"] in ids
        ]
        docs[f"{user}.transactions.json"] = {
            "accounts": [plaid_account(a) for a in mine],
            "transactions": txns,
            "total_transactions": len(txns),
            "request_id": "req",
        }
        credit = []
        for c in tables["credit_liabilities"].to_dict("records"):
            if c["account_id"] in ids:
                aprs = [
                    {k: v for k, v in _clean(a).items() if k != "account_id"}
                    for a in tables["credit_aprs"].to_dict("records")
                    if a["account_id"] == c["account_id"]
                ]
                credit.append({**_clean(c), "aprs": aprs})
        mortgage = [
            {
                **{k: v for k, v in _clean(m).items() if not k.startswith("interest_rate")},
                "interest_rate": {
                    "percentage": m["interest_rate_percentage"],
                    "type": m["interest_rate_type"],
                },
            }
            for m in tables["mortgage_liabilities"].to_dict("records")
            if m["account_id"] in ids
        ]
        student = [
            _clean(s) for s in tables["student_liabilities"].to_dict("records") if s["account_id"] in ids
        ]
        docs[f"{user}.liabilities.json"] = {
            "accounts": [plaid_account(a) for a in mine],
            "liabilities": {"credit": credit, "mortgage": mortgage, "student": student},
        }
    return docs


def write_json(tables: dict[str, pd.DataFrame], folder: Path) -> Path:
    """Write the Plaid-shaped JSON documents into folder; returns folder."""
    folder.mkdir(parents=True, exist_ok=True)
    for name, doc in plaid_documents(tables).items():
        (folder / name).write_text(json.dumps(doc, indent=2), encoding="utf-8")
    return folder


def fingerprint(*paths: Path) -> dict[str, str | None]:
    """sha256 of each file (and its -wal/-shm/.wal companions), None when absent: equal before/after = untouched."""
    out = {}
    for path in paths:
        for p in (path, Path(f"{path}-wal"), Path(f"{path}-shm"), Path(f"{path}.wal")):
            out[str(p)] = hashlib.sha256(p.read_bytes()).hexdigest() if p.exists() else None
    return out
