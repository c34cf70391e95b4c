"""Decision traces: read one back, explain it in plain text, and replay it from its recorded inputs.

A full trace is the recommendation's own part (recommendation_traces) merged into its user-window's context
(decision_contexts); the warehouse's decision_traces view does the merge. Replay rebuilds that user-window's
candidates from the trace's inputs (signal values, persona, eligibility features, delivery history, scoring
rules and weights), runs the same selection code as the batch, re-renders the rationale from the recorded
template values, and compares item, rank, score, template and text with what was stored.
"""

from __future__ import annotations

import json
import math
from dataclasses import dataclass
from pathlib import Path

import duckdb
import numpy as np
import pandas as pd

from spendsense.content import Catalog, Guardrails, ScoringConfig, render_rationale
from spendsense.content.models import SOURCE_TABLE
from spendsense.content.rationale import choose_templates, template_plan
from spendsense.guardrails import check_tone
from spendsense.recommend.select import STAGE_CODE, apply_business_rules, catalog_items, score_candidates
from spendsense.signals.catalog import TABLE_COLUMNS as SIGNAL_COLUMNS

SCORE_TOLERANCE = 1e-9


class UnknownRecommendation(KeyError):
    """No recommendation with this id in the warehouse."""


# ------------------------------------------------------------------------------------------------ reading


def recommendation_row(con: duckdb.DuckDBPyConnection, recommendation_id: str) -> dict:
    """The stored recommendation (facts parsed); UnknownRecommendation if there is none."""
    try:
        df = con.execute("select * from recommendations where recommendation_id = $r",
                         {"r": recommendation_id}).df()
    except duckdb.CatalogException:
        raise UnknownRecommendation(f"no recommendations table in this warehouse (looked for {recommendation_id!r})") \
            from None
    if not len(df):
        raise UnknownRecommendation(f"unknown recommendation id {recommendation_id!r}")
    row = df.iloc[0].to_dict()
    row["facts"] = json.loads(row["facts"]) if isinstance(row["facts"], str) else row["facts"]
    return row


def full_trace(con: duckdb.DuckDBPyConnection, recommendation_id: str, user_id: str | None = None) -> dict:
    """One recommendation's full decision trace (its own facts joined with its user-window's context). Giving
    the user_id too lets DuckDB skip the row groups of other users."""
    try:
        if user_id is None:
            rows = con.execute("select trace from decision_traces where recommendation_id = $r",
                               {"r": recommendation_id}).fetchall()
        else:
            rows = con.execute("select trace from decision_traces where user_id = $u and recommendation_id = $r",
                               {"r": recommendation_id, "u": user_id}).fetchall()
    except duckdb.CatalogException:
        raise UnknownRecommendation(f"no decision_traces in this warehouse (looked for {recommendation_id!r})") \
            from None
    if not rows:
        raise UnknownRecommendation(f"no decision trace for recommendation {recommendation_id!r}")
    return json.loads(rows[0][0])


def full_traces(con: duckdb.DuckDBPyConnection, user_id: str) -> dict[str, dict]:
    """Every full trace of one user, by recommendation_id."""
    rows = con.execute("select recommendation_id, trace from decision_traces where user_id = $u",
                       {"u": user_id}).fetchall()
    return {r: json.loads(t) for r, t in rows}


def _open(warehouse_path: str | Path) -> duckdb.DuckDBPyConnection:
    path = Path(warehouse_path)
    if not path.exists():
        raise FileNotFoundError(f"warehouse {path} does not exist")
    return duckdb.connect(str(path), read_only=True)


# ----------------------------------------------------------------------------------------------- explain


def _num(value: object, digits: int = 4) -> str:
    if value is None:
        return "null"
    if isinstance(value, bool):
        return str(value).lower()
    if isinstance(value, int | float):
        if isinstance(value, float) and math.isnan(value):
            return "null"
        return f"{value:.{digits}g}" if isinstance(value, float) else str(value)
    return str(value)


