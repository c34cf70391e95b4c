"""The recommendation engine's pure core: tables in, recommendations with decision records out.

`recommend()` runs the candidate funnel (select.py) over every consenting user-window at once, renders the
chosen items' rationales and tone-checks them (rationales.py; an item whose rationale is rejected drops out
and the next candidate takes its place), and assembles the output tables as Arrow tables (string-heavy columns
never become Python objects), using an in-memory DuckDB for ids and list-valued columns. No I/O: reading and
writing live in store.py and spendsense.pipeline.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import json
import time
from dataclasses import dataclass
from pathlib import Path

import duckdb
import numpy as np
import pandas as pd
import pyarrow as pa
import pyarrow.compute as pc

from spendsense.consent import by_user
from spendsense.content import PERSONA_TAGS, Catalog, Guardrails, ScoringConfig, rationale_inputs
from spendsense.content.models import ACCOUNT_SUBTYPES
from spendsense.guardrails import subtype_column
from spendsense.guardrails.eligibility import keys_strictly_increasing
from spendsense.recommend.rationales import STRING, RenderedUnits, choose_templates, join, render_units, where
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
    Candidates,
    Items,
    Selection,
    apply_business_rules,
    catalog_items,
    score_candidates,
)
from spendsense.recommend.tables import TABLE_COLUMNS

SQL_DIR = Path(__file__).resolve().parent
SUBTYPES: tuple[str, ...] = tuple(sorted(ACCOUNT_SUBTYPES))
NO_CONSENT = "no consent on record"
SMALL_BATCH = 20_000  # below this many rows, ids are hashed in Python (same digest as DuckDB's sha256)
OUTPUT_TABLES = ("recommendations", "recommendation_traces", "decision_contexts", "recommendation_shortfalls",
                 "recommendation_funnel", "guardrail_events")
_ARROW_TYPES = {"VARCHAR": pa.string(), "JSON": pa.string(), "INTEGER": pa.int32(), "BIGINT": pa.int64(),
                "DOUBLE": pa.float64(), "TIMESTAMP": pa.timestamp("us"), "DATE": pa.date32(),
                "VARCHAR[]": pa.list_(pa.string())}


def read_sql(name: str) -> str:
    """Text of one of the recommend step's .sql files (read once per process)."""
    if name not in _SQL:
        _SQL[name] = (SQL_DIR / f"{name}.sql").read_text(encoding="utf-8")
    return _SQL[name]


_SQL: dict[str, str] = {}


# ----------------------------------------------------------------------------------------------- contracts


@dataclass(frozen=True)
class RecommendInputs:
    """Everything recommend() reads: the signal step's tables, personas, raw users/accounts, consent, history.

    consent: (user_id, status[, occurred_at]), the consent snapshot read at recommend time (latest event wins);
    history: deliveries (user_id, item_id, delivered_at) from the operational store.
    """

    signals_wide: pd.DataFrame
    credit_cards: pd.DataFrame
    recurring_streams: pd.DataFrame
    persona_assignments: pd.DataFrame
    users: pd.DataFrame
    accounts: pd.DataFrame
    consent: pd.DataFrame
    history: pd.DataFrame
    as_of: dt.date
    # persona_counterfactuals rows (what would change each user-window's persona); None: not computed
    counterfactuals: pd.DataFrame | None = None


class RecommendOutputs:
    """The recommend step's tables (columns: spendsense.recommend.tables.TABLE_COLUMNS).

    Held as Arrow tables; the DataFrame properties convert on first use. `decision_traces()` renders the full
    JSON traces exactly as the warehouse's decision_traces view does.
    """

    def __init__(self, arrow: dict[str, pa.Table], timings: dict[str, float] | None = None):
        missing = [t for t in OUTPUT_TABLES if t not in arrow]
        if missing:
            raise ValueError(f"missing output table(s) {missing}")
        self._arrow = dict(arrow)
        self._frames: dict[str, pd.DataFrame] = {}
        self.timings = dict(timings or {})

    def arrow(self, name: str) -> pa.Table:
        """One output table as Arrow."""
        return self._arrow[name]

    def frame(self, name: str) -> pd.DataFrame:
        """One output table as a DataFrame (converted once)."""
        if name not in self._frames:
            self._frames[name] = self._arrow[name].to_pandas()
        return self._frames[name]

    recommendations = property(lambda self: self.frame("recommendations"), doc="recommendations table")
    recommendation_traces = property(lambda self: self.frame("recommendation_traces"),
                                     doc="each recommendation's own decision facts")
    decision_contexts = property(lambda self: self.frame("decision_contexts"),
                                 doc="what the recommendations of one user-window share")
    shortfalls = property(lambda self: self.frame("recommendation_shortfalls"), doc="recommendation_shortfalls")
    funnel = property(lambda self: self.frame("recommendation_funnel"), doc="recommendation_funnel")
    guardrail_events = property(lambda self: self.frame("guardrail_events"), doc="guardrail_events")

    def tables(self) -> dict[str, pd.DataFrame]:
        """Every output table as a DataFrame, by warehouse table name."""
        return {name: self.frame(name) for name in OUTPUT_TABLES}

    def decision_traces(self) -> pd.DataFrame:
        """Full decision traces (recommendation_id, run_id, user_id, window_days, trace JSON text)."""
        with duckdb.connect() as con:
            con.register("recommendations", self._arrow["recommendations"])
            con.register("recommendation_traces", self._arrow["recommendation_traces"])
            con.register("decision_contexts", self._arrow["decision_contexts"])
            sql = read_sql("decision_traces").replace("create view if not exists decision_traces as", "", 1)
            return con.sql(sql).to_arrow_table().to_pandas()


