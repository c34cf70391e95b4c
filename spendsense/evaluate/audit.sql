-- Auditability: does every recommendation have a decision trace with every part filled in?
with recommendations as (
    select recommendation_id from recommendations
),

decision_traces as (
    select recommendation_id, trace from decision_traces
),

checked as (
    select
        r.recommendation_id,
        t.trace is not null as has_trace,
        t.trace is not null
        and json_extract(t.trace, '$.inputs.signals') is not null
        and json_extract(t.trace, '$.inputs.persona') is not null
        and json_extract(t.trace, '$.stages') is not null
        and json_extract(t.trace, '$.score.components') is not null
        and json_extract_string(t.trace, '$.template_id') is not null
        and json_extract(t.trace, '$.guardrails') is not null
        and json_extract(t.trace, '$.versions.content') is not null
        and json_extract(t.trace, '$.versions.config') is not null
        and json_extract(t.trace, '$.versions.code') is not null as complete
    from recommendations as r
    left join decision_traces as t using (recommendation_id)
),

final as (
    select * from checked
)

select * from final
