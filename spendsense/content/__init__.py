"""Content catalog: education items, partner offers, rationale templates, and the config that governs them.

Public API:
    load_catalog(content_dir=None, guardrails=None) -> Catalog
    load_guardrails(path=None) -> Guardrails
    load_scoring(path=None) -> ScoringConfig
    rationale_inputs(signals_wide, credit_cards, recurring_streams) -> DataFrame
    render_rationale(template, values) -> (text, facts)
    render_with_fallback(templates, template_id, row) -> RenderedRationale
    verify_rationale(template, text, facts) -> list[str]
    trigger_matches(entries, signals_wide) -> DataFrame
"""

from spendsense.content.formats import format_value
from spendsense.content.loader import Catalog, load_catalog, load_guardrails, load_scoring
from spendsense.content.models import (
    PERSONA_IDS,
    PERSONA_TAGS,
    SIGNAL_NAMES,
    EducationItem,
    Eligibility,
    Guardrails,
    Offer,
    RationaleTemplate,
    ToneRule,
    Trigger,
)
from spendsense.content.rationale import (
    RationaleError,
    RenderedRationale,
    render_rationale,
    render_with_fallback,
    template_values,
    verify_rationale,
)
from spendsense.content.rationale_inputs import rationale_inputs
from spendsense.content.scoring import ScoringConfig
from spendsense.content.triggers import trigger_matches

__all__ = [
    "PERSONA_IDS", "PERSONA_TAGS", "SIGNAL_NAMES", "Catalog", "EducationItem", "Eligibility", "Guardrails",
    "Offer", "RationaleError", "RationaleTemplate", "RenderedRationale", "ScoringConfig", "ToneRule", "Trigger",
    "format_value", "load_catalog", "load_guardrails", "load_scoring", "rationale_inputs", "render_rationale",
    "render_with_fallback", "template_values", "trigger_matches", "verify_rationale",
]
