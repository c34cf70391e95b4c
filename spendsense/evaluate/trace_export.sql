-- Every decision trace of the run in one JSON-lines file (per-user JSON: `spendsense explain --user`).
copy (
    select recommendation_id, user_id, window_days, trace::json as trace from decision_traces
    order by user_id, window_days, recommendation_id
) to $path (format json)
