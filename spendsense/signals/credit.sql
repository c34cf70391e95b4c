-- One row per credit card, user and window (docs/signals.md, "Credit"): utilization = current balance /
-- limit (a negative balance counts as 0; NULL without a positive limit), flags, payments and interest in
-- the window, and whether the card is paid at the minimum only.
-- Reads stg_windows, stg_personal_accounts, stg_posted_transactions (staging.sql). Parameters: $util_flag_30,
-- $util_flag_50, $util_flag_80, $minimum_payment_tolerance, $payment_categories, $interest_categories.

with

cards as (
    select
        a.user_id,
        a.account_id,
        a.mask,
        a.name as card_name,
        a.balance_current as balance,
        a.balance_limit as credit_limit,
        case
            when a.balance_limit > 0 then greatest(coalesce(a.balance_current, 0.0), 0.0) / a.balance_limit
        end
            as utilization
    from stg_personal_accounts as a
    where a.type = 'credit'
),

liabilities as (
    select l.account_id, l.is_overdue, l.last_payment_amount, l.minimum_payment_amount
    from credit_liabilities as l
    inner join cards as c on c.account_id = l.account_id
),

aprs as (
    select
        r.account_id,
        max(case when r.apr_type = 'purchase_apr' then r.apr_percentage end) as purchase_apr,
        max(r.apr_percentage) as max_apr
    from credit_aprs as r
    inner join cards as c on c.account_id = r.account_id
    group by r.account_id
),

card_activity as (
    select
        t.account_id,
        w.window_days,
        count(*) filter (
            where t.amount < 0 and list_contains($payment_categories, coalesce(t.pfc_detailed, ''))
        ) as payments_in_window,
        max(-t.amount) filter (
            where t.amount < 0 and list_contains($payment_categories, coalesce(t.pfc_detailed, ''))
        ) as largest_payment_in_window,
        cast(sum(cast(t.amount as decimal(18, 2))) filter (
            where t.amount > 0 and list_contains($interest_categories, coalesce(t.pfc_detailed, ''))
        ) as double) as interest_charges
    from stg_posted_transactions as t
    inner join cards as c on c.account_id = t.account_id
    inner join stg_windows as w on t.date > w.window_start
    group by t.account_id, w.window_days
),

card_windows as (
    select
        c.*,
        w.window_days,
        l.minimum_payment_amount,
        l.last_payment_amount,
        coalesce(l.is_overdue, false) as is_overdue,
        coalesce(ca.payments_in_window, 0) as payments_in_window,
        ca.largest_payment_in_window,
        coalesce(ca.interest_charges, 0.0) as interest_charges,
        coalesce(ap.purchase_apr, ap.max_apr) as apr_percentage
    from cards as c
    cross join stg_windows as w
    left join liabilities as l on l.account_id = c.account_id
    left join aprs as ap on ap.account_id = c.account_id
    left join card_activity as ca on ca.account_id = c.account_id and ca.window_days = w.window_days
),

final as (
    select
        user_id,
        window_days,
        account_id,
        mask,
        card_name,
        balance,
        credit_limit,
        utilization,
        coalesce(utilization >= $util_flag_30, false) as flag_30,
        coalesce(utilization >= $util_flag_50, false) as flag_50,
        coalesce(utilization >= $util_flag_80, false) as flag_80,
        minimum_payment_amount,
        payments_in_window,
        largest_payment_in_window,
        last_payment_amount,
        case
            when coalesce(minimum_payment_amount, 0.0) <= 0 then false
            when payments_in_window > 0
                then round(largest_payment_in_window, 2)
                    <= round($minimum_payment_tolerance * minimum_payment_amount, 2)
            else coalesce(
                last_payment_amount > 0
                and round(last_payment_amount, 2)
                    <= round($minimum_payment_tolerance * minimum_payment_amount, 2),
                false
            )
        end as minimum_payment_only,
        interest_charges,
        interest_charges * 30.0 / window_days as interest_charges_monthly,
        is_overdue,
        apr_percentage
    from card_windows
)

select * from final
order by user_id, window_days, account_id
