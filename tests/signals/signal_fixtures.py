"""Tiny hand-built warehouses for the signal and persona tests: raw tables with the spendsense.schema columns."""

from __future__ import annotations

import csv
import datetime as dt
from functools import cache

import duckdb
import pandas as pd

from spendsense import paths, schema

AS_OF = dt.date(2026, 10, 31)


@cache
def primary_of() -> dict[str, str]:
    """Detailed personal_finance_category code -> its primary code (taxonomy v1 and v2)."""
    out: dict[str, str] = {}
    with (paths.TAXONOMY_DIR / "pfc_taxonomy_v1.csv").open(encoding="utf-8") as fh:
        for row in csv.DictReader(fh):
            out[row["DETAILED"].strip()] = row["PRIMARY"].strip()
    with (paths.TAXONOMY_DIR / "pfc_taxonomy_v2_v1_crosswalk.csv").open(encoding="utf-8") as fh:
        for row in csv.DictReader(fh):
            out[row["pfc_v2_detailed"].strip()] = row["pfc_v2_primary"].strip()
    return out


def day(text: str) -> dt.date:
    """A date from 'YYYY-MM-DD' or 'MM-DD' (year 2026)."""
    return dt.date.fromisoformat(text if len(text) == 10 else f"2026-{text}")


class WarehouseBuilder:
    """Collects raw rows, then builds an in-memory DuckDB warehouse shaped like ingest's output."""

    def __init__(self) -> None:
        self.rows: dict[str, list[dict]] = {t: [] for t in schema.TABLES}
        self.account_owner: dict[str, str] = {}
        self._txn_seq = 0

    def user(self, user_id: str) -> WarehouseBuilder:
        self.rows["users"].append({
            "user_id": user_id, "name": f"Test {user_id}", "age_band": "25-34", "gender": "female",
            "region": "west", "income_tier": "middle", "credit_score": 700, "created_at": dt.date(2024, 1, 1),
        })
        return self

    def account(self, account_id: str, user_id: str, type: str = "depository", subtype: str = "checking",
                balance: float | None = 0.0, limit: float | None = None, mask: str = "0000",
                name: str | None = None, holder: str | None = "personal") -> WarehouseBuilder:
        self.account_owner[account_id] = user_id
        self.rows["accounts"].append({
            "account_id": account_id, "user_id": user_id, "name": name or f"{subtype} {mask}",
            "official_name": None, "mask": mask, "type": type, "subtype": subtype, "balance_available": None,
            "balance_current": balance, "balance_limit": limit, "iso_currency_code": "USD",
            "holder_category": holder,
        })
        return self

    def txn(self, account_id: str, date: str, amount: float, name: str, category: str, *,
            merchant: str | None = None, entity: str | None = None, pending: bool = False,
            txn_id: str | None = None) -> str:
        self._txn_seq += 1
        txn_id = txn_id or f"t{self._txn_seq:04d}"
        self.rows["transactions"].append({
            "transaction_id": txn_id, "account_id": account_id, "date": day(date), "authorized_date": None,
            "amount": amount, "iso_currency_code": "USD", "name": name, "merchant_name": merchant,
            "merchant_entity_id": entity, "payment_channel": "online", "pfc_primary": primary_of()[category],
            "pfc_detailed": category, "pfc_confidence_level": "HIGH", "pending": pending,
            "user_id": self.account_owner[account_id],
        })
        return txn_id

    def liability(self, account_id: str, minimum_payment: float | None, last_payment: float | None = None,
                  is_overdue: bool | None = False) -> WarehouseBuilder:
        self.rows["credit_liabilities"].append({
            "account_id": account_id, "is_overdue": is_overdue, "last_payment_amount": last_payment,
            "last_payment_date": None, "last_statement_balance": None, "last_statement_issue_date": None,
            "minimum_payment_amount": minimum_payment, "next_payment_due_date": None,
        })
        return self

    def apr(self, account_id: str, percentage: float, apr_type: str = "purchase_apr") -> WarehouseBuilder:
        self.rows["credit_aprs"].append({
            "account_id": account_id, "apr_type": apr_type, "apr_percentage": percentage,
            "balance_subject_to_apr": None, "interest_charge_amount": None,
        })
        return self

    def build(self) -> duckdb.DuckDBPyConnection:
        """An in-memory warehouse with every raw table (transactions carries user_id, as after ingest)."""
        con = duckdb.connect()
        for table, columns in schema.TABLES.items():
            cols = [(c.name, c.dtype) for c in columns]
            if table == "transactions":
                cols.append(("user_id", "VARCHAR"))
            con.execute(f"create table {table} ({', '.join(f'{n} {t}' for n, t in cols)})")
            if self.rows[table]:
                frame = pd.DataFrame(self.rows[table], columns=[n for n, _ in cols])
                con.register("fixture_rows", frame)
                select = ", ".join(f"cast({n} as {t})" for n, t in cols)
                con.execute(f"insert into {table} select {select} from fixture_rows")
                con.unregister("fixture_rows")
        return con


