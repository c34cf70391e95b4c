-- Occurrences of candidate recurring streams, per user and window (docs/signals.md, "Subscriptions"): the
-- first of the subscriptions family's two queries, read by subscriptions.sql as
-- `signal_subscription_occurrences`.
-- A stream is (user, merchant key): merchant_entity_id, else normalized merchant_name, else normalized name.
-- Outflows only (refunds, amount < 0, never join a stream) on depository and credit accounts, minus excluded
-- categories, over the lookback L = max(window, $min_lookback_days); only streams with >= $min_occurrences
-- outflows in the longest lookback. (Two queries, not one: in DuckDB a median aggregate fed straight from the
-- window below spills tens of GB at 100,000 users; from a materialized input it takes seconds.)
-- Reads signal_scope. Parameters: $as_of, $windows, $user_ids, $min_lookback_days, $max_lookback_days,
-- $sub_excluded_primary, $sub_excluded_detailed, $min_occurrences.

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

sequenced as (
    select
        user_id,
        stream_key,
        merchant_key,
        merchant,
        transaction_id,
        date,
        amount,
        -- same-day occurrences are interchangeable: the multiset of gaps does not depend on their order
        lag(date) over stream_order as previous_date,
        count(*) over (stream_order rows between unbounded preceding and unbounded following) as stream_size
    from keyed_outflows
    window stream_order as (partition by user_id, stream_key order by date)
),

final as (
    -- each occurrence of a candidate stream once per window whose lookback contains it; the gap to the
    -- previous occurrence only when that one is inside the same lookback
    select
        q.user_id,
        q.stream_key,
        w.window_days,
        q.merchant_key,
        q.merchant,
        q.transaction_id,
        q.date,
        q.amount,
        q.date > cast($as_of as date) - w.window_days as in_window,
        -- the day of month as an angle on a half-month circle: the 15th and the last day of any month land
        -- on the same angle, the 1st and the 16th nearly so
        4 * pi() * dayofmonth(q.date) / dayofmonth(last_day(q.date)) as half_month_phase,
        case
            when q.previous_date > cast($as_of as date) - w.lookback_days
                then date_diff('day', q.previous_date, q.date)
        end as gap_days
    from sequenced as q
    inner join windows as w on q.date > cast($as_of as date) - w.lookback_days
    where q.stream_size >= $min_occurrences
)

select * from final
