-- Savings signals per user and window (docs/signals.md, "Savings"). Savings-like accounts: depository
-- accounts whose subtype is in $savings_subtypes. Net inflow = minus the sum of amounts (Plaid sign) on
-- those accounts in the window; start balance = current balance - net inflow.
-- Reads stg_scope, stg_windows, stg_personal_accounts, stg_posted_transactions (staging.sql). Parameters:
-- $savings_subtypes.

with

savings_accounts as (
    select a.account_id, a.user_id, a.balance_current
    from stg_personal_accounts as a
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
    from stg_posted_transactions as t
    inner join savings_accounts as sa on sa.account_id = t.account_id
    inner join stg_windows as w on t.date > w.window_start
    group by sa.user_id, w.window_days
),

savings_by_window as (
    select
        s.user_id,
        w.window_days,
        coalesce(b.savings_accounts, 0) as savings_accounts,
        coalesce(b.savings_balance, 0.0) as savings_balance,
        coalesce(f.net_inflow, 0.0) as net_inflow
    from stg_scope as s
    cross join stg_windows as w
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
