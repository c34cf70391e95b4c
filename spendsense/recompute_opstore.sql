-- The single-user path's reads from the operational store (SQLite), each a section "-- name: <query>"
-- (spendsense.sql). Parameters: $user_id, $since (ISO-8601 UTC text). (The user's consent: opstore.consent_status.)

-- name: deliveries
select user_id, item_id, delivered_at
from deliveries
where user_id = $user_id and delivered_at >= $since
order by delivered_at;
