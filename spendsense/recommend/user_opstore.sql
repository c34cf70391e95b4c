-- The single-user path's reads from the operational store (SQLite), each introduced by "-- query: <name>".
-- Parameters: :user_id, :since (ISO-8601 UTC text).

-- query: consent
-- The user's latest consent event (latest occurred_at, ties broken by recording order), as opstore.consent_status.
select user_id, event as status, occurred_at
from consent_events
where user_id = :user_id
order by occurred_at desc, rowid desc
limit 1;

-- query: deliveries
select user_id, item_id, delivered_at
from deliveries
where user_id = :user_id and delivered_at >= :since
order by delivered_at;
