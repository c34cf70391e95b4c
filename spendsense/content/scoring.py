"""Validated shape of config/scoring.yaml: score weights, counts per kind, caps, recency and freshness."""

from __future__ import annotations

import math

import pandas as pd
from pydantic import Field, model_validator

from spendsense.config import StrictModel


class Weights(StrictModel):
    """Score = persona*w1 + signal*w2 + priority*w3 + freshness*w4; each in [0, 1], summing to 1."""

    persona: float = Field(ge=0.0, le=1.0)
    signal: float = Field(ge=0.0, le=1.0)
    priority: float = Field(ge=0.0, le=1.0)
    freshness: float = Field(ge=0.0, le=1.0)

    @model_validator(mode="after")
    def _sum_to_one(self) -> Weights:
        total = self.persona + self.signal + self.priority + self.freshness
        if not math.isclose(total, 1.0, abs_tol=1e-9):
            raise ValueError(f"weights must sum to 1, got {total:g}")
        return self


class CountRange(StrictModel):
    """How many items of one kind a user gets per window."""

    min: int = Field(ge=0)
    max: int = Field(ge=1)

    @model_validator(mode="after")
    def _ordered(self) -> CountRange:
        if self.min > self.max:
            raise ValueError(f"min ({self.min}) is greater than max ({self.max})")
        return self


class Freshness(StrictModel):
    """Novelty of an item for one user: 1 if never shown, else ramps linearly to 1 at `full_after_days`."""

    never_shown: float = Field(default=1.0, ge=0.0, le=1.0)
    full_after_days: int = Field(default=90, ge=1)


class ScoringConfig(StrictModel):
    """config/scoring.yaml."""

    weights: Weights
    education: CountRange
    offers: CountRange
    per_partner_cap: int = Field(ge=1)
    recency_days: int = Field(ge=0)
    freshness: Freshness = Field(default_factory=Freshness)

    @model_validator(mode="after")
    def _freshness_after_recency(self) -> ScoringConfig:
        if self.freshness.full_after_days < self.recency_days:
            raise ValueError("freshness.full_after_days must be >= recency_days")
        return self

    def freshness_score(self, days_since_last_shown: pd.Series) -> pd.Series:
        """Vectorized freshness in [0, 1]: never shown (NaN) -> never_shown; else days / full_after_days, capped."""
        days = pd.to_numeric(days_since_last_shown, errors="coerce").astype(float)
        ramp = (days / self.freshness.full_after_days).clip(lower=0.0, upper=1.0)
        return ramp.where(days.notna(), self.freshness.never_shown)
