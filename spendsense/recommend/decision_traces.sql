-- decision_traces: one self-contained JSON decision trace per recommendation, rendered on read from the typed
-- facts stored in recommendations and recommendation_traces (one row per recommendation) and decision_contexts
-- (one row per user-window, shared by its recommendations). Stored once, explained on demand: the reasons below are fixed
-- functions of the stored values, so every reader sees the same text.
-- The parts a user-window's recommendations share (inputs, filtered_out lists, selections, weights, rules, versions)
-- are rendered to JSON text once per decision_contexts row and spliced into each recommendation's trace; the text is
-- the same, byte for byte, as rendering the whole trace with one to_json: a nested value renders as to_json(value),
-- or null when the value is NULL.
with

recs as (
    select * from recommendations
),

traces as (
    select * from recommendation_traces
),

contexts as (
    select * from decision_contexts
),

-- what the recommend rules say and the consent reason, worked out once per user-window (not per recommendation)
context_rules as (
    select
        *,
        cast(json_extract_string(rules, '$.recency_days') as integer) as recency_days,
        cast(json_extract_string(rules, '$.education.max') as integer) as education_max,
        cast(json_extract_string(rules, '$.offers.max') as integer) as offers_max,
        cast(json_extract_string(rules, '$.per_partner_cap') as integer) as per_partner_cap,
        'consent granted' || coalesce(' on ' || strftime(consent_at, '%Y-%m-%d'), '')
            || '; checked when the recommendations were generated' as consent_reason
    from contexts
),

-- the shared parts of a user-window's traces, each rendered to JSON text once per user-window (a NULL value
-- renders as null, as it would nested in the trace), plus the facts the per-recommendation reasons use
context_parts as (
    select
        context_id,
        user_id,
        window_days,
        as_of,
        created_at,
        persona_id,
        matched_personas,
        recency_days,
        education_max,
        offers_max,
        per_partner_cap,
        to_json({
            'signals': signals,
            'persona': {
                'persona_id': persona_id, 'persona_name': persona_name,
                'matched_personas': matched_personas,
                'criteria_matched': cast(criteria_matched as json)
            },
            'eligibility_features': {
                'credit_score': credit_score, 'annual_income': annual_income,
                'max_utilization': max_utilization, 'account_subtypes': account_subtypes
            },
            'consent': {'status': consent_status, 'occurred_at': consent_at},
            'history': history
        })::varchar as inputs_json,
        to_json({'passed': true, 'reason': consent_reason})::varchar as consent_stage_json,
        coalesce(to_json([{'item_id': f.item_id, 'reason': f.reason}
                          for f in filtered_out if f.stage = 'eligibility'])::varchar, 'null')
            as eligibility_filtered_json,
        coalesce(to_json([{'item_id': f.item_id, 'reason': f.reason}
                          for f in filtered_out if f.stage = 'persona_match'])::varchar, 'null')
            as persona_filtered_json,
        coalesce(to_json(case when len(not_relevant) = 0 then []
            else [{'reason': 'not relevant: none of its triggers holds for this user and window',
                   'count': len(not_relevant), 'items': not_relevant}] end)::varchar, 'null')
            as trigger_filtered_json,
        coalesce(to_json([{'item_id': f.item_id, 'reason': f.reason}
                          for f in filtered_out if f.stage = 'recency'])::varchar, 'null')
            as recency_filtered_json,
        coalesce(to_json([{'item_id': f.item_id, 'reason': f.reason}
                          for f in filtered_out if f.stage = 'business_rules'])::varchar, 'null')
            as business_filtered_json,
        coalesce(to_json([{'item_id': f.item_id, 'reason': f.reason}
                          for f in filtered_out if f.stage = 'rationale'])::varchar, 'null')
            as rationale_filtered_json,
        coalesce(to_json([{'item_id': f.item_id, 'reason': f.reason}
                          for f in filtered_out if f.stage = 'tone'])::varchar, 'null')
            as tone_filtered_json,
        to_json({'education': selected_education, 'offer': selected_offers})::varchar as selected_json,
        coalesce(to_json(weights)::varchar, 'null') as weights_json,
        to_json({'outcome': 'granted', 'detail': consent_reason})::varchar as consent_guardrail_json,
        -- stored as text with spaces; to_json renders the parsed document compactly
        coalesce(to_json(cast(rules as json))::varchar, 'null') as rules_json,
        coalesce(to_json(cast(versions as json))::varchar, 'null') as versions_json,
        to_json({
            'target_persona_id': what_would_change_target, 'text': what_would_change_text,
            'customer_text': what_would_change_customer_text,
            'changes': cast(what_would_change_changes as json)
        })::varchar as what_would_change_json
    from context_rules
),

