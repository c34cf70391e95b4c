-- The `signals` view: the long form of signals_wide (docs/schema.md), one row per user, window and signal,
-- `value` for numeric signals and `value_text` for categorical ones. A view, not a stored copy: at 100,000 users
-- the copy was 5.7M rows written on every run, while its readers (evaluation, the dashboard) read it once or
-- for one user. The signal names below are the catalogue's (spendsense/signals/catalog.py; a test keeps them
-- equal). No parameters. The file's one statement creates the view.

-- name: view
create or replace view signals as
with

wide as (
    select * from signals_wide
),

numeric_signals as (
    select user_id, window_days, signal, value
    from (
        select
            user_id,
            window_days,
            cast(spending_total as double) as spending_total,
            cast(avg_monthly_spending as double) as avg_monthly_spending,
            cast(recurring_merchant_count as double) as recurring_merchant_count,
            cast(recurring_spend as double) as recurring_spend,
            cast(recurring_spend_monthly as double) as recurring_spend_monthly,
            cast(subscription_share as double) as subscription_share,
            cast(savings_balance as double) as savings_balance,
            cast(has_savings_account as double) as has_savings_account,
            cast(net_savings_inflow as double) as net_savings_inflow,
            cast(net_savings_inflow_monthly as double) as net_savings_inflow_monthly,
            cast(savings_growth_rate as double) as savings_growth_rate,
            cast(emergency_fund_months as double) as emergency_fund_months,
            cast(card_count as double) as card_count,
            cast(max_utilization as double) as max_utilization,
            cast(cards_util_ge_30 as double) as cards_util_ge_30,
            cast(cards_util_ge_50 as double) as cards_util_ge_50,
            cast(cards_util_ge_80 as double) as cards_util_ge_80,
            cast(minimum_payment_only as double) as minimum_payment_only,
            cast(interest_charges as double) as interest_charges,
            cast(interest_charges_monthly as double) as interest_charges_monthly,
            cast(is_overdue as double) as is_overdue,
            cast(total_card_balance as double) as total_card_balance,
            cast(total_credit_limit as double) as total_credit_limit,
            cast(payroll_count as double) as payroll_count,
            cast(median_pay_gap_days as double) as median_pay_gap_days,
            cast(pay_gap_cv as double) as pay_gap_cv,
            cast(income_cv as double) as income_cv,
            cast(avg_monthly_income as double) as avg_monthly_income,
            cast(checking_balance as double) as checking_balance,
            cast(cash_flow_buffer_months as double) as cash_flow_buffer_months,
            cast(fee_count as double) as fee_count,
            cast(fee_amount as double) as fee_amount
        from wide
    )
    unpivot include nulls (value for signal in (
            spending_total,
            avg_monthly_spending,
            recurring_merchant_count,
            recurring_spend,
            recurring_spend_monthly,
            subscription_share,
            savings_balance,
            has_savings_account,
            net_savings_inflow,
            net_savings_inflow_monthly,
            savings_growth_rate,
            emergency_fund_months,
            card_count,
            max_utilization,
            cards_util_ge_30,
            cards_util_ge_50,
            cards_util_ge_80,
            minimum_payment_only,
            interest_charges,
            interest_charges_monthly,
            is_overdue,
            total_card_balance,
            total_credit_limit,
            payroll_count,
            median_pay_gap_days,
            pay_gap_cv,
            income_cv,
            avg_monthly_income,
            checking_balance,
            cash_flow_buffer_months,
            fee_count,
            fee_amount
    ))
),

categorical_signals as (
    select user_id, window_days, signal, value_text
    from (
        select
            user_id,
            window_days,
            pay_frequency
        from wide
    )
    unpivot include nulls (value_text for signal in (
            pay_frequency
    ))
),

final as (
    select
        cast(user_id as varchar) as user_id,
        cast(window_days as integer) as window_days,
        cast(signal as varchar) as signal,
        cast(value as double) as value,
        cast(null as varchar) as value_text
    from numeric_signals
    union all
    select
        cast(user_id as varchar) as user_id,
        cast(window_days as integer) as window_days,
        cast(signal as varchar) as signal,
        cast(null as double) as value,
        cast(value_text as varchar) as value_text
    from categorical_signals
)

select * from final
