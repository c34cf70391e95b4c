"""Evaluation of a run: coverage, explainability, relevance, persona agreement, latency, auditability,
fairness and guardrail statistics (definitions: docs/evaluation.md)."""

from __future__ import annotations

import math
from dataclasses import dataclass, field
from pathlib import Path
from statistics import NormalDist

import numpy as np
import pandas as pd

from spendsense import paths
from spendsense.config import StrictModel, load_config
from spendsense.content.models import Trigger
from spendsense.evaluate.agreement import persona_agreement
from spendsense.evaluate.coverage import coverage
from spendsense.evaluate.fairness import group_rates, parity_ratios
from spendsense.evaluate.truth import truth_metrics


class FairnessConfig(StrictModel):
    """Groups compared and the thresholds of the four-fifths rule."""

    groups: tuple[str, ...] = ("age_band", "gender", "region", "income_tier")
    min_group_size: int = 20
    parity_threshold: float = 0.8
    confidence: float = 0.95


class EvaluationConfig(StrictModel):
    """config/evaluation.yaml."""

    behaviors: dict[str, Trigger]  # a family counts as a detected behavior when its comparison holds
    min_behaviors: int = 3
    fairness: FairnessConfig = FairnessConfig()
    replay_sample: int = 10
    latency_sample: int = 0


def load_evaluation_config(path: Path | str | None = None) -> EvaluationConfig:
    """Read and validate config/evaluation.yaml."""
    return load_config(path or paths.CONFIG_DIR / "evaluation.yaml", EvaluationConfig)


@dataclass
class EvaluationInputs:
    """Everything the metrics are computed from (read by pipeline.evaluate_step)."""

    users: pd.DataFrame                 # user_id + demographic group columns
    signals_wide: pd.DataFrame
    persona_assignments: pd.DataFrame
    recommendation_counts: pd.DataFrame  # recommendation_counts.sql: per user, window and kind
    explainability: pd.DataFrame        # explainability.sql: one row of counts
    audit: pd.DataFrame                 # recommendations, with_trace, complete (one row; store.export_traces)
    guardrail_counts: pd.DataFrame      # guardrail_counts.sql: events per guardrail, outcome and rule
    eligibility_blocks: pd.DataFrame    # eligibility_blocks.sql: offers blocked per user and window
    funnel: pd.DataFrame
    shortfalls: pd.DataFrame
    skipped_users: pd.DataFrame
    stage_timings: pd.DataFrame         # stage, seconds
    single_user_ms: list[float]
    replays: pd.DataFrame               # recommendation_id, ok
    n_offers: int
    truth: pd.DataFrame | None = None   # truth.recommendation_truth: admitted, premises_hold, repeated
    ground_truth: pd.DataFrame | None = None


@dataclass
class Evaluation:
    """The metrics (JSON-ready) and the tables behind them (for plots and the report)."""

    metrics: dict
    tables: dict[str, pd.DataFrame] = field(default_factory=dict)


TRUTH_KEYS = ("rationale_truth", "false_premises", "repeated_rationales", "user_windows_with_repeats")


def _share(mask: pd.Series) -> float | None:
    """Mean of a boolean series, None when empty."""
    return float(mask.mean()) if len(mask) else None


def _ratio(part, whole) -> float | None:
    """part / whole of two counts, None when whole is 0 (the share of a boolean column, from its counts)."""
    return float(int(part) / int(whole)) if int(whole) else None


def fairness_table(inputs: EvaluationInputs) -> pd.DataFrame:
    """One row per consenting user: groups and 0/1 outcomes over both windows (plus offer eligibility)."""
    pa = inputs.persona_assignments
    users = pa["persona_id"].ne("none").groupby(pa["user_id"]).any().astype(int)
    table = inputs.users.set_index("user_id").loc[users.index].copy()
    table["persona_assigned"] = users
    recs = inputs.recommendation_counts
    delivered = lambda kind: table.index.isin(recs.loc[recs["kind"] == kind, "user_id"].unique()).astype(int)
    table["education_delivered"] = delivered("education")
    table["offer_delivered"] = delivered("offer")
    blocks = inputs.eligibility_blocks
    fully_blocked = blocks.loc[blocks["user_id"].notna() & blocks["window_days"].notna()
                               & (blocks["blocked"] >= inputs.n_offers), "user_id"]
    windows = inputs.persona_assignments.groupby("user_id")["window_days"].nunique()
    blocked_windows = fully_blocked.value_counts().reindex(table.index, fill_value=0)
    table["offer_eligible"] = (blocked_windows < windows.reindex(table.index)).astype(int)
    return table.reset_index()


