-- Transactions of personal accounts, typed, with the owning user's id (so signal queries need no join).
-- {order_by}: the warehouse's row order, or nothing when the raw store writes them (it sorts as it writes:
-- sorting 28M rows here as well doubled the first ingest's write).
with staged as (
    select * from t_transactions
    where _kept
),

accounts as (
    select
        "account_id__v" as account_id,
        "user_id__v" as user_id,
        coalesce("holder_category__v", 'personal') as holder_category
    from t_accounts
    where _kept
),

final as (
    select
        staged."transaction_id__v" as transaction_id,
        staged."account_id__v" as account_id,
        accounts.user_id,
        {typed_columns}
    from staged
    join accounts on accounts.account_id = staged."account_id__v"
    where accounts.holder_category <> 'business'
)

select * from final {order_by}
