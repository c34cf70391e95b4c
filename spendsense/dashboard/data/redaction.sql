-- What the redaction of one user's free text needs (DuckDB).

-- name: account_masks
select distinct mask from accounts where user_id = $user_id and mask is not null
