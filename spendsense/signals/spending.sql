-- Spending per user and window (docs/signals.md, "Spending"): outflows (amount > 0) on depository and
-- credit accounts, excluding transfer categories and credit-card payments. Refunds (amount < 0) are not
-- netted against spending. Pending transactions and business accounts are left out.
-- Reads stg_scope, stg_windows, stg_personal_accounts, stg_posted_transactions (staging.sql). Parameters:
-- $spending_excluded_primary, $spending_excluded_detailed.

with

spending_outflows as (
    select t.user_id, t.date, t.amount
    from stg_posted_transactions as t
    inner join stg_personal_accounts as a on a.account_id = t.account_id
    where a.type in ('depository', 'credit')
      and t.amount > 0
      and not list_contains($spending_excluded_primary, coalesce(t.pfc_primary, ''))
      and not list_contains($spending_excluded_detailed, coalesce(t.pfc_detailed, ''))
),

spending_by_window as (
    select o.user_id, w.window_days, cast(sum(cast(o.amount as decimal(18, 2))) as double) as spending_total
    from spending_outflows as o
    inner join stg_windows as w on o.date > w.window_start
    group by o.user_id, w.window_days
),

final as (
    select
        s.user_id,
        w.window_days,
        coalesce(sw.spending_total, 0.0) as spending_total,
        coalesce(sw.spending_total, 0.0) * 30.0 / w.window_days as avg_monthly_spending
    from stg_scope as s
    cross join stg_windows as w
    left join spending_by_window as sw on sw.user_id = s.user_id and sw.window_days = w.window_days
)

select * from final