joined as (
    select
        t.*,
        r.kind,
        r.item_id,
        r.item_version,
        r.rank,
        r.score,
        r.score_persona,
        r.score_signal,
        r.score_priority,
        r.score_freshness,
        r.template_id,
        c.* exclude (context_id, user_id, window_days)
    from traces as t
    -- user_id in the join keys lets DuckDB prune the other tables' row groups (rows are written in user order)
    -- when one recommendation or one user is read
    inner join recs as r on r.user_id = t.user_id and r.recommendation_id = t.recommendation_id
    inner join context_parts as c on c.user_id = t.user_id and c.window_days = t.window_days
        and c.context_id = t.context_id
),

described as (
    select
        *,
        list_intersect(persona_tags, matched_personas) as shared_personas,
        case when kind = 'education' then education_max else offers_max end as kind_max
    from joined
),

reasons as (
    select
        *,
        case
            when kind = 'education' then 'education content has no eligibility rules'
            else 'eligible: income, credit score, utilization, accounts held and product type all pass'
        end as eligibility_reason,
        case
            when score_persona = 1 then 'tagged for the assigned persona ' || persona_id
            when score_persona > 0 then 'tagged for ' || array_to_string(shared_personas, ', ')
                || ', another persona this user matches'
            else 'not tagged for this user''s personas (admitted by its triggers alone)'
        end as persona_reason,
        case
            when triggers_total = 0 then 'general-audience content: shown without a trigger, at most one per window'
            else 'admitted by ' || len(matched_triggers) || ' of its ' || triggers_total || ' triggers: '
                || array_to_string(admitted_by, '; ')
        end as trigger_reason,
        case
            when days_since_shown is null then 'never shown to this user'
            else 'last shown ' || cast(floor(days_since_shown) as bigint) || ' days ago, outside the '
                || recency_days || '-day recency window'
        end as recency_reason,
        'rank ' || rank || ' of ' || kind_count || ' ' || kind || ' items shown (at most ' || kind_max || ')'
            || case when kind = 'offer' then ', at most ' || per_partner_cap || ' per partner' else '' end
            as business_reason,
        case
            when template_id = requested_template_id then 'rendered with template ' || template_id
            else 'rendered with fallback template ' || template_id || ' (' || requested_template_id
                || ' lacks a value or requirement for this user)'
        end as rationale_reason,
        case
            when tone_action = 'pass' then 'no shaming or judgmental phrases found'
            else 'rewritten to neutral wording (tone rules: ' || tone_rules || ')'
        end as tone_reason
    from described
),