def consent_frame(statuses: dict[str, str]) -> pd.DataFrame:
    """A consent_status-shaped frame (user_id, status, occurred_at) from {user_id: status}."""
    return pd.DataFrame({
        "user_id": list(statuses),
        "status": list(statuses.values()),
        "occurred_at": pd.to_datetime(["2025-01-01"] * len(statuses)),
    })


# ------------------------------------------------------------------ the fixture users of the signal tests
# as_of = 2026-10-31: window 30 = 10-02 .. 10-31 (lookback 90 = 08-03 .. 10-31), window 180 = 05-05 .. 10-31.

STREAMBOX = ["08-04", "08-11", "08-19", "08-25", "09-01", "09-08", "09-15", "09-23", "09-29",
             "10-06", "10-13", "10-21", "10-27"]                          # weekly, +-1 day jitter
NETFLIX = ["05-15", "06-14", "07-16", "08-15", "09-13", "10-15"]          # monthly, jitter
COFFEE = ["07-07", "07-14", "07-21", "07-28", "08-04", "08-11", "08-18", "08-25", "09-01", "09-08",
          "09-15", "09-22"]                                               # weekly, stops before the 30d window
FRESHMART = {"09-05": 40.0, "09-12": 110.0, "09-19": 65.0, "09-26": 95.0, "10-03": 52.0, "10-10": 78.0}
RENT = ["06-01", "07-01", "08-01", "09-01", "10-01"]
BIWEEKLY_PAY = ["05-15", "05-29", "06-12", "06-26", "07-10", "07-24", "08-07", "08-21", "09-04", "09-18",
                "10-02", "10-16", "10-30"]
SEMI_MONTHLY_PAY = ["05-15", "05-29", "06-15", "06-30", "07-15", "07-31", "08-14", "08-31", "09-15", "09-30",
                    "10-15", "10-30"]
IRREGULAR_PAY = {"05-20": 1200.0, "07-10": 2500.0, "09-15": 900.0, "10-28": 1800.0}


