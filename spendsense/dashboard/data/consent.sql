-- Consent events as the dashboard shows them: the opstore's (SQLite; seq = recording order) and the warehouse
-- copy's (DuckDB; recorded before all of the opstore's). The status is then derived by the one rule
-- (spendsense/consent_order.sql via spendsense.consent), never here.

-- name: opstore_events
select event_id, user_id, event, occurred_at, source, actor, recorded_at, 'opstore' as origin, rowid as seq
from consent_events order by rowid

-- name: opstore_events_of_user
select event_id, user_id, event, occurred_at, source, actor, recorded_at, 'opstore' as origin, rowid as seq
from consent_events where user_id = $user_id order by rowid

-- name: warehouse_events
select event_id, user_id, event, strftime(occurred_at, '%Y-%m-%dT%H:%M:%S.%f+00:00') as occurred_at, source, actor,
       null as recorded_at, 'warehouse' as origin, row_number() over () - 1 - count(*) over () as seq
from consent_events
where $user_id is null or user_id = $user_id

-- name: scratch_table
-- one user's events, ranked in an in-memory SQLite database kept per thread (dashboard.data.consent.user_events)
create table scratch_events (event_id text, user_id text, event text, occurred_at text, source text, actor text,
                             recorded_at text, origin text, seq integer)

-- name: scratch_insert
insert into scratch_events values ($event_id, $user_id, $event, $occurred_at, $source, $actor, $recorded_at,
                                   $origin, $seq)

-- name: scratch_clear
delete from scratch_events

-- name: scratch_events
select * from scratch_events
