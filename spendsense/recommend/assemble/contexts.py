"""decision_contexts: what the recommendations of one user-window share (persona, signals, features, consent,
history, what would change, what was filtered out and why, weights, rules, versions)."""

from __future__ import annotations

import datetime as dt
import json
from dataclasses import dataclass

import duckdb
import numpy as np
import pandas as pd
import pyarrow as pa
import pyarrow.compute as pc

from spendsense import memdb, sql
from spendsense.content import PERSONA_TAGS, ScoringConfig
from spendsense.content.formats import STRING, join
from spendsense.recommend.assemble.common import (
    Decisions,
    bits,
    floats,
    lists_by_code,
    recency_reasons,
    row_lists,
)
from spendsense.recommend.inputs import COUNTERFACTUAL_COLUMNS, SUBTYPES
from spendsense.recommend.select import (
    CUT_GENERAL,
    CUT_MAX,
    CUT_NO_EDUCATION,
    CUT_PARTNER,
    KEYS,
    KINDS,
    MAX_GENERAL,
    STAGE_CODE,
    STAGES,
)


@dataclass(frozen=True)
class WindowFacts:
    """The per-user-window facts a decision context records beside the decisions (aligned with Decisions.sig)."""

    as_of: dt.date
    versions: dict
    personas: pd.DataFrame
    features: pd.DataFrame
    subtype_bits: np.ndarray
    history: pd.DataFrame
    status_of: pd.DataFrame  # consent status and occurred_at, indexed by user_id
    counterfactuals: pd.DataFrame  # target, operator and customer text, changes (JSON)


def context_table(d: Decisions, con: duckdb.DuckDBPyConnection, rec_rows: pa.Table, facts: WindowFacts) -> pa.Table:
    """decision_contexts: one row per consenting user-window, shared by its recommendations (built as Arrow
    columns; list columns from sorted arrays and offsets)."""
    n, _ = d.cands.shape
    status = facts.status_of.reindex(d.uid)
    f = facts.features
    personas = PERSONA_TAGS
    matched = bits(facts.personas["matched_personas"], personas)
    w = d.scoring.weights
    weights = pa.StructArray.from_arrays(
        [pa.array(np.full(n, v, dtype=float)) for v in (w.persona, w.signal, w.priority, w.freshness)],
        names=["persona", "signal", "priority", "freshness"])
    removed = _removed(d)
    order = np.lexsort((removed["item_rank"], removed["stage_order"], removed["row"]))
    taken = pa.array(order.astype(np.int64))
    filtered = pa.StructArray.from_arrays(
        [pa.array(np.array(STAGES, dtype=object)[removed["stage_order"][order] - 1], STRING),
         removed["item_id"].take(taken), removed["reason"].take(taken)],
        names=["stage", "item_id", "reason"])
    rec_row = rec_rows.column("row").to_numpy()
    rec_kind = rec_rows.column("kind").to_numpy()
    rec_item = rec_rows.column("item_id").combine_chunks()
    selected = {}
    for kind in KINDS:  # rec_rows are ordered by (row, kind, rank)
        idx = np.flatnonzero(rec_kind == kind)
        selected[kind] = row_lists(rec_row[idx], rec_item.take(pa.array(idx.astype(np.int64))), n)
    columns = {
        "context_id": d.context_ids(con),
        "run_id": pa.array(np.full(n, d.run_id, dtype=object), STRING),
        "user_id": d.uid_arrow,
        "window_days": pa.array(d.win.astype(np.int32)),
        "as_of": pa.array(np.full(n, np.datetime64(facts.as_of, "D")), pa.date32()),
        "created_at": pa.array(np.full(n, d.created.to_datetime64()).astype("datetime64[us]"),
                               pa.timestamp("us")),
        "persona_id": pa.array(facts.personas["persona_id"].to_numpy(dtype=object), STRING),
        "persona_name": pa.array(facts.personas["persona_name"].to_numpy(dtype=object), STRING),
        "matched_personas": lists_by_code(matched, lambda b: [p for i, p in enumerate(personas) if b >> i & 1]),
        "criteria_matched": criteria_matched(facts.personas["criteria"], matched),
        "signals": _signals_struct(d),
        "credit_score": floats(f["credit_score"]),
        "annual_income": floats(pd.to_numeric(f["avg_monthly_income"], errors="coerce") * 12),
        "max_utilization": floats(f["max_utilization"]),
        "account_subtypes": lists_by_code(facts.subtype_bits,
                                          lambda b: [s for i, s in enumerate(SUBTYPES) if b >> i & 1]),
        "consent_status": pa.array(status["status"].to_numpy(dtype=object), STRING),
        "consent_at": pa.array(pd.to_datetime(status["occurred_at"]).to_numpy(dtype="datetime64[us]"),
                               pa.timestamp("us"), from_pandas=True),
        "history": _history_lists(d, facts),
        **{f"what_would_change_{k}": pa.array(facts.counterfactuals[c].to_numpy(dtype=object), STRING,
                                              from_pandas=True) for k, c in COUNTERFACTUAL_COLUMNS.items()},
        "not_relevant": _not_relevant(d),
        "filtered_out": row_lists(removed["row"][order], filtered, n),
        "selected_education": selected["education"],
        "selected_offers": selected["offer"],
        "weights": weights,
        "rules": pa.array(np.full(n, json.dumps(scoring_rules(d.scoring), sort_keys=True), dtype=object),
                          STRING),
        "versions": pa.array(np.full(n, json.dumps(facts.versions, sort_keys=True, default=str), dtype=object),
                             STRING),
    }
    return pa.table(columns)

