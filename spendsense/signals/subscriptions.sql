-- Recurring streams per user and window (docs/signals.md, "Subscriptions"). A stream is (user, merchant
-- key): merchant_entity_id, else normalized merchant_name, else normalized name. Outflows only (refunds,
-- amount < 0, never join a stream) on depository and credit accounts, minus excluded categories, over the
-- lookback L = max(window, $min_lookback_days). Returns every stream with >= $min_occurrences occurrences
-- in L, its Plaid-style frequency, and whether it counts as a subscription.
-- Reads signal_scope. Parameters: $as_of, $windows, $user_ids, $min_lookback_days, $max_lookback_days,
-- $sub_excluded_primary, $sub_excluded_detailed, $min_occurrences, $amount_tolerance_fraction,
-- $amount_tolerance_min, $subscription_frequencies, $weekly_min, $weekly_max, $semi_monthly_min,
-- $semi_monthly_max, $semi_monthly_min_concentration, $biweekly_min, $biweekly_max, $monthly_min,
-- $monthly_max, $annually_min, $annually_max.

with

scope as (
    select user_id
    from signal_scope
),

windows as (
    select window_days, greatest(window_days, $min_lookback_days) as lookback_days
    from (select unnest($windows) as window_days) as requested_windows
),

personal_accounts as (
    select account_id, user_id, type
    from accounts
    where coalesce(holder_category, 'personal') <> 'business'
      and ($user_ids is null or list_contains(cast($user_ids as varchar[]), user_id))
),

posted_transactions as (
    select transaction_id, account_id, user_id, date, amount, name, merchant_name, merchant_entity_id,
           pfc_primary, pfc_detailed
    from transactions
    where not coalesce(pending, false)
      and date <= cast($as_of as date)
      and date > cast($as_of as date) - $max_lookback_days
      and ($user_ids is null or list_contains(cast($user_ids as varchar[]), user_id))
),

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
    from posted_transactions as t
    inner join personal_accounts as a on a.account_id = t.account_id
    inner join scope as s on s.user_id = t.user_id
    where a.type in ('depository', 'credit')
      and t.amount > 0
      and not list_contains($sub_excluded_primary, coalesce(t.pfc_primary, ''))
      and not list_contains($sub_excluded_detailed, coalesce(t.pfc_detailed, ''))
),

keyed_outflows as (
    -- a 64-bit hash of the merchant key stands in for it in sorts and groups (long equal strings are what
    -- makes sorting 25M rows slow); a collision would need two merchants of one user to share a 64-bit hash
    select user_id, transaction_id, date, amount, merchant_key, merchant, hash(merchant_key) as stream_key
    from stream_outflows
),

stream_names as (
    select user_id, stream_key, min(merchant_key) as merchant_key, min(merchant) as merchant
    from keyed_outflows
    group by user_id, stream_key
),

sequenced as (
    select
        user_id,
        stream_key,
        transaction_id,
        date,
        amount,
        -- same-day occurrences are interchangeable: the multiset of gaps does not depend on their order
        lag(date) over stream_order as previous_date,
        count(*) over (stream_order rows between unbounded preceding and unbounded following) as stream_size
    from keyed_outflows
    window stream_order as (partition by user_id, stream_key order by date)
),

occurrences as (
    -- each occurrence of a candidate stream once per window whose lookback contains it; the gap to the
    -- previous occurrence only when that one is inside the same lookback
    select
        q.user_id,
        q.stream_key,
        w.window_days,
        q.transaction_id,
        q.date,
        q.amount,
        q.date > cast($as_of as date) - w.window_days as in_window,
        -- the day of month as an angle on a half-month circle: the 15th and the last day (or the 1st and
        -- the 16th) of any month land on the same angle
        4 * pi() * dayofmonth(q.date) / dayofmonth(last_day(q.date)) as half_month_phase,
        case
            when q.previous_date > cast($as_of as date) - w.lookback_days
                then date_diff('day', q.previous_date, q.date)
        end as gap_days
    from sequenced as q
    inner join windows as w on q.date > cast($as_of as date) - w.lookback_days
    where q.stream_size >= $min_occurrences
),

stream_stats as (
    select
        user_id,
        stream_key,
        window_days,
        count(*) as occurrences,
        count(*) filter (where in_window) as occurrences_in_window,
        median(gap_days) as median_gap_days,
        avg(amount) as mean_amount,
        median(amount) as median_amount,
        min(amount) as min_amount,
        max(amount) as max_amount,
        min(date) as first_date,
        max(date) as last_date,
        coalesce(sum(amount) filter (where in_window), 0.0) as amount_in_window,
        list_sort(list(transaction_id)) as transaction_ids,
        -- how steadily the occurrences hold their place in the half-month (1 = same days every month)
        sqrt(power(avg(cos(half_month_phase)), 2) + power(avg(sin(half_month_phase)), 2)) as half_month_concentration
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
