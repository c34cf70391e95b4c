-- Monthly transaction volume and money in/out, all users at once (notebook 01's profile).
with transactions as (
    select * from transactions
),

monthly as (
    select
        date_trunc('month', date) as month,
        count(*) as transactions,
        count(distinct user_id) as active_users,
        sum(case when amount > 0 then amount else 0 end) as money_out,
        sum(case when amount < 0 then -amount else 0 end) as money_in
    from transactions
    where not pending
    group by 1
),

final as (
    select * from monthly
)

select * from final order by month
