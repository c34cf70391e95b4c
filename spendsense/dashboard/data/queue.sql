-- The review queue: every recommendation of the run for a consenting user with its review state, filtered,
-- counted and paged in the warehouse (DuckDB). The review state comes from the opstore (SQLite, append-only: the
-- latest review of a recommendation is its state) and is registered into the session's DuckDB connection as
-- `queue_latest` (one row per reviewed recommendation) and `queue_consenting` (user_id of every consenting user).

-- name: marks
-- (opstore) positions of the newest review and consent event: they change whenever anyone records one
select (select coalesce(max(rowid), 0) from reviews) as review_mark,
       (select coalesce(max(rowid), 0) from consent_events) as consent_mark

-- name: latest_states
-- (opstore) the review in force per recommendation, and whether it was ever flagged
select recommendation_id, review_id, action, operator, recorded_at, reason, ever_flagged from (
    select recommendation_id, review_id, action, operator, recorded_at, reason,
           max(case when action = 'flag' then 1 else 0 end) over (partition by recommendation_id) as ever_flagged,
           row_number() over (partition by recommendation_id order by recorded_at desc, rowid desc) as newest
    from reviews) as ranked
where newest = 1

-- name: state
-- (warehouse) materialize every recommendation of a consenting user with its state, once per opstore change
create or replace temp table queue_state as
with state as (
    select r.recommendation_id, r.user_id, r.window_days, r.kind, r.rank, r.score, r.title, r.item_id,
           r.persona_id, r.rationale,
           case l.action when 'approve' then 'approved' when 'override' then 'overridden'
                         when 'suppress' then 'suppressed' when 'flag' then 'flagged' else 'pending' end as status,
           coalesce(l.review_id, '') as latest_review_id, l.operator as reviewed_by, l.recorded_at as reviewed_at,
           l.reason as note, coalesce(l.ever_flagged, 0) = 1 as ever_flagged
    from recommendations r
    join queue_consenting c on c.user_id = r.user_id
    left join queue_latest l on l.recommendation_id = r.recommendation_id
),
paired as (
    -- the same item recommended to the same user in another window
    select s.*, o.recommendation_id as other_id, o.window_days as other_window_days,
           o.status as other_status, o.latest_review_id as other_latest_review_id
    from state s
    left join state o on o.user_id = s.user_id and o.item_id = s.item_id and o.window_days <> s.window_days
    qualify row_number() over (partition by s.recommendation_id order by o.window_days) = 1
)
select *, case status when 'flagged' then 0 when 'pending' then 1 when 'approved' then 2
                      when 'overridden' then 3 else 4 end as status_order
from paired

-- name: filter
-- (warehouse) materialize the rows matching the filters; a NULL filter parameter matches everything
create or replace temp table queue_filtered as
select * from queue_state
where status in (select unnest($statuses))
  and ($persona_id is null or persona_id = $persona_id)
  and ($kind is null or kind = $kind)
  and ($window_days is null or window_days = $window_days)
  and ($ever_flagged is null or ever_flagged = $ever_flagged)
  and ($score_min is null or score >= $score_min)
  and ($score_max is null or score <= $score_max)
  and ($item_id is null or item_id = $item_id)
  and (not $both_windows or other_id is not null)

-- name: page
-- {order}: the sort keys (validated column names), always ending with recommendation_id for a stable order
select recommendation_id, status, user_id, window_days, persona_id, kind, rank, score, item_id, title, rationale,
       latest_review_id, reviewed_by, reviewed_at, note, ever_flagged, other_id, other_window_days, other_status,
       other_latest_review_id
from queue_filtered order by {order} limit $limit offset $offset

-- name: total
select count(*) as total, count(distinct user_id) as users from queue_filtered

-- name: status_counts
select status, count(*) as n from queue_filtered group by status

-- name: all_status_counts
-- every recommendation of a consenting user, by status (whatever the filters)
select status, count(*) as n from queue_state group by status

-- name: users
-- the users matching the filters, most waiting items first
select user_id, count(*) as items, count(*) filter (where status in ('flagged', 'pending')) as waiting
from queue_filtered group by user_id order by waiting desc, items desc, user_id limit $limit

-- name: options
-- the values the filter lists offer
select 'persona_id' as field, persona_id as value from recommendations group by persona_id
union all select 'kind', kind from recommendations group by kind
union all select 'item_id', item_id from recommendations group by item_id
union all select 'window_days', cast(window_days as varchar) from recommendations group by window_days
order by field, value
