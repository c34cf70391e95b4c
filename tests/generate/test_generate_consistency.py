"""Internal consistency: balances reconcile, payments show on both sides, liabilities match transactions."""

from __future__ import annotations

import datetime as dt

import numpy as np
import pandas as pd
import pytest

from spendsense.generate.calendar import add_months

_FRAMES: dict[int, tuple] = {}


def _frames(run):
    """transactions with the account's user, type and subtype; accounts; openings (cached per run)."""
    if id(run) not in _FRAMES:
        _FRAMES[id(run)] = _build_frames(run)
    tx, accounts, openings = _FRAMES[id(run)]
    return tx.copy(), accounts.copy(), openings


def _build_frames(run):
    t = run.tables
    accounts = t["accounts"].copy()
    tx = t["transactions"].copy()
    tx["account_id"] = tx["account_id"].astype(str)
    tx["pfc_detailed"] = tx["pfc_detailed"].astype(str)
    tx["name"] = tx["name"].astype(str)
    tx["date"] = pd.to_datetime(tx["date"].astype("datetime64[s]"))
    tx = tx.merge(accounts[["account_id", "user_id", "type", "subtype"]], on="account_id")
    return tx, accounts, run.opening_balances


def _cents(x) -> np.ndarray:
    return np.rint(np.asarray(x, dtype=float) * 100).astype(np.int64)


@pytest.fixture(params=["default_run", "other_run"])
def run(request):
    return request.getfixturevalue(request.param)


def test_every_balance_is_opening_plus_posted_transactions(run):
    """Credit: current = opening + sum of posted amounts; depository: current = opening - sum (Plaid sign)."""
    tx, accounts, openings = _frames(run)
    posted = tx[~tx["pending"]].groupby("account_id")["amount"].sum()
    merged = accounts.merge(openings, on="account_id")
    merged["posted"] = merged["account_id"].map(posted).fillna(0.0)
    credit = merged["type"] == "credit"
    depository = merged["type"] == "depository"
    loan = merged["type"] == "loan"
    assert (
        _cents(merged.loc[credit, "opening_balance"]) + _cents(merged.loc[credit, "posted"])
        == _cents(merged.loc[credit, "balance_current"])
    ).all()
    assert (
        _cents(merged.loc[depository, "opening_balance"]) - _cents(merged.loc[depository, "posted"])
        == _cents(merged.loc[depository, "balance_current"])
    ).all()
    assert (merged.loc[loan, "posted"] == 0).all()  # no transactions are posted on loan accounts


def test_card_balance_is_last_statement_plus_activity_since(run):
    """Checkable from the data alone: current = last_statement_balance + posted card activity after it."""
    tx, accounts, _ = _frames(run)
    credit = run.tables["credit_liabilities"].merge(
        accounts[["account_id", "balance_current"]], on="account_id"
    )
    stmt = pd.to_datetime(credit["last_statement_issue_date"].astype("datetime64[s]"))
    card_tx = tx[tx["type"] == "credit"].merge(
        pd.DataFrame({"account_id": credit["account_id"], "stmt": stmt}), on="account_id"
    )
    since = (
        card_tx[(card_tx["date"] > card_tx["stmt"]) & ~card_tx["pending"]]
        .groupby("account_id")["amount"]
        .sum()
    )
    expected = _cents(credit["last_statement_balance"]) + _cents(credit["account_id"].map(since).fillna(0))
    assert (expected == _cents(credit["balance_current"])).all()


def test_available_balances(run):
    tx, accounts, _ = _frames(run)
    pending = tx[tx["pending"]].groupby("account_id")["amount"].sum()
    accounts = accounts.assign(pending=accounts["account_id"].map(pending).fillna(0.0))
    cards = accounts[accounts["type"] == "credit"]
    assert (
        _cents(cards["balance_available"])
        == _cents(cards["balance_limit"]) - _cents(cards["balance_current"]) - _cents(cards["pending"])
    ).all()
    dep = accounts[accounts["type"] == "depository"]
    assert (_cents(dep["balance_available"]) == _cents(dep["balance_current"]) - _cents(dep["pending"])).all()
    loans = accounts[accounts["type"] == "loan"]
    assert loans["balance_available"].isna().all() and loans["balance_limit"].isna().all()


