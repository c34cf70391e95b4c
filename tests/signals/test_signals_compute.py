"""Every signal of hand-built fixture users, computed by hand.

as_of = 2026-10-31. Window 30 = 2026-10-02 .. 10-31 (lookback 90 = 08-03 .. 10-31); window 180 = 05-05 .. 10-31.
"""

from __future__ import annotations

import json
import math
import statistics

import duckdb
import numpy as np
import pandas as pd
import pytest
from signal_fixtures import (
    AS_OF,
    CONSENT,
    FRESHMART,
    IRREGULAR_PAY,
    WarehouseBuilder,
    build_fixture,
    consent_frame,
)

from spendsense.signals import (
    SIGNAL_NAMES,
    TABLE_COLUMNS,
    compute_signals,
    load_signal_config,
    write_signal_tables,
)


@pytest.fixture(scope="module")
def warehouse() -> duckdb.DuckDBPyConnection:
    return build_fixture().build()


@pytest.fixture(scope="module")
def tables(warehouse):
    return compute_signals(warehouse, AS_OF, consent_frame(CONSENT), load_signal_config())


def wide_row(tables, user: str, window: int) -> dict:
    rows = tables.signals_wide.query("user_id == @user and window_days == @window")
    assert len(rows) == 1
    return rows.iloc[0].to_dict()


def check(row: dict, expected: dict) -> None:
    """Compare a signals_wide row with hand-computed values (None = NULL)."""
    for name, want in expected.items():
        got = row[name]
        if want is None:
            assert got is None or (isinstance(got, float) and math.isnan(got)), f"{name}: expected NULL, got {got}"
        elif isinstance(want, str):
            assert got == want, f"{name}: expected {want!r}, got {got!r}"
        else:
            assert got == pytest.approx(want, rel=1e-9, abs=1e-9), f"{name}: expected {want}, got {got}"


NO_CARDS = {"card_count": 0, "max_utilization": None, "cards_util_ge_30": 0, "cards_util_ge_50": 0,
            "cards_util_ge_80": 0, "minimum_payment_only": 0, "interest_charges": 0.0, "interest_charges_monthly": 0.0,
            "is_overdue": 0, "total_card_balance": 0.0, "total_credit_limit": 0.0}
NO_SAVINGS = {"savings_balance": 0.0, "has_savings_account": 0, "net_savings_inflow": 0.0,
              "net_savings_inflow_monthly": 0.0, "savings_growth_rate": None}
NO_PAY = {"payroll_count": 0, "median_pay_gap_days": None, "pay_frequency": None, "pay_gap_cv": None,
          "income_cv": None, "avg_monthly_income": 0.0}
NO_FEES = {"fee_count": 0, "fee_amount": 0.0}
NO_SUBS = {"recurring_merchant_count": 0, "recurring_spend": 0.0, "recurring_spend_monthly": 0.0}


# ------------------------------------------------------------------------------------------- subscriptions


def test_subscription_user_30d(tables):
    spending = 4 * 9.99 + 15.49 + 52.0 + 78.0            # StreamBox x4, Netflix 10-15, FreshMart 10-03/10-10
    recurring = 4 * 9.99 + 15.49                         # StreamBox (weekly) + Netflix (monthly)
    check(wide_row(tables, "u_sub", 30), {
        "spending_total": spending, "avg_monthly_spending": spending,
        "recurring_merchant_count": 2, "recurring_spend": recurring, "recurring_spend_monthly": recurring,
        "subscription_share": recurring / spending,
        "checking_balance": 2500.0, "cash_flow_buffer_months": 2500.0 / spending,
        "emergency_fund_months": 0.0, **NO_SAVINGS, **NO_CARDS, **NO_PAY, **NO_FEES,
    })


def test_subscription_user_180d(tables):
    # rent 5 x 1200 is spending but never a subscription; the refund and the pending charge are left out
    spending = 13 * 9.99 + 6 * 15.49 + 12 * 5.0 + sum(FRESHMART.values()) + 5 * 1200.0
    recurring = 13 * 9.99 + 6 * 15.49 + 12 * 5.0         # StreamBox, Netflix, Coffee Club (active in 180d)
    check(wide_row(tables, "u_sub", 180), {
        "spending_total": spending, "avg_monthly_spending": spending / 6,
        "recurring_merchant_count": 3, "recurring_spend": recurring, "recurring_spend_monthly": recurring / 6,
        "subscription_share": recurring / spending, "cash_flow_buffer_months": 2500.0 / (spending / 6),
    })