def latency_metrics(inputs: EvaluationInputs, n_users: int) -> dict:
    """Batch time per stage, amortized per user, and single-user p50/p95."""
    stages = inputs.stage_timings.groupby("stage", sort=False)["seconds"].sum()
    total = float(stages.sum())
    ms = np.asarray(inputs.single_user_ms, dtype=float)
    return {
        "stage_seconds": {k: round(float(v), 3) for k, v in stages.items()},
        "total_seconds": round(total, 3),
        "per_user_ms": round(1000 * total / n_users, 3) if n_users else None,
        "single_user_p50_ms": round(float(np.percentile(ms, 50)), 2) if len(ms) else None,
        "single_user_p95_ms": round(float(np.percentile(ms, 95)), 2) if len(ms) else None,
        "single_user_sample": len(ms),
    }


def guardrail_metrics(inputs: EvaluationInputs) -> dict:
    """Consent skips, eligibility removals by rule, recency removals, tone rewrites and rejections."""
    ev = inputs.guardrail_counts
    elig = ev[ev["guardrail"] == "eligibility"]
    rules = elig.assign(rule=elig["rule"].astype(str).str.split(",")).explode("rule")
    by_rule = rules.groupby("rule")["events"].sum().sort_index()
    tone = ev[ev["guardrail"] == "tone"]
    count = lambda frame: int(frame["events"].sum())
    return {
        "consent_skips": int(inputs.skipped_users["user_id"].nunique()),
        "consent_skips_by_reason": {str(k): int(v) for k, v in
                                    inputs.skipped_users["reason"].value_counts().sort_index().items()},
        "eligibility_removals": count(elig),
        "eligibility_removals_by_rule": {str(k): int(v) for k, v in by_rule.items()},
        "recency_removals": count(ev[ev["guardrail"] == "recency"]),
        "tone_rewrites": count(tone[tone["outcome"] == "rewritten"]),
        "tone_rejections": count(tone[tone["outcome"] == "rejected"]),
    }


