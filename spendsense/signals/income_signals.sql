-- Income signals per user and window (docs/signals.md, "Income") from the payroll deposits computed by
-- income.sql (registered as signal_payroll_deposits). Pay dates are the distinct deposit dates (deposits on
-- the same day are summed); gaps are days between consecutive pay dates. Also the checking balance
-- (depository accounts that are not savings-like).
-- Reads stg_scope, stg_windows, stg_personal_accounts (staging.sql), signal_payroll_deposits. Parameters:
-- $savings_subtypes, $weekly_min, $weekly_max, $semi_monthly_min, $semi_monthly_max,
-- $semi_monthly_min_concentration, $biweekly_min, $biweekly_max, $monthly_min, $monthly_max.

with

deposits as (
    select user_id, window_days, date, amount
    from signal_payroll_deposits
),

paydays as (
    select user_id, window_days, date, sum(cast(amount as decimal(18, 2))) as amount
    from deposits
    group by user_id, window_days, date
),

payday_sequence as (
    select
        user_id,
        window_days,
        date,
        amount,
        -- the day of month as an angle on a half-month circle (as for recurring streams)
        4 * pi() * dayofmonth(date) / dayofmonth(last_day(date)) as half_month_phase,
        date_diff('day', lag(date) over (partition by user_id, window_days order by date), date) as gap_days
    from paydays
),

payday_stats as (
    select
        user_id,
        window_days,
        count(*) as payday_count,
        count(gap_days) as gap_count,
        median(gap_days) as median_gap_days,
        -- moments from exact sums (integers, cents), so the result does not depend on summation order
        sum(gap_days) as gap_sum,
        sum(gap_days * gap_days) as gap_square_sum,
        sum(amount) as pay_sum,
        sum(amount * amount) as pay_square_sum,
        sqrt(power(avg(cos(half_month_phase)), 2) + power(avg(sin(half_month_phase)), 2))
            as half_month_concentration
    from payday_sequence
    group by user_id, window_days
),

deposit_totals as (
    select
        user_id,
        window_days,
        count(*) as payroll_count,
        cast(sum(cast(amount as decimal(18, 2))) as double) as payroll_total
    from deposits
    group by user_id, window_days
),

checking_balances as (
    select
        user_id,
        cast(sum(cast(coalesce(balance_current, 0.0) as decimal(18, 2))) as double)
            as checking_balance
    from stg_personal_accounts
    where type = 'depository'
      and not list_contains($savings_subtypes, coalesce(subtype, ''))
    group by user_id
),

final as (
    select
        s.user_id,
        w.window_days,
        coalesce(d.payroll_count, 0) as payroll_count,
        p.median_gap_days as median_pay_gap_days,
        case
            when coalesce(p.payday_count, 0) < 2 then null
            when p.median_gap_days between $weekly_min and $weekly_max then 'weekly'
            when p.median_gap_days between $semi_monthly_min and $semi_monthly_max
                and p.half_month_concentration >= $semi_monthly_min_concentration then 'semi-monthly'
            when p.median_gap_days between $biweekly_min and $biweekly_max then 'biweekly'
            when p.median_gap_days between $monthly_min and $monthly_max then 'monthly'
            else 'irregular'
        end as pay_frequency,
        -- coefficient of variation = population standard deviation / mean
        --                          = sqrt(n * sum(x^2) - sum(x)^2) / sum(x)
        case
            when p.gap_count >= 2 and p.gap_sum > 0
                then sqrt(greatest(
                    cast(p.gap_count * p.gap_square_sum - p.gap_sum * p.gap_sum as double), 0.0))
                    / cast(p.gap_sum as double)
        end as pay_gap_cv,
        case
            when p.payday_count >= 2 and p.pay_sum > 0
                then sqrt(greatest(
                    cast(p.payday_count * p.pay_square_sum - p.pay_sum * p.pay_sum as double), 0.0))
                    / cast(p.pay_sum as double)
        end as income_cv,
        coalesce(d.payroll_total, 0.0) * 30.0 / w.lookback_days as avg_monthly_income,
        coalesce(c.checking_balance, 0.0) as checking_balance
    from stg_scope as s
    cross join stg_windows as w
    left join payday_stats as p on p.user_id = s.user_id and p.window_days = w.window_days
    left join deposit_totals as d on d.user_id = s.user_id and d.window_days = w.window_days
    left join checking_balances as c on c.user_id = s.user_id
)

select * from final
