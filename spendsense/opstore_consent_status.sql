-- Each user's consent status: the latest event by occurred_at, ties broken by recording order (rowid).
-- :before is an exclusive upper bound on occurred_at (ISO-8601 UTC text), or null for "everything recorded".
with events as (
    select rowid as seq, user_id, event, occurred_at
    from consent_events
    where :before is null or occurred_at < :before
),

ranked as (
    select
        user_id,
        event,
        occurred_at,
        row_number() over (partition by user_id order by occurred_at desc, seq desc) as rn
    from events
),

final as (
    select user_id, event as status, occurred_at
    from ranked
    where rn = 1
)

select * from final order by user_id
