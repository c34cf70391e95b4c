-- The published run: its tables, run id, as-of date and the aggregates every role may see (DuckDB, read-only).

-- name: session_settings
-- the raw tables are views over the raw store's Parquet files: keep their footers in memory between a session's
-- many small per-user queries instead of re-reading them for every statement
set parquet_metadata_cache = true

-- name: tables
select table_name from information_schema.tables where table_schema = 'main'

-- name: run_id
select max(run_id) from recommendations

-- name: last_transaction_date
select max(date) from transactions

-- name: persona_mix
with final as (
    select window_days, persona_id, any_value(persona_name) as persona_name,
           count(distinct user_id) as users
    from persona_assignments group by window_days, persona_id)
select *, users / sum(users) over (partition by window_days) as share
from final order by window_days, users desc, persona_id

-- name: user_count
select count(*) from users

-- name: recommendation_counts
select count(*), count(distinct user_id) from recommendations

-- name: user_exists
select 1 from users where user_id = $user_id

-- name: known_users
select user_id from users where user_id in (select unnest($user_ids))

-- name: user_names
select user_id, name from users where user_id in (select unnest($user_ids))
