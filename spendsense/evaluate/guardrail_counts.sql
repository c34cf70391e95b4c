-- Guardrail events counted by guardrail, outcome and rule.
with guardrail_events as (
    select guardrail, outcome, rule from guardrail_events
),

final as (
    select guardrail, outcome, rule, count(*) as events
    from guardrail_events
    group by guardrail, outcome, rule
)

select * from final order by guardrail, outcome, rule
