-- The operational store's tables the REST API writes (schema in opstore.sql): feedback and registered users.

-- name: insert_feedback
insert into feedback (feedback_id, user_id, recommendation_id, run_id, item_id, reaction, note, actor,
                                recorded_at)
values ($feedback_id, $user_id, $recommendation_id, $run_id, $item_id, $reaction, $note, $actor, $recorded_at)
on conflict do nothing

-- name: feedback
select feedback_id, user_id, recommendation_id, run_id, item_id, reaction, note, actor, recorded_at
from feedback
where ($run_id is null or run_id = $run_id)
order by rowid

-- name: click_through
-- per run: recommendations with any feedback, and those with a 'clicked' reaction
select count(distinct recommendation_id) as with_feedback,
       count(distinct case when reaction = 'clicked' then recommendation_id end) as clicked,
       count(*) as reactions
from feedback
where run_id = $run_id

-- name: insert_registered_user
insert into registered_users (user_id, name, source, actor, registered_at)
values ($user_id, $name, $source, $actor, $registered_at)
on conflict do nothing

-- name: registered_user
select user_id, name, source, actor, registered_at from registered_users where user_id = $user_id