def build_fixture() -> WarehouseBuilder:
    """The fixture users (see the module docstring of each scenario below)."""
    b = WarehouseBuilder()
    for user in ("u_sub", "u_card", "u_biweekly", "u_semimonthly", "u_irregular", "u_saver", "u_biz",
                 "u_revoked", "u_noconsent"):
        b.user(user)

    # u_sub: weekly and monthly subscriptions with jitter, a stream that stops before the 30d window, a weekly
    # grocery habit with unstable amounts, rent (never a subscription), a refund and a pending charge.
    b.account("sub_chk", "u_sub", balance=2500.0)
    for d in STREAMBOX:
        b.txn("sub_chk", d, 9.99, "STREAMBOX*MONTHLY", "ENTERTAINMENT_TV_AND_MOVIES", merchant="StreamBox",
              entity="ent_streambox")
    for d in NETFLIX:
        b.txn("sub_chk", d, 15.49, "NETFLIX.COM 8843", "ENTERTAINMENT_TV_AND_MOVIES", merchant="Netflix")
    b.txn("sub_chk", "09-20", -15.49, "NETFLIX.COM REFUND", "ENTERTAINMENT_TV_AND_MOVIES", merchant="Netflix")
    b.txn("sub_chk", "10-30", 15.49, "NETFLIX.COM 8843", "ENTERTAINMENT_TV_AND_MOVIES", merchant="Netflix",
          pending=True)
    for d in COFFEE:
        b.txn("sub_chk", d, 5.0, "COFFEE CLUB", "FOOD_AND_DRINK_COFFEE", merchant="Coffee Club", entity="ent_coffee")
    for d, amount in FRESHMART.items():
        b.txn("sub_chk", d, amount, "FRESHMART #12", "FOOD_AND_DRINK_GROCERIES", merchant="FreshMart",
              entity="ent_fresh")
    for d in RENT:
        b.txn("sub_chk", d, 1200.0, "OAKWOOD APTS", "RENT_AND_UTILITIES_RENT", merchant="Oakwood Apartments")

    # u_card: card A paid exactly the minimum, card B paid in full once, card C overdue with no payment in
    # the 30d window (falls back on last_payment_amount); interest, a purchase and a refund on card A.
    b.account("card_chk", "u_card", balance=1000.0)
    b.account("card_a", "u_card", type="credit", subtype="credit card", balance=3400.0, limit=5000.0, mask="1111",
              name="Visa Signature")
    b.account("card_b", "u_card", type="credit", subtype="credit card", balance=200.0, limit=2000.0, mask="2222",
              name="Everyday Card")
    b.account("card_c", "u_card", type="credit", subtype="credit card", balance=900.0, limit=1000.0, mask="3333",
              name="Store Card")
    b.liability("card_a", minimum_payment=85.0, last_payment=85.0).apr("card_a", 24.99).apr("card_a", 29.99,
                                                                                           "cash_apr")
    b.liability("card_b", minimum_payment=25.0, last_payment=350.0).apr("card_b", 19.5)
    b.liability("card_c", minimum_payment=30.0, last_payment=30.0, is_overdue=True)
    for d in ("08-10", "09-10", "10-10"):
        b.txn("card_a", d, -85.0, "PAYMENT THANK YOU", "LOAN_PAYMENTS_CREDIT_CARD_PAYMENT")
        b.txn("card_chk", d, 85.0, "VISA PAYMENT", "LOAN_PAYMENTS_CREDIT_CARD_PAYMENT")
    b.txn("card_a", "09-05", 49.10, "INTEREST CHARGE", "BANK_FEES_INTEREST_CHARGE")
    b.txn("card_a", "10-05", 52.30, "INTEREST CHARGE", "BANK_FEES_INTEREST_CHARGE")
    b.txn("card_a", "10-20", 45.0, "SHELL OIL 5521", "TRANSPORTATION_GAS", merchant="Shell")
    b.txn("card_a", "10-22", -20.0, "SHELL REFUND", "TRANSPORTATION_GAS", merchant="Shell")
    b.txn("card_b", "09-12", -25.0, "PAYMENT", "LOAN_PAYMENTS_CREDIT_CARD_PAYMENT")
    b.txn("card_b", "10-12", -350.0, "PAYMENT", "LOAN_PAYMENTS_CREDIT_CARD_PAYMENT")
    b.txn("card_c", "09-25", -30.0, "PAYMENT", "LOAN_PAYMENTS_CREDIT_CARD_PAYMENT")

    # u_biweekly: salary every 14 days (v2 category INCOME_SALARY), monthly rent.
    b.account("bw_chk", "u_biweekly", balance=1800.0)
    for d in BIWEEKLY_PAY:
        b.txn("bw_chk", d, -2000.0, "ACME CORP PAYROLL", "INCOME_SALARY")
    for d in ("06-03", "07-03", "08-03", "09-03", "10-03"):
        b.txn("bw_chk", d, 1500.0, "LANDLORD LLC", "RENT_AND_UTILITIES_RENT")

    # u_semimonthly: paid on the 15th and the last business day, recognised by name only.
    b.account("sm_chk", "u_semimonthly", balance=2200.0)
    for d in SEMI_MONTHLY_PAY:
        b.txn("sm_chk", d, -1500.0, "INITECH DIR DEP", "TRANSFER_IN_DEPOSIT")

    # u_irregular: gig income at irregular gaps (name match "direct dep"), two grocery runs.
    b.account("irr_chk", "u_irregular", balance=400.0)
    for d, amount in IRREGULAR_PAY.items():
        b.txn("irr_chk", d, -amount, "GIGCO DIRECT DEP", "INCOME_OTHER_INCOME")
    b.txn("irr_chk", "06-05", 300.0, "FRESHCO", "FOOD_AND_DRINK_GROCERIES", merchant="FreshCo")
    b.txn("irr_chk", "10-05", 300.0, "FRESHCO", "FOOD_AND_DRINK_GROCERIES", merchant="FreshCo")

    # u_saver: only a savings account: monthly transfers in, interest, one withdrawal; no cards, no spending.
    b.account("sav_sav", "u_saver", subtype="savings", balance=5000.0)
    for d in ("05-15", "06-15", "07-15", "08-15", "09-15", "10-15"):
        b.txn("sav_sav", d, -250.0, "TRANSFER FROM CHK", "TRANSFER_IN_SAVINGS")
    b.txn("sav_sav", "10-31", -4.10, "INTEREST PAYMENT", "INCOME_INTEREST_EARNED")
    b.txn("sav_sav", "07-02", 300.0, "WITHDRAWAL", "TRANSFER_OUT_WITHDRAWAL")

    # u_biz: fees (one reversed, one pending) and a personal purchase. Their business accounts never reach the
    # warehouse: ingest leaves them out (tests/ingest/test_ingest_load.py), so the signal SQL has no such filter.
    b.account("biz_chk", "u_biz", balance=700.0)
    b.txn("biz_chk", "10-12", 35.0, "OVERDRAFT FEE", "BANK_FEES_OVERDRAFT_FEES")
    b.txn("biz_chk", "10-13", -35.0, "OVERDRAFT FEE REVERSAL", "BANK_FEES_OVERDRAFT_FEES")
    b.txn("biz_chk", "09-02", 34.0, "NSF FEE", "BANK_FEES_INSUFFICIENT_FUNDS")
    b.txn("biz_chk", "06-20", 25.0, "LATE FEE", "BANK_FEES_LATE_FEES")
    b.txn("biz_chk", "10-30", 35.0, "OVERDRAFT FEE", "BANK_FEES_OVERDRAFT_FEES", pending=True)
    b.txn("biz_chk", "10-31", 99.0, "CORNER STORE", "FOOD_AND_DRINK_GROCERIES", pending=True)
    b.txn("biz_chk", "10-20", 60.0, "CORNER STORE", "FOOD_AND_DRINK_GROCERIES")
    b.txn("biz_chk", "10-21", 3.0, "ATM FEE", "BANK_FEES_ATM_FEES")

    # u_revoked and u_noconsent: data, but no signal may be computed for them.
    for user in ("u_revoked", "u_noconsent"):
        b.account(f"{user}_chk", user, balance=100.0)
        b.txn(f"{user}_chk", "10-10", 40.0, "SHOP", "GENERAL_MERCHANDISE_OTHER_GENERAL_MERCHANDISE")
        b.txn(f"{user}_chk", "10-11", 35.0, "OVERDRAFT FEE", "BANK_FEES_OVERDRAFT_FEES")
    return b


CONSENT = {u: "granted" for u in ("u_sub", "u_card", "u_biweekly", "u_semimonthly", "u_irregular", "u_saver",
                                   "u_biz")} | {"u_revoked": "revoked"}
