-- Accounts, typed, without business accounts; a missing holder_category means personal (Plaid often omits it).
with staged as (
    select * from t_accounts
    where _kept
),

final as (
    select
        {typed_columns},
        coalesce("holder_category__v", 'personal') as holder_category
    from staged
    where coalesce("holder_category__v", 'personal') <> 'business'
)

select * from final order by user_id, account_id