def streams(tables, user: str, window: int) -> pd.DataFrame:
    return tables.recurring_streams.query("user_id == @user and window_days == @window").set_index("merchant_key")


def test_recurring_streams_30d(tables):
    s = streams(tables, "u_sub", 30)
    # Netflix has only 3 occurrences in the 90-day lookback; rent is excluded; the refund is not an occurrence
    assert sorted(s.index) == ["entity:ent_coffee", "entity:ent_fresh", "entity:ent_streambox", "merchant:netflix"]
    box = s.loc["entity:ent_streambox"]
    assert (box.frequency, box.occurrences, box.occurrences_in_window, box.median_gap_days) == ("WEEKLY", 13, 4, 7)
    assert box.amount_stable and box.is_subscription and box.amount_in_window == pytest.approx(39.96)
    assert box.merchant == "StreamBox" and str(box.last_date.date()) == "2026-10-27"
    assert len(box.transaction_ids) == 13
    netflix = s.loc["merchant:netflix"]
    assert (netflix.frequency, netflix.occurrences, netflix.median_gap_days) == ("MONTHLY", 3, 30.5)  # gaps 29, 32
    assert netflix.is_subscription and netflix.mean_amount == pytest.approx(15.49)
    coffee = s.loc["entity:ent_coffee"]                  # stopped on 09-22: weekly and stable but not active
    assert (coffee.frequency, coffee.occurrences, coffee.occurrences_in_window) == ("WEEKLY", 8, 0)
    assert coffee.amount_stable and not coffee.is_subscription and coffee.amount_in_window == 0
    fresh = s.loc["entity:ent_fresh"]                    # median 71.50, tolerance 14.30; $40 is 31.50 away
    assert fresh.frequency == "WEEKLY" and fresh.median_amount == pytest.approx(71.5)
    assert not fresh.amount_stable and not fresh.is_subscription


def test_recurring_streams_180d(tables):
    s = streams(tables, "u_sub", 180)
    netflix = s.loc["merchant:netflix"]                  # gaps 30, 32, 30, 29, 32
    assert (netflix.frequency, netflix.occurrences, netflix.median_gap_days) == ("MONTHLY", 6, 30)
    assert s.loc["entity:ent_coffee"].is_subscription
    assert s.loc["entity:ent_coffee"].amount_in_window == pytest.approx(60.0)
    assert list(s.loc["entity:ent_streambox"].transaction_ids) == sorted(s.loc["entity:ent_streambox"].transaction_ids)


# ------------------------------------------------------------------------------------------------- credit


def test_credit_user_signals(tables):
    for window, interest, spending in ((30, 52.30, 52.30 + 45.0), (180, 52.30 + 49.10, 52.30 + 49.10 + 45.0)):
        check(wide_row(tables, "u_card", window), {
            "card_count": 3, "max_utilization": 0.9, "cards_util_ge_30": 2, "cards_util_ge_50": 2,
            "cards_util_ge_80": 1, "minimum_payment_only": 1, "interest_charges": interest,
            "interest_charges_monthly": interest * 30 / window, "is_overdue": 1,
            "total_card_balance": 4500.0, "total_credit_limit": 8000.0,
            # card payments from checking, the refund on card A: not spending
            "spending_total": spending, "avg_monthly_spending": spending * 30 / window,
            "cash_flow_buffer_months": 1000.0 / (spending * 30 / window), **NO_PAY, **NO_SUBS,
        })


def test_credit_cards_table(tables):
    cards = tables.credit_cards.query("user_id == 'u_card'").set_index(["window_days", "mask"])
    a30, b30, c30 = cards.loc[(30, "1111")], cards.loc[(30, "2222")], cards.loc[(30, "3333")]
    assert a30.utilization == pytest.approx(0.68) and (a30.flag_30, a30.flag_50, a30.flag_80) == (True, True, False)
    assert a30.payments_in_window == 1 and a30.largest_payment_in_window == 85.0
    assert a30.minimum_payment_only and a30.apr_percentage == 24.99 and a30.card_name == "Visa Signature"
    assert a30.interest_charges == pytest.approx(52.30) and not a30.is_overdue
    assert b30.utilization == pytest.approx(0.1) and not b30.minimum_payment_only      # paid 350 > 1.05 x 25
    assert c30.payments_in_window == 0 and c30.minimum_payment_only                   # last payment 30 <= 31.50
    assert c30.is_overdue and bool(c30.flag_80) and pd.isna(c30.apr_percentage)
    a180, b180 = cards.loc[(180, "1111")], cards.loc[(180, "2222")]
    assert a180.payments_in_window == 3 and a180.minimum_payment_only
    assert a180.interest_charges_monthly == pytest.approx((52.30 + 49.10) / 6)
    assert b180.payments_in_window == 2 and not b180.minimum_payment_only             # 25, then 350