def arrow_table(columns: dict[str, object], name: str) -> pa.Table:
    """An Arrow table with a flat output table's columns and types, from numpy/Arrow/scalar columns."""
    spec = TABLE_COLUMNS[name]
    n = max((len(v) for v in columns.values() if isinstance(v, np.ndarray | pa.Array | pa.ChunkedArray | list)),
            default=0)
    arrays = []
    for col, dtype in spec:
        typ = _ARROW_TYPES[dtype]
        v = columns[col]
        if isinstance(v, pa.Array | pa.ChunkedArray):
            arrays.append(v.cast(typ))
            continue
        if v is None:
            arrays.append(pa.nulls(n, typ))
            continue
        if np.isscalar(v) or isinstance(v, pd.Timestamp | dt.datetime):
            scalar = pa.scalar(v.to_pydatetime() if isinstance(v, pd.Timestamp) else v, typ)
            arrays.append(pa.repeat(scalar, n))
            continue
        arrays.append(pa.array(v, typ, from_pandas=True) if not isinstance(v, np.ndarray) or v.dtype == object
                      else pa.array(v, from_pandas=True).cast(typ))
    return pa.Table.from_arrays(arrays, names=[c for c, _ in spec])


def empty_arrow(name: str) -> pa.Table:
    """An empty output table (flat tables only)."""
    return arrow_table({c: np.zeros(0, dtype=object) for c, _ in TABLE_COLUMNS[name]}, name)


_EMPTY: dict[str, pa.Table] = {}


def empty_outputs() -> RecommendOutputs:
    """Outputs with no rows (e.g. for a user without consent); the empty tables are typed once per process."""
    if not _EMPTY:
        with duckdb.connect() as con:
            for name in OUTPUT_TABLES:
                cols = ", ".join(f'cast(null as {t}) as "{c}"' for c, t in TABLE_COLUMNS[name])
                _EMPTY[name] = con.sql(f"select {cols} limit 0").to_arrow_table()
    return RecommendOutputs(dict(_EMPTY))


# ------------------------------------------------------------------------------------------------ inputs


def _require(frame: pd.DataFrame, what: str, columns: list[str]) -> None:
    missing = [c for c in columns if c not in frame.columns]
    if missing:
        raise ValueError(f"{what}: missing column(s) {', '.join(missing)}")


def naive_utc(value) -> pd.Timestamp:
    """A timestamp as naive UTC (aware values are converted)."""
    ts = pd.Timestamp(value)
    return ts.tz_convert("UTC").tz_localize(None) if ts.tzinfo is not None else ts


def consent_by_user(consent: pd.DataFrame) -> pd.DataFrame:
    """Each user's consent status and when it happened, by the one rule of spendsense.consent."""
    _require(consent, "consent", ["user_id", "status"])
    return by_user(consent)


COUNTERFACTUAL_COLUMNS = {"target": "target_persona_id", "text": "text_operator", "customer_text": "text_customer",
                          "changes": "changes"}


def _aligned_counterfactuals(keys: pd.DataFrame, counterfactuals: pd.DataFrame | None) -> pd.DataFrame:
    """persona_counterfactuals rows in the order of keys (all null where none were computed)."""
    cols = list(COUNTERFACTUAL_COLUMNS.values())
    if counterfactuals is None or not len(counterfactuals):
        return pd.DataFrame({c: np.full(len(keys), None, dtype=object) for c in cols})
    merged = keys.merge(counterfactuals[KEYS + cols], on=KEYS, how="left", validate="one_to_one")
    if "changes" in merged:
        merged["changes"] = [v if isinstance(v, str) or v is None else json.dumps(v) for v in merged["changes"]]
    return merged[cols].astype(object).where(merged[cols].notna(), None)


def _sorted_windows(signals_wide: pd.DataFrame) -> pd.DataFrame:
    """signals_wide in (user_id, window_days) order; duplicate keys are an error."""
    _require(signals_wide, "signals_wide", KEYS)
    if keys_strictly_increasing(signals_wide):  # already sorted and unique (the signal step writes it so)
        return signals_wide.reset_index(drop=True)
    sw = signals_wide.sort_values(KEYS, kind="stable").reset_index(drop=True)
    dup = sw.duplicated(KEYS)
    if dup.any():
        first = sw.loc[dup.idxmax(), KEYS].tolist()
        raise ValueError(f"signals_wide: duplicate row for (user_id, window_days) = {tuple(first)}")
    return sw


def _aligned_personas(keys: pd.DataFrame, personas: pd.DataFrame) -> pd.DataFrame:
    """persona_assignments rows in the order of keys; a user-window without one is an error."""
    _require(personas, "persona_assignments", KEYS + ["persona_id", "matched_personas"])
    cols = KEYS + ["persona_id", "matched_personas"] + [c for c in ("persona_name", "criteria") if c in personas]
    if len(personas) == len(keys) and (personas["user_id"].to_numpy(dtype=object)
                                       == keys["user_id"].to_numpy(dtype=object)).all() \
            and (personas["window_days"].to_numpy() == keys["window_days"].to_numpy()).all():
        out = personas[cols].reset_index(drop=True)  # already in the same order
    else:
        out = keys.merge(personas[cols], on=KEYS, how="left", validate="one_to_one")
    if out["persona_id"].isna().any():
        first = out.loc[out["persona_id"].isna().idxmax(), KEYS].tolist()
        raise ValueError(f"persona_assignments: no row for (user_id, window_days) = {tuple(first)}")
    for c in ("persona_name", "criteria"):
        if c not in out:
            out[c] = None
    return out


def _aligned(frame: pd.DataFrame, keys: pd.DataFrame, what: str) -> pd.DataFrame:
    """A frame merged onto keys must come back in the same order; check rather than trust."""
    if len(frame) != len(keys) or not (frame["user_id"].to_numpy(dtype=object)
                                       == keys["user_id"].to_numpy(dtype=object)).all():
        raise ValueError(f"{what} rows are not aligned with signals_wide rows")
    return frame.reset_index(drop=True)


def _bits(lists: pd.Series, universe: tuple[str, ...]) -> np.ndarray:
    """Each row's list of names as a bit set over `universe` (bit i = universe[i]); unknown names are ignored."""
    out = np.zeros(len(lists), dtype=np.int64)
    exploded = lists.reset_index(drop=True).explode().dropna()
    if len(exploded):
        pos = pd.Index(universe).get_indexer(pd.Index(exploded.to_numpy(dtype=object)))
        keep = pos >= 0
        np.bitwise_or.at(out, exploded.index.to_numpy()[keep], np.left_shift(1, pos[keep]).astype(np.int64))
    return out


