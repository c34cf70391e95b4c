-- Which users the signal step processes. A user is processed only when the consent status is 'granted';
-- every other user is listed with the reason it is skipped. The caller registers the consent status
-- (user_id, status, occurred_at: one row per user, by spendsense.consent) as `signal_consent`.
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

latest_consent as (
    -- one row per user: the caller derives it by the one status rule (spendsense/consent_order.sql)
    select user_id, status
    from signal_consent
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
