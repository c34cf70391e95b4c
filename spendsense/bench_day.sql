-- A next day's transactions for the incremental-batch benchmark: the dataset's last day again, one day later,
-- under new ids (so every row is new to the raw store).
with source as (
    select * from read_parquet($path)
),

last_day as (
    select * from source
    where date = (select max(date) from source)
),

final as (
    select * replace (
        transaction_id || '-next' as transaction_id,
        date + 1 as date,
        authorized_date + 1 as authorized_date
    )
    from last_day
)

select * from final