def window_features(sig: pd.DataFrame, users: pd.DataFrame, accounts: pd.DataFrame) -> tuple[pd.DataFrame, np.ndarray]:
    """offer_eligibility's users_features for each user-window (avg_monthly_income, credit_score,
    max_utilization and one has_<subtype> column per account subtype the user holds), and each row's held
    subtypes as a bit set over SUBTYPES. The same facts as spendsense.guardrails.eligibility_features, built with
    array indexing instead of a per-user list aggregation."""
    _require(users, "users", ["user_id", "credit_score"])
    _require(accounts, "accounts", ["user_id", "subtype"])
    uid = sig["user_id"].to_numpy(dtype=object)
    codes, uniques = pd.factorize(uid)
    index = pd.Index(uniques)
    held = np.zeros((len(uniques), len(SUBTYPES)), dtype=bool)
    au = index.get_indexer(pd.Index(accounts["user_id"].astype(str).to_numpy(dtype=object)))
    sub = pd.Index(SUBTYPES).get_indexer(pd.Index(accounts["subtype"].to_numpy(dtype=object)))
    ok = (au >= 0) & (sub >= 0)
    held[au[ok], sub[ok]] = True
    rows = held[codes] if len(codes) else held[:0]
    u_ids = pd.Index(users["user_id"].astype(str).to_numpy(dtype=object))
    first = ~u_ids.duplicated()
    score_of = pd.to_numeric(users["credit_score"], errors="coerce").to_numpy(dtype=float)[first]
    pos = u_ids[first].get_indexer(index)
    credit = np.where(pos >= 0, score_of[np.maximum(pos, 0)] if len(score_of) else np.nan, np.nan)[codes] \
        if len(codes) else np.zeros(0)
    frame = {"user_id": uid, "window_days": sig["window_days"].to_numpy(),
             "avg_monthly_income": pd.to_numeric(sig["avg_monthly_income"], errors="coerce").to_numpy(dtype=float),
             "credit_score": credit,
             "max_utilization": pd.to_numeric(sig["max_utilization"], errors="coerce").to_numpy(dtype=float)}
    for j, subtype in enumerate(SUBTYPES):
        frame[subtype_column(subtype)] = rows[:, j]
    bits = rows.astype(np.int64) @ (np.int64(1) << np.arange(len(SUBTYPES), dtype=np.int64)) if len(SUBTYPES) \
        else np.zeros(len(uid), np.int64)
    return pd.DataFrame(frame), bits


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
        with duckdb.connect() as con:
            con.register("crit", pa.table({"criteria": arr, "bits": pa.array(matched_bits)}))
            return con.sql(read_sql("criteria_matched"), params={"persona_ids": list(PERSONA_TAGS)}) \
                .to_arrow_table().column(0).combine_chunks()
    flat = pc.list_flatten(parts)
    passed = pc.ends_with(flat, '"passed":true').to_numpy(zero_copy_only=False)
    tags = list(PERSONA_TAGS)
    persona_bit = np.array([tags.index(e["persona_id"]) if e.get("persona_id") in tags else 63 for e in layout],
                           dtype=np.int64)
    row_of = np.repeat(np.arange(n, dtype=np.int64), size)
    keep = passed & (((np.asarray(matched_bits, dtype=np.int64)[row_of] >> np.tile(persona_bit, n)) & 1) == 1)
    kept = join("{", flat.filter(pa.array(keep)), "}")
    lists = _row_lists(row_of[keep], kept, n)
    return join("[", pc.binary_join(lists, ","), "]")


def lists_by_code(codes: np.ndarray, decode) -> pa.Array:
    """A list<string> column from per-row codes: each distinct code is decoded once, then taken per row."""
    if not len(codes):
        return pa.array([], pa.list_(pa.string()))
    uniq, inverse = np.unique(codes, return_inverse=True)
    lists = pa.array([decode(u) for u in uniq], pa.list_(pa.string()))
    return lists.take(pa.array(inverse.ravel()))


def recent_history(history: pd.DataFrame | None, created: pd.Timestamp, scoring: ScoringConfig) -> pd.DataFrame:
    """Deliveries that can affect this run: at or before created_at and within freshness.full_after_days; the last
    delivery per (user, item). Older deliveries count as never shown."""
    cols = ["user_id", "item_id", "delivered_at"]
    if history is None or not len(history):
        return pd.DataFrame({"user_id": pd.Series(dtype=object), "item_id": pd.Series(dtype=object),
                             "delivered_at": pd.Series(dtype="datetime64[us]")})
    _require(history, "history (deliveries)", cols)
    delivered = pd.to_datetime(history["delivered_at"])
    if getattr(delivered.dt, "tz", None) is not None:
        delivered = delivered.dt.tz_convert("UTC").dt.tz_localize(None)
    h = pd.DataFrame({"user_id": history["user_id"].astype(str).to_numpy(dtype=object),
                      "item_id": history["item_id"].astype(str).to_numpy(dtype=object),
                      "delivered_at": delivered.to_numpy()})
    horizon = created - pd.Timedelta(days=scoring.freshness.full_after_days)
    h = h[(h["delivered_at"] <= created) & (h["delivered_at"] > horizon)]
    h = h.sort_values(["user_id", "item_id", "delivered_at"], kind="stable").drop_duplicates(
        ["user_id", "item_id"], keep="last")
    return h.reset_index(drop=True)


# ----------------------------------------------------------------------------------- selection + render


@dataclass
class Rendered:
    """Every rendered (row, template) unit and, per candidate cell, which unit it used (-1: none)."""

    units: RenderedUnits
    cell_unit: np.ndarray  # flat (row * m + col) -> unit index
    dropped_stage: np.ndarray  # rows x entries: STAGE_CODE of rationale/tone drops, 0 otherwise
    requested: np.ndarray  # flat -> requested template id (for rendered cells)