def test_every_card_payment_has_its_twin_on_checking(run):
    tx, _, _ = _frames(run)
    payments = tx[tx["pfc_detailed"] == "LOAN_PAYMENTS_CREDIT_CARD_PAYMENT"]
    on_card = payments[payments["type"] == "credit"]
    on_checking = payments[payments["subtype"] == "checking"]
    assert len(on_card) > 0 and len(on_card) == len(on_checking)
    assert (on_card["amount"] < 0).all() and (on_checking["amount"] > 0).all()
    key_card = on_card.assign(c=-_cents(on_card["amount"]))[["user_id", "date", "c"]]
    key_chk = on_checking.assign(c=_cents(on_checking["amount"]))[["user_id", "date", "c"]]
    merged = key_card.value_counts().to_frame("n").join(key_chk.value_counts().to_frame("m"), how="outer")
    assert merged["n"].equals(merged["m"])


def test_interest_agrees_with_liabilities(run):
    tx, _, _ = _frames(run)
    credit = run.tables["credit_liabilities"]
    aprs = run.tables["credit_aprs"]
    interest_row = aprs.groupby("account_id")["interest_charge_amount"].sum()
    stmt = credit.set_index("account_id")["last_statement_issue_date"].astype("datetime64[s]")
    interest_tx = tx[tx["pfc_detailed"] == "BANK_FEES_INTEREST_CHARGE"]
    assert (interest_tx["type"] == "credit").all() and (interest_tx["amount"] > 0).all()
    on_stmt = interest_tx[
        interest_tx["date"].to_numpy() == stmt.reindex(interest_tx["account_id"]).to_numpy()
    ]
    charged = on_stmt.groupby("account_id")["amount"].sum().reindex(interest_row.index).fillna(0.0)
    assert (_cents(charged) == _cents(interest_row)).all()
    assert (interest_row > 0).sum() > 5  # revolving cards are charged interest on their last statement
    assert (aprs.loc[aprs["interest_charge_amount"] > 0, "balance_subject_to_apr"] > 0).all()


def test_last_card_payment_matches_liability(run):
    tx, _, _ = _frames(run)
    credit = run.tables["credit_liabilities"].set_index("account_id")
    paid = tx[(tx["type"] == "credit") & (tx["pfc_detailed"] == "LOAN_PAYMENTS_CREDIT_CARD_PAYMENT")]
    last = paid.sort_values(["date", "transaction_id"]).groupby("account_id").last()
    both = credit.join(last[["date", "amount"]], how="left")
    has = both["last_payment_date"].notna()
    assert (has == both["date"].notna()).all()
    assert (
        both.loc[has, "last_payment_date"].astype("datetime64[s]").to_numpy()
        == both.loc[has, "date"].to_numpy()
    ).all()
    assert (_cents(both.loc[has, "last_payment_amount"]) == -_cents(both.loc[has, "amount"])).all()


def test_liability_fields_are_sane(run):
    credit = run.tables["credit_liabilities"]
    assert (credit["minimum_payment_amount"] >= 0).all()
    assert (credit["minimum_payment_amount"] <= credit["last_statement_balance"].clip(lower=0) + 0.005).all()
    as_of = pd.Timestamp(run.tables["ground_truth"].attrs["spendsense_generator"]["as_of"])
    stmt = credit["last_statement_issue_date"].astype("datetime64[s]")
    assert ((as_of - stmt).dt.days.between(0, 31)).all()
    due = credit["next_payment_due_date"].astype("datetime64[s]")
    assert (due > stmt).all()
    aprs = run.tables["credit_aprs"]
    assert set(aprs["account_id"]) == set(credit["account_id"])  # every card has at least a purchase APR
    assert aprs["apr_percentage"].between(0, 40).all()


def test_loan_payments_match_liabilities(run):
    tx, accounts, _ = _frames(run)
    for table, category in (
        ("mortgage_liabilities", "LOAN_PAYMENTS_MORTGAGE_PAYMENT"),
        ("student_liabilities", "LOAN_PAYMENTS_STUDENT_LOAN_PAYMENT"),
    ):
        liab = run.tables[table].merge(
            accounts[["account_id", "user_id", "balance_current"]], on="account_id"
        )
        assert len(liab) > 0
        paid = tx[(tx["pfc_detailed"] == category) & (tx["subtype"] == "checking")]
        last = paid.sort_values("date").groupby("user_id").last()
        joined = liab.set_index("user_id").join(last[["date", "amount"]])
        assert (
            joined["last_payment_date"].astype("datetime64[s]").to_numpy() == joined["date"].to_numpy()
        ).all()
        assert (_cents(joined["last_payment_amount"]) == _cents(joined["amount"])).all()
        assert (joined["balance_current"] > 0).all()
        assert (joined["balance_current"] < joined["origination_principal_amount"]).all()


