-- Review state: the operators' decisions (opstore, SQLite; append-only, the latest review of a recommendation is
-- its state) and the run's recommendations they apply to (warehouse, DuckDB).

-- name: latest_reviews
select review_id, recommendation_id, user_id, action, replacement_item_id, reason, operator, role, recorded_at
from reviews order by recorded_at, rowid

-- name: reviews_of
-- $recommendation_ids: a JSON array of ids (one bound parameter, any length)
select recommendation_id, review_id, action, replacement_item_id, reason, operator, recorded_at
from reviews where recommendation_id in (select value from json_each($recommendation_ids))
order by recorded_at, rowid

-- name: reviews_of__postgresql
select recommendation_id, review_id, action, replacement_item_id, reason, operator, recorded_at
from reviews where recommendation_id in (select json_array_elements_text($recommendation_ids::json))
order by recorded_at, rowid

-- name: review_history
select recorded_at, operator, role, action, recommendation_id, user_id, replacement_item_id, reason
from reviews order by recorded_at desc, rowid desc limit $limit

-- name: review_history_of_user
select recorded_at, operator, role, action, recommendation_id, user_id, replacement_item_id, reason
from reviews where user_id = $user_id order by recorded_at desc, rowid desc limit $limit

-- name: audit_log
select recorded_at, actor, role, action, target, detail from audit_log order by recorded_at desc, rowid desc
limit $limit

-- name: run_recommendation_users
select recommendation_id, user_id from recommendations

-- name: recommendation
select * from recommendations where recommendation_id = $recommendation_id

-- name: recommendation_users
select recommendation_id, user_id from recommendations where recommendation_id in (select unnest($recommendation_ids))
