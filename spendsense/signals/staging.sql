-- The signal step's staging layer: every filter the signal families share, written once (docs/signals.md,
-- "Staging"). Reads the raw tables (users, accounts, transactions), `stg_parameters` (parameters.sql: one row)
-- and `signal_consent` (each user's consent status, one row per user, by spendsense.consent). No parameters:
-- `.read` it in a DuckDB shell after creating those two. Ingest stores personal accounts only (business accounts
-- and their rows are left out; tests/ingest proves it), so no filter here repeats that rule.

-- name: stg_windows
-- One row per window: its length, the lookback L = max(window, min_lookback_days) of the cadence signals, and
-- the first excluded day of each (a row is in the window when its date > window_start).
create or replace temp view stg_windows as
select
    w.window_days,
    greatest(w.window_days, p.min_lookback_days) as lookback_days,
    p.as_of - w.window_days as window_start,
    p.as_of - greatest(w.window_days, p.min_lookback_days) as lookback_start
from (select unnest(windows) as window_days from stg_parameters) as w
cross join stg_parameters as p;

-- name: stg_scope_status
-- Every user the run considers (the warehouse's users, or the requested ones) and why it is skipped (NULL when
-- processed): processed only when the consent status is 'granted'.
create or replace temp view stg_scope_status as
with

requested_users as (
    select unnest(user_ids) as user_id
    from stg_parameters
),

warehouse_users as (
    select u.user_id
    from users as u
    cross join stg_parameters as p
    where p.user_ids is null or u.user_id in (select user_id from requested_users)
),

candidates as (
    select user_id from warehouse_users
    union
    select user_id from requested_users
)

select
    c.user_id,
    case
        when u.user_id is null then 'unknown user'
        when lc.user_id is null then 'no consent on record'
        when lc.status = 'granted' then null
        when lc.status = 'revoked' then 'consent revoked'
        else 'consent status ' || coalesce(lc.status, 'missing')
    end as skip_reason
from candidates as c
left join warehouse_users as u on u.user_id = c.user_id
left join signal_consent as lc on lc.user_id = c.user_id;

-- name: stg_scope
-- The processed users (consent granted), stored once: every family reads it.
create or replace temp table stg_scope as
select user_id
from stg_scope_status
where skip_reason is null;

-- name: stg_personal_accounts
-- The accounts of the processed users (all personal: ingest stores no business account).
create or replace temp view stg_personal_accounts as
select a.account_id, a.user_id, a.type, a.subtype, a.name, a.mask, a.balance_current, a.balance_limit
from accounts as a
where a.user_id in (select user_id from stg_scope);

-- name: stg_posted_transactions
-- The posted (not pending) transactions of the processed users inside the longest lookback.
create or replace temp view stg_posted_transactions as
select
    t.transaction_id, t.account_id, t.user_id, t.date, t.amount, t.name, t.merchant_name, t.merchant_entity_id,
    t.pfc_primary, t.pfc_detailed
from transactions as t
cross join stg_parameters as p
where not coalesce(t.pending, false)
  and t.date <= p.as_of
  and t.date > p.as_of - p.max_lookback_days
  and t.user_id in (select user_id from stg_scope);
