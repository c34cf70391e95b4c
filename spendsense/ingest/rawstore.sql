-- The append-only raw store (spendsense.ingest.rawstore): each batch is a folder of Parquet files holding, per raw
-- table, the versions that batch added (`_batch_id`) and its tombstones (`_deleted`). {files} slots are lists of
-- batch files (string literals built by rawstore.py from the store's own folder names); {keys} / {columns} are
-- contract identifiers (spendsense.ingest.templates).

-- name: as_of_first
-- A table's state after its first batch, or after batches none of whose rows supersede an earlier one (only new
-- keys): every row of those batches that is not a tombstone.
select {columns}
from read_parquet({files})
where not _deleted

-- name: as_of
-- A table's state after batch N: each key's latest version among batches 1..N, unless that version is a tombstone.
-- `later` reads only the batches 2..N that supersede an earlier row (rawstore.as_of_query), so the join's build
-- side stays small; with none of them, the state is as_of_first over all N batches.
with versions as (
    select * from read_parquet({files})
),

later as (
    select {keys}, max(_batch_id) as _last_batch
    from read_parquet({later_files})
    group by all
),

final as (
    select versions.*
    from versions
    left join later using ({keys})
    where (later._last_batch is null or versions._batch_id = later._last_batch)
        and not versions._deleted
)

select {columns} from final

-- name: changed_rows
-- New or changed rows of one table: the batch's rows minus identical current rows of the same keys (EXCEPT
-- compares every column, NULLs equal), flagged `_modified` when the key has a current version and `_supersedes`
-- when the store holds any earlier row of the key (a version or a tombstone). Only the stored rows of the batch's
-- keys are read (a semi join probing every stored file with the batch's keys), so memory follows the batch, not
-- the store.
with earlier as (
    select stored.*
    from read_parquet({files}) as stored
    semi join {new} as n using ({keys})
),

latest as (
    select {keys}, max(_batch_id) as _last_batch
    from earlier
    group by all
),

current_rows as (
    select {columns}
    from earlier
    join latest using ({keys})
    where earlier._batch_id = latest._last_batch and not earlier._deleted
),

changed as (
    select * from {new}
    except
    select * from current_rows
),

known as (
    select distinct {keys}, true as _modified from current_rows
),

seen as (
    select {keys}, true as _supersedes from latest
)

select changed.*, coalesce(known._modified, false) as _modified, coalesce(seen._supersedes, false) as _supersedes
from changed
left join known using ({keys})
left join seen using ({keys})

-- name: stand_ins_dropped
-- The batch's users without the stand-ins for users the store already holds: a user derived from accounts
-- (demographics 'unknown', ingest/derived_users.sql) never overwrites a stored users row. {stand_ins} holds the
-- derived user_ids of the batch.
select n.*
from {new} as n
where n.user_id not in (select user_id from {stand_ins})
    or n.user_id not in (select cur.user_id from ({current}) as cur)

-- name: removed_by_sync
-- Current transactions that a /transactions/sync response lists as `removed` (staged as json_removed).
select cur.*
from ({current}) as cur
where cur.transaction_id in (select transaction_id from json_removed where transaction_id is not null)

-- name: absent_from_snapshot
-- Replace mode: every current row of a table whose key the batch does not hold.
select cur.*
from ({current}) as cur
anti join {new} as n using ({keys})

-- name: event_ids
-- The consent events' ids of a state (the unchanged-input check: does the operational store hold them all?).
select event_id from ({current}) as cur