def _signals_struct(d: Decisions) -> pa.StructArray:
    """The signals_wide row of each user-window as a struct typed like the signal step types it."""
    from spendsense.signals.catalog import TABLE_COLUMNS as SIGNAL_COLUMNS

    typ = {"DOUBLE": pa.float64(), "INTEGER": pa.int32(), "VARCHAR": pa.string()}
    names, arrays = [], []
    for col, dtype in SIGNAL_COLUMNS["signals_wide"]:
        if col in KEYS:
            continue
        values = d.sig[col] if col in d.sig else pd.Series([None] * len(d.sig), dtype=object)
        if dtype == "VARCHAR":
            arrays.append(pa.array(values.to_numpy(dtype=object), STRING, from_pandas=True))
        else:
            try:
                arr = pa.array(values, from_pandas=True)
                arr = arr.combine_chunks() if isinstance(arr, pa.ChunkedArray) else arr
                arrays.append(arr.cast(typ[dtype]))
            except (pa.ArrowInvalid, pa.ArrowTypeError, pa.ArrowNotImplementedError):
                arrays.append(floats(values).cast(typ[dtype]))
        names.append(col)
    if not names:
        return pa.array([{}] * len(d.sig), pa.struct([]))
    return pa.StructArray.from_arrays(arrays, names=names)

def _history_lists(d: Decisions, facts: WindowFacts) -> pa.Array:
    """Per user-window, the user's recent deliveries (newest first)."""
    hist = facts.history
    codes, uniques = pd.factorize(d.uid)
    hu = pd.Index(uniques).get_indexer(pd.Index(hist["user_id"].to_numpy(dtype=object)))
    keep = hu >= 0
    delivered = pd.to_datetime(hist["delivered_at"]).to_numpy(dtype="datetime64[us]")[keep]
    items = hist["item_id"].to_numpy(dtype=object)[keep]
    hu = hu[keep]
    order = np.lexsort((pd.factorize(items, sort=True)[0], -delivered.astype(np.int64), hu))
    days = ((d.created.to_datetime64() - delivered) / np.timedelta64(1, "D")).astype(float).round(6)
    values = pa.StructArray.from_arrays(
        [pa.array(items[order], STRING), pa.array(delivered[order], pa.timestamp("us")),
         pa.array(days[order])], names=["item_id", "delivered_at", "days_ago"])
    per_user = row_lists(hu[order], values, len(uniques))
    return per_user.take(pa.array(codes.astype(np.int64)))

def _not_relevant(d: Decisions) -> pa.Array:
    """Per row, the ids of the candidates removed as not relevant (identical sets decoded once)."""
    n, m = d.cands.shape
    mask = d.code == STAGE_CODE["signal_triggers"]
    if not n:
        return pa.array([], pa.list_(pa.string()))
    packed = np.ascontiguousarray(np.packbits(mask, axis=1))
    codes = packed.view(np.dtype((np.void, packed.shape[1]))).ravel()
    ids = d.items.item_id

    def decode(key) -> list[str]:
        bits = np.unpackbits(np.frombuffer(key.tobytes(), dtype=np.uint8))[:m].astype(bool)
        return ids[bits].tolist()

    return lists_by_code(codes, decode)

def _removed(d: Decisions) -> dict:
    """Every filtered-out candidate except 'not relevant': row, stage_order, item_rank (catalog id order),
    item_id and reason (Arrow strings)."""
    items, cands = d.items, d.cands
    _, m = cands.shape
    id_rank = pd.factorize(items.item_id, sort=True)[0]
    rows, stages, cols, reasons = [], [], [], []
    f = cands.eligibility_failures
    if len(f):
        rows.append(f["row"].to_numpy())
        cols.append(f["col"].to_numpy())
        stages.append(np.full(len(f), STAGE_CODE["eligibility"], dtype=np.int32))
        reasons.append(pa.array(f["reason"].to_numpy(dtype=object), STRING))
    for stage in ("recency", "business_rules", "rationale", "tone"):
        r, c = np.nonzero(d.code == STAGE_CODE[stage])
        if not len(r):
            continue
        if stage == "recency":
            reason = recency_reasons(np.floor(cands.days_since[r, c]).astype(np.int64), d.scoring.recency_days)
        elif stage == "business_rules":
            reason = _cut_reasons(d, r, c)
        elif stage == "rationale":
            reason = pa.array([f"no template in the fallback chain of {t!r} has every value it needs"
                               for t in items.template[c]], STRING)
        else:
            u = pa.array(d.rendered.cell_unit[r * m + c])
            units = d.rendered.units
            reason = pa.array([f"rationale rejected by the tone check (rules: {rules}): {text!r}"
                               for rules, text in zip(units.tone_rules.take(u).to_pylist(),
                                                      units.text.take(u).to_pylist(), strict=True)], STRING)
        rows.append(r)
        cols.append(c)
        stages.append(np.full(len(r), STAGE_CODE[stage], dtype=np.int32))
        reasons.append(reason)
    if not rows:
        return {"row": np.zeros(0, np.int64), "stage_order": np.zeros(0, np.int32),
                "item_rank": np.zeros(0, np.int64), "item_id": pa.array([], STRING),
                "reason": pa.array([], STRING)}
    col = np.concatenate(cols)
    return {"row": np.concatenate(rows).astype(np.int64), "stage_order": np.concatenate(stages),
            "item_rank": id_rank[col], "item_id": pa.array(items.item_id[col], STRING),
            "reason": pa.concat_arrays([r.cast(STRING) for r in reasons])}