# ------------------------------------------------------------------------------------------------- income


def test_biweekly_earner(tables):
    check(wide_row(tables, "u_biweekly", 30), {       # 7 deposits 08-07 .. 10-30 in the 90-day lookback
        "payroll_count": 7, "median_pay_gap_days": 14, "pay_frequency": "biweekly", "pay_gap_cv": 0.0,
        "income_cv": 0.0, "avg_monthly_income": 7 * 2000 * 30 / 90, "checking_balance": 1800.0,
        "spending_total": 1500.0, "cash_flow_buffer_months": 1800.0 / 1500.0, **NO_SUBS,
    })
    check(wide_row(tables, "u_biweekly", 180), {
        "payroll_count": 13, "median_pay_gap_days": 14, "pay_frequency": "biweekly",
        "avg_monthly_income": 13 * 2000 * 30 / 180, "spending_total": 7500.0,
        "cash_flow_buffer_months": 1800.0 / 1250.0,
    })
    deposits = tables.payroll_deposits.query("user_id == 'u_biweekly'")
    assert (deposits.window_days.value_counts().to_dict() == {180: 13, 30: 7}) and (deposits.amount == 2000).all()


def test_semi_monthly_earner(tables):
    check(wide_row(tables, "u_semimonthly", 30), {     # 08-14 08-31 09-15 09-30 10-15 10-30: gaps 17,15,15,15,15
        "payroll_count": 6, "median_pay_gap_days": 15, "pay_frequency": "semi-monthly",
        "pay_gap_cv": statistics.pstdev([17, 15, 15, 15, 15]) / statistics.mean([17, 15, 15, 15, 15]),
        "income_cv": 0.0, "avg_monthly_income": 6 * 1500 * 30 / 90,
        "spending_total": 0.0, "cash_flow_buffer_months": None, "emergency_fund_months": None,
        "subscription_share": None,
    })
    check(wide_row(tables, "u_semimonthly", 180), {"payroll_count": 12, "median_pay_gap_days": 15,
                                                   "pay_frequency": "semi-monthly"})


def test_irregular_earner(tables):
    check(wide_row(tables, "u_irregular", 30), {       # 09-15 (900) and 10-28 (1800): one gap of 43 days
        "payroll_count": 2, "median_pay_gap_days": 43, "pay_frequency": "irregular", "pay_gap_cv": None,
        "income_cv": statistics.pstdev([900, 1800]) / 1350, "avg_monthly_income": 2700 * 30 / 90,
        "spending_total": 300.0, "cash_flow_buffer_months": 400.0 / 300.0,
    })
    gaps = [51, 67, 43]                               # 05-20 -> 07-10 -> 09-15 -> 10-28
    amounts = list(IRREGULAR_PAY.values())
    check(wide_row(tables, "u_irregular", 180), {
        "payroll_count": 4, "median_pay_gap_days": 51, "pay_frequency": "irregular",
        "pay_gap_cv": statistics.pstdev(gaps) / statistics.mean(gaps),
        "income_cv": statistics.pstdev(amounts) / statistics.mean(amounts),
        "avg_monthly_income": sum(amounts) * 30 / 180, "spending_total": 600.0, "avg_monthly_spending": 100.0,
        "cash_flow_buffer_months": 4.0,
    })


# ------------------------------------------------------------------------------------------------ savings


def test_savings_only_user(tables):
    net30 = 250 + 4.10                                 # transfer in 10-15 and interest 10-31
    net180 = 6 * 250 + 4.10 - 300                      # six transfers, interest, one withdrawal
    check(wide_row(tables, "u_saver", 30), {
        "savings_balance": 5000.0, "has_savings_account": 1, "net_savings_inflow": net30,
        "net_savings_inflow_monthly": net30, "savings_growth_rate": net30 / (5000 - net30),
        "spending_total": 0.0, "avg_monthly_spending": 0.0, "emergency_fund_months": None,
        "subscription_share": None, "checking_balance": 0.0, "cash_flow_buffer_months": None,
        **NO_CARDS, **NO_PAY, **NO_FEES, **NO_SUBS,
    })
    check(wide_row(tables, "u_saver", 180), {
        "net_savings_inflow": net180, "net_savings_inflow_monthly": net180 / 6,
        "savings_growth_rate": net180 / (5000 - net180),
    })


