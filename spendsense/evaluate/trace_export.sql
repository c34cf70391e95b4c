-- The decision traces of one range of users, rendered once: each as a line of the run's JSON-lines file
-- (per-user JSON: `spendsense explain --user`) and checked for auditability (a trace with every part filled in).
with recommendations as (
    select recommendation_id from recommendations where user_id between $first_user and $last_user
),

decision_traces as (
    select recommendation_id, user_id, window_days, trace from decision_traces
    where user_id between $first_user and $last_user
),

parsed as (
    select
        *,
        -- parsed once; a part is missing when its path is absent (a JSON null counts as present, except for
        -- template_id, which must be a value)
        json_extract(trace, ['$.inputs.signals', '$.inputs.persona', '$.stages', '$.score.components',
                             '$.guardrails', '$.versions.content', '$.versions.config', '$.versions.code',
                             '$.template_id']) as parts
    from decision_traces
),

checked as (
    select
        t.user_id,
        t.window_days,
        r.recommendation_id,
        t.trace is not null as has_trace,
        t.trace is not null
        and list_count(t.parts) = 9
        and t.parts[9] <> 'null' as complete,
        '{"recommendation_id":' || to_json(t.recommendation_id) || ',"user_id":' || to_json(t.user_id)
        || ',"window_days":' || to_json(t.window_days) || ',"trace":' || t.trace || '}' || chr(10) as line
    from recommendations as r
    left join parsed as t using (recommendation_id)
),

final as (
    select line, has_trace, complete from checked order by user_id, window_days, recommendation_id
)

select * from final
