"""The recommendations table (and the per-recommendation rows the other builders read)."""

from __future__ import annotations

import duckdb
import numpy as np
import pandas as pd
import pyarrow as pa
import pyarrow.compute as pc

from spendsense.content import Catalog, Guardrails
from spendsense.content.formats import STRING, join
from spendsense.recommend.assemble.common import Decisions, hashed_ids
from spendsense.recommend.outputs import arrow_table


def recommendations_table(d: Decisions, con: duckdb.DuckDBPyConnection, catalog: Catalog, guardrails: Guardrails,
                          personas: pd.DataFrame) -> tuple[pa.Table, pa.Table]:
    """The recommendations table, and the per-recommendation rows the trace and context builders read."""
    items, sel, units = d.items, d.sel, d.rendered.units
    _, m = d.cands.shape
    flat = np.flatnonzero(sel.selected.ravel())
    r, c = np.divmod(flat, m)
    order = np.lexsort((sel.rank[r, c], items.is_offer[c], r))
    flat, r, c = flat[order], r[order], c[order]
    cu = d.rendered.cell_unit[flat]
    u = pa.array(cu)
    r_a, c_a = pa.array(r.astype(np.int64)), pa.array(c.astype(np.int64))
    window = d.win[r]
    user = d.uid_arrow.take(r_a)
    item_id = pa.array(items.item_id, STRING).take(c_a)
    ids = hashed_ids(d.run_id, con, user, window, item_id)
    context_ids = d.context_ids(con).take(r_a)
    kind = items.kind[c]
    rank = sel.rank[r, c].astype(np.int32)
    tpl_codes, tpl_vocab = pd.factorize(units.template_id)
    template_id = pa.array(np.asarray(tpl_vocab, dtype=object), STRING).take(pa.array(tpl_codes[cu]))
    score_cols = {"score": d.cands.score[r, c], "score_persona": d.cands.persona[r, c],
                  "score_signal": d.cands.signal[r, c], "score_priority": d.cands.priority[r, c],
                  "score_freshness": d.cands.freshness[r, c]}
    kind_a = pa.array(items.kind, STRING).take(c_a)
    recs = arrow_table({
        "recommendation_id": ids, "run_id": d.run_id, "user_id": user, "window_days": window,
        "kind": kind_a, "item_id": item_id, "item_version": items.version[c],
        "title": pa.array(items.title, STRING).take(c_a), "rank": rank, **score_cols,
        "persona_id": pa.array(personas["persona_id"].to_numpy(dtype=object), STRING).take(r_a),
        "rationale": join(units.final_text.take(u), " ", pa.array(items.so_that, STRING).take(c_a)),
        "facts": units.facts.take(u),
        "disclosure": guardrails.disclosure, "template_id": template_id, "created_at": d.created,
    }, "recommendations")
    edu_count = sel.selected[:, items.columns("education")].sum(axis=1)
    offer_count = sel.selected[:, items.columns("offer")].sum(axis=1)
    versions_by_code = np.array([catalog.templates[t].version for t in tpl_vocab], dtype=np.int32)
    rec_rows = pa.table({
        "recommendation_id": ids, "run_id": pa.array(np.full(len(r), d.run_id, dtype=object), STRING),
        "user_id": user, "window_days": pa.array(window.astype(np.int32)),
        "context_id": context_ids, "row": r_a, "col": c_a, "kind": kind_a,
        "item_id": item_id, "item_version": pa.array(items.version[c].astype(np.int32)),
        "rank": pa.array(rank),
        "kind_count": pa.array(np.where(kind == "education", edu_count[r], offer_count[r]).astype(np.int32)),
        **{k: pa.array(v) for k, v in score_cols.items()},
        "triggers_total": pa.array(items.n_triggers[c].astype(np.int32)),
        "trig_bits": pa.array(d.cands.trig_bits[r, c].astype(np.int64)),
        "days_since_shown": pa.array(d.cands.days_since[r, c], from_pandas=True),
        "requested_template_id": pa.array(items.template, STRING).take(c_a),
        "template_id": template_id,
        "template_version": pa.array(versions_by_code[tpl_codes[cu]]),
        "template_values": units.values.take(u),
        **_tone_columns(d, cu),
    })
    return recs, rec_rows

def _tone_columns(d: Decisions, cu: np.ndarray) -> dict[str, pa.Array]:
    """tone_action, tone_rules, tone_matches and the text before a rewrite, per recommendation (the text only
    where the tone check rewrote it)."""
    units = d.rendered.units
    action = units.tone_action[cu]
    flagged = np.flatnonzero(action != "pass")
    n = len(cu)
    if not flagged.size:
        return {"tone_action": pa.repeat(pa.scalar("pass", STRING), n),
                "tone_rules": pa.repeat(pa.scalar("", STRING), n),
                "tone_matches": pa.repeat(pa.scalar("[]", STRING), n),
                "text_before_rewrite": pa.nulls(n, STRING)}
    mask = np.zeros(n, dtype=bool)
    mask[flagged] = True
    idx = pa.array(cu[flagged])
    before = np.where(action[flagged] == "rewrite", np.array(units.text.take(idx).to_pylist(), dtype=object), None)
    return {"tone_action": pa.array(action, STRING),
            "tone_rules": pc.replace_with_mask(pa.repeat(pa.scalar("", STRING), n), pa.array(mask),
                                               units.tone_rules.take(idx)),
            "tone_matches": pc.replace_with_mask(pa.repeat(pa.scalar("[]", STRING), n), pa.array(mask),
                                                 units.tone_matches.take(idx)),
            "text_before_rewrite": pc.replace_with_mask(pa.nulls(n, STRING), pa.array(mask),
                                                        pa.array(before, STRING))}

# -- traces and contexts