def select_and_render(cands: Candidates, rin: pd.DataFrame, catalog: Catalog, scoring: ScoringConfig,
                      guardrails: Guardrails) -> tuple[Selection, Rendered]:
    """Apply the business rules, render the chosen items' rationales and tone-check them; an item whose rationale
    cannot be filled or is rejected drops out and the rules run again so the next candidate can take its place."""
    items = cands.items
    n, m = cands.shape
    alive = cands.alive()
    drop = np.zeros((n, m), dtype=np.int8)
    template_ids = list(catalog.templates)
    tpl_code = {t: i for i, t in enumerate(template_ids)}
    unit_of = np.full((n, len(template_ids)), -1, dtype=np.int64)
    cell_unit = np.full(n * m, -1, dtype=np.int64)
    requested = np.full(n * m, None, dtype=object)
    attempted = np.zeros(n * m, dtype=bool)
    parts: list[RenderedUnits] = []
    unit_ok = np.zeros(0, dtype=bool)
    while True:
        sel = apply_business_rules(cands.score, alive & (drop == 0), items, scoring)
        flat = np.flatnonzero(sel.selected.ravel())
        need = flat[~attempted[flat]]
        if not need.size:
            break
        attempted[need] = True
        r, c = np.divmod(need, m)
        requested[need] = items.template[c]
        chosen = choose_templates(catalog.templates, items.template[c], rin, r)
        none = pd.isna(chosen)
        drop[r[none], c[none]] = STAGE_CODE["rationale"]
        r_ok, c_ok, ok_cells = r[~none], c[~none], need[~none]
        codes = np.array([tpl_code[t] for t in chosen[~none]], dtype=np.int64)
        fresh = unit_of[r_ok, codes] < 0
        if fresh.any():
            key = np.unique(r_ok[fresh] * len(template_ids) + codes[fresh])
            rendered = render_units(catalog.templates, key // len(template_ids),
                                    np.array(template_ids, dtype=object)[key % len(template_ids)], rin, guardrails)
            # render_units orders units by template; map each back to its (row, template) pair
            back = np.array([tpl_code[t] for t in rendered.template_id], dtype=np.int64)
            unit_of[rendered.row, back] = len(unit_ok) + np.arange(len(rendered.row))
            parts.append(rendered)
            unit_ok = np.concatenate([unit_ok, rendered.ok])
        cell_unit[ok_cells] = unit_of[r_ok, codes]
        rejected = ~unit_ok[cell_unit[ok_cells]]
        drop[r_ok[rejected], c_ok[rejected]] = STAGE_CODE["tone"]
        if not none.any() and not rejected.any():
            break
    return sel, Rendered(RenderedUnits.concat(parts), cell_unit, drop, requested)


def stage_codes(cands: Candidates, sel: Selection, dropped: np.ndarray) -> np.ndarray:
    """The stage where each candidate was removed (STAGE_CODE), 0 for the recommendations."""
    code = cands.removed_stage()
    alive = cands.alive()
    gone = alive & (dropped > 0)
    code[gone] = dropped[gone]
    code[alive & (dropped == 0) & ~sel.selected] = STAGE_CODE["business_rules"]
    return code


# ------------------------------------------------------------------------------------------- the engine


def recommend(inputs: RecommendInputs, catalog: Catalog, scoring: ScoringConfig, guardrails: Guardrails,
              run_id: str, created_at: dt.datetime, versions: dict) -> RecommendOutputs:
    """Recommendations for every user whose consent is granted in inputs.consent, and every window, with
    rationales, decision traces, shortfalls, the stage funnel and guardrail events."""
    timings: dict[str, float] = {}
    clock = time.perf_counter()

    def lap(name: str) -> None:
        nonlocal clock
        now = time.perf_counter()
        timings[name] = round(now - clock, 4)
        clock = now

    created = naive_utc(created_at)
    sw = _sorted_windows(inputs.signals_wide)
    status = consent_by_user(inputs.consent)
    granted = set(status.loc[status["status"] == "granted", "user_id"])
    sig = sw[pd.Index(sw["user_id"].to_numpy(dtype=object)).isin(list(granted))].reset_index(drop=True)
    keys = sig[KEYS]
    personas = _aligned_personas(keys, inputs.persona_assignments)
    features, subtype_bits = window_features(sig, inputs.users, inputs.accounts)
    rin = _aligned(rationale_inputs(sig, inputs.credit_cards, inputs.recurring_streams), keys, "rationale inputs")
    items = catalog_items(catalog)
    history = recent_history(inputs.history, created, scoring)
    lap("prepare")
    cands = score_candidates(sig, personas, features, history, items, scoring, guardrails, created)
    lap("score")
    sel, rendered = select_and_render(cands, rin, catalog, scoring, guardrails)
    code = stage_codes(cands, sel, rendered.dropped_stage)
    lap("select_render")
    asm = _Assembly(run_id, created, inputs.as_of, catalog, versions, scoring, guardrails, items, cands, sel,
                    rendered, code, sig, personas, features, subtype_bits, history, status.set_index("user_id"),
                    _aligned_counterfactuals(keys, inputs.counterfactuals))
    users = inputs.users["user_id"].astype(str) if "user_id" in inputs.users else pd.Series(dtype=object)
    with _LazyConnection() as con:
        recs, rec_rows = asm.recommendations(con)
        lap("recommendations")
        traces = asm.trace_rows(rec_rows)
        lap("traces")
        contexts = asm.contexts(con, rec_rows)
        lap("contexts")
    arrow = {
        "recommendations": recs,
        "recommendation_traces": traces,
        "decision_contexts": contexts,
        "recommendation_shortfalls": asm.shortfalls(sw, users, granted),
        "recommendation_funnel": asm.funnel(len(sw)),
        "guardrail_events": asm.guardrail_events(sw, users, status),
    }
    lap("records")
    return RecommendOutputs(arrow, timings)


class _LazyConnection:
    """An in-memory DuckDB connection opened on first use (opening one costs more than a small batch's work)."""

    def __init__(self) -> None:
        self._con: duckdb.DuckDBPyConnection | None = None

    def __enter__(self):
        return self

    def __exit__(self, *exc) -> None:
        if self._con is not None:
            self._con.close()

    def __getattr__(self, name: str):
        if self._con is None:
            self._con = duckdb.connect()
        return getattr(self._con, name)


def scoring_rules(scoring: ScoringConfig) -> dict:
    """The business rules of a scoring config (everything but the weights), as recorded in decision contexts."""
    d = scoring.model_dump()
    d.pop("weights")
    return d


