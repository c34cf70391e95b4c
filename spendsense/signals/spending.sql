-- Spending per user and window (docs/signals.md, "Spending"): outflows (amount > 0) on depository and
-- credit accounts, excluding transfer categories and credit-card payments. Refunds (amount < 0) are not
-- netted against spending. Pending transactions and business accounts are left out.
-- Reads signal_scope (processed user ids). Parameters: $as_of, $windows, $user_ids, $max_lookback_days,
-- $spending_excluded_primary, $spending_excluded_detailed.

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
    select account_id, user_id, type
    from accounts
    where coalesce(holder_category, 'personal') <> 'business'
      and ($user_ids is null or list_contains(cast($user_ids as varchar[]), user_id))
),

posted_transactions as (
    select transaction_id, account_id, user_id, date, amount, pfc_primary, pfc_detailed
    from transactions
    where not coalesce(pending, false)
      and date <= cast($as_of as date)
      and date > cast($as_of as date) - $max_lookback_days
      and ($user_ids is null or list_contains(cast($user_ids as varchar[]), user_id))
),

spending_outflows as (
    select t.user_id, t.date, t.amount
    from posted_transactions as t
    inner join personal_accounts as a on a.account_id = t.account_id
    inner join scope as s on s.user_id = t.user_id
    where a.type in ('depository', 'credit')
      and t.amount > 0
      and not list_contains($spending_excluded_primary, coalesce(t.pfc_primary, ''))
      and not list_contains($spending_excluded_detailed, coalesce(t.pfc_detailed, ''))
),

spending_by_window as (
    select o.user_id, w.window_days, cast(sum(cast(o.amount as decimal(18, 2))) as double) as spending_total
    from spending_outflows as o
    inner join windows as w on o.date > cast($as_of as date) - w.window_days
    group by o.user_id, w.window_days
),

final as (
    select
        s.user_id,
        w.window_days,
        coalesce(sw.spending_total, 0.0) as spending_total,
        coalesce(sw.spending_total, 0.0) * 30.0 / w.window_days as avg_monthly_spending
    from scope as s
    cross join windows as w
    left join spending_by_window as sw on sw.user_id = s.user_id and sw.window_days = w.window_days
)

select * from final