def evaluate(inputs: EvaluationInputs, cfg: EvaluationConfig) -> Evaluation:
    """Every metric of a run from its tables."""
    tables: dict[str, pd.DataFrame] = {}
    n_users = int(inputs.users["user_id"].nunique())
    consenting = int(inputs.persona_assignments["user_id"].nunique())
    behaviors = {k: v.model_dump() for k, v in cfg.behaviors.items()}
    per_user, cov = coverage(inputs.signals_wide, inputs.persona_assignments, behaviors, cfg.min_behaviors)
    tables["coverage"] = cov
    tables["coverage_per_user"] = per_user

    recs = inputs.recommendation_counts
    n_recs = int(recs["recommendations"].sum())
    expl = inputs.explainability.iloc[0]
    audit = inputs.audit.iloc[0]

    fair = fairness_table(inputs)
    fc = cfg.fairness
    z = NormalDist().inv_cdf((1 + fc.confidence) / 2)
    rates = pd.concat([
        group_rates(fair, "persona_assigned", fc.groups, z=z),
        group_rates(fair, "education_delivered", fc.groups, z=z),
        group_rates(fair, "offer_delivered", fc.groups, eligible="offer_eligible", z=z),
    ], ignore_index=True)
    parity = parity_ratios(rates, fc.min_group_size, fc.parity_threshold)
    tables["fairness_rates"] = rates
    tables["fairness_parity"] = parity

    agreement = None
    if inputs.ground_truth is not None:
        agreement = persona_agreement(inputs.persona_assignments, inputs.ground_truth)
        tables["persona_agreement"] = agreement

    tables["funnel"] = inputs.funnel
    tables["latency"] = inputs.stage_timings
    if inputs.truth is not None:
        tables["recommendation_truth"] = inputs.truth
    strict = truth_metrics(inputs.truth if inputs.truth is not None else pd.DataFrame(
        columns=["user_id", "window_days", "general", "admitted", "premises_hold", "repeated"]))
    per_kind = recs.groupby(["user_id", "window_days", "kind"])["recommendations"].sum().unstack("kind", fill_value=0)
    metrics = {
        "users": n_users,
        "consenting_users": consenting,
        "coverage": {
            "overall": float(cov.loc[cov["window_days"] == "all", "coverage"].iloc[0]) if len(per_user) else None,
            "by_window": {str(r.window_days): float(r.coverage) for r in cov.itertuples() if r.window_days != "all"},
            "with_persona": float(per_user["has_persona"].mean()) if len(per_user) else None,
            "min_behaviors": cfg.min_behaviors,
        },
        "explainability": {
            "share_with_matching_fact": _ratio(expl["with_matching_fact"], expl["recommendations"]),
            "share_all_facts_match": _ratio(expl["all_facts_match"], expl["recommendations"]),
            "recommendations": int(expl["recommendations"]),
        },
        "relevance": {
            **{k: v for k, v in strict.items() if k not in TRUTH_KEYS},
            # the old, looser figure, named as what it is: the item is tagged for a persona the user matched
            "share_persona_tagged": _ratio(recs["persona_match"].sum(), n_recs),
        },
        "rationale_truth": {
            "share": strict["rationale_truth"],
            "false_premises": strict["false_premises"],
            "repeated_rationales": strict["repeated_rationales"],
            "user_windows_with_repeats": strict["user_windows_with_repeats"],
        },
        "persona_agreement": None if agreement is None else [
            {k: (None if isinstance(v, float) and math.isnan(v) else v) for k, v in row.items()}
            for row in agreement[["window_days", "persona_id", "planted", "detected", "precision", "recall"]]
            .to_dict("records")],
        "latency": latency_metrics(inputs, n_users),
        "auditability": {
            "share_with_complete_trace": _ratio(audit["complete"], audit["recommendations"]),
            "replayed": len(inputs.replays),
            "share_replay_match": _share(inputs.replays["ok"]) if len(inputs.replays) else None,
        },
        "fairness": {
            "min_group_size": fc.min_group_size,
            "parity_threshold": fc.parity_threshold,
            "flags": int((parity["verdict"] == "flag").sum()),
            "ratios": [{k: (None if isinstance(v, float) and math.isnan(v) else v) for k, v in row.items()}
                       for row in parity.to_dict("records")],
        },
        "guardrails": guardrail_metrics(inputs),
        "recommendations": {
            "total": n_recs,
            "education": int(recs.loc[recs["kind"] == "education", "recommendations"].sum()),
            "offers": int(recs.loc[recs["kind"] == "offer", "recommendations"].sum()),
            "users_with_recommendations": int(recs["user_id"].nunique()),
            "education_per_user_window": {"min": int(per_kind.get("education", pd.Series([0])).min()),
                                          "max": int(per_kind.get("education", pd.Series([0])).max())},
            "offers_per_user_window": {"min": int(per_kind.get("offer", pd.Series([0])).min()),
                                       "max": int(per_kind.get("offer", pd.Series([0])).max())},
            "shortfalls": len(inputs.shortfalls),
        },
    }
    if not consenting:
        metrics["note"] = empty_run_note(n_users, inputs.skipped_users)
    return Evaluation(metrics, tables)


def empty_run_note(n_users: int, skipped: pd.DataFrame) -> str:
    """What a run that processed nobody did (and why), for metrics.json and the report's headline."""
    if not n_users:
        return "No users processed: the input has no users (no users rows and no personal accounts)."
    reasons = ", ".join(f"{n} {reason}" for reason, n in skipped.drop_duplicates("user_id")["reason"]
                        .value_counts().sort_index().items())
    return (f"No users processed: none of the {n_users:,} users has consent granted"
            + (f" ({reasons})" if reasons else "") + "; every share below is n/a, not 0% or 100%.")


def flat_metrics(metrics: dict, prefix: str = "") -> pd.DataFrame:
    """The nested metrics flattened to (metric, value) rows for metrics.csv."""
    rows = []
    for key, value in metrics.items():
        name = f"{prefix}{key}"
        if isinstance(value, dict):
            rows.extend(flat_metrics(value, f"{name}.").itertuples(index=False))
        elif isinstance(value, list):
            for i, item in enumerate(value):
                if isinstance(item, dict):
                    label = ".".join(str(item[k]) for k in ("window_days", "persona_id", "outcome", "attribute")
                                     if k in item)
                    rows.extend(flat_metrics({k: v for k, v in item.items()}, f"{name}.{label or i}.")
                                .itertuples(index=False))
        else:
            rows.append((name, value))
    return pd.DataFrame(rows, columns=["metric", "value"])


