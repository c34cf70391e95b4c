-- What the strict relevance and rationale-truth checks read of each recommendation (evaluate.truth).
with recommendations as (
    select recommendation_id, user_id, window_days, kind, item_id, template_id, rationale from recommendations
),

final as (
    select * from recommendations
)

select * from final order by user_id, window_days, kind, item_id
