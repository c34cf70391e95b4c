-- The users the signal step does not process, with why (skipped_users): every user the run considers whose
-- consent status is not 'granted' (the rule: stg_scope_status in staging.sql). No parameters.

with

final as (
    select user_id, skip_reason
    from stg_scope_status
    where skip_reason is not null
)

select * from final
order by user_id
