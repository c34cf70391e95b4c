-- The persona criteria that passed for a persona the user matched, as a JSON list per user-window (the general
-- path, used when persona_assignments.criteria does not have one element per condition on every row).
-- View registered by the caller: crit (criteria JSON text, bits: matched personas as a bit set over
-- $persona_ids).

with

crit_in as (
    select * from crit
),

final as (
    select to_json([
        c for c in cast(criteria as json[])
        if cast(c ->> 'passed' as boolean)
            and ((bits >> (list_position($persona_ids, c ->> 'persona_id') - 1)) & 1) = 1
    ])::varchar as criteria_matched
    from crit_in
)

select * from final
