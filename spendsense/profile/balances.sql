-- Current balance of every personal account, with its type, for the balance distributions.
with accounts as (
    select * from accounts
),

final as (
    select
        user_id,
        account_id,
        type,
        subtype,
        case
            when type = 'credit' then 'credit card (owed)'
            when type = 'loan' then 'loan (owed)'
            else coalesce(subtype, type)
        end as account_kind,
        balance_current
    from accounts
    where balance_current is not null
)

select * from final
