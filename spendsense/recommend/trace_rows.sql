-- recommendation_traces rows: the item-specific facts of each recommendation's decision (stored typed; the
-- decision_traces view turns them, with the shared decision context, into one JSON document per recommendation).
-- Views registered by the caller: rec_rows (one row per recommendation, with trig_bits: bit j set when the
-- item's j-th trigger held), rec_items (col, persona_tags, triggers: list of {idx, description}).

with

recs as (
    select * from rec_rows
),

items as (
    select * from rec_items
),

final as (
    select
        r.recommendation_id,
        r.run_id,
        r.user_id,
        r.window_days,
        r.context_id,
        r.kind,
        r.item_id,
        r.item_version,
        r.rank,
        r.kind_count,
        r.score,
        r.score_persona,
        r.score_signal,
        r.score_priority,
        r.score_freshness,
        i.persona_tags,
        r.triggers_total,
        [t.description for t in i.triggers if ((r.trig_bits >> t.idx) & 1) = 1] as matched_triggers,
        r.days_since_shown,
        r.requested_template_id,
        r.template_id,
        r.template_version,
        r.template_values,
        r.tone_action,
        r.tone_rules,
        r.tone_matches,
        case when r.tone_action = 'rewrite' then r.rendered_text end as text_before_rewrite
    from recs as r
    inner join items as i on i.col = r.col
)

select * from final
