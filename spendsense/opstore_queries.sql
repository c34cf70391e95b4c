-- Operational store queries whose text differs between SQLite and PostgreSQL (spendsense.opstore.query picks
-- `<name>__postgresql` on PostgreSQL); every other store query is one text both run. Parameters `$name`.

-- name: consent_reasons
-- event_id and reason (or dashboard note) of the audit rows of a user's consent events, in recording order
select json_extract(detail, '$.event_id') as event_id,
       coalesce(json_extract(detail, '$.reason'), json_extract(detail, '$.note')) as reason
from audit_log
where target = $user_id and action in ('consent.granted', 'consent.revoked', 'consent.note')
order by rowid

-- name: consent_reasons__postgresql
select detail::jsonb ->> 'event_id' as event_id,
       coalesce(detail::jsonb ->> 'reason', detail::jsonb ->> 'note') as reason
from audit_log
where target = $user_id and action in ('consent.granted', 'consent.revoked', 'consent.note')
order by rowid

-- name: stage_deliveries
-- a run's deliveries are staged here first (no index, no trigger: appends only), seq keeping the frame's order
create temporary table staged_deliveries (
    seq integer primary key,
    delivery_id text, run_id text, user_id text, item_id text, kind text, recommendation_id text,
    delivered_at text
)

-- name: insert_staged_deliveries
-- then moved into deliveries in one statement, in the frame's order (`where true`: SQLite's INSERT ... SELECT ...
-- ON CONFLICT form)
insert into deliveries (delivery_id, run_id, user_id, item_id, kind, recommendation_id, delivered_at)
select delivery_id, run_id, user_id, item_id, kind, recommendation_id, delivered_at
from staged_deliveries where true order by seq
on conflict do nothing

-- name: drop_staged_deliveries
drop table temp.staged_deliveries

-- name: stage_deliveries__postgresql
-- a run's deliveries are COPYed here first (dropped at commit), seq keeping the frame's order
create temporary table staged_deliveries (
    seq bigint generated always as identity,
    delivery_id text, run_id text, user_id text, item_id text, kind text, recommendation_id text,
    delivered_at text
) on commit drop

-- name: insert_staged_deliveries__postgresql
insert into deliveries (delivery_id, run_id, user_id, item_id, kind, recommendation_id, delivered_at)
select delivery_id, run_id, user_id, item_id, kind, recommendation_id, delivered_at
from staged_deliveries order by seq
on conflict do nothing
