-- One liability table, typed, for personal accounts only.
with staged as (
    select * from {view}
    where _kept
),

personal_accounts as (
    select "account_id__v" as account_id
    from t_accounts
    where _kept and coalesce("holder_category__v", 'personal') <> 'business'
),

final as (
    select {typed_columns}
    from staged
    join personal_accounts on personal_accounts.account_id = staged."account_id__v"
)

select * from final order by {order_by}