-- the recommendation's own parts, each rendered to JSON text (an object of the members it has in the trace), next
-- to its user-window's shared parts
recommendation_parts as (
    select
        recommendation_id,
        run_id,
        user_id,
        window_days,
        to_json({
            'recommendation_id': recommendation_id,
            'context_id': context_id,
            'run_id': run_id,
            'user_id': user_id,
            'window_days': window_days,
            'as_of': as_of,
            'created_at': created_at,
            'item': {'item_id': item_id, 'kind': kind, 'version': item_version, 'persona_tags': persona_tags}
        })::varchar as head_json,
        to_json({'passed': true, 'reason': eligibility_reason})::varchar as eligibility_json,
        to_json({'passed': true, 'component': score_persona, 'reason': persona_reason})::varchar as persona_json,
        to_json({
            'passed': true, 'component': score_signal, 'triggers_total': triggers_total,
            'matched_triggers': matched_triggers, 'admitted_by': admitted_by, 'reason': trigger_reason
        })::varchar as trigger_json,
        to_json({'passed': true, 'days_since_last_shown': days_since_shown, 'reason': recency_reason})::varchar
            as recency_json,
        to_json({'passed': true, 'rank': rank, 'reason': business_reason})::varchar as business_json,
        to_json({'passed': true, 'reason': rationale_reason})::varchar as rationale_stage_json,
        to_json({
            'passed': true, 'action': tone_action, 'matches': cast(tone_matches as json), 'reason': tone_reason
        })::varchar as tone_json,
        to_json({
            'total': score, 'rank': rank,
            'components': {'persona': score_persona, 'signal': score_signal, 'priority': score_priority,
                           'freshness': score_freshness}
        })::varchar as score_json,
        to_json({
            'template_id': template_id,
            'rationale': {
                'requested_template_id': requested_template_id, 'template_id': template_id,
                'template_version': template_version, 'values': cast(template_values as json),
                'text_before_rewrite': text_before_rewrite
            }
        })::varchar as rationale_json,
        to_json({
            'eligibility': {'outcome': 'passed', 'detail': eligibility_reason},
            'recency': {'outcome': 'passed', 'detail': recency_reason},
            'tone': {'outcome': case when tone_action = 'pass' then 'passed' else 'rewritten' end,
                     'detail': tone_reason}
        })::varchar as guardrails_json,
        inputs_json,
        consent_stage_json,
        eligibility_filtered_json,
        persona_filtered_json,
        trigger_filtered_json,
        recency_filtered_json,
        business_filtered_json,
        rationale_filtered_json,
        tone_filtered_json,
        selected_json,
        weights_json,
        consent_guardrail_json,
        rules_json,
        versions_json,
        what_would_change_json
    from reasons
),

-- the trace: each object of the recommendation's own is opened (its closing brace dropped), the shared parts are
-- spliced in as "key":value members, and the object is closed again; one concat, so the text is copied once
final as (
    select
        recommendation_id,
        run_id,
        user_id,
        window_days,
        concat(
            substr(head_json, 1, length(head_json) - 1),
            ',"inputs":', inputs_json,
            ',"stages":{"consent":', consent_stage_json,
            ',"eligibility":', substr(eligibility_json, 1, length(eligibility_json) - 1),
                ',"filtered_out":', eligibility_filtered_json, '}',
            ',"persona_match":', substr(persona_json, 1, length(persona_json) - 1),
                ',"filtered_out":', persona_filtered_json, '}',
            ',"signal_triggers":', substr(trigger_json, 1, length(trigger_json) - 1),
                ',"filtered_out":', trigger_filtered_json, '}',
            ',"recency":', substr(recency_json, 1, length(recency_json) - 1),
                ',"filtered_out":', recency_filtered_json, '}',
            ',"business_rules":', substr(business_json, 1, length(business_json) - 1),
                ',"filtered_out":', business_filtered_json, '}',
            ',"rationale":', substr(rationale_stage_json, 1, length(rationale_stage_json) - 1),
                ',"filtered_out":', rationale_filtered_json, '}',
            ',"tone":', substr(tone_json, 1, length(tone_json) - 1),
                ',"filtered_out":', tone_filtered_json, '}',
            '},"selected":', selected_json,
            ',"score":', substr(score_json, 1, length(score_json) - 1), ',"weights":', weights_json, '}',
            ',', substr(rationale_json, 2, length(rationale_json) - 2),
            ',"guardrails":{"consent":', consent_guardrail_json, ',', substr(guardrails_json, 2),
            ',"what_would_change":', what_would_change_json,
            ',"rules":', rules_json, ',"versions":', versions_json, '}'
        ) as trace
    from recommendation_parts
)

select * from final
