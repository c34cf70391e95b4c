-- Recurring streams per user and window (docs/signals.md, "Subscriptions") from the occurrences computed
-- by subscription_occurrences.sql (registered as signal_subscription_occurrences): Plaid-style frequency
-- from the median gap, amount stability around the median amount, and whether the stream counts as a
-- subscription.
-- Parameters: $min_occurrences, $amount_tolerance_fraction, $amount_tolerance_min,
-- $subscription_frequencies, $weekly_min, $weekly_max, $semi_monthly_min, $semi_monthly_max,
-- $semi_monthly_min_concentration, $biweekly_min, $biweekly_max, $monthly_min, $monthly_max, $annually_min,
-- $annually_max.

with

occurrences as (
    select user_id, stream_key, window_days, merchant_key, merchant, transaction_id, date, amount, in_window,
           half_month_phase, gap_days
    from signal_subscription_occurrences
),

stream_names as (
    select user_id, stream_key, min(merchant_key) as merchant_key, min(merchant) as merchant
    from occurrences
    group by user_id, stream_key
),

stream_stats as (
    select
        user_id,
        stream_key,
        window_days,
        count(*) as occurrences,
        count(*) filter (where in_window) as occurrences_in_window,
        median(gap_days) as median_gap_days,
        cast(avg(cast(amount as decimal(18, 2))) as double) as mean_amount,
        median(amount) as median_amount,
        min(amount) as min_amount,
        max(amount) as max_amount,
        min(date) as first_date,
        max(date) as last_date,
        coalesce(cast(sum(cast(amount as decimal(18, 2))) filter (where in_window) as double), 0.0)
            as amount_in_window,
        list_sort(list(transaction_id)) as transaction_ids,
        -- how steadily the occurrences hold their place in the half-month (1 = same days every month)
        sqrt(power(avg(cos(half_month_phase)), 2) + power(avg(sin(half_month_phase)), 2))
            as half_month_concentration
    from occurrences
    group by user_id, stream_key, window_days
    having count(*) >= $min_occurrences
),

classified as (
    select
        n.merchant_key,
        n.merchant,
        s.*,
        -- every occurrence within the tolerance of the median <=> the extremes are
        round(greatest(s.max_amount - s.median_amount, s.median_amount - s.min_amount), 2)
            <= round(greatest($amount_tolerance_fraction * s.median_amount, $amount_tolerance_min), 2)
            as amount_stable,
        case
            when s.median_gap_days between $weekly_min and $weekly_max then 'WEEKLY'
            when s.median_gap_days between $semi_monthly_min and $semi_monthly_max
                and s.half_month_concentration >= $semi_monthly_min_concentration then 'SEMI_MONTHLY'
            when s.median_gap_days between $biweekly_min and $biweekly_max then 'BIWEEKLY'
            when s.median_gap_days between $monthly_min and $monthly_max then 'MONTHLY'
            when s.median_gap_days between $annually_min and $annually_max then 'ANNUALLY'
            else 'UNKNOWN'
        end as frequency
    from stream_stats as s
    inner join stream_names as n on n.user_id = s.user_id and n.stream_key = s.stream_key
),

final as (
    select
        user_id,
        window_days,
        merchant_key,
        merchant,
        frequency,
        occurrences,
        occurrences_in_window,
        median_gap_days,
        mean_amount,
        median_amount,
        amount_stable,
        first_date,
        last_date,
        list_contains($subscription_frequencies, frequency)
            and amount_stable
            and occurrences_in_window >= 1 as is_subscription,
        amount_in_window,
        transaction_ids
    from classified
)

select * from final
order by user_id, window_days, merchant_key
