-- Recurring streams per user and window (docs/signals.md, "Subscriptions"): Plaid-style frequency from the
-- median gap, amount stability around the median amount, and whether the stream counts as a subscription.
-- A stream is (user, merchant key): merchant_entity_id, else normalized merchant_name, else normalized name.
-- Outflows only (refunds, amount < 0, never join a stream) on depository and credit accounts, minus excluded
-- categories, over the lookback L = max(window, $min_lookback_days); only streams with >= $min_occurrences
-- occurrences in L. One grouping per stream, then list functions per window over the stream's outflows inside L:
-- the gaps are the differences of consecutive dates in date order. (No window function: a gap window over every
-- outflow sorts all of them, and a median fed from it spilled tens of GB at 100,000 users.)
-- Reads stg_windows, stg_personal_accounts, stg_posted_transactions (staging.sql). Parameters:
-- $sub_excluded_primary, $sub_excluded_detailed, $min_occurrences, $amount_tolerance_fraction,
-- $amount_tolerance_min, $subscription_frequencies, $weekly_min, $weekly_max, $semi_monthly_min,
-- $semi_monthly_max, $semi_monthly_min_concentration, $biweekly_min, $biweekly_max, $monthly_min, $monthly_max,
-- $annually_min, $annually_max.

with

stream_outflows as (
    select
        t.user_id,
        t.transaction_id,
        t.date,
        t.amount,
        coalesce(
            'entity:' || nullif(trim(t.merchant_entity_id), ''),
            'merchant:' || nullif(trim(regexp_replace(lower(t.merchant_name), '[^a-z]+', ' ', 'g')), ''),
            'name:' || nullif(trim(regexp_replace(lower(t.name), '[^a-z]+', ' ', 'g')), ''),
            'name:' || lower(trim(t.name))
        ) as merchant_key,
        coalesce(nullif(trim(t.merchant_name), ''), t.name) as merchant
    from stg_posted_transactions as t
    inner join stg_personal_accounts as a on a.account_id = t.account_id
    where a.type in ('depository', 'credit')
      and t.amount > 0
      and not list_contains($sub_excluded_primary, coalesce(t.pfc_primary, ''))
      and not list_contains($sub_excluded_detailed, coalesce(t.pfc_detailed, ''))
),

streams as (
    -- a 64-bit hash of the merchant key stands in for it in the grouping (long equal strings are slow to group);
    -- a collision would need two merchants of one user to share a 64-bit hash
    select
        user_id,
        hash(merchant_key) as stream_key,
        min(merchant_key) as merchant_key,
        min(merchant) as merchant,
        list(struct_pack(date := date, amount := amount, transaction_id := transaction_id)) as outflows
    from stream_outflows
    group by user_id, stream_key
    having count(*) >= $min_occurrences
),

stream_windows as (
    -- each window's occurrences: the stream's outflows inside its lookback L
    select
        s.user_id,
        s.stream_key,
        w.window_days,
        s.merchant_key,
        s.merchant,
        w.window_start,
        list_filter(s.outflows, lambda o: o.date > w.lookback_start) as occurrences
    from streams as s
    cross join stg_windows as w
),

occurrence_lists as (
    select
        user_id,
        stream_key,
        window_days,
        merchant_key,
        merchant,
        array_length(occurrences) as occurrences,
        list_sort(list_transform(occurrences, lambda o: o.date)) as dates,
        list_transform(occurrences, lambda o: cast(o.amount as decimal(18, 2))) as amounts,
        list_transform(occurrences, lambda o: o.amount) as amounts_float,
        list_transform(
            list_filter(occurrences, lambda o: o.date > window_start),
            lambda o: cast(o.amount as decimal(18, 2))
        ) as amounts_in_window,
        list_sort(list_transform(occurrences, lambda o: o.transaction_id)) as transaction_ids
    from stream_windows
    where array_length(occurrences) >= $min_occurrences
),

stream_stats as (
    select
        user_id,
        stream_key,
        window_days,
        merchant_key,
        merchant,
        occurrences,
        array_length(amounts_in_window) as occurrences_in_window,
        -- the gap of each occurrence to the one before it in L (the first occurrence in L has none); same-day
        -- occurrences are interchangeable: the multiset of gaps does not depend on their order
        list_median(list_transform(range(1, occurrences), lambda i: date_diff('day', dates[i], dates[i + 1])))
            as median_gap_days,
        -- list_aggregate(..., 'avg'): list_avg of cents, spelled so the Spark engine keeps it exact (docs/scale-out.md)
        cast(list_aggregate(amounts, 'avg') as double) as mean_amount,
        list_median(amounts_float) as median_amount,
        list_min(amounts_float) as min_amount,
        list_max(amounts_float) as max_amount,
        dates[1] as first_date,
        dates[occurrences] as last_date,
        coalesce(cast(list_sum(amounts_in_window) as double), 0.0) as amount_in_window,
        transaction_ids,
        -- how steadily the occurrences hold their place in the half-month (1 = same days every month): the day
        -- of month as an angle on a half-month circle, where the 15th and the last day of any month land on the
        -- same angle, the 1st and the 16th nearly so
        sqrt(
            power(list_avg(list_transform(dates, lambda d: cos(4 * pi() * dayofmonth(d) / dayofmonth(last_day(d))))), 2)
            + power(list_avg(list_transform(dates, lambda d: sin(4 * pi() * dayofmonth(d) / dayofmonth(last_day(d))))), 2)
        ) as half_month_concentration
    from occurrence_lists
),

classified as (
    select
        *,
        -- every occurrence within the tolerance of the median <=> the extremes are
        round(greatest(max_amount - median_amount, median_amount - min_amount), 2)
            <= round(greatest($amount_tolerance_fraction * median_amount, $amount_tolerance_min), 2)
            as amount_stable,
        case
            when median_gap_days between $weekly_min and $weekly_max then 'WEEKLY'
            when median_gap_days between $semi_monthly_min and $semi_monthly_max
                and half_month_concentration >= $semi_monthly_min_concentration then 'SEMI_MONTHLY'
            when median_gap_days between $biweekly_min and $biweekly_max then 'BIWEEKLY'
            when median_gap_days between $monthly_min and $monthly_max then 'MONTHLY'
            when median_gap_days between $annually_min and $annually_max then 'ANNUALLY'
            else 'UNKNOWN'
        end as frequency
    from stream_stats
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