def _pct(value) -> str:
    return "n/a" if value is None else f"{value:.1%}"


def headline(metrics: dict, section: str = "summary") -> str:
    """A Markdown table of the key figures (section "summary"), the relevance and truth figures ("truth") or the
    guardrail statistics ("guardrails")."""
    if section == "guardrails":
        g = metrics["guardrails"]
        rows = [("consent skips (users)", g["consent_skips"]),
                ("eligibility removals (candidates)", g["eligibility_removals"]),
                *[(f"  by rule: {k}", v) for k, v in g["eligibility_removals_by_rule"].items()],
                ("recency removals", g["recency_removals"]), ("tone rewrites", g["tone_rewrites"]),
                ("tone rejections", g["tone_rejections"])]
        return "| guardrail | count |\n|---|---:|\n" + "\n".join(f"| {k} | {v:,} |" for k, v in rows)
    if section == "truth":
        rel, truth = metrics["relevance"], metrics["rationale_truth"]
        rows = [("targeted recommendations", f"{rel['targeted']:,}"),
                ("  admitted by a trigger that holds", _pct(rel["share"])),
                ("  not admitted by any trigger", rel["not_admitted"]),
                ("general-audience recommendations", f"{rel['general']:,}"),
                ("  most in one user-window", rel["general_max_per_user_window"]),
                ("rationales whose every premise holds", _pct(truth["share"])),
                ("  with a false premise", truth["false_premises"]),
                ("repeated rationale texts within a user-window", truth["repeated_rationales"]),
                ("tagged for a persona the user matched (the older, looser figure)",
                 _pct(rel["share_persona_tagged"]))]
        return "| measure | value |\n|---|---:|\n" + "\n".join(f"| {k} | {v} |" for k, v in rows)
    lat, aud, rec = metrics["latency"], metrics["auditability"], metrics["recommendations"]
    agreement = metrics.get("persona_agreement") or []
    worst = lambda key: min((r[key] for r in agreement if r[key] is not None), default=None)
    rows = [
        ("users / consenting", f"{metrics['users']:,} / {metrics['consenting_users']:,}"),
        ("coverage (persona and ≥ 3 behaviors)", _pct(metrics["coverage"]["overall"])),
        ("explainability (rationale quotes matching facts)", _pct(metrics["explainability"]["share_with_matching_fact"])),
        ("relevance: admitted by a holding trigger (general items aside)", _pct(metrics["relevance"]["share"])),
        ("general items (most per user-window)",
         f"{metrics['relevance']['general']:,} ({metrics['relevance']['general_max_per_user_window']})"),
        ("rationale truth: every premise holds", _pct(metrics["rationale_truth"]["share"])),
        ("repeated rationale texts within a user-window", metrics["rationale_truth"]["repeated_rationales"]),
        ("auditability: complete traces", _pct(aud["share_with_complete_trace"])),
        ("auditability: replays matching", f"{_pct(aud['share_replay_match'])} of {aud['replayed']}"),
        ("persona precision / recall (worst persona)", f"{_pct(worst('precision'))} / {_pct(worst('recall'))}"),
        ("recommendations (education / offers)", f"{rec['total']:,} ({rec['education']:,} / {rec['offers']:,})"),
        ("pipeline time, amortized per user", f"{lat['total_seconds']:.1f} s, "
         + ("n/a (no users)" if lat["per_user_ms"] is None else f"{lat['per_user_ms']:.1f} ms")),
        ("single-user recompute p50 / p95",
         f"{lat['single_user_p50_ms']} ms / {lat['single_user_p95_ms']} ms" if lat.get("single_user_sample")
         else "not timed in this run (latency_sample 0; `spendsense bench` times it)"),
        ("fairness flags (unexplained ratio < 0.8)", metrics["fairness"]["flags"]),
    ]
    note = f"**{metrics['note']}**\n\n" if metrics.get("note") else ""
    return note + "| measure | value |\n|---|---:|\n" + "\n".join(f"| {k} | {v} |" for k, v in rows)
