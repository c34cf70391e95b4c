"""An independent, test-only reading of issue 3's signal and persona rules, to check the generator's plan.

Written from the rules' text (not from the generator's code) in plain DuckDB SQL over the generated tables.
"""

from __future__ import annotations

import datetime as dt

import duckdb
import pandas as pd

SQL = """
with
personal as (
    select account_id, user_id, type, subtype, balance_current, balance_limit
    from accounts where coalesce(holder_category, 'personal') <> 'business'
),
tx as (
    select t.*, a.user_id, a.type as acct_type, a.subtype as acct_subtype
    from transactions t join personal a using (account_id)
    where not t.pending and t.date <= $as_of
),
windows as (select unnest([30, 180]) as w),
spend as (
    select u.user_id, w.w,
           coalesce(sum(t.amount) filter (where t.amount > 0 and t.acct_type in ('depository', 'credit')
               and t.pfc_primary not in ('TRANSFER_IN', 'TRANSFER_OUT')
               and t.pfc_detailed <> 'LOAN_PAYMENTS_CREDIT_CARD_PAYMENT'
               and t.date > $as_of - w.w), 0) as spending
    from users u cross join windows w left join tx t on t.user_id = u.user_id
    group by all
),
stream_tx as (
    select t.user_id, w.w, t.date, t.amount,
           coalesce('e:' || t.merchant_entity_id, 'm:' || lower(t.merchant_name), 'n:' || lower(t.name)) as k
    from tx t cross join windows w
    where t.amount > 0 and t.acct_type in ('depository', 'credit')
      and t.pfc_primary not in ('TRANSFER_IN', 'TRANSFER_OUT', 'LOAN_PAYMENTS', 'INCOME', 'BANK_FEES')
      and t.pfc_detailed <> 'RENT_AND_UTILITIES_RENT'
      and t.date > $as_of - greatest(w.w, 90)
),
gaps as (
    select *, date_diff('day', lag(date) over (partition by user_id, w, k order by date), date) as gap
    from stream_tx
),
streams as (
    select user_id, w, k, count(*) as n, median(gap) as med_gap, median(amount) as med_amount,
           max(amount) as hi, min(amount) as lo,
           sum(amount) filter (where date > $as_of - w) as in_window
    from gaps group by all
),
recurring as (
    select * from streams
    where n >= 3
      and ((med_gap between 5 and 9) or (med_gap between 26 and 35))
      and hi - med_amount <= greatest(0.2 * med_amount, 5)
      and med_amount - lo <= greatest(0.2 * med_amount, 5)
      and in_window is not null
),
subs as (
    select u.user_id, w.w, count(r.k) as rec_count, coalesce(sum(r.in_window), 0) as rec_spend
    from users u cross join windows w left join recurring r on r.user_id = u.user_id and r.w = w.w
    group by all
),
sav_acc as (
    select * from personal
    where type = 'depository' and subtype in ('savings', 'money market', 'cd', 'cash management', 'hsa')
),
sav as (
    select u.user_id, w.w,
           coalesce((select sum(balance_current) from sav_acc s where s.user_id = u.user_id), 0) as bal,
           coalesce((select -sum(t.amount) from tx t join sav_acc s using (account_id)
                     where s.user_id = u.user_id and t.date > $as_of - w.w), 0) as net
    from users u cross join windows w
),
cards as (select * from personal where type = 'credit'),
card_w as (
    select c.user_id, c.account_id, w.w, c.balance_current / c.balance_limit as util,
           coalesce((select sum(t.amount) from tx t where t.account_id = c.account_id
                     and t.pfc_detailed = 'BANK_FEES_INTEREST_CHARGE'
                     and t.date > $as_of - w.w), 0) as interest,
           (select count(*) from tx t where t.account_id = c.account_id and t.amount < 0
                     and t.pfc_detailed = 'LOAN_PAYMENTS_CREDIT_CARD_PAYMENT'
                     and t.date > $as_of - w.w) as n_pay,
           (select max(-t.amount) from tx t where t.account_id = c.account_id and t.amount < 0
                     and t.pfc_detailed = 'LOAN_PAYMENTS_CREDIT_CARD_PAYMENT'
                     and t.date > $as_of - w.w) as max_pay,
           l.minimum_payment_amount as min_pay, l.last_payment_amount as last_pay, l.is_overdue
    from cards c cross join windows w left join credit_liabilities l using (account_id)
),
credit as (
    select user_id, w, max(util) as max_util, sum(interest) as interest,
           bool_or(case when n_pay > 0 then max_pay <= 1.05 * min_pay
                        else coalesce(last_pay <= 1.05 * min_pay, false) end) as min_only,
           bool_or(coalesce(is_overdue, false)) as overdue
    from card_w group by all
),
payroll as (
    select t.user_id, w.w, t.date
    from tx t cross join windows w
    where t.amount < 0 and t.acct_type = 'depository'
      and (t.pfc_detailed in ('INCOME_WAGES', 'INCOME_SALARY')
           or regexp_matches(lower(t.name), 'payroll|direct dep|dir dep'))
      and t.date > $as_of - greatest(w.w, 90)
),
pay_gaps as (
    select *, date_diff('day', lag(date) over (partition by user_id, w order by date), date) as gap
    from payroll
),
income as (select user_id, w, median(gap) as med_gap from pay_gaps group by all),
checking as (
    select user_id, sum(balance_current) as chk from personal
    where type = 'depository' and subtype not in ('savings', 'money market', 'cd', 'cash management', 'hsa')
    group by all
),
fees as (
    select u.user_id, w.w, count(t.transaction_id) as fee_count
    from users u cross join windows w
    left join tx t on t.user_id = u.user_id and t.date > $as_of - w.w
         and t.pfc_detailed in ('BANK_FEES_OVERDRAFT_FEES', 'BANK_FEES_INSUFFICIENT_FUNDS',
                                'BANK_FEES_LATE_FEES')
    group by all
),
final as (
    select s.user_id, s.w as window_days, s.spending, b.rec_count, b.rec_spend * 30.0 / s.w as rec_monthly,
           case when s.spending > 0 then b.rec_spend / s.spending end as rec_share,
           v.net * 30.0 / s.w as net_monthly,
           case when v.bal - v.net > 0 then v.net / (v.bal - v.net) end as growth,
           c.max_util, c.interest, c.min_only, c.overdue, i.med_gap,
           case when s.spending > 0 then coalesce(k.chk, 0) / (s.spending * 30.0 / s.w) end as buffer,
           f.fee_count
    from spend s
    join subs b using (user_id, w) join sav v using (user_id, w) join fees f using (user_id, w)
    left join credit c using (user_id, w) left join income i using (user_id, w)
    left join checking k using (user_id)
)
select * from final order by user_id, window_days
"""


