-- Fee signals per user and window (docs/signals.md, "Fees"): count and total of charged fees (amount > 0)
-- in $fee_categories on any personal account. Fee reversals (amount < 0) are not netted.
-- Reads signal_scope. Parameters: $as_of, $windows, $user_ids, $max_lookback_days, $fee_categories.

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
    select account_id, user_id
    from accounts
    where coalesce(holder_category, 'personal') <> 'business'
      and ($user_ids is null or list_contains(cast($user_ids as varchar[]), user_id))
),

posted_transactions as (
    select transaction_id, account_id, user_id, date, amount, pfc_detailed
    from transactions
    where not coalesce(pending, false)
      and date <= cast($as_of as date)
      and date > cast($as_of as date) - $max_lookback_days
      and ($user_ids is null or list_contains(cast($user_ids as varchar[]), user_id))
),

fees_charged as (
    select t.user_id, t.date, t.amount
    from posted_transactions as t
    inner join personal_accounts as a on a.account_id = t.account_id
    inner join scope as s on s.user_id = t.user_id
    where t.amount > 0
      and list_contains($fee_categories, coalesce(t.pfc_detailed, ''))
),

fees_by_window as (
    select
        f.user_id,
        w.window_days,
        count(*) as fee_count,
        cast(sum(cast(f.amount as decimal(18, 2))) as double) as fee_amount
    from fees_charged as f
    inner join windows as w on f.date > cast($as_of as date) - w.window_days
    group by f.user_id, w.window_days
),

final as (
    select
        s.user_id,
        w.window_days,
        coalesce(fw.fee_count, 0) as fee_count,
        coalesce(fw.fee_amount, 0.0) as fee_amount
    from scope as s
    cross join windows as w
    left join fees_by_window as fw on fw.user_id = s.user_id and fw.window_days = w.window_days
)

select * from final
