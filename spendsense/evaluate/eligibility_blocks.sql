-- Offers removed by the eligibility guardrail per user and window (all of them: the user-window got no offer).
with guardrail_events as (
    select user_id, window_days from guardrail_events where guardrail = 'eligibility'
),

final as (
    select user_id, window_days, count(*) as blocked
    from guardrail_events
    group by user_id, window_days
)

select * from final order by user_id, window_days
