-- Rows whose primary key already appeared earlier in the input; every later copy is reported
-- with the location of the first one.
-- `staged` is read twice rather than materialized: holding every row's key and position cost ~3 GB at 100k users,
-- and the second read stops early when no key repeats (the join's build side is empty).
with staged as not materialized (
    select _src, _row, _loc, {key_values}
    from {view}
    where _kept and {key_not_null}
),

repeated as (
    select {key_columns}
    from staged
    group by {key_columns}
    having count(*) > 1
),

ranked as (
    select
        staged.*,
        row_number() over w as copy_no,
        first_value(staged._src) over w as ref_src,
        first_value(staged._row) over w as ref_row,
        first_value(staged._loc) over w as ref_loc
    from staged
    join repeated using ({key_columns})
    window w as (
        partition by {key_columns_qualified}
        order by staged._src, staged._row, staged._loc
        rows between unbounded preceding and current row
    )
),

final as (
    select
        _src as src,
        _row as row,
        _loc as loc,
        concat_ws(' / ', {key_columns}) as val,
        ref_src,
        ref_row,
        ref_loc
    from ranked
    where copy_no > 1
)

select * from final
