-- What the run's input holds: users (and how many have no demographics), accounts, transactions and their
-- dates, and how many transactions fall after as_of (outside every window) or inside the shortest window.
-- $as_of: the run's window end; $window_days: the shortest window.
with user_counts as (
    select
        count(*) as users,
        count(*) filter (where age_band = 'unknown' and gender = 'unknown' and region = 'unknown'
                         and income_tier = 'unknown') as users_without_demographics
    from users
),

transaction_counts as (
    select
        count(*) as transactions,
        count(distinct user_id) as users_with_transactions,
        min(date) as first_date,
        max(date) as last_date,
        count(*) filter (where date > $as_of) as transactions_after_as_of,
        count(*) filter (where date <= $as_of and date > $as_of - $window_days) as transactions_in_shortest_window
    from transactions
),

final as (
    select
        u.users,
        u.users_without_demographics,
        (select count(*) from accounts) as accounts,
        t.transactions,
        t.users_with_transactions,
        t.first_date,
        t.last_date,
        t.transactions_after_as_of,
        t.transactions_in_shortest_window
    from user_counts as u
    cross join transaction_counts as t
)

select * from final
