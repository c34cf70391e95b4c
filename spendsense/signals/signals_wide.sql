-- One row per processed user and window with every signal (docs/signals.md). Joins the per-family results
-- registered by spendsense.signals.compute (signal_spending, signal_recurring_streams, signal_savings,
-- signal_credit_cards, signal_income, signal_fees) and computes the cross-family ratios; a ratio whose
-- denominator is 0 is NULL.
-- Reads stg_scope, stg_windows (staging.sql), the frames above. No parameters.

with

spending as (
    select user_id, window_days, spending_total, avg_monthly_spending
    from signal_spending
),

recurring_streams as (
    select user_id, window_days, is_subscription, amount_in_window
    from signal_recurring_streams
),

savings as (
    select user_id, window_days, savings_balance, has_savings_account, net_savings_inflow,
           net_savings_inflow_monthly, savings_growth_rate
    from signal_savings
),

credit_cards as (
    select user_id, window_days, utilization, flag_30, flag_50, flag_80, minimum_payment_only,
           interest_charges, is_overdue, balance, credit_limit
    from signal_credit_cards
),

income as (
    select user_id, window_days, payroll_count, median_pay_gap_days, pay_frequency, pay_gap_cv, income_cv,
           avg_monthly_income, checking_balance
    from signal_income
),

fees as (
    select user_id, window_days, fee_count, fee_amount
    from signal_fees
),

subscriptions as (
    select
        user_id,
        window_days,
        count(*) as recurring_merchant_count,
        cast(sum(cast(amount_in_window as decimal(18, 2))) as double) as recurring_spend
    from recurring_streams
    where is_subscription
    group by user_id, window_days
),

cards as (
    select
        user_id,
        window_days,
        count(*) as card_count,
        max(utilization) as max_utilization,
        count(*) filter (where flag_30) as cards_util_ge_30,
        count(*) filter (where flag_50) as cards_util_ge_50,
        count(*) filter (where flag_80) as cards_util_ge_80,
        max(case when minimum_payment_only then 1 else 0 end) as minimum_payment_only,
        cast(sum(cast(interest_charges as decimal(18, 2))) as double) as interest_charges,
        max(case when is_overdue then 1 else 0 end) as is_overdue,
        cast(sum(cast(coalesce(balance, 0.0) as decimal(18, 2))) as double) as total_card_balance,
        cast(sum(cast(coalesce(credit_limit, 0.0) as decimal(18, 2))) as double) as total_credit_limit
    from credit_cards
    group by user_id, window_days
),

final as (
    select
        s.user_id,
        w.window_days,
        sp.spending_total,
        sp.avg_monthly_spending,
        coalesce(sub.recurring_merchant_count, 0) as recurring_merchant_count,
        coalesce(sub.recurring_spend, 0.0) as recurring_spend,
        coalesce(sub.recurring_spend, 0.0) * 30.0 / w.window_days as recurring_spend_monthly,
        case when sp.spending_total > 0 then coalesce(sub.recurring_spend, 0.0) / sp.spending_total end
            as subscription_share,
        sv.savings_balance,
        sv.has_savings_account,
        sv.net_savings_inflow,
        sv.net_savings_inflow_monthly,
        sv.savings_growth_rate,
        case when sp.avg_monthly_spending > 0 then sv.savings_balance / sp.avg_monthly_spending end
            as emergency_fund_months,
        coalesce(c.card_count, 0) as card_count,
        c.max_utilization,
        coalesce(c.cards_util_ge_30, 0) as cards_util_ge_30,
        coalesce(c.cards_util_ge_50, 0) as cards_util_ge_50,
        coalesce(c.cards_util_ge_80, 0) as cards_util_ge_80,
        coalesce(c.minimum_payment_only, 0) as minimum_payment_only,
        coalesce(c.interest_charges, 0.0) as interest_charges,
        coalesce(c.interest_charges, 0.0) * 30.0 / w.window_days as interest_charges_monthly,
        coalesce(c.is_overdue, 0) as is_overdue,
        coalesce(c.total_card_balance, 0.0) as total_card_balance,
        coalesce(c.total_credit_limit, 0.0) as total_credit_limit,
        i.payroll_count,
        i.median_pay_gap_days,
        i.pay_frequency,
        i.pay_gap_cv,
        i.income_cv,
        i.avg_monthly_income,
        i.checking_balance,
        case when sp.avg_monthly_spending > 0 then i.checking_balance / sp.avg_monthly_spending end
            as cash_flow_buffer_months,
        f.fee_count,
        f.fee_amount
    from stg_scope as s
    cross join stg_windows as w
    left join spending as sp on sp.user_id = s.user_id and sp.window_days = w.window_days
    left join subscriptions as sub on sub.user_id = s.user_id and sub.window_days = w.window_days
    left join savings as sv on sv.user_id = s.user_id and sv.window_days = w.window_days
    left join cards as c on c.user_id = s.user_id and c.window_days = w.window_days
    left join income as i on i.user_id = s.user_id and i.window_days = w.window_days
    left join fees as f on f.user_id = s.user_id and f.window_days = w.window_days
)

select * from final
order by user_id, window_days