def test_emergency_fund_and_negative_start_balance():
    b = WarehouseBuilder().user("u1").user("u2")
    b.account("c1", "u1", balance=100.0).account("s1", "u1", subtype="money market", balance=3000.0)
    b.txn("c1", "10-10", 600.0, "GROCER", "FOOD_AND_DRINK_GROCERIES")
    b.account("s2", "u2", subtype="hsa", balance=200.0)          # balance 200 after a 500 deposit: start -300
    b.txn("s2", "10-10", -500.0, "HSA CONTRIBUTION", "TRANSFER_IN_SAVINGS")
    out = compute_signals(b.build(), AS_OF, consent_frame({"u1": "granted", "u2": "granted"}), load_signal_config(),
                          windows=(30,))
    # 3000 in money market / 600 spent in 30 days; no flows: start balance 3000, growth 0
    check(wide_row(out, "u1", 30), {"emergency_fund_months": 5.0, "savings_growth_rate": 0.0,
                                    "net_savings_inflow": 0.0, "savings_balance": 3000.0})
    check(wide_row(out, "u2", 30), {"net_savings_inflow": 500.0, "savings_growth_rate": None})


# -------------------------------------------------------------------------------------- fees and business


def test_fees_pending_and_business_accounts(tables):
    check(wide_row(tables, "u_biz", 30), {
        "fee_count": 1, "fee_amount": 35.0,            # 10-12; the reversal and the pending fee are left out
        "spending_total": 35.0 + 60.0 + 3.0,           # fee, groceries, ATM fee; pending and business left out
        "checking_balance": 700.0, **NO_CARDS, **NO_PAY,
    })
    check(wide_row(tables, "u_biz", 180), {
        "fee_count": 3, "fee_amount": 35.0 + 34.0 + 25.0, "spending_total": 35.0 + 60.0 + 3.0 + 34.0 + 25.0,
    })
    assert tables.credit_cards.query("user_id == 'u_biz'").empty
    assert tables.payroll_deposits.query("user_id == 'u_biz'").empty


# ---------------------------------------------------------------------------------------------- consent


def test_non_consenting_users_are_skipped(tables):
    skipped = dict(zip(tables.skipped_users.user_id, tables.skipped_users.reason))
    assert skipped == {"u_revoked": "consent revoked", "u_noconsent": "no consent on record"}
    for frame in tables.frames().values():
        if frame is not tables.skipped_users:
            assert not frame.user_id.isin(["u_revoked", "u_noconsent"]).any()


def test_latest_consent_event_wins_and_ties_do_not_grant():
    b = WarehouseBuilder().user("u1").user("u2").user("u3")
    consent = pd.DataFrame({
        "user_id": ["u1", "u1", "u2", "u2", "u3"],
        "status": ["revoked", "granted", "granted", "revoked", "withdrawn"],
        "occurred_at": pd.to_datetime(["2025-01-01", "2025-02-01", "2025-03-01", "2025-03-01", "2025-01-01"]),
    })
    out = compute_signals(b.build(), AS_OF, consent, load_signal_config())
    assert sorted(out.signals_wide.user_id.unique()) == ["u1"]
    assert dict(zip(out.skipped_users.user_id, out.skipped_users.reason)) == {
        "u2": "consent revoked", "u3": "consent status withdrawn"}


def test_user_subset_matches_full_run(warehouse, tables):
    consent = consent_frame(CONSENT)
    one = compute_signals(warehouse, AS_OF, consent, load_signal_config(), user_ids=["u_card", "u_revoked", "nobody"])
    pd.testing.assert_frame_equal(one.signals_wide, tables.signals_wide.query("user_id == 'u_card'")
                                  .reset_index(drop=True))
    pd.testing.assert_frame_equal(one.credit_cards, tables.credit_cards.query("user_id == 'u_card'")
                                  .reset_index(drop=True))
    assert dict(zip(one.skipped_users.user_id, one.skipped_users.reason)) == {
        "nobody": "unknown user", "u_revoked": "consent revoked"}


