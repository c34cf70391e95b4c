-- Which users the signal step processes. A user is processed only when the latest consent event is
-- 'granted'; every other user is listed with the reason it is skipped. The caller registers the consent
-- frame (user_id, status, occurred_at: latest event per user) as `signal_consent`.
-- Parameters: $user_ids (VARCHAR[] or NULL = every user).

with

warehouse_users as (
    select user_id
    from users
    where $user_ids is null or list_contains(cast($user_ids as varchar[]), user_id)
),

requested_users as (
    select unnest(cast($user_ids as varchar[])) as user_id
),

consent as (
    select user_id, status, occurred_at
    from signal_consent
),

ranked_consent as (
    select
        user_id,
        status,
        -- latest event wins; on a tie, anything but 'granted' wins (consent is never assumed)
        row_number() over (
            partition by user_id
            order by occurred_at desc, case when status = 'granted' then 1 else 0 end
        ) as event_rank
    from consent
),

latest_consent as (
    select user_id, status
    from ranked_consent
    where event_rank = 1
),

candidates as (
    select user_id from warehouse_users
    union
    select user_id from requested_users
),

final as (
    select
        c.user_id,
        case
            when u.user_id is null then 'unknown user'
            when lc.user_id is null then 'no consent on record'
            when lc.status = 'granted' then null
            when lc.status = 'revoked' then 'consent revoked'
            else 'consent status ' || coalesce(lc.status, 'missing')
        end as skip_reason
    from candidates as c
    left join warehouse_users as u on u.user_id = c.user_id
    left join latest_consent as lc on lc.user_id = c.user_id
)

select * from final
order by user_id
