-- Recommendations per user, window and kind, with how many are relevant (persona or signal match).
with recommendations as (
    select user_id, window_days, kind, score_persona, score_signal from recommendations
),

final as (
    select
        user_id,
        window_days,
        kind,
        count(*) as recommendations,
        count(*) filter (where score_persona > 0 or score_signal > 0) as relevant,
        count(*) filter (where score_persona > 0) as persona_match,
        count(*) filter (where score_signal > 0) as signal_match
    from recommendations
    group by user_id, window_days, kind
)

select * from final order by user_id, window_days, kind
