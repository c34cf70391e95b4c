-- The raw users view: the users given in files, plus a derived row for every user that owns an account but has
-- no users row (Plaid responses carry no users: an item is a user, even one with business accounts only).
-- Derived users have demographics 'unknown', their user_id as name, no credit score (unknown fails a minimum
-- score) and no created_at.
-- {given}: the given users' rows (shaped like t_users); {owners}: the account rows users may be derived from
-- (every accounts file when no users file is given, else the Plaid JSON ones only).
with owners as (
    select distinct "user_id__v" as user_id
    from ({owners})
    where _kept and "user_id__v" is not null
),

given as (
    {given}
),

derived as (
    select owners.user_id
    from owners
    where owners.user_id not in (select "user_id__v" from given where _kept and "user_id__v" is not null)
),

final as (
    select * from given
    union all
    select
        null::integer as _src,
        null::bigint as _row,
        'derived from accounts' as _loc,
        true as _kept,
        user_id as user_id, user_id as user_id__v,
        user_id as name, user_id as name__v,
        'unknown' as age_band, 'unknown' as age_band__v,
        'unknown' as gender, 'unknown' as gender__v,
        'unknown' as region, 'unknown' as region__v,
        'unknown' as income_tier, 'unknown' as income_tier__v,
        null::varchar as credit_score, null::integer as credit_score__v,
        null::varchar as created_at, null::date as created_at__v
    from derived
)

select * from final
