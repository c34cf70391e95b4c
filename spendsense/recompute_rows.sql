-- The raw rows of one user, copied into a small in-memory database so the signal queries of the single-user
-- path scan a few hundred rows instead of the whole warehouse. One query per table, each a section "-- name: <table>"
-- (spendsense.sql). Parameter: $user_id.

-- name: users
select * from users where user_id = $user_id;

-- name: accounts
select * from accounts where user_id = $user_id;

-- name: transactions
select * from transactions where user_id = $user_id;

-- name: credit_liabilities
select l.*
from credit_liabilities as l
where l.account_id in (select a.account_id from accounts as a where a.user_id = $user_id);

-- name: credit_aprs
select p.*
from credit_aprs as p
where p.account_id in (select a.account_id from accounts as a where a.user_id = $user_id);
