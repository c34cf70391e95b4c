"""Guardrails applied before anything reaches a user: tone of every text, and offer eligibility.

Public API:
    check_tone(text, rules) -> ToneResult
    check_tone_batch(texts, rules) -> DataFrame
    offer_eligibility(offers, users_features, guardrails) -> DataFrame
    eligibility_features(signals_wide, users, accounts) -> DataFrame
"""

from spendsense.guardrails.eligibility import eligibility_features, offer_eligibility, subtype_column
from spendsense.guardrails.tone import (
    ToneMatch,
    ToneResult,
    check_tone,
    check_tone_batch,
    find_tone_matches,
    normalize_text,
)

__all__ = [
    "ToneMatch", "ToneResult", "check_tone", "check_tone_batch", "eligibility_features", "find_tone_matches",
    "normalize_text", "offer_eligibility", "subtype_column",
]
