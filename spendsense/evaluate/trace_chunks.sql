-- Consecutive ranges of users with about $rows recommendations each: decision traces are exported range by range,
-- so no step renders or sorts more than one range's traces at a time.
with recommendations as (
    select user_id from recommendations where user_id is not null
),

per_user as (
    select user_id, count(*) as recommendations from recommendations group by user_id
),

numbered as (
    select user_id, sum(recommendations) over (order by user_id) - recommendations as before from per_user
),

final as (
    select before // $rows as chunk, min(user_id) as first_user, max(user_id) as last_user
    from numbered
    group by chunk
)

select * from final order by chunk