def test_pending_only_recent_purchases(run):
    tx, _, _ = _frames(run)
    as_of = pd.Timestamp(run.tables["ground_truth"].attrs["spendsense_generator"]["as_of"])
    pending = tx[tx["pending"]]
    assert len(pending) > 0
    assert ((as_of - pending["date"]).dt.days <= 1).all()
    assert (pending["amount"] > 0).all()
    assert (
        not pending["pfc_detailed"].str.startswith(("INCOME", "TRANSFER", "LOAN_PAYMENTS", "BANK_FEES")).any()
    )


def test_authorized_date_not_after_posting(run):
    tx = run.tables["transactions"]
    auth = tx["authorized_date"].astype("datetime64[s]")
    posted = tx["date"].astype("datetime64[s]")
    has = auth.notna()
    assert has.mean() > 0.8
    assert ((posted[has] - auth[has]).dt.days.between(0, 2)).all()


def test_history_covers_at_least_13_months(run):
    meta = run.tables["ground_truth"].attrs["spendsense_generator"]
    as_of = dt.date.fromisoformat(meta["as_of"])
    dates = run.tables["transactions"]["date"].astype("datetime64[s]")
    assert dates.max() <= pd.Timestamp(as_of)
    assert dates.min() <= pd.Timestamp(add_months(as_of, -13) + dt.timedelta(days=1))
    # every user is paid throughout: a deposit in the first and in the last 40 days of the history
    tx, _, _ = _frames(run)
    pay = tx[tx["pfc_detailed"].isin(["INCOME_WAGES", "INCOME_RETIREMENT_PENSION"])]
    first = pay.groupby("user_id")["date"].min()
    last = pay.groupby("user_id")["date"].max()
    assert len(first) == len(run.tables["users"])
    assert ((first - dates.min()).dt.days <= 80).all()
    assert ((pd.Timestamp(as_of) - last).dt.days <= 40).all()


def test_sign_convention(run):
    tx, _, _ = _frames(run)
    detailed = tx["pfc_detailed"]
    assert (tx.loc[detailed.isin(["INCOME_WAGES", "INCOME_INTEREST_EARNED"]), "amount"] < 0).all()
    assert (
        tx.loc[
            detailed.isin(
                [
                    "FOOD_AND_DRINK_GROCERIES",
                    "RENT_AND_UTILITIES_RENT",
                    "BANK_FEES_OVERDRAFT_FEES",
                    "TRANSFER_OUT_SAVINGS",
                ]
            ),
            "amount",
        ]
        > 0
    ).all()
    assert (tx.loc[detailed == "TRANSFER_IN_SAVINGS", "amount"] < 0).all()
    savings_in = tx[detailed == "TRANSFER_IN_SAVINGS"]
    assert savings_in["subtype"].isin(["savings", "money market", "cd", "cash management", "hsa"]).all()


def test_subscriptions_are_stable_and_merchant_keyed(run):
    tx, _, _ = _frames(run)
    subs = tx[tx["name"].isin(["NETFLIX.COM", "SPOTIFY USA", "HELLOFRESH US", "COMCAST XFINITY"])]
    assert subs["merchant_entity_id"].notna().all() and subs["merchant_name"].notna().all()
    spread = subs.groupby(["user_id", "name"])["amount"].agg(lambda a: a.max() / a.min())
    assert (spread < 1.2).all()


def test_only_fee_prone_users_pay_fees_or_overdraw(run):
    tx, accounts, openings = _frames(run)
    truth = run.tables["ground_truth"].set_index("user_id")
    fees = tx[
        tx["pfc_detailed"].isin(
            ["BANK_FEES_OVERDRAFT_FEES", "BANK_FEES_INSUFFICIENT_FUNDS", "BANK_FEES_LATE_FEES"]
        )
    ]
    assert truth.loc[fees["user_id"].unique(), "planted_personas"].str.contains("cash_flow_stressed").all()
    checking = tx[(tx["subtype"] == "checking") & ~tx["pending"]]
    daily = checking.groupby(["account_id", "date"])["amount"].sum().groupby(level=0).cumsum()
    opening = openings.set_index("account_id")["opening_balance"]
    balance = opening.reindex(daily.index.get_level_values(0)).to_numpy() - daily.to_numpy()
    low = pd.Series(balance, index=daily.index).groupby(level=0).min()
    owner = accounts.set_index("account_id")["user_id"]
    overdrawn = owner.reindex(low[low < -0.005].index)
    assert truth.loc[overdrawn, "planted_personas"].str.contains("cash_flow_stressed").all()
    assert len(overdrawn) > 0
