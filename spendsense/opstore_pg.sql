-- Operational store schema (PostgreSQL), as versioned migrations: section migration_<n> brings the schema from
-- version n-1 to n, recorded in schema_migrations (spendsense.opstore_pg). The same tables and columns as the
-- SQLite schema (opstore.sql), timestamps as the same ISO-8601 UTC text, plus `rowid`: an identity column that
-- plays SQLite's rowid (the recording order; writers hold one advisory lock, so rowid order is commit order).
-- Every table is append-only: a trigger rejects UPDATE and DELETE (and TRUNCATE); inserts that may repeat use
-- ON CONFLICT DO NOTHING (an UPSERT's update part would be an UPDATE, and is rejected).

-- name: migrations_table
create table if not exists schema_migrations (
    version integer primary key,
    description text not null,
    applied_at text not null
);

-- name: migration_1
-- the consent events, reviews, audit log and deliveries, and the append-only rule
create or replace function opstore_append_only() returns trigger language plpgsql as $$
begin
    raise exception '% is append-only: % is not allowed', tg_table_name, tg_op using errcode = 'P0001';
end
$$;

create table consent_events (
    rowid bigint generated always as identity unique,
    event_id text primary key,
    user_id text not null,
    event text not null check (event in ('granted', 'revoked')),
    occurred_at text not null,
    source text not null,
    actor text not null,
    recorded_at text not null
);
create index consent_events_by_user on consent_events (user_id, occurred_at);

create table reviews (
    rowid bigint generated always as identity unique,
    review_id text primary key,
    recommendation_id text not null,
    user_id text not null,
    action text not null check (action in ('approve', 'override', 'suppress', 'flag')),
    replacement_item_id text,
    reason text,
    operator text not null,
    role text not null,
    recorded_at text not null,
    check (action = 'approve' or length(trim(coalesce(reason, ''))) > 0)
);
create index reviews_by_recommendation on reviews (recommendation_id, recorded_at);

create table audit_log (
    rowid bigint generated always as identity unique,
    audit_id text primary key,
    actor text not null,
    role text not null,
    action text not null,
    target text,
    detail text not null check (detail::jsonb is not null),
    recorded_at text not null
);
create index audit_log_by_target on audit_log (target);

create table deliveries (
    rowid bigint generated always as identity unique,
    delivery_id text primary key,
    run_id text not null,
    user_id text not null,
    item_id text not null,
    kind text not null,
    recommendation_id text,
    delivered_at text not null
);
create index deliveries_by_user on deliveries (user_id, delivered_at);
create index deliveries_by_run on deliveries (run_id);

create trigger consent_events_append_only before update or delete on consent_events
for each row execute function opstore_append_only();
create trigger consent_events_no_truncate before truncate on consent_events
for each statement execute function opstore_append_only();
create trigger reviews_append_only before update or delete on reviews
for each row execute function opstore_append_only();
create trigger reviews_no_truncate before truncate on reviews
for each statement execute function opstore_append_only();
create trigger audit_log_append_only before update or delete on audit_log
for each row execute function opstore_append_only();
create trigger audit_log_no_truncate before truncate on audit_log
for each statement execute function opstore_append_only();
create trigger deliveries_append_only before update or delete on deliveries
for each row execute function opstore_append_only();
create trigger deliveries_no_truncate before truncate on deliveries
for each statement execute function opstore_append_only();
create trigger schema_migrations_append_only before update or delete on schema_migrations
for each row execute function opstore_append_only();

-- name: migration_2
-- the REST API's tables: customers' feedback and users registered through the API
create table feedback (
    rowid bigint generated always as identity unique,
    feedback_id text primary key,
    user_id text not null,
    recommendation_id text not null,
    run_id text not null,
    item_id text,
    reaction text not null check (reaction in ('helpful', 'not_helpful', 'dismissed', 'clicked')),
    note text,
    actor text not null,
    recorded_at text not null
);
create index feedback_by_user on feedback (user_id, recorded_at);
create index feedback_by_run on feedback (run_id);

create table registered_users (
    rowid bigint generated always as identity unique,
    user_id text primary key,
    name text not null,
    source text not null,
    actor text not null,
    registered_at text not null
);

create trigger feedback_append_only before update or delete on feedback
for each row execute function opstore_append_only();
create trigger feedback_no_truncate before truncate on feedback
for each statement execute function opstore_append_only();
create trigger registered_users_append_only before update or delete on registered_users
for each row execute function opstore_append_only();
create trigger registered_users_no_truncate before truncate on registered_users
for each statement execute function opstore_append_only();