def explain_text(rec: dict, trace: dict) -> str:
    """A decision trace as readable lines: what, why (each stage), score, inputs, what was filtered out, versions."""
    item = trace.get("item", {})
    inputs = trace.get("inputs", {})
    persona = inputs.get("persona", {})
    score = trace.get("score", {})
    comps, weights = score.get("components", {}), score.get("weights", {})
    stages = trace.get("stages", {})
    lines = [
        f"Recommendation {rec['recommendation_id']}  (run {rec['run_id']}, created {rec['created_at']})",
        (f"User {rec['user_id']}, {rec['window_days']}-day window; persona {persona.get('persona_name')} "
         f"({persona.get('persona_id')}); matched personas: "
         f"{', '.join(persona.get('matched_personas') or []) or 'none'}"),
        (f"Item: {rec['kind']} {rec['item_id']} v{rec['item_version']} \"{rec['title']}\"; tagged for "
         f"{', '.join(item.get('persona_tags') or [])}"),
        f"Rank {rec['rank']} of the {rec['kind']} items, score {rec['score']:.4f}",
        "",
        "Rationale:",
        f"  {rec['rationale']}",
        "Facts quoted:",
    ]
    for f in rec["facts"]:
        lines.append(f"  {f['signal']} = {_num(f['value'], 8)}  -> \"{f['text']}\"")
    lines += [f"Disclosure: {rec['disclosure']}", "", "Why (each filter stage):"]
    for name, stage in stages.items():
        status = "PASS" if stage.get("passed", True) else "FAIL"
        lines.append(f"  {name:<16} {status}  {stage.get('reason', '')}")
    admitted = (stages.get("signal_triggers") or {}).get("admitted_by") or []
    lines += ["", "Admitted by: " + ("; ".join(admitted) if admitted else
                                     "general-audience item (no trigger; at most one per window)")]
    change = trace.get("what_would_change") or {}
    if change.get("text"):
        lines += ["What would change the persona: " + change["text"],
                  "  in the customer's words: " + (change.get("customer_text") or "")]
    lines += ["", "Score = " + " + ".join(f"{weights.get(k, 0):g} x {k} {comps.get(k, 0):.3f}"
                                          for k in ("persona", "signal", "priority", "freshness"))
              + f" = {score.get('total', rec['score']):.4f}"]
    rat = trace.get("rationale", {})
    lines += ["", f"Template: {rat.get('template_id')} v{rat.get('template_version')}"
              + (f" (requested {rat.get('requested_template_id')})"
                 if rat.get("requested_template_id") != rat.get("template_id") else ""),
              "  values: " + json.dumps(rat.get("values", {}), sort_keys=True)]
    if rat.get("text_before_rewrite"):
        lines.append(f"  before the tone rewrite: {rat['text_before_rewrite']}")
    lines += ["", "Guardrails:"]
    for name, g in (trace.get("guardrails") or {}).items():
        lines.append(f"  {name:<12} {g.get('outcome')}  {g.get('detail', '')}")
    lines += ["", "Inputs: signal values of this user and window"]
    for k, v in (inputs.get("signals") or {}).items():
        lines.append(f"  {k:<28} {_num(v)}")
    crit = persona.get("criteria_matched") or []
    if crit:
        lines.append("Persona criteria matched:")
        for c in crit:
            lines.append(f"  {c.get('persona_id')}: {c.get('signal')} {c.get('op')} {_num(c.get('threshold'))} "
                         f"(value {_num(c.get('value'))})")
    feats = inputs.get("eligibility_features") or {}
    if feats:
        lines.append("Eligibility features: " + ", ".join(f"{k}={_num(v) if not isinstance(v, list) else v}"
                                                          for k, v in feats.items()))
    hist = inputs.get("history") or []
    lines.append("Recent deliveries to this user: " + (", ".join(
        f"{h['item_id']} ({_num(h.get('days_ago'), 3)} days ago)" for h in hist) or "none"))
    lines += ["", "Filtered out for this user and window:"]
    any_out = False
    for name, stage in stages.items():
        for entry in stage.get("filtered_out") or []:
            any_out = True
            if "items" in entry:
                lines.append(f"  {name}: {entry.get('count', len(entry['items']))} items, {entry['reason']}: "
                             + ", ".join(entry["items"]))
            else:
                lines.append(f"  {name}: {entry['item_id']}: {entry['reason']}")
    if not any_out:
        lines.append("  nothing")
    versions = trace.get("versions") or {}
    code = versions.get("code") or {}
    lines += ["", (f"Versions: config {versions.get('config')}, content {versions.get('content')}, code "
                   f"{code.get('spendsense')} (git {code.get('git_commit') or 'unknown'}"
                   f"{', with local changes' if code.get('git_dirty') else ''})"
                   + (f"; raw-store batch {versions['raw_batch']}" if versions.get("raw_batch") is not None else ""))]
    return "\n".join(lines)


def explain(warehouse_path: str | Path, rec_id: str) -> str:
    """A readable, multi-line explanation of one recommendation from its stored decision trace."""
    with _open(warehouse_path) as con:
        rec = recommendation_row(con, rec_id)
        trace = full_trace(con, rec_id, rec["user_id"])
    return explain_text(rec, trace)


