-- Contiguous user_id ranges of at most $size users each, in user order: the recommend step's chunks.
with users as (
    select user_id from users
),

numbered as (
    select user_id, (row_number() over (order by user_id) - 1) // $size as part
    from users
),

final as (
    select min(user_id) as first_user, max(user_id) as last_user
    from numbered
    group by part
    order by part
)

select * from final
