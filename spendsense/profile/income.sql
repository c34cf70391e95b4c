-- Average monthly income deposits per user over the last 180 days (a quick look before signals run).
with transactions as (
    select * from transactions
),

deposits as (
    select user_id, sum(-amount) as income
    from transactions
    where amount < 0
      and pfc_primary = 'INCOME'
      and not pending
      and date > cast($as_of as date) - interval 180 day
      and date <= cast($as_of as date)
    group by user_id
),

final as (
    select user_id, income * 30.0 / 180 as monthly_income from deposits
)

select * from final
