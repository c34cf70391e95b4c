-- A raw table without account rows (users, consent_events): typed, in key order.
with staged as (
    select * from {view}
    where _kept
),

final as (
    select {typed_columns}, _src, _row
    from staged
)

select * exclude (_src, _row) from final order by {order_by}
