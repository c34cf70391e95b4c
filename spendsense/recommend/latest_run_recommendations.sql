-- The recommendations of the warehouse's latest run (by created_at, then run_id), in delivery shape, read in
-- chunks of users.

-- name: latest_run
with

recs as (
    select run_id, created_at from recommendations
),

final as (
    select run_id
    from recs
    order by created_at desc, run_id desc
    limit 1
)

select * from final

-- name: run_recommendations
-- $run_id's recommendations of the users from $first to $last (null: no bound), in delivery order
with

recs as (
    select * from recommendations
),

final as (
    select r.run_id, r.user_id, r.item_id, r.kind, r.recommendation_id
    from recs as r
    where r.run_id = $run_id
      and ($first is null or r.user_id >= $first)
      and ($last is null or r.user_id <= $last)
)

select * from final order by user_id, recommendation_id
