-- DDL of the recommend step's view: decision_traces is the query in decision_traces.sql, kept there as a plain
-- query (runnable on its own over the three tables) and filled in here.
-- name: decision_traces_view
create view if not exists decision_traces as
{query}
