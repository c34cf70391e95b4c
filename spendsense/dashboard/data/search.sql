-- Finding users in the run (DuckDB): by id, name, persona or flag, and the labels shown for the matches.

-- name: by_id
select user_id from users where user_id ilike $pattern order by user_id limit $limit

-- name: by_name
select user_id from users where name ilike $pattern order by name, user_id limit $limit

-- name: by_persona
select distinct user_id from persona_assignments where persona_id = $persona_id order by user_id limit $limit

-- name: personas
select persona_id, any_value(persona_name) as persona_name from persona_assignments
group by persona_id order by persona_id

-- name: all_users
select user_id from users

-- name: shortfall_users
select distinct user_id from recommendation_shortfalls

-- name: card_flags
-- one row per user with a card: does any card (either window) show the flag
select user_id,
       bool_or(coalesce(flag_50::boolean, false)) as util_50,
       bool_or(coalesce(flag_80::boolean, false)) as util_80,
       bool_or(coalesce(is_overdue::boolean, false)) as overdue,
       bool_or(coalesce(minimum_payment_only::boolean, false)) as minimum_payment_only,
       bool_or(coalesce((coalesce(interest_charges, 0) > 0)::boolean, false)) as interest_charges
from credit_cards group by user_id

-- name: persona_labels
select user_id, string_agg(persona_id || ' ' || window_days || 'd', ', ' order by window_days)
from persona_assignments where user_id in (select unnest($user_ids)) group by user_id
