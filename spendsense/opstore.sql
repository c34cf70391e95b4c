-- Operational store schema (SQLite). Every table is append-only: triggers abort UPDATE and DELETE, and a
-- BEFORE INSERT trigger turns a second insert of an existing key into a no-op, so INSERT OR REPLACE (a delete
-- followed by an insert) cannot rewrite history either. Current state is derived from the latest event.
-- Timestamps are ISO-8601 UTC text with microseconds ('2026-10-31T12:00:00.000000+00:00'), so text order is
-- time order.

create table if not exists consent_events (
    event_id text primary key,
    user_id text not null,
    event text not null check (event in ('granted', 'revoked')),
    occurred_at text not null,
    source text not null,
    actor text not null,
    recorded_at text not null
);
create index if not exists consent_events_by_user on consent_events (user_id, occurred_at);

create table if not exists reviews (
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
create index if not exists reviews_by_recommendation on reviews (recommendation_id, recorded_at);

create table if not exists audit_log (
    audit_id text primary key,
    actor text not null,
    role text not null,
    action text not null,
    target text,
    detail text not null check (json_valid(detail)),
    recorded_at text not null
);

create table if not exists deliveries (
    delivery_id text primary key,
    run_id text not null,
    user_id text not null,
    item_id text not null,
    kind text not null,
    recommendation_id text,
    delivered_at text not null
);
create index if not exists deliveries_by_user on deliveries (user_id, delivered_at);

create trigger if not exists consent_events_no_update before update on consent_events
begin select raise(abort, 'consent_events is append-only: UPDATE is not allowed'); end;
create trigger if not exists consent_events_no_delete before delete on consent_events
begin select raise(abort, 'consent_events is append-only: DELETE is not allowed'); end;
create trigger if not exists consent_events_keep_first before insert on consent_events
when exists (select 1 from consent_events where event_id = new.event_id)
begin select raise(ignore); end;

create trigger if not exists reviews_no_update before update on reviews
begin select raise(abort, 'reviews is append-only: UPDATE is not allowed'); end;
create trigger if not exists reviews_no_delete before delete on reviews
begin select raise(abort, 'reviews is append-only: DELETE is not allowed'); end;
create trigger if not exists reviews_keep_first before insert on reviews
when exists (select 1 from reviews where review_id = new.review_id)
begin select raise(ignore); end;

create trigger if not exists audit_log_no_update before update on audit_log
begin select raise(abort, 'audit_log is append-only: UPDATE is not allowed'); end;
create trigger if not exists audit_log_no_delete before delete on audit_log
begin select raise(abort, 'audit_log is append-only: DELETE is not allowed'); end;
create trigger if not exists audit_log_keep_first before insert on audit_log
when exists (select 1 from audit_log where audit_id = new.audit_id)
begin select raise(ignore); end;

create trigger if not exists deliveries_no_update before update on deliveries
begin select raise(abort, 'deliveries is append-only: UPDATE is not allowed'); end;
create trigger if not exists deliveries_no_delete before delete on deliveries
begin select raise(abort, 'deliveries is append-only: DELETE is not allowed'); end;
create trigger if not exists deliveries_keep_first before insert on deliveries
when exists (select 1 from deliveries where delivery_id = new.delivery_id)
begin select raise(ignore); end;

-- Added in schema version 2 (the REST API): customers' reactions to recommendations, and users registered
-- through the API before a run has seen them. Append-only like the rest.
create table if not exists feedback (
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
create index if not exists feedback_by_user on feedback (user_id, recorded_at);
create index if not exists feedback_by_run on feedback (run_id);

create table if not exists registered_users (
    user_id text primary key,
    name text not null,
    source text not null,
    actor text not null,
    registered_at text not null
);

create trigger if not exists feedback_no_update before update on feedback
begin select raise(abort, 'feedback is append-only: UPDATE is not allowed'); end;
create trigger if not exists feedback_no_delete before delete on feedback
begin select raise(abort, 'feedback is append-only: DELETE is not allowed'); end;
create trigger if not exists feedback_keep_first before insert on feedback
when exists (select 1 from feedback where feedback_id = new.feedback_id)
begin select raise(ignore); end;

create trigger if not exists registered_users_no_update before update on registered_users
begin select raise(abort, 'registered_users is append-only: UPDATE is not allowed'); end;
create trigger if not exists registered_users_no_delete before delete on registered_users
begin select raise(abort, 'registered_users is append-only: DELETE is not allowed'); end;
create trigger if not exists registered_users_keep_first before insert on registered_users
when exists (select 1 from registered_users where user_id = new.user_id)
begin select raise(ignore); end;

pragma user_version = 2;