def _cut_reasons(d: Decisions, r: np.ndarray, c: np.ndarray) -> pa.Array:
    """Why the business rules left a candidate out (each distinct reason written once, then taken)."""
    items, sel, s = d.items, d.sel, d.scoring
    cut = sel.cut[r, c].astype(np.int64)
    pos = sel.position[r, c].astype(np.int64)
    key = (cut * (len(items.entries) + 1) + c) * 10000 + np.where(cut == CUT_MAX, np.minimum(pos, 9999), 0)
    uniq, inverse = np.unique(key, return_inverse=True)
    texts = []
    for k in uniq.tolist():
        p = k % 10000
        col = (k // 10000) % (len(items.entries) + 1)
        kind_cut = (k // 10000) // (len(items.entries) + 1)
        kind = items.kind[col]
        if kind_cut == CUT_PARTNER:
            texts.append(f"per-partner cap: {s.per_partner_cap} higher-ranked offer(s) from {items.partner[col]} "
                         "already shown")
        elif kind_cut == CUT_GENERAL:
            texts.append(f"at most {MAX_GENERAL} general item per window; a higher-ranked one is already shown")
        elif kind_cut == CUT_NO_EDUCATION:
            texts.append("offers are shown only alongside education, and no education item survived")
        elif kind_cut == CUT_MAX:
            limit = s.education.max if kind == "education" else s.offers.max
            texts.append(f"ranked {p} by score; only the top {limit} {kind} items are shown")
        else:
            texts.append("not selected")
    return pa.array(texts, STRING).take(pa.array(inverse.ravel()))


def criteria_matched(criteria: pd.Series, matched_bits: np.ndarray) -> pa.Array:
    """Per user-window, the JSON list of the persona criteria that passed for a persona the user matched.

    persona_assignments.criteria lists the same conditions in the same order on every row (one element per
    condition of the persona config); elements are split and filtered with Arrow string kernels. If a row does
    not have that layout the list is filtered by DuckDB's JSON functions instead."""
    arr = pa.array(criteria.fillna("[]"), STRING) if len(criteria) else pa.array([], STRING)
    if isinstance(arr, pa.ChunkedArray):
        arr = arr.combine_chunks()
    n = len(arr)
    first = next((c for c in arr.to_pylist()[:1] if c), "[]") if n else "[]"
    layout = json.loads(first) if first else []
    if not n or not layout:
        return pa.array(np.full(n, "[]", dtype=object), STRING)
    size = len(layout)
    inner = pc.utf8_slice_codeunits(arr, 2, -2)
    parts = pc.split_pattern(inner, "},{")
    if not pc.all(pc.equal(pc.list_value_length(parts), size)).as_py():
        with memdb.cursor() as con:
            con.register("crit", pa.table({"criteria": arr, "bits": pa.array(matched_bits)}))
            text, params = sql.query("recommend/criteria_matched.sql").bind(persona_ids=list(PERSONA_TAGS))
            return con.sql(text, params=params).to_arrow_table().column(0).combine_chunks()
    flat = pc.list_flatten(parts)
    passed = pc.ends_with(flat, '"passed":true').to_numpy(zero_copy_only=False)
    tags = list(PERSONA_TAGS)
    persona_bit = np.array([tags.index(e["persona_id"]) if e.get("persona_id") in tags else 63 for e in layout],
                           dtype=np.int64)
    row_of = np.repeat(np.arange(n, dtype=np.int64), size)
    keep = passed & (((np.asarray(matched_bits, dtype=np.int64)[row_of] >> np.tile(persona_bit, n)) & 1) == 1)
    kept = join("{", flat.filter(pa.array(keep)), "}")
    lists = row_lists(row_of[keep], kept, n)
    return join("[", pc.binary_join(lists, ","), "]")


def scoring_rules(scoring: ScoringConfig) -> dict:
    """The business rules of a scoring config (everything but the weights), as recorded in decision contexts."""
    d = scoring.model_dump()
    d.pop("weights")
    return d
