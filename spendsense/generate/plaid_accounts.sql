-- The "accounts" array of Plaid's /transactions/get and /liabilities/get responses, as JSON text per user.
-- Reads the raw table accounts.

with

account_objects as (
    select
        user_id,
        account_id,
        {
            account_id: account_id,
            balances: {
                available: balance_available,
                current: balance_current,
                iso_currency_code: iso_currency_code,
                "limit": balance_limit,
                unofficial_currency_code: cast(null as varchar)
            },
            mask: mask,
            name: name,
            official_name: official_name,
            subtype: subtype,
            type: type,
            holder_category: holder_category
        } as account
    from accounts
),

final as (
    select user_id, cast(to_json(list(account order by account_id)) as varchar) as accounts_json
    from account_objects
    group by user_id
)

select * from final
order by user_id
