-- Fee signals per user and window (docs/signals.md, "Fees"): count and total of charged fees (amount > 0)
-- in $fee_categories on any personal account. Fee reversals (amount < 0) are not netted.
-- Reads stg_scope, stg_windows, stg_personal_accounts, stg_posted_transactions (staging.sql). Parameters:
-- $fee_categories.

with

fees_charged as (
    select t.user_id, t.date, t.amount
    from stg_posted_transactions as t
    inner join stg_personal_accounts as a on a.account_id = t.account_id
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
    inner join stg_windows as w on f.date > w.window_start
    group by f.user_id, w.window_days
),

final as (
    select
        s.user_id,
        w.window_days,
        coalesce(fw.fee_count, 0) as fee_count,
        coalesce(fw.fee_amount, 0.0) as fee_amount
    from stg_scope as s
    cross join stg_windows as w
    left join fees_by_window as fw on fw.user_id = s.user_id and fw.window_days = w.window_days
)

select * from final
