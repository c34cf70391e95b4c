-- The floor: one scan of the transactions table aggregating amount per user and month.
with transactions as (
    select user_id, date, amount from transactions
),

final as (
    select user_id, date_trunc('month', date) as month, sum(amount) as amount
    from transactions
    group by all
)

select count(*) as groups, sum(amount) as total from final
