-- A raw table without account rows (users, consent_events): typed, in key order.
with staged as (
    select * from {view}
    where _kept
),

final as (
    select {typed_columns}
    from staged
)

select * from final order by {order_by}
