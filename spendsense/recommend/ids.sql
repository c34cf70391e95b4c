-- Deterministic ids: the first 16 hex digits of sha256('run_id|user_id|window_days|item_id'); a row with a NULL
-- item_id gets the id of its user-window ('run_id|user_id|window_days', the decision context id).
-- View registered by the caller: id_rows (user_id, window_days, item_id). Parameter: $run_id.

with

id_rows_in as (
    select * from id_rows
),

final as (
    select left(sha256(concat_ws('|', $run_id, user_id, cast(window_days as varchar), item_id)), 16) as id
    from id_rows_in
)

select * from final
