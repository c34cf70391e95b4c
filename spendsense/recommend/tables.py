"""Columns and DuckDB types of the tables the recommend step writes (docs/schema.md)."""

from __future__ import annotations

from spendsense.signals.catalog import TABLE_COLUMNS as SIGNAL_COLUMNS

# JSON documents inside the decision tables are stored as VARCHAR holding JSON text (written by our own code,
# so not re-validated on insert); the decision_traces view casts them to JSON.

Columns = tuple[tuple[str, str], ...]

SIGNALS_STRUCT = "STRUCT(" + ", ".join(f'"{c}" {t}' for c, t in SIGNAL_COLUMNS["signals_wide"]
                                       if c not in ("user_id", "window_days")) + ")"
HISTORY_TYPE = "STRUCT(item_id VARCHAR, delivered_at TIMESTAMP, days_ago DOUBLE)[]"
FILTERED_TYPE = "STRUCT(stage VARCHAR, item_id VARCHAR, reason VARCHAR)[]"
WEIGHTS_TYPE = "STRUCT(persona DOUBLE, signal DOUBLE, priority DOUBLE, freshness DOUBLE)"

TABLE_COLUMNS: dict[str, Columns] = {
    "recommendations": (
        ("recommendation_id", "VARCHAR"), ("run_id", "VARCHAR"), ("user_id", "VARCHAR"), ("window_days", "INTEGER"),
        ("kind", "VARCHAR"), ("item_id", "VARCHAR"), ("item_version", "INTEGER"), ("title", "VARCHAR"),
        ("rank", "INTEGER"), ("score", "DOUBLE"), ("score_persona", "DOUBLE"), ("score_signal", "DOUBLE"),
        ("score_priority", "DOUBLE"), ("score_freshness", "DOUBLE"), ("persona_id", "VARCHAR"),
        ("rationale", "VARCHAR"), ("facts", "JSON"), ("disclosure", "VARCHAR"), ("template_id", "VARCHAR"),
        ("created_at", "TIMESTAMP"),
    ),
    "recommendation_traces": (
        ("recommendation_id", "VARCHAR"), ("run_id", "VARCHAR"), ("user_id", "VARCHAR"), ("window_days", "INTEGER"),
        ("context_id", "VARCHAR"), ("kind_count", "INTEGER"), ("persona_tags", "VARCHAR[]"),
        ("triggers_total", "INTEGER"), ("matched_triggers", "VARCHAR[]"), ("admitted_by", "VARCHAR[]"),
        ("days_since_shown", "DOUBLE"),
        ("requested_template_id", "VARCHAR"), ("template_version", "INTEGER"), ("template_values", "VARCHAR"), ("tone_action", "VARCHAR"),
        ("tone_rules", "VARCHAR"), ("tone_matches", "VARCHAR"), ("text_before_rewrite", "VARCHAR"),
    ),
    "decision_contexts": (
        ("context_id", "VARCHAR"), ("run_id", "VARCHAR"), ("user_id", "VARCHAR"), ("window_days", "INTEGER"),
        ("as_of", "DATE"), ("created_at", "TIMESTAMP"), ("persona_id", "VARCHAR"), ("persona_name", "VARCHAR"),
        ("matched_personas", "VARCHAR[]"), ("criteria_matched", "VARCHAR"), ("signals", SIGNALS_STRUCT),
        ("credit_score", "DOUBLE"), ("annual_income", "DOUBLE"), ("max_utilization", "DOUBLE"),
        ("account_subtypes", "VARCHAR[]"), ("consent_status", "VARCHAR"), ("consent_at", "TIMESTAMP"),
        ("history", HISTORY_TYPE), ("what_would_change_target", "VARCHAR"), ("what_would_change_text", "VARCHAR"),
        ("what_would_change_customer_text", "VARCHAR"), ("what_would_change_changes", "VARCHAR"),
        ("not_relevant", "VARCHAR[]"), ("filtered_out", FILTERED_TYPE),
        ("selected_education", "VARCHAR[]"), ("selected_offers", "VARCHAR[]"), ("weights", WEIGHTS_TYPE),
        ("rules", "VARCHAR"), ("versions", "VARCHAR"),
    ),
    "recommendation_shortfalls": (
        ("run_id", "VARCHAR"), ("user_id", "VARCHAR"), ("window_days", "INTEGER"), ("kind", "VARCHAR"),
        ("required", "INTEGER"), ("delivered", "INTEGER"), ("reason", "VARCHAR"),
    ),
    "recommendation_funnel": (
        ("run_id", "VARCHAR"), ("stage_order", "INTEGER"), ("stage", "VARCHAR"), ("kind", "VARCHAR"),
        ("candidates_in", "BIGINT"), ("removed", "BIGINT"), ("remaining", "BIGINT"),
    ),
    "guardrail_events": (
        ("run_id", "VARCHAR"), ("user_id", "VARCHAR"), ("window_days", "INTEGER"), ("item_id", "VARCHAR"),
        ("guardrail", "VARCHAR"), ("outcome", "VARCHAR"), ("rule", "VARCHAR"), ("detail", "VARCHAR"),
    ),
}

GUARDRAILS = ("consent", "eligibility", "recency", "rationale", "tone")