# ------------------------------------------------------------------------------------------- assembling


@dataclass
class _Assembly:
    """Everything the output builders need, computed once."""

    run_id: str
    created: pd.Timestamp
    as_of: dt.date
    catalog: Catalog
    versions: dict
    scoring: ScoringConfig
    guardrails: Guardrails
    items: Items
    cands: Candidates
    sel: Selection
    rendered: Rendered
    code: np.ndarray
    sig: pd.DataFrame
    personas: pd.DataFrame
    features: pd.DataFrame
    subtype_bits: np.ndarray
    history: pd.DataFrame
    status_of: pd.DataFrame
    counterfactuals: pd.DataFrame  # aligned with sig: target, operator and customer text, changes (JSON)

    def __post_init__(self) -> None:
        self.uid = self.sig["user_id"].to_numpy(dtype=object)
        self.win = self.sig["window_days"].to_numpy(dtype=np.int64)
        self.uid_arrow = pa.array(self.uid, STRING)
        self.context_ids: pa.Array | None = None

    def _context_ids(self, con: duckdb.DuckDBPyConnection) -> pa.Array:
        if self.context_ids is None:
            self.context_ids = self._ids(con, self.uid, self.win, np.full(len(self.uid), None, dtype=object))
        return self.context_ids

    def _ids(self, con: duckdb.DuckDBPyConnection, user, window: np.ndarray, item) -> pa.Array:
        """First 16 hex digits of sha256('run_id|user_id|window_days|item_id') (without '|item_id' when item is
        None: the user-window's context id); hashlib for a few rows, DuckDB's sha256 for many."""
        as_str = lambda v: v if isinstance(v, pa.Array) else pa.array(v, STRING)
        user, item = as_str(user), as_str(item)
        window = np.asarray(window, dtype=np.int64)
        if len(window) <= SMALL_BATCH:
            out = []
            for u, w, i in zip(user.to_pylist(), window.tolist(), item.to_pylist(), strict=True):
                key = f"{self.run_id}|{u}|{w}" + (f"|{i}" if i is not None else "")
                out.append(hashlib.sha256(key.encode()).hexdigest()[:16])
            return pa.array(out, STRING)
        con.register("id_rows", pa.table({"user_id": user, "window_days": pa.array(window), "item_id": item}))
        try:
            return con.sql(read_sql("ids"), params={"run_id": self.run_id}).to_arrow_table().column("id") \
                .combine_chunks()
        finally:
            con.unregister("id_rows")

    # -- recommendations

    def recommendations(self, con: duckdb.DuckDBPyConnection) -> tuple[pa.Table, pa.Table]:
        """The recommendations table, and the per-recommendation rows the trace query reads."""
        items, sel, units = self.items, self.sel, self.rendered.units
        _, m = self.cands.shape
        flat = np.flatnonzero(sel.selected.ravel())
        r, c = np.divmod(flat, m)
        order = np.lexsort((sel.rank[r, c], items.is_offer[c], r))
        flat, r, c = flat[order], r[order], c[order]
        cu = self.rendered.cell_unit[flat]
        u = pa.array(cu)
        r_a, c_a = pa.array(r.astype(np.int64)), pa.array(c.astype(np.int64))
        window = self.win[r]
        user = self.uid_arrow.take(r_a)
        item_id = pa.array(items.item_id, STRING).take(c_a)
        ids = self._ids(con, user, window, item_id)
        context_ids = self._context_ids(con).take(r_a)
        kind = items.kind[c]
        rank = sel.rank[r, c].astype(np.int32)
        tpl_codes, tpl_vocab = pd.factorize(units.template_id)
        template_id = pa.array(np.asarray(tpl_vocab, dtype=object), STRING).take(pa.array(tpl_codes[cu]))
        score_cols = {"score": self.cands.score[r, c], "score_persona": self.cands.persona[r, c],
                      "score_signal": self.cands.signal[r, c], "score_priority": self.cands.priority[r, c],
                      "score_freshness": self.cands.freshness[r, c]}
        kind_a = pa.array(items.kind, STRING).take(c_a)
        recs = arrow_table({
            "recommendation_id": ids, "run_id": self.run_id, "user_id": user, "window_days": window,
            "kind": kind_a, "item_id": item_id, "item_version": items.version[c],
            "title": pa.array(items.title, STRING).take(c_a), "rank": rank, **score_cols,
            "persona_id": pa.array(self.personas["persona_id"].to_numpy(dtype=object), STRING).take(r_a),
            "rationale": join(units.final_text.take(u), " ", pa.array(items.so_that, STRING).take(c_a)),
            "facts": units.facts.take(u),
            "disclosure": self.guardrails.disclosure, "template_id": template_id, "created_at": self.created,
        }, "recommendations")
        edu_count = sel.selected[:, items.columns("education")].sum(axis=1)
        offer_count = sel.selected[:, items.columns("offer")].sum(axis=1)
        versions_by_code = np.array([self.catalog.templates[t].version for t in tpl_vocab], dtype=np.int32)
        rec_rows = pa.table({
            "recommendation_id": ids, "run_id": pa.array(np.full(len(r), self.run_id, dtype=object), STRING),
            "user_id": user, "window_days": pa.array(window.astype(np.int32)),
            "context_id": context_ids, "row": r_a, "col": c_a, "kind": kind_a,
            "item_id": item_id, "item_version": pa.array(items.version[c].astype(np.int32)),
            "rank": pa.array(rank),
            "kind_count": pa.array(np.where(kind == "education", edu_count[r], offer_count[r]).astype(np.int32)),
            **{k: pa.array(v) for k, v in score_cols.items()},
            "triggers_total": pa.array(items.n_triggers[c].astype(np.int32)),
            "trig_bits": pa.array(self.cands.trig_bits[r, c].astype(np.int64)),
            "days_since_shown": pa.array(self.cands.days_since[r, c], from_pandas=True),
            "requested_template_id": pa.array(items.template, STRING).take(c_a),
            "template_id": template_id,
            "template_version": pa.array(versions_by_code[tpl_codes[cu]]),
            "template_values": units.values.take(u),
            **self._tone_columns(cu),
        })
        return recs, rec_rows

    def _tone_columns(self, cu: np.ndarray) -> dict[str, pa.Array]:
        """tone_action, tone_rules, tone_matches and the text before a rewrite, per recommendation (the text only
        where the tone check rewrote it)."""
        units = self.rendered.units
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

    def trace_rows(self, rec_rows: pa.Table) -> pa.Table:
        """recommendation_traces: each recommendation's own decision facts (item tags, matched triggers, recency,
        template request and version, template values, tone outcome)."""
        items = self.items
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
        columns["admitted_by"] = self._admitted_by(rec_rows.column("row").to_numpy(), col, bits)
        return pa.table({name: columns[name] for name, _ in TABLE_COLUMNS["recommendation_traces"]})

    def _admitted_by(self, row: np.ndarray, col: np.ndarray, bits: np.ndarray) -> pa.Array:
        """Per recommendation, each trigger that holds with the user's value and by how much it clears the
        threshold, e.g. 'max_utilization = 0.68 (>= 0.3, clears it by 0.38)'; built column-wise per trigger."""
        n = len(row)
        owners, texts, order = [], [], []
        for e_idx, entry in enumerate(self.items.entries):
            mine = np.flatnonzero(col == e_idx)
            if not mine.size:
                continue
            for j, trig in enumerate(entry.triggers):
                at = mine[(bits[mine] >> j) & 1 == 1]
                if not at.size:
                    continue
                values = self.sig[trig.signal].to_numpy()[row[at]]
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
        return _row_lists(owner[sort], pa.concat_arrays(texts).take(pa.array(sort)), n)

    def contexts(self, con: duckdb.DuckDBPyConnection, rec_rows: pa.Table) -> pa.Table:
        """decision_contexts: one row per consenting user-window, shared by its recommendations (built as Arrow
        columns; list columns from sorted arrays and offsets)."""
        n, _ = self.cands.shape
        status = self.status_of.reindex(self.uid)
        f = self.features
        personas = PERSONA_TAGS
        matched = _bits(self.personas["matched_personas"], personas)
        w = self.scoring.weights
        weights = pa.StructArray.from_arrays(
            [pa.array(np.full(n, v, dtype=float)) for v in (w.persona, w.signal, w.priority, w.freshness)],
            names=["persona", "signal", "priority", "freshness"])
        removed = self._removed()
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
            selected[kind] = _row_lists(rec_row[idx], rec_item.take(pa.array(idx.astype(np.int64))), n)
        columns = {
            "context_id": self._context_ids(con),
            "run_id": pa.array(np.full(n, self.run_id, dtype=object), STRING),
            "user_id": self.uid_arrow,
            "window_days": pa.array(self.win.astype(np.int32)),
            "as_of": pa.array(np.full(n, np.datetime64(self.as_of, "D")), pa.date32()),
            "created_at": pa.array(np.full(n, self.created.to_datetime64()).astype("datetime64[us]"),
                                   pa.timestamp("us")),
            "persona_id": pa.array(self.personas["persona_id"].to_numpy(dtype=object), STRING),
            "persona_name": pa.array(self.personas["persona_name"].to_numpy(dtype=object), STRING),
            "matched_personas": lists_by_code(matched, lambda b: [p for i, p in enumerate(personas) if b >> i & 1]),
            "criteria_matched": criteria_matched(self.personas["criteria"], matched),
            "signals": self._signals_struct(),
            "credit_score": _floats(f["credit_score"]),
            "annual_income": _floats(pd.to_numeric(f["avg_monthly_income"], errors="coerce") * 12),
            "max_utilization": _floats(f["max_utilization"]),
            "account_subtypes": lists_by_code(self.subtype_bits,
                                              lambda b: [s for i, s in enumerate(SUBTYPES) if b >> i & 1]),
            "consent_status": pa.array(status["status"].to_numpy(dtype=object), STRING),
            "consent_at": pa.array(pd.to_datetime(status["occurred_at"]).to_numpy(dtype="datetime64[us]"),
                                   pa.timestamp("us"), from_pandas=True),
            "history": self._history_lists(),
            **{f"what_would_change_{k}": pa.array(self.counterfactuals[c].to_numpy(dtype=object), STRING,
                                                  from_pandas=True) for k, c in COUNTERFACTUAL_COLUMNS.items()},
            "not_relevant": self._not_relevant(),
            "filtered_out": _row_lists(removed["row"][order], filtered, n),
            "selected_education": selected["education"],
            "selected_offers": selected["offer"],
            "weights": weights,
            "rules": pa.array(np.full(n, json.dumps(scoring_rules(self.scoring), sort_keys=True), dtype=object),
                              STRING),
            "versions": pa.array(np.full(n, json.dumps(self.versions, sort_keys=True, default=str), dtype=object),
                                 STRING),
        }
        return pa.table(columns)

    def _signals_struct(self) -> pa.StructArray:
        """The signals_wide row of each user-window as a struct typed like the signal step types it."""
        from spendsense.signals.catalog import TABLE_COLUMNS as SIGNAL_COLUMNS

        typ = {"DOUBLE": pa.float64(), "INTEGER": pa.int32(), "VARCHAR": pa.string()}
        names, arrays = [], []
        for col, dtype in SIGNAL_COLUMNS["signals_wide"]:
            if col in KEYS:
                continue
            values = self.sig[col] if col in self.sig else pd.Series([None] * len(self.sig), dtype=object)
            if dtype == "VARCHAR":
                arrays.append(pa.array(values.to_numpy(dtype=object), STRING, from_pandas=True))
            else:
                try:
                    arr = pa.array(values, from_pandas=True)
                    arr = arr.combine_chunks() if isinstance(arr, pa.ChunkedArray) else arr
                    arrays.append(arr.cast(typ[dtype]))
                except (pa.ArrowInvalid, pa.ArrowTypeError, pa.ArrowNotImplementedError):
                    arrays.append(_floats(values).cast(typ[dtype]))
            names.append(col)
        if not names:
            return pa.array([{}] * len(self.sig), pa.struct([]))
        return pa.StructArray.from_arrays(arrays, names=names)

    def _history_lists(self) -> pa.Array:
        """Per user-window, the user's recent deliveries (newest first)."""
        hist = self.history
        codes, uniques = pd.factorize(self.uid)
        hu = pd.Index(uniques).get_indexer(pd.Index(hist["user_id"].to_numpy(dtype=object)))
        keep = hu >= 0
        delivered = pd.to_datetime(hist["delivered_at"]).to_numpy(dtype="datetime64[us]")[keep]
        items = hist["item_id"].to_numpy(dtype=object)[keep]
        hu = hu[keep]
        order = np.lexsort((pd.factorize(items, sort=True)[0], -delivered.astype(np.int64), hu))
        days = ((self.created.to_datetime64() - delivered) / np.timedelta64(1, "D")).astype(float).round(6)
        values = pa.StructArray.from_arrays(
            [pa.array(items[order], STRING), pa.array(delivered[order], pa.timestamp("us")),
             pa.array(days[order])], names=["item_id", "delivered_at", "days_ago"])
        per_user = _row_lists(hu[order], values, len(uniques))
        return per_user.take(pa.array(codes.astype(np.int64)))

    def _not_relevant(self) -> pa.Array:
        """Per row, the ids of the candidates removed as not relevant (identical sets decoded once)."""
        n, m = self.cands.shape
        mask = self.code == STAGE_CODE["signal_triggers"]
        if not n:
            return pa.array([], pa.list_(pa.string()))
        packed = np.ascontiguousarray(np.packbits(mask, axis=1))
        codes = packed.view(np.dtype((np.void, packed.shape[1]))).ravel()
        ids = self.items.item_id

        def decode(key) -> list[str]:
            bits = np.unpackbits(np.frombuffer(key.tobytes(), dtype=np.uint8))[:m].astype(bool)
            return ids[bits].tolist()

        return lists_by_code(codes, decode)

    def _removed(self) -> dict:
        """Every filtered-out candidate except 'not relevant': row, stage_order, item_rank (catalog id order),
        item_id and reason (Arrow strings)."""
        items, cands = self.items, self.cands
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
            r, c = np.nonzero(self.code == STAGE_CODE[stage])
            if not len(r):
                continue
            if stage == "recency":
                reason = recency_reasons(np.floor(cands.days_since[r, c]).astype(np.int64), self.scoring.recency_days)
            elif stage == "business_rules":
                reason = self._cut_reasons(r, c)
            elif stage == "rationale":
                reason = pa.array([f"no template in the fallback chain of {t!r} has every value it needs"
                                   for t in items.template[c]], STRING)
            else:
                u = pa.array(self.rendered.cell_unit[r * m + c])
                units = self.rendered.units
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

    def _cut_reasons(self, r: np.ndarray, c: np.ndarray) -> pa.Array:
        """Why the business rules left a candidate out (each distinct reason written once, then taken)."""
        items, sel, s = self.items, self.sel, self.scoring
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

    # -- records

    def shortfalls(self, sw: pd.DataFrame, users: pd.Series, granted: set[str]) -> pa.Table:
        """One row per consenting user-window and kind with fewer items than the minimum, saying why."""
        items, code, s = self.items, self.code, self.scoring
        cols_out: dict[str, list] = {c: [] for c, _ in TABLE_COLUMNS["recommendation_shortfalls"]}
        for kind, need in (("education", s.education.min), ("offer", s.offers.min)):
            cols = items.columns(kind)
            sub = code[:, cols]
            delivered = (sub == 0).sum(axis=1)
            short = np.flatnonzero(delivered < need)
            if not short.size:
                continue
            count = {st: (sub[short] == STAGE_CODE[st]).sum(axis=1) for st in STAGES[1:]}
            ineligible = ((~self.cands.eligible[:, cols]) & self.cands.relevant[:, cols])[short].sum(axis=1)
            cut = self.sel.cut[:, cols][short]
            no_edu = (cut == CUT_NO_EDUCATION).any(axis=1)
            partner = (cut == CUT_PARTNER).sum(axis=1)
            cols_out["user_id"] += self.uid[short].tolist()
            cols_out["window_days"] += self.win[short].tolist()
            cols_out["kind"] += [kind] * len(short)
            cols_out["required"] += [need] * len(short)
            cols_out["delivered"] += delivered[short].tolist()
            cols_out["reason"] += [shortfall_reason(kind, int(delivered[i]), int(count["recency"][j]),
                                                    int(count["rationale"][j]), int(count["tone"][j]),
                                                    int(ineligible[j]), int(partner[j]), bool(no_edu[j]),
                                                    s.recency_days)
                                   for j, i in enumerate(short)]
        present = set(sw["user_id"].to_numpy(dtype=object).tolist())
        missing = sorted((set(users.to_numpy(dtype=object).tolist()) & granted) - present)  # granted after signals
        windows = sorted(sw["window_days"].unique().tolist()) or [30, 180]
        for user in missing:
            for w in windows:
                for kind, need in (("education", s.education.min), ("offer", s.offers.min)):
                    cols_out["user_id"].append(user)
                    cols_out["window_days"].append(w)
                    cols_out["kind"].append(kind)
                    cols_out["required"].append(need)
                    cols_out["delivered"].append(0)
                    cols_out["reason"].append("no signals for this user in this run (consent was granted after "
                                              "the signal step ran)")
        frame = pd.DataFrame({k: v for k, v in cols_out.items() if k != "run_id"})
        frame = frame.sort_values(["user_id", "window_days", "kind"], kind="stable")
        return arrow_table({"run_id": self.run_id, **{k: frame[k].to_numpy(dtype=object if k in
                                                                            ("user_id", "kind", "reason")
                                                                            else np.int64) for k in frame}},
                           "recommendation_shortfalls")

    def funnel(self, all_rows: int) -> pa.Table:
        """Candidates entering and removed at each stage, per kind."""
        n, _ = self.cands.shape
        out: dict[str, list] = {c: [] for c, _ in TABLE_COLUMNS["recommendation_funnel"]}
        for kind in KINDS:
            cols = self.items.columns(kind)
            counts = np.bincount(self.code[:, cols].ravel(), minlength=len(STAGES) + 1)
            remaining = all_rows * len(cols)
            for i, stage in enumerate(STAGES):
                removed = (all_rows - n) * len(cols) if stage == "consent" else int(counts[STAGE_CODE[stage]])
                for k, v in (("run_id", self.run_id), ("stage_order", i + 1), ("stage", stage), ("kind", kind),
                             ("candidates_in", remaining), ("removed", removed),
                             ("remaining", remaining - removed)):
                    out[k].append(v)
                remaining -= removed
            if remaining != int(counts[0]):
                raise AssertionError(f"funnel for {kind} does not add up: {remaining} != {int(counts[0])}")
        return arrow_table({k: np.array(v, dtype=object) for k, v in out.items()}, "recommendation_funnel")

    def guardrail_events(self, sw: pd.DataFrame, users: pd.Series, status: pd.DataFrame) -> pa.Table:
        """Consent skips, eligibility blocks, recency blocks, rationale drops and tone rewrites/rejections."""
        items, cands = self.items, self.cands
        _, m = cands.shape
        uid, win = self.uid, self.win
        parts: list[pa.Table] = []

        def part(user, window, item, guardrail, outcome, rule, detail) -> None:
            parts.append(arrow_table({"run_id": self.run_id, "user_id": user, "window_days": window,
                                      "item_id": item, "guardrail": guardrail, "outcome": outcome, "rule": rule,
                                      "detail": detail}, "guardrail_events"))

        everyone = pd.Index(pd.unique(np.concatenate([users.to_numpy(dtype=object),
                                                      sw["user_id"].to_numpy(dtype=object)])))
        st = status.set_index("user_id").reindex(everyone)
        statuses = st["status"].to_numpy(dtype=object)
        skip = statuses != "granted"
        if skip.any():
            rule = np.where(pd.isna(statuses), NO_CONSENT, statuses)[skip].astype(str).astype(object)
            when = pd.to_datetime(st["occurred_at"]).dt.strftime("%Y-%m-%d %H:%M:%S").to_numpy(dtype=object)[skip]
            detail = np.where(pd.isna(when), "no consent event for this user: nothing is generated",
                              "consent " + rule + " at " + when.astype(str).astype(object)
                              + ": nothing is generated, even where signals exist")
            k = int(skip.sum())
            part(everyone.to_numpy(dtype=object)[skip], np.full(k, None, dtype=object), np.full(k, None, dtype=object),
                 "consent", "skipped", rule, detail)
        f = cands.eligibility_failures
        if len(f):
            rr = f["row"].to_numpy()
            part(uid[rr], win[rr], items.item_id[f["col"].to_numpy()], "eligibility", "blocked",
                 f["rules"].to_numpy(dtype=object), f["reason"].to_numpy(dtype=object))
        r, c = np.nonzero(self.code == STAGE_CODE["recency"])
        if len(r):
            part(uid[r], win[r], items.item_id[c], "recency", "blocked", f"recency_days={self.scoring.recency_days}",
                 recency_reasons(np.floor(cands.days_since[r, c]).astype(np.int64), self.scoring.recency_days))
        r, c = np.nonzero(self.code == STAGE_CODE["rationale"])
        if len(r):
            part(uid[r], win[r], items.item_id[c], "rationale", "dropped", items.template[c],
                 "no template in the fallback chain could be filled")
        units = self.rendered.units
        cells = np.flatnonzero(self.rendered.cell_unit >= 0)
        if cells.size:
            u = self.rendered.cell_unit[cells]
            flagged = units.tone_action[u] != "pass"
            if flagged.any():
                cells, u = cells[flagged], u[flagged]
                r, c = np.divmod(cells, m)
                action = units.tone_action[u]
                part(uid[r], win[r], items.item_id[c], "tone", np.where(action == "rewrite", "rewritten", "rejected"),
                     units.tone_rules.take(pa.array(u)), units.tone_matches.take(pa.array(u)))
        if not parts:
            return empty_arrow("guardrail_events")
        return pa.concat_tables(parts)


