-- The run's parameters as one row, `stg_parameters`, which the staging views (staging.sql) read: the run date,
-- the windows, the requested users (NULL = every user) and the lookbacks. The only statement of the signal step
-- that binds the shared parameters; in a DuckDB shell, create the same row from literals (docs/signals.md).
create or replace temp table stg_parameters as
select
    cast($as_of as date) as as_of,
    cast($windows as integer[]) as windows,
    cast($user_ids as varchar[]) as user_ids,
    cast($min_lookback_days as integer) as min_lookback_days,
    cast($max_lookback_days as integer) as max_lookback_days