def test_nobody_consenting_gives_empty_typed_tables(warehouse):
    out = compute_signals(warehouse, AS_OF, consent_frame({}), load_signal_config())
    assert out.signals_wide.empty and out.signals.empty and out.recurring_streams.empty
    assert len(out.skipped_users) == 9
    write_signal_tables(warehouse, out)
    assert warehouse.execute("select count(*) from signals_wide").fetchone() == (0,)


def test_missing_consent_column_is_a_clear_error(warehouse):
    with pytest.raises(ValueError, match="consent frame: missing column"):
        compute_signals(warehouse, AS_OF, pd.DataFrame({"user_id": ["u_sub"]}), load_signal_config())


# ------------------------------------------------------------------------------------------- shape, store


def test_long_form_matches_wide(tables):
    wide, long = tables.signals_wide, tables.signals
    assert len(long) == len(wide) * len(SIGNAL_NAMES)
    assert list(wide.columns) == [c for c, _ in TABLE_COLUMNS["signals_wide"]]
    pivot = long.pivot_table(index=["user_id", "window_days"], columns="signal", values="value", dropna=False,
                             aggfunc="first")
    for name in ("spending_total", "max_utilization", "fee_count", "savings_growth_rate"):
        got = pivot[name].reindex(pd.MultiIndex.from_frame(wide[["user_id", "window_days"]])).to_numpy()
        np.testing.assert_allclose(got, wide[name].to_numpy(dtype=float), equal_nan=True)
    freq = long.query("signal == 'pay_frequency' and user_id == 'u_biweekly'")
    assert freq.value.isna().all() and set(freq.value_text) == {"biweekly"}
    assert set(long.query("signal == 'pay_frequency' and user_id == 'u_card'").value_text.isna()) == {True}


def test_write_signal_tables_round_trip(tables):
    con = build_fixture().build()
    write_signal_tables(con, tables)
    for name, columns in TABLE_COLUMNS.items():
        described = con.execute(f"describe {name}").fetchall()
        assert [(r[0], r[1]) for r in described] == list(columns), name
        assert con.execute(f"select count(*) from {name}").fetchone()[0] == len(getattr(tables, name))
    ids = con.execute("select transaction_ids from recurring_streams where merchant_key = 'merchant:netflix' "
                      "and window_days = 30").fetchone()[0]
    assert len(ids) == 3 and json.dumps(ids)


def test_signals_view_equals_the_long_form_and_survives_a_rewrite(tables):
    con = build_fixture().build()
    con.execute("create table signals as select 1 as x")  # a warehouse from before signals became a view
    write_signal_tables(con, tables)
    write_signal_tables(con, tables)  # rewriting over the view works too
    key = ["user_id", "window_days", "signal"]
    view = con.execute("select * from signals").df().sort_values(key).reset_index(drop=True)
    computed = tables.signals.sort_values(key).reset_index(drop=True)
    pd.testing.assert_frame_equal(view, computed, check_dtype=False)
    assert con.execute("select table_type from information_schema.tables where table_name = 'signals'"
                       ).fetchone() == ("VIEW",)


def test_bad_frame_is_refused_before_anything_is_written(tables):
    con = build_fixture().build()
    broken = type(tables)(**{**tables.frames(), "payroll_deposits": tables.payroll_deposits.assign(
        date="not a date")})
    with pytest.raises(ValueError, match=r"payroll_deposits\.date: cannot store .*string values as DATE"):
        write_signal_tables(con, broken)
    assert con.execute("select count(*) from information_schema.tables where table_name = 'signals'").fetchone() == (0,)


def test_failed_write_leaves_nothing_half_written(tables):
    con = build_fixture().build()
    con.execute("create view skipped_users as select 1 as x")   # the last table cannot be replaced
    with pytest.raises(duckdb.Error):
        write_signal_tables(con, tables)
    assert con.execute("select count(*) from information_schema.tables where table_name = 'signals'").fetchone() == (0,)
    assert con.execute("select * from skipped_users").fetchall() == [(1,)]


def test_tables_stay_arrow_until_read_as_frames(tables):
    import pyarrow as pa

    assert all(isinstance(tables.source(name), pa.Table) for name in TABLE_COLUMNS)
    assert isinstance(tables.signals_wide, pd.DataFrame) and tables.signals_wide is tables.signals_wide
    assert [f.name for f in tables.source("signals").schema] == [c for c, _ in TABLE_COLUMNS["signals"]]