def recency_reasons(days: np.ndarray, recency_days: int) -> pa.Array:
    """'delivered 10 days ago; not shown again within 30 days' for each number of days."""
    d = np.asarray(days, dtype=np.int64)
    return join("delivered ", pc.cast(pa.array(d), STRING), where(d == 1, " day", " days"),
                f" ago; not shown again within {recency_days} days")


def _row_lists(rows_sorted: np.ndarray, values: pa.Array, n: int) -> pa.Array:
    """A list column of n rows from values already sorted by their (non-decreasing) row numbers."""
    offsets = np.searchsorted(np.asarray(rows_sorted, dtype=np.int64), np.arange(n + 1)).astype(np.int32)
    if isinstance(values, pa.ChunkedArray):
        values = values.combine_chunks()
    return pa.ListArray.from_arrays(pa.array(offsets), values)


def _floats(values) -> pa.Array:
    """Numbers as float64 Arrow (nulls kept)."""
    return pa.array(pd.to_numeric(pd.Series(values), errors="coerce").to_numpy(dtype=float), from_pandas=True)


def shortfall_reason(kind: str, delivered: int, recency: int, rationale: int, tone: int, ineligible: int,
                     partner: int, no_education: bool, recency_days: int) -> str:
    """Why fewer than the minimum items of a kind survived, e.g. '2 relevant education items; 3 more filtered by
    recency (shown in the last 30 days)'."""
    noun = "item" if kind == "education" else "offer"
    what = "relevant education" if kind == "education" else "eligible and relevant"
    parts = [f"{delivered} {what} {noun}{'' if delivered == 1 else 's'}"]
    if no_education:
        parts.append("offers are shown only alongside education, and no education item survived")
    if ineligible:
        parts.append(f"{ineligible} more relevant {noun}{'' if ineligible == 1 else 's'} failed eligibility")
    if recency:
        parts.append(f"{recency} more filtered by recency (shown in the last {recency_days} days)")
    if partner:
        parts.append(f"{partner} more removed by the per-partner cap")
    if rationale:
        parts.append(f"{rationale} more without a rationale that could be filled")
    if tone:
        parts.append(f"{tone} more dropped by the tone check")
    if len(parts) == 1:
        parts.append(f"no other {noun} matches the persona or any signal")
    return "; ".join(parts)
