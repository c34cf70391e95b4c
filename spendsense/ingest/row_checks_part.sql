-- The rows of one staged file failing any row check, each with the list of its findings (NULL where a check passed).
select
    staged._src,
    staged._row,
    staged._loc,
    [{findings}] as found
from {view} as staged
{joins}
where {any_failed}
