"""recommendation_traces: each recommendation's own decision facts (with the triggers that admitted it)."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pyarrow as pa
import pyarrow.compute as pc

from spendsense.content.formats import STRING, join
from spendsense.recommend.assemble.common import Decisions, lists_by_code, row_lists
from spendsense.recommend.tables import TABLE_COLUMNS


def trace_table(d: Decisions, rec_rows: pa.Table) -> pa.Table:
    """recommendation_traces: each recommendation's own decision facts (item tags, matched triggers, recency,
    template request and version, template values, tone outcome)."""
    items = d.items
    col = rec_rows.column("col").to_numpy()
    bits = rec_rows.column("trig_bits").to_numpy()
    tags = pa.array([list(e.persona_tags) for e in items.entries], pa.list_(pa.string()))

    def described(code: int) -> list[str]:
        entry = items.entries[code // 256]
        return [t.describe() for j, t in enumerate(entry.triggers) if (code % 256) >> j & 1]

    columns = {name: rec_rows.column(name) for name, _ in TABLE_COLUMNS["recommendation_traces"]
               if name in rec_rows.column_names}
    columns["persona_tags"] = tags.take(pa.array(col.astype(np.int64)))
    columns["matched_triggers"] = lists_by_code(col.astype(np.int64) * 256 + bits, described)
    columns["admitted_by"] = _admitted_by(d, rec_rows.column("row").to_numpy(), col, bits)
    return pa.table({name: columns[name] for name, _ in TABLE_COLUMNS["recommendation_traces"]})

def _admitted_by(d: Decisions, row: np.ndarray, col: np.ndarray, bits: np.ndarray) -> pa.Array:
    """Per recommendation, each trigger that holds with the user's value and by how much it clears the
    threshold, e.g. 'max_utilization = 0.68 (>= 0.3, clears it by 0.38)'; built column-wise per trigger."""
    n = len(row)
    owners, texts, order = [], [], []
    for e_idx, entry in enumerate(d.items.entries):
        mine = np.flatnonzero(col == e_idx)
        if not mine.size:
            continue
        for j, trig in enumerate(entry.triggers):
            at = mine[(bits[mine] >> j) & 1 == 1]
            if not at.size:
                continue
            values = d.sig[trig.signal].to_numpy()[row[at]]
            if isinstance(trig.value, str):
                text = pa.array(np.full(len(at), f"{trig.signal} = {trig.value!r}", dtype=object), STRING)
            else:
                x = pd.to_numeric(pd.Series(values), errors="coerce").to_numpy(dtype=float)
                margin = np.round(np.abs(x - float(trig.value)), 6)
                clause = "" if trig.op in ("==", "!=") else ", clears it by "
                text = join(f"{trig.signal} = ", pc.cast(pa.array(np.round(x, 6)), STRING),
                            f" ({trig.op} {trig.value:g}{clause}",
                            pc.cast(pa.array(margin), STRING) if clause else "", ")")
            owners.append(at)
            texts.append(text)
            order.append(np.full(len(at), j))
    if not owners:
        return pa.array([[] for _ in range(n)], pa.list_(pa.string()))
    owner = np.concatenate(owners)
    sort = np.lexsort((np.concatenate(order), owner))
    return row_lists(owner[sort], pa.concat_arrays(texts).take(pa.array(sort)), n)
