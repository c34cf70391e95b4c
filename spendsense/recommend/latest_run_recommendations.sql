-- The recommendations of the warehouse's latest run (by created_at, then run_id), in delivery shape.

with

recs as (
    select * from recommendations
),

latest as (
    select run_id
    from recs
    order by created_at desc, run_id desc
    limit 1
),

final as (
    select r.run_id, r.user_id, r.item_id, r.kind, r.recommendation_id
    from recs as r
    inner join latest as l on l.run_id = r.run_id
)

select * from final order by user_id, recommendation_id
