-- Explainability: does each rationale quote facts that match the stored data? One row of counts over all
-- recommendations (any fact matching, every fact matching).
-- A fact matches when its formatted text appears verbatim in the rationale and its value equals the stored
-- signal (signals), card (credit_cards.<col>) or stream (recurring_streams.<col>) value of that user-window.
with recommendations as (
    select recommendation_id, user_id, window_days, rationale, facts from recommendations
),

signals as (
    select user_id, window_days, signal, value, value_text from signals
),

credit_cards as (
    select * from credit_cards
),

recurring_streams as (
    select * from recurring_streams
),

facts as (
    select
        recommendation_id,
        user_id,
        window_days,
        rationale,
        unnest(from_json(facts, '[{"signal": "VARCHAR", "value": "JSON", "text": "VARCHAR"}]'), recursive := true)
    from recommendations
),

numbered_facts as (
    select *, row_number() over (partition by recommendation_id) as fact_no from facts
),

fact_elements as (
    -- list-valued facts (e.g. several merchant names) are checked element by element
    select
        recommendation_id, fact_no, user_id, window_days, signal, text, rationale,
        case when json_type(value) in ('DOUBLE', 'BIGINT', 'UBIGINT') then cast(value as double) end as num_value,
        case when json_type(value) = 'VARCHAR' then value ->> '$' end as text_value
    from numbered_facts
    where json_type(value) <> 'ARRAY'
    union all
    select
        recommendation_id, fact_no, user_id, window_days, signal, text, rationale,
        null as num_value,
        unnest(from_json(value, '["VARCHAR"]')) as text_value
    from numbered_facts
    where json_type(value) = 'ARRAY'
),

card_numbers as (
    unpivot (
        select user_id, window_days, balance, credit_limit, utilization, minimum_payment_amount,
               largest_payment_in_window, last_payment_amount, interest_charges, interest_charges_monthly,
               apr_percentage, cast(payments_in_window as double) as payments_in_window
        from credit_cards
    )
    on columns(* exclude (user_id, window_days)) into name col value num
),

card_texts as (
    unpivot (select user_id, window_days, mask, card_name, account_id from credit_cards)
    on columns(* exclude (user_id, window_days)) into name col value txt
),

stream_numbers as (
    unpivot (
        select user_id, window_days, cast(occurrences as double) as occurrences,
               cast(occurrences_in_window as double) as occurrences_in_window, median_gap_days, mean_amount,
               median_amount, amount_in_window
        from recurring_streams
    )
    on columns(* exclude (user_id, window_days)) into name col value num
),

stream_texts as (
    unpivot (select user_id, window_days, merchant, frequency, merchant_key from recurring_streams)
    on columns(* exclude (user_id, window_days)) into name col value txt
),

stored as (
    select user_id, window_days, signal as name, value as num, value_text as txt from signals
    union all select user_id, window_days, 'credit_cards.' || col, num, null from card_numbers
    union all select user_id, window_days, 'credit_cards.' || col, null, txt from card_texts
    union all select user_id, window_days, 'recurring_streams.' || col, num, null from stream_numbers
    union all select user_id, window_days, 'recurring_streams.' || col, null, txt from stream_texts
),

element_checks as (
    select
        e.recommendation_id,
        e.fact_no,
        e.signal,
        contains(e.rationale, e.text) as text_quoted,
        exists (
            select 1 from stored s
            where s.user_id = e.user_id and s.window_days = e.window_days and s.name = e.signal
              and ((e.num_value is not null and s.num is not null
                    and abs(s.num - e.num_value) <= 1e-9 + 1e-9 * abs(s.num))
                   or (e.text_value is not null and s.txt = e.text_value))
        ) as value_matches
    from fact_elements as e
),

fact_checks as (
    select recommendation_id, fact_no, bool_and(text_quoted) as text_quoted, bool_and(value_matches) as value_matches
    from element_checks
    group by recommendation_id, fact_no
),

per_recommendation as (
    select
        r.recommendation_id,
        coalesce(bool_or(f.text_quoted and f.value_matches), false) as any_fact_matches,
        coalesce(bool_and(f.text_quoted and f.value_matches), false) as all_facts_match
    from recommendations as r
    left join fact_checks as f using (recommendation_id)
    group by r.recommendation_id
),

final as (
    select
        count(*) as recommendations,
        count(*) filter (where any_fact_matches) as with_matching_fact,
        count(*) filter (where all_facts_match) as all_facts_match
    from per_recommendation
)

select * from final
