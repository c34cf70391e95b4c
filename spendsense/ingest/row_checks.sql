-- Row-level checks of one raw table: each failing (row, column, check) becomes one problem row.
-- `flagged` is one row_checks_part.sql query per staged file, generated from the contract (spendsense.schema)
-- and the file's column types by spendsense.ingest.validate.row_checks_sql.
with flagged as (
    {flagged}
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
