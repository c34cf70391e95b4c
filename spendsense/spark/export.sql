-- The run warehouse's raw tables as the Spark engine's raw store reads them: every column as stored, plus
-- user_bucket, the hive partition (hash of the owning user modulo $buckets). {table} is a raw table name from
-- the schema catalogue (spendsense.schema.TABLE_ORDER), quoted by spendsense.sql.identifier.

-- name: by_user
-- A table with a user_id column (users, consent_events, accounts, transactions).
select t.*, cast(hash(t.user_id) % $buckets as integer) as user_bucket
from {table} as t

-- name: by_account
-- A table keyed by account_id (the liability tables): the bucket of the account's user.
select t.*, cast(hash(a.user_id) % $buckets as integer) as user_bucket
from {table} as t
inner join accounts as a on a.account_id = t.account_id

-- name: columns
-- The columns of one warehouse table or view (information_schema). Parameter: $table.
select column_name
from information_schema.columns
where table_name = $table
order by ordinal_position
