-- Users per generator archetype, from the dataset's manifest (as the generator recorded it).
with manifest as (
    select unnest(map_entries(archetype_counts)) as entry
    from read_json($manifest, columns = {archetype_counts: 'MAP(VARCHAR, INTEGER)'})
),

final as (
    select entry.key as archetype, entry.value as users from manifest
)

select * from final order by users desc, archetype
