-- decision_traces: one self-contained JSON decision trace per recommendation, rendered on read from the typed
-- facts stored in recommendations and recommendation_traces (one row per recommendation) and decision_contexts
-- (one row per user-window, shared by its recommendations). Stored once, explained on demand: the reasons below are fixed
-- functions of the stored values, so every reader sees the same text.
create view if not exists decision_traces as
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
        c.as_of,
        c.created_at,
        c.persona_id,
        c.persona_name,
        c.matched_personas,
        c.criteria_matched,
        c.signals,
        c.credit_score,
        c.annual_income,
        c.max_utilization,
        c.account_subtypes,
        c.consent_status,
        c.consent_at,
        c.history,
        c.not_relevant,
        c.filtered_out,
        c.selected_education,
        c.selected_offers,
        c.weights,
        c.rules,
        c.versions
    from traces as t
    -- user_id in the join keys lets DuckDB prune the other tables' row groups (rows are written in user order)
    -- when one recommendation or one user is read
    inner join recs as r on r.user_id = t.user_id and r.recommendation_id = t.recommendation_id
    inner join contexts as c on c.user_id = t.user_id and c.window_days = t.window_days
        and c.context_id = t.context_id
),

described as (
    select
        *,
        list_intersect(persona_tags, matched_personas) as shared_personas,
        cast(json_extract_string(rules, '$.recency_days') as integer) as recency_days,
        case when kind = 'education' then cast(json_extract_string(rules, '$.education.max') as integer)
             else cast(json_extract_string(rules, '$.offers.max') as integer) end as kind_max,
        cast(json_extract_string(rules, '$.per_partner_cap') as integer) as per_partner_cap
    from joined
),

reasons as (
    select
        *,
        'consent granted' || coalesce(' on ' || strftime(consent_at, '%Y-%m-%d'), '')
            || '; checked when the recommendations were generated' as consent_reason,
        case
            when kind = 'education' then 'education content has no eligibility rules'
            else 'eligible: income, credit score, utilization, accounts held and product type all pass'
        end as eligibility_reason,
        case
            when score_persona = 1 then 'tagged for the assigned persona ' || persona_id
            when score_persona > 0 then 'tagged for ' || array_to_string(shared_personas, ', ')
                || ', another persona this user matches'
            else 'not tagged for this user''s personas (relevant through its signal triggers)'
        end as persona_reason,
        case
            when triggers_total = 0 then 'general content without signal triggers (relevant through its persona tags)'
            when len(matched_triggers) = 0 then 'none of its ' || triggers_total
                || ' triggers matched (relevant through its persona tags)'
            else len(matched_triggers) || ' of ' || triggers_total || ' triggers matched: '
                || array_to_string(matched_triggers, '; ')
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

final as (
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
            'item': {'item_id': item_id, 'kind': kind, 'version': item_version, 'persona_tags': persona_tags},
            'inputs': {
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
            },
            'stages': {
                'consent': {'passed': true, 'reason': consent_reason},
                'eligibility': {
                    'passed': true, 'reason': eligibility_reason,
                    'filtered_out': [{'item_id': f.item_id, 'reason': f.reason}
                                     for f in filtered_out if f.stage = 'eligibility']
                },
                'persona_match': {
                    'passed': true, 'component': score_persona, 'reason': persona_reason,
                    'filtered_out': [{'item_id': f.item_id, 'reason': f.reason}
                                     for f in filtered_out if f.stage = 'persona_match']
                },
                'signal_triggers': {
                    'passed': true, 'component': score_signal, 'triggers_total': triggers_total,
                    'matched_triggers': matched_triggers, 'reason': trigger_reason,
                    'filtered_out': case when len(not_relevant) = 0 then []
                        else [{'reason': 'not relevant: not tagged for this user''s assigned or matched personas, '
                                         || 'and none of its signal triggers matched',
                               'count': len(not_relevant), 'items': not_relevant}] end
                },
                'recency': {
                    'passed': true, 'days_since_last_shown': days_since_shown, 'reason': recency_reason,
                    'filtered_out': [{'item_id': f.item_id, 'reason': f.reason}
                                     for f in filtered_out if f.stage = 'recency']
                },
                'business_rules': {
                    'passed': true, 'rank': rank, 'reason': business_reason,
                    'filtered_out': [{'item_id': f.item_id, 'reason': f.reason}
                                     for f in filtered_out if f.stage = 'business_rules']
                },
                'rationale': {
                    'passed': true, 'reason': rationale_reason,
                    'filtered_out': [{'item_id': f.item_id, 'reason': f.reason}
                                     for f in filtered_out if f.stage = 'rationale']
                },
                'tone': {
                    'passed': true, 'action': tone_action, 'matches': cast(tone_matches as json), 'reason': tone_reason,
                    'filtered_out': [{'item_id': f.item_id, 'reason': f.reason}
                                     for f in filtered_out if f.stage = 'tone']
                }
            },
            'selected': {'education': selected_education, 'offer': selected_offers},
            'score': {
                'total': score, 'rank': rank,
                'components': {'persona': score_persona, 'signal': score_signal, 'priority': score_priority,
                               'freshness': score_freshness},
                'weights': weights
            },
            'template_id': template_id,
            'rationale': {
                'requested_template_id': requested_template_id, 'template_id': template_id,
                'template_version': template_version, 'values': cast(template_values as json),
                'text_before_rewrite': text_before_rewrite
            },
            'guardrails': {
                'consent': {'outcome': 'granted', 'detail': consent_reason},
                'eligibility': {'outcome': 'passed', 'detail': eligibility_reason},
                'recency': {'outcome': 'passed', 'detail': recency_reason},
                'tone': {'outcome': case when tone_action = 'pass' then 'passed' else 'rewritten' end,
                         'detail': tone_reason}
            },
            'rules': cast(rules as json),
            'versions': cast(versions as json)
        }) as trace
    from reasons
)

select * from final
