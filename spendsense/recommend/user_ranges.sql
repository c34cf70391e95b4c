-- Contiguous user_id ranges of at most $size users each, in user order: the chunks of the recommend step and
-- the trace export (every user: all_users) and of the delivery recording (one run's: run_users).

-- name: all_users
select user_id from users

-- name: run_users
select distinct user_id from recommendations where run_id = $run_id

-- name: ranges
-- {users}: one of the queries above
with chunk_users as (
    {users}
),

numbered as (
    select user_id, (row_number() over (order by user_id) - 1) // $size as part
    from chunk_users
),

final as (
    select min(user_id) as first_user, max(user_id) as last_user
    from numbered
    group by part
    order by part
)

select * from final
