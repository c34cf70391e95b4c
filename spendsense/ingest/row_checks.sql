-- Row-level checks of one raw table: each failing (row, column, check) becomes one problem row.
-- The view, the list of findings, the joins to allowed-value tables and the filter are generated from the
-- contract (spendsense.schema) by spendsense.ingest.validate.row_checks_sql.
with staged as (
    select * from {view}
),

flagged as (
    select
        staged._src,
        staged._row,
        staged._loc,
        [{findings}] as found
    from staged
    {joins}
    where {any_failed}
),

final as (
    select
        _src as src,
        _row as row,
        _loc as loc,
        unnest(list_filter(found, lambda f: f is not null), recursive := true)
    from flagged
)

select * from final
