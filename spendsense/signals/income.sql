-- Payroll deposits per user and window (docs/signals.md, "Income"): inflows (amount < 0) on depository
-- accounts whose detailed category is in $payroll_categories or whose lower-cased name matches
-- $payroll_name_pattern, over the lookback L = max(window, $min_lookback_days). Amount is positive dollars.
-- Reads signal_scope. Parameters: $as_of, $windows, $user_ids, $min_lookback_days, $max_lookback_days,
-- $payroll_categories, $payroll_name_pattern.

with

scope as (
    select user_id
    from signal_scope
),

windows as (
    select window_days, greatest(window_days, $min_lookback_days) as lookback_days
    from (select unnest($windows) as window_days) as requested_windows
),

personal_accounts as (
    select account_id, user_id, type
    from accounts
    where coalesce(holder_category, 'personal') <> 'business'
      and ($user_ids is null or list_contains(cast($user_ids as varchar[]), user_id))
),

posted_transactions as (
    select transaction_id, account_id, user_id, date, amount, name, pfc_detailed
    from transactions
    where not coalesce(pending, false)
      and date <= cast($as_of as date)
      and date > cast($as_of as date) - $max_lookback_days
      and ($user_ids is null or list_contains(cast($user_ids as varchar[]), user_id))
),

payroll as (
    select t.user_id, t.transaction_id, t.account_id, t.date, -t.amount as amount
    from posted_transactions as t
    inner join personal_accounts as a on a.account_id = t.account_id
    inner join scope as s on s.user_id = t.user_id
    where a.type = 'depository'
      and t.amount < 0
      and (
          list_contains($payroll_categories, coalesce(t.pfc_detailed, ''))
          or regexp_matches(lower(coalesce(t.name, '')), $payroll_name_pattern)
      )
),

final as (
    select p.user_id, w.window_days, p.transaction_id, p.account_id, p.date, p.amount
    from payroll as p
    inner join windows as w on p.date > cast($as_of as date) - w.lookback_days
)

select * from final
order by user_id, window_days, date, transaction_id