# ------------------------------------------------------------------------------------------------ replay


@dataclass(frozen=True)
class ReplayResult:
    """Whether replaying a recommendation from its trace reproduced it; what differed; notes (e.g. versions)."""

    recommendation_id: str
    ok: bool
    differences: tuple[str, ...]
    notes: tuple[str, ...] = ()

    def __str__(self) -> str:
        head = f"replay of {self.recommendation_id}: " + ("reproduced (item, rank, score, rationale match)"
                                                          if self.ok else "MISMATCH")
        return "\n".join([head] + [f"  - {d}" for d in self.differences] + [f"  note: {n}" for n in self.notes])


def _signals_frame(trace: dict) -> pd.DataFrame:
    """The user-window's signals_wide row, typed as the signal step types it."""
    values = trace["inputs"]["signals"]
    row: dict[str, object] = {"user_id": trace["user_id"], "window_days": int(trace["window_days"])}
    frame = {}
    for name, dtype in SIGNAL_COLUMNS["signals_wide"]:
        v = row.get(name, values.get(name))
        if dtype == "DOUBLE":
            frame[name] = pd.Series([np.nan if v is None else float(v)], dtype=float)
        elif dtype == "INTEGER":
            frame[name] = pd.Series([v], dtype="Int32") if name != "window_days" else pd.Series([v], dtype="int32")
        else:
            frame[name] = pd.Series([v], dtype=object)
    return pd.DataFrame(frame)


def _input_row(trace: dict, signals: pd.DataFrame, template) -> pd.DataFrame:
    """A rationale_inputs-shaped row: the signals plus the chosen template's recorded source values."""
    row = signals.copy()
    values = trace["rationale"]["values"]
    if SOURCE_TABLE[template.source] is not None:
        for name, column in template.fields.items():
            if "." in column:
                key = f"{template.source}.{column.split('.', 1)[1]}"
                row[key] = pd.Series([values.get(name)], dtype=object)
    return row


def replay_trace(rec: dict, trace: dict, catalog: Catalog, guardrails: Guardrails) -> ReplayResult:
    """Recompute one recommendation from its trace's inputs and compare with the stored one (pure)."""
    diffs: list[str] = []
    notes: list[str] = []
    rid = rec["recommendation_id"]
    versions = trace.get("versions") or {}
    if versions.get("content") != catalog.version:
        notes.append(f"content version differs: recorded {versions.get('content')}, current {catalog.version} "
                     "(replayed with the current catalog)")
    scoring = ScoringConfig.model_validate({**trace["rules"], "weights": trace["score"]["weights"]})
    items = catalog_items(catalog)
    signals = _signals_frame(trace)
    inp = trace["inputs"]
    persona = inp["persona"]
    personas = pd.DataFrame({"user_id": [trace["user_id"]], "window_days": [int(trace["window_days"])],
                             "persona_id": [persona["persona_id"]],
                             "matched_personas": [list(persona.get("matched_personas") or [])]})
    feats = inp["eligibility_features"]
    features = pd.DataFrame({"user_id": [trace["user_id"]], "window_days": [int(trace["window_days"])],
                             "avg_monthly_income": signals["avg_monthly_income"].to_numpy(dtype=float),
                             "credit_score": [np.nan if feats.get("credit_score") is None
                                              else float(feats["credit_score"])],
                             "max_utilization": signals["max_utilization"].to_numpy(dtype=float),
                             "account_subtypes": [list(feats.get("account_subtypes") or [])]})
    history = pd.DataFrame([{"user_id": trace["user_id"], "item_id": h["item_id"],
                             "delivered_at": pd.Timestamp(h["delivered_at"])} for h in inp.get("history") or []],
                           columns=["user_id", "item_id", "delivered_at"])
    created = pd.Timestamp(trace["created_at"])
    cands = score_candidates(signals, personas, features, history, items, scoring, guardrails, created)

    # drops after selection (rationale that could not be filled, tone rejection) are taken from the trace
    dropped = np.zeros(cands.shape, dtype=np.int8)
    for stage in ("rationale", "tone"):
        for entry in trace["stages"].get(stage, {}).get("filtered_out") or []:
            pos = items.position([entry["item_id"]])[0]
            if pos >= 0:
                dropped[0, pos] = STAGE_CODE[stage]
    sel = apply_business_rules(cands.score, cands.alive() & (dropped == 0), items, scoring)

    pos = items.position([rec["item_id"]])[0]
    if pos < 0:
        return ReplayResult(rid, False, (f"item {rec['item_id']!r} is not in the current catalog",), tuple(notes))
    if not sel.selected[0, pos]:
        diffs.append(f"item {rec['item_id']} is not selected on replay")
    elif int(sel.rank[0, pos]) != int(rec["rank"]):
        diffs.append(f"rank: stored {rec['rank']}, replayed {int(sel.rank[0, pos])}")
    if abs(float(cands.score[0, pos]) - float(rec["score"])) > SCORE_TOLERANCE:
        diffs.append(f"score: stored {rec['score']!r}, replayed {float(cands.score[0, pos])!r}")
    for kind in ("education", "offer"):
        cols = items.columns(kind)
        chosen = cols[sel.selected[0, cols]]
        replayed = [str(i) for i in items.item_id[chosen[np.argsort(sel.rank[0, chosen], kind="stable")]]]
        stored = list((trace.get("selected") or {}).get(kind) or [])
        if replayed != stored:
            diffs.append(f"{kind} selection: stored {stored}, replayed {replayed}")

    # rationale: the template choice on the recorded values, then the text and facts
    rat = trace["rationale"]
    tid = rat["template_id"]
    if tid not in catalog.templates:
        diffs.append(f"template {tid!r} is not in the current catalog")
        return ReplayResult(rid, not diffs, tuple(diffs), tuple(notes))
    template = catalog.templates[tid]
    if template.version != rat.get("template_version"):
        notes.append(f"template {tid} version differs: recorded {rat.get('template_version')}, current "
                     f"{template.version}")
    row = _input_row(trace, signals, template)
    requested = items.template[pos]
    again = choose_templates(catalog.templates, np.array([requested], dtype=object), row,
                             np.array([0]))[0]
    if again != tid:
        diffs.append(f"template: stored {tid}, replayed {again}")
    text, facts = render_rationale(template, rat["values"])
    tone = check_tone(text, guardrails)
    final = None if tone.final_text is None else f"{tone.final_text} {catalog.entry(rec['item_id']).so_that}"
    if final != rec["rationale"]:
        diffs.append(f"rationale: stored {rec['rationale']!r}, replayed {final!r}")
    if tone.action != (trace["stages"].get("tone") or {}).get("action", "pass"):
        diffs.append(f"tone action: stored {trace['stages']['tone'].get('action')}, replayed {tone.action}")
    if not _same_facts(facts, rec["facts"]):
        diffs.append(f"facts: stored {rec['facts']}, replayed {facts}")
    if rec["template_id"] != tid:
        diffs.append(f"template_id: recommendation says {rec['template_id']}, trace says {tid}")
    template_plan(template)  # the plan must build on the current template
    return ReplayResult(rid, not diffs, tuple(diffs), tuple(notes))


