-- Child rows whose reference (e.g. transactions.account_id) matches no row of the parent table.
with child as (
    select _src, _row, _loc, {child_value} as ref_value
    from {child}
    where _kept and {child_value} is not null
),

parent as (
    select distinct {parent_value} as ref_value
    from {parent}
    where _kept and {parent_value} is not null
),

final as (
    select
        child._src as src,
        child._row as row,
        child._loc as loc,
        child.ref_value as val
    from child
    left join parent on parent.ref_value = child.ref_value
    where parent.ref_value is null
)

select * from final