def signals(tables: dict[str, pd.DataFrame], as_of: dt.date) -> pd.DataFrame:
    """One row per user and window with the signals the persona rules read."""
    con = duckdb.connect()
    for name in ("users", "accounts", "transactions", "credit_liabilities"):
        con.register(name, tables[name])
    return con.execute(SQL, {"as_of": as_of}).df()


def matched_personas(sig: pd.DataFrame) -> pd.DataFrame:
    """The persona rules of issue 3 applied to every (user, window): one boolean column per persona."""
    out = sig[["user_id", "window_days"]].copy()
    out["high_utilization"] = (
        (sig.max_util >= 0.5)
        | (sig.interest > 0)
        | sig.min_only.fillna(False).astype(bool)
        | sig.overdue.fillna(False).astype(bool)
    )
    out["variable_income_budgeter"] = (sig.med_gap > 45) & (sig.buffer < 1)
    out["subscription_heavy"] = (sig.rec_count >= 3) & ((sig.rec_monthly >= 50) | (sig.rec_share >= 0.10))
    out["savings_builder"] = ((sig.growth >= 0.02) | (sig.net_monthly >= 200)) & (
        sig.max_util.isna() | (sig.max_util < 0.30)
    )
    out["cash_flow_stressed"] = sig.fee_count >= sig.window_days.map({30: 1, 180: 2})
    return out