def _same_facts(a: list[dict], b: list[dict]) -> bool:
    if len(a) != len(b):
        return False
    for x, y in zip(a, b, strict=True):
        if x["signal"] != y["signal"] or x["text"] != y["text"]:
            return False
        vx, vy = x["value"], y["value"]
        if isinstance(vx, int | float) and isinstance(vy, int | float):
            if not math.isclose(float(vx), float(vy), rel_tol=0, abs_tol=0):
                return False
        elif vx != vy:
            return False
    return True


def replay(warehouse_path: str | Path, rec_id: str, catalog: Catalog, guardrails: Guardrails) -> ReplayResult:
    """Recompute a recommendation from its stored trace and confirm item, rank and rationale match."""
    with _open(warehouse_path) as con:
        rec = recommendation_row(con, rec_id)
        trace = full_trace(con, rec_id, rec["user_id"])
    return replay_trace(rec, trace, catalog, guardrails)


def replay_sample(warehouse_path: str | Path, catalog: Catalog, guardrails: Guardrails, n: int = 50,
                  seed: int = 0) -> pd.DataFrame:
    """Replay a deterministic sample of a warehouse's recommendations: recommendation_id, ok, differences."""
    with _open(warehouse_path) as con:
        ids = [r[0] for r in con.execute("select recommendation_id from recommendations order by recommendation_id")
               .fetchall()]
        rng = np.random.default_rng(seed)
        pick = sorted(rng.choice(len(ids), size=min(n, len(ids)), replace=False).tolist()) if ids else []
        out = []
        for i in pick:
            rid = ids[i]
            rec = recommendation_row(con, rid)
            res = replay_trace(rec, full_trace(con, rid, rec["user_id"]), catalog, guardrails)
            out.append({"recommendation_id": rid, "ok": res.ok, "differences": list(res.differences),
                        "notes": list(res.notes)})
    return pd.DataFrame(out, columns=["recommendation_id", "ok", "differences", "notes"])
