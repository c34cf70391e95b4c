-- One Plaid transaction object (as in /transactions/get, same field order) per row of
-- `transactions_ordered`, as JSON text followed by a comma, in the table's order (insertion order is
-- preserved). Fields the raw table does not carry are null. Built by one concat() per row (to_json() of
-- each value escapes it): several times faster than to_json() of a nested struct.
-- Reads transactions_ordered: the transactions table sorted by user, newest first, plus user_position.

with

pieces as (
    select
        user_position,
        coalesce(to_json(account_id), 'null') as account_id,
        coalesce(to_json(amount), 'null') as amount,
        coalesce(to_json(iso_currency_code), 'null') as iso_currency_code,
        case
            when merchant_name is null then '[]'
            else '[{"name":' || to_json(merchant_name)
                || ',"type":"merchant","logo_url":null,"website":null,"entity_id":'
                || coalesce(to_json(merchant_entity_id), 'null')
                || ',"confidence_level":' || coalesce(to_json(pfc_confidence_level), 'null') || '}]'
        end as counterparties,
        coalesce(to_json(date), 'null') as date,
        coalesce(to_json(authorized_date), 'null') as authorized_date,
        coalesce(to_json(name), 'null') as name,
        coalesce(to_json(merchant_name), 'null') as merchant_name,
        coalesce(to_json(merchant_entity_id), 'null') as merchant_entity_id,
        coalesce(to_json(payment_channel), 'null') as payment_channel,
        coalesce(to_json(pending), 'null') as pending,
        coalesce(to_json(pfc_primary), 'null') as pfc_primary,
        coalesce(to_json(pfc_detailed), 'null') as pfc_detailed,
        coalesce(to_json(pfc_confidence_level), 'null') as pfc_confidence_level,
        coalesce(to_json('https://plaid-category-icons.plaid.com/PFC_' || pfc_primary || '.png'), 'null') as icon,
        coalesce(to_json(transaction_id), 'null') as transaction_id,
        case payment_channel
            when 'in store' then '"place"'
            when 'online' then '"digital"'
            else '"special"'
        end as transaction_type
    from transactions_ordered
),

final as (
    select
        user_position,
        concat(
            '{"account_id":', account_id,
            ',"account_owner":null',
            ',"amount":', amount,
            ',"iso_currency_code":', iso_currency_code,
            ',"unofficial_currency_code":null',
            ',"check_number":null',
            ',"counterparties":', counterparties,
            ',"date":', date,
            ',"datetime":null',
            ',"authorized_date":', authorized_date,
            ',"authorized_datetime":null',
            ',"location":{"address":null,"city":null,"region":null,"postal_code":null,"country":null,',
            '"lat":null,"lon":null,"store_number":null}',
            ',"name":', name,
            ',"merchant_name":', merchant_name,
            ',"merchant_entity_id":', merchant_entity_id,
            ',"logo_url":null',
            ',"website":null',
            ',"payment_meta":{"by_order_of":null,"payee":null,"payer":null,"payment_method":null,',
            '"payment_processor":null,"ppd_id":null,"reason":null,"reference_number":null}',
            ',"payment_channel":', payment_channel,
            ',"pending":', pending,
            ',"pending_transaction_id":null',
            ',"personal_finance_category":{"primary":', pfc_primary,
            ',"detailed":', pfc_detailed,
            ',"confidence_level":', pfc_confidence_level, '}',
            ',"personal_finance_category_icon_url":', icon,
            ',"transaction_id":', transaction_id,
            ',"transaction_code":null',
            ',"transaction_type":', transaction_type,
            '},'
        ) as transaction_json
    from pieces
)

select * from final
