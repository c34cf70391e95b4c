-- Payroll deposits per user and window (docs/signals.md, "Income"): inflows (amount < 0) on depository
-- accounts whose detailed category is in $payroll_categories or whose lower-cased name matches
-- $payroll_name_pattern, over the lookback L = max(window, $min_lookback_days). Amount is positive dollars.
-- Reads stg_windows, stg_personal_accounts, stg_posted_transactions (staging.sql). Parameters:
-- $payroll_categories, $payroll_name_pattern.

with

payroll as (
    select t.user_id, t.transaction_id, t.account_id, t.date, -t.amount as amount
    from stg_posted_transactions as t
    inner join stg_personal_accounts as a on a.account_id = t.account_id
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
    inner join stg_windows as w on p.date > w.lookback_start
)

select * from final
order by user_id, window_days, date, transaction_id
