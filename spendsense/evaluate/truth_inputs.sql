-- What the strict relevance and rationale-truth checks read of each recommendation (evaluate.truth). The
-- rationale comes as its number among its user-window's distinct texts (equal numbers: equal texts), not as text:
-- 13M rationales as Python strings were about 4 GB at 1,000,000 users.
with recommendations as (
    select recommendation_id, user_id, window_days, kind, item_id, template_id, rationale from recommendations
),

final as (
    select
        recommendation_id, user_id, window_days, kind, item_id, template_id,
        dense_rank() over (partition by user_id, window_days order by rationale) as rationale_no
    from recommendations
)

select * from final order by user_id, window_days, kind, item_id
