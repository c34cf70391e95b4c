-- Publish-time consent withhold (notebook_runner.withhold_changed_consent), over the staged run's warehouse.
-- `withheld_now` is a registered frame of the user ids to withhold; {table} is a table of the warehouse's own
-- catalogue (user_tables), quoted by sql.identifier.

-- name: user_tables
-- every table of this warehouse with a user_id column
select distinct c.table_name
from duckdb_columns() c
join duckdb_tables() t
  on t.database_name = c.database_name and t.schema_name = c.schema_name and t.table_name = c.table_name
where c.column_name = 'user_id' and c.database_name = current_database()
order by 1

-- name: processed_users
select distinct user_id from signals_wide

-- name: withheld_users_in
select distinct user_id from {table} where user_id in (select user_id from withheld_now)

-- name: delete_withheld
delete from {table} where user_id in (select user_id from withheld_now)

-- name: has_table
select count(*) > 0 from duckdb_tables() where table_name = $name and database_name = current_database()

-- name: record_withheld
-- {table}: the run's skipped-users table (notebook_runner.WITHHELD_TABLE)
insert into {table} (user_id, reason) select unnest($users), $reason
