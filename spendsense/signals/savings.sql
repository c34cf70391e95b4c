-- Savings signals per user and window (docs/signals.md, "Savings"). Savings-like accounts: depository
-- accounts whose subtype is in $savings_subtypes. Net inflow = minus the sum of amounts (Plaid sign) on
-- those accounts in the window; start balance = current balance - net inflow.
-- Reads signal_scope. Parameters: $as_of, $windows, $user_ids, $max_lookback_days, $savings_subtypes.

with

scope as (
    select user_id
    from signal_scope
),

windows as (
    select window_days
    from (select unnest($windows) as window_days) as requested_windows
),

personal_accounts as (
    select account_id, user_id, type, subtype, balance_current
    from accounts
    where coalesce(holder_category, 'personal') <> 'business'
      and ($user_ids is null or list_contains(cast($user_ids as varchar[]), user_id))
),

posted_transactions as (
    select transaction_id, account_id, user_id, date, amount
    from transactions
    where not coalesce(pending, false)
      and date <= cast($as_of as date)
      and date > cast($as_of as date) - $max_lookback_days
      and ($user_ids is null or list_contains(cast($user_ids as varchar[]), user_id))
),

savings_accounts as (
    select a.account_id, a.user_id, a.balance_current
    from personal_accounts as a
    inner join scope as s on s.user_id = a.user_id
    where a.type = 'depository'
      and list_contains($savings_subtypes, coalesce(a.subtype, ''))
),

savings_balances as (
    select
        user_id,
        count(*) as savings_accounts,
        cast(sum(cast(coalesce(balance_current, 0.0) as decimal(18, 2))) as double) as savings_balance
    from savings_accounts
    group by user_id
),

savings_flows as (
    select sa.user_id, w.window_days, -cast(sum(cast(t.amount as decimal(18, 2))) as double) as net_inflow
    from posted_transactions as t
    inner join savings_accounts as sa on sa.account_id = t.account_id
    inner join windows as w on t.date > cast($as_of as date) - w.window_days
    group by sa.user_id, w.window_days
),

savings_by_window as (
    select
        s.user_id,
        w.window_days,
        coalesce(b.savings_accounts, 0) as savings_accounts,
        coalesce(b.savings_balance, 0.0) as savings_balance,
        coalesce(f.net_inflow, 0.0) as net_inflow
    from scope as s
    cross join windows as w
    left join savings_balances as b on b.user_id = s.user_id
    left join savings_flows as f on f.user_id = s.user_id and f.window_days = w.window_days
),

final as (
    select
        user_id,
        window_days,
        savings_balance,
        case when savings_accounts > 0 then 1 else 0 end as has_savings_account,
        net_inflow as net_savings_inflow,
        net_inflow * 30.0 / window_days as net_savings_inflow_monthly,
        case
            when savings_balance - net_inflow > 0 then net_inflow / (savings_balance - net_inflow)
        end as savings_growth_rate
    from savings_by_window
)

select * from final
