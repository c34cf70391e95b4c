-- Auditability from the typed decision facts (no JSON rendered): a recommendation has a trace when the
-- decision_traces view would render one for it (its recommendation_traces row and its user-window's
-- decision_contexts row exist), and the trace is complete when it also names its template and records the content,
-- config and code versions it was made with.
-- name: trace_audit
with recommendations as (
    select recommendation_id, user_id, template_id from recommendations
),

traces as (
    select recommendation_id, user_id, window_days, context_id from recommendation_traces
),

contexts as (
    select context_id, user_id, window_days, versions from decision_contexts
),

traced as (
    select t.recommendation_id, r.template_id, c.versions
    from traces as t
    inner join recommendations as r on r.user_id = t.user_id and r.recommendation_id = t.recommendation_id
    inner join contexts as c on c.user_id = t.user_id and c.window_days = t.window_days
        and c.context_id = t.context_id
),

checked as (
    select
        t.recommendation_id is not null as has_trace,
        t.recommendation_id is not null
        and t.template_id is not null
        and coalesce(json_exists(t.versions, '$.content') and json_exists(t.versions, '$.config')
                     and json_exists(t.versions, '$.code'), false) as complete
    from recommendations as r
    left join traced as t using (recommendation_id)
),

final as (
    select
        count(*) as recommendations,
        count(*) filter (where has_trace) as with_trace,
        count(*) filter (where complete) as complete
    from checked
)

select * from final

-- name: export_part
-- One part of a decision table as zstd Parquet: the users from $first to $last (null: unbounded), in user, window
-- and recommendation order ({table} and {order_by} come from spendsense.evaluate.store.EXPORTED, never from input).
copy (
    select * from {table}
    where ($first::varchar is null or user_id >= $first) and ($last::varchar is null or user_id <= $last)
    order by {order_by}
) to $path (format parquet, compression zstd)

-- name: rendered_traces
-- The decision traces rendered from an export (render_traces), all of them or one user's ($user_id null: all).
select * from decision_traces
where $user_id is null or user_id = $user_id
order by user_id, window_days, recommendation_id
