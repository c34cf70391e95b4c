-- THE consent-status rule, the only place it is written (see docs/decisions.md, "One consent-status rule").
-- Input relation `consent_event_log` (user_id, event, occurred_at, seq, any other columns): seq is the recording order (the
-- opstore's rowid; for a plain frame, its row order). Each event gets `events_after`: how many of the user's
-- events come after it; the user's status is the event with events_after = 0, i.e. the latest occurred_at,
-- ties broken by recording order (the later recorded wins). Total and deterministic; runs in SQLite and DuckDB.
select
    *,
    row_number() over (partition by user_id order by occurred_at desc, seq desc) - 1 as events_after
from consent_event_log
