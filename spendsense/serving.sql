-- The published run's serving index (SQLite, written once before publish by spendsense.serving):
-- the per-user rows that one person's page or API call reads, indexed by user_id. A DuckDB statement costs
-- milliseconds to bind whatever it reads; an indexed SQLite lookup costs tens of microseconds.
-- Sections `source_<table>` read the warehouse (DuckDB); every other section answers, on SQLite, the DuckDB
-- query of the same name in the file spendsense.serving.SERVES names, with the same rows.

-- name: source_users
select user_id, name from users

-- name: source_account_masks
select distinct user_id, mask from accounts where mask is not null

-- name: source_recommendations
select * from recommendations

-- name: source_persona_counterfactuals
select * from persona_counterfactuals

-- name: create_table
create table {table} ({columns})

-- name: insert_rows
insert into {table} values ({placeholders})

-- name: create_index
create index {index} on {table} (user_id)

-- name: index_tables
select name from sqlite_master where type = 'table'

-- name: user_exists
select 1 from users where user_id = $user_id

-- name: known_users
select user_id from users where user_id in (select value from json_each($user_ids))

-- name: user_names
select user_id, name from users where user_id in (select value from json_each($user_ids))

-- name: account_masks
select distinct mask from account_masks where user_id = $user_id and mask is not null

-- name: recommendations
select * from recommendations where user_id = $user_id order by window_days, kind, rank

-- name: counterfactuals
select window_days, persona_id, target_persona_id, text_operator, text_customer, changes
from persona_counterfactuals where user_id = $user_id order by window_days
