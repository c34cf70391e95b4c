"""Validated shapes of the content catalog, the rationale templates, the guardrails and the scoring config.

Every model subclasses `spendsense.config.StrictModel` (unknown keys rejected, values frozen). Cross-file
rules (template ids exist, product types allowed, text passes the tone check) live in `loader.py`.
"""

from __future__ import annotations

import math
import operator
import re
import string
from typing import Literal

import pandas as pd
from pydantic import Field, PrivateAttr, field_validator, model_validator

from spendsense.config import StrictModel
from spendsense.content.tone_models import SLUG, ToneRule, ToneShapes
from spendsense.schema import ENUMS

# --- shared vocabularies (contracts from issue 3 and docs/schema.md) -----------------------------------------

PERSONA_IDS: tuple[str, ...] = (
    "high_utilization",
    "variable_income_budgeter",
    "subscription_heavy",
    "savings_builder",
    "cash_flow_stressed",
)
PERSONA_TAGS: tuple[str, ...] = PERSONA_IDS + ("none",)  # `none`: content that suits users with no persona

SIGNAL_NAMES: tuple[str, ...] = (
    "spending_total", "avg_monthly_spending",
    "recurring_merchant_count", "recurring_spend", "recurring_spend_monthly", "subscription_share",
    "savings_balance", "net_savings_inflow", "net_savings_inflow_monthly", "savings_growth_rate", "emergency_fund_months",
    "has_savings_account",
    "card_count", "max_utilization", "cards_util_ge_30", "cards_util_ge_50", "cards_util_ge_80",
    "minimum_payment_only", "interest_charges", "interest_charges_monthly", "is_overdue",
    "total_card_balance", "total_credit_limit",
    "payroll_count", "median_pay_gap_days", "pay_frequency", "pay_gap_cv", "income_cv", "avg_monthly_income",
    "checking_balance", "cash_flow_buffer_months",
    "fee_count", "fee_amount",
)
TEXT_SIGNALS: frozenset[str] = frozenset({"pay_frequency"})

CREDIT_CARD_COLUMNS: tuple[str, ...] = (
    "account_id", "mask", "card_name", "balance", "credit_limit", "utilization", "flag_30", "flag_50",
    "flag_80", "minimum_payment_amount", "payments_in_window", "largest_payment_in_window", "last_payment_amount",
    "minimum_payment_only", "interest_charges",
    "interest_charges_monthly", "is_overdue", "apr_percentage",
)
RECURRING_STREAM_COLUMNS: tuple[str, ...] = (
    "merchant_key", "merchant", "frequency", "occurrences", "occurrences_in_window", "median_gap_days",
    "mean_amount", "median_amount", "amount_stable", "first_date", "last_date", "is_subscription",
    "amount_in_window",
)
ACCOUNT_SUBTYPES: frozenset[str] = frozenset(ENUMS["account_subtype"])

# Where a template's row of per-card / per-stream values comes from (see rationale.py for the exact ordering).
TEMPLATE_SOURCES: tuple[str, ...] = (
    "signals_wide",               # only signals_wide columns
    "top_card_by_utilization",    # the user's card with the highest utilization (+ signals_wide columns)
    "top_card_by_interest",       # the user's card with the most interest charged in the window
    "top_subscription_stream",    # the user's subscription stream with the most spend in the window
    "top_subscription_streams",   # the top `limit` subscription streams (list-valued text fields only)
)
SOURCE_TABLE: dict[str, str | None] = {
    "signals_wide": None,
    "top_card_by_utilization": "credit_cards",
    "top_card_by_interest": "credit_cards",
    "top_subscription_stream": "recurring_streams",
    "top_subscription_streams": "recurring_streams",
}
TABLE_COLUMNS: dict[str, tuple[str, ...]] = {
    "credit_cards": CREDIT_CARD_COLUMNS,
    "recurring_streams": RECURRING_STREAM_COLUMNS,
}
# Placeholder formats (`{name:format}` in template text); rules in rationale.py's format_value docstring.
FORMATS: tuple[str, ...] = ("usd", "pct", "rate", "months", "days", "count", "text", "list")

PRODUCT_TYPE = r"^[a-z][a-z0-9_]*$"
OPS = Literal[">", ">=", "<", "<=", "==", "!="]
_OPERATORS = {">": operator.gt, ">=": operator.ge, "<": operator.lt, "<=": operator.le, "==": operator.eq,
              "!=": operator.ne}


def normalize_product_type(value: str) -> str:
    """Canonical spelling of a product type: lower case, spaces and hyphens as underscores."""
    return re.sub(r"[\s\-]+", "_", value.strip().lower())


# --- catalog -------------------------------------------------------------------------------------------------

class Trigger(StrictModel):
    """One condition over a signals_wide column; an item's triggers are combined with OR (any-of)."""

    signal: str
    op: OPS
    value: float | str

    @field_validator("signal")
    @classmethod
    def _known_signal(cls, v: str) -> str:
        if v not in SIGNAL_NAMES:
            raise ValueError(f"unknown signal {v!r}; known signals: {', '.join(SIGNAL_NAMES)}")
        return v

    @model_validator(mode="after")
    def _value_matches_signal(self) -> Trigger:
        if self.signal in TEXT_SIGNALS:
            if not isinstance(self.value, str) or self.op not in ("==", "!="):
                raise ValueError(f"signal {self.signal!r} is text: use op '==' or '!=' with a text value")
        elif isinstance(self.value, str):
            raise ValueError(f"signal {self.signal!r} is numeric: value must be a number, got {self.value!r}")
        return self

    def mask(self, frame: pd.DataFrame) -> pd.Series:
        """Vectorized truth of this condition on every row of a signals_wide frame; null values are False."""
        col = frame[self.signal]
        if self.signal not in TEXT_SIGNALS:
            col = pd.to_numeric(col, errors="coerce")
        ops = {">": col.gt, ">=": col.ge, "<": col.lt, "<=": col.le, "==": col.eq, "!=": col.ne}
        return (ops[self.op](self.value) & col.notna()).astype(bool)

    def holds(self, value: object) -> bool:
        """Truth of this condition for one value (null is False)."""
        if value is None or (isinstance(value, float) and math.isnan(value)) or value is pd.NA:
            return False
        if self.signal not in TEXT_SIGNALS:
            try:
                value = float(value)  # type: ignore[arg-type]
            except (TypeError, ValueError):
                return False
            if math.isnan(value):
                return False
        return bool(_OPERATORS[self.op](value, self.value))

    def describe(self) -> str:
        """Readable form for traces, e.g. 'max_utilization >= 0.5'."""
        return f"{self.signal} {self.op} {self.value:g}" if isinstance(self.value, float) else \
            f"{self.signal} {self.op} {self.value!r}"


def _unique(values: list[str], what: str) -> list[str]:
    """Reject duplicates in a short list field."""
    if len(set(values)) != len(values):
        raise ValueError(f"duplicate {what}: {values}")
    return values


class _CatalogEntry(StrictModel):
    """Fields shared by education items and offers."""

    id: str = Field(pattern=SLUG, max_length=80)
    version: int = Field(ge=1)
    title: str = Field(min_length=3, max_length=160)
    summary: str = Field(min_length=10, max_length=600)
    persona_tags: list[Literal[PERSONA_TAGS]] = Field(min_length=1)  # type: ignore[valid-type]
    triggers: list[Trigger] = Field(default_factory=list)
    priority: float = Field(ge=0.0, le=1.0)
    rationale_template: str = Field(pattern=SLUG)
    # what this item does for the person: appended to the rationale sentence, unique in the catalog
    so_that: str = Field(min_length=20, max_length=300)
    # targeted: a candidate only where one of its triggers holds; general: for anyone (at most one per window)
    audience: Literal["targeted", "general"] = "targeted"

    @field_validator("persona_tags")
    @classmethod
    def _unique_tags(cls, v: list[str]) -> list[str]:
        return _unique(v, "persona tag")

    @model_validator(mode="after")
    def _relevance_rule(self) -> _CatalogEntry:
        if self.audience == "targeted" and not self.triggers:
            raise ValueError("a targeted item needs at least one trigger (persona tags only raise the score); "
                             "declare `audience: general` for content meant for everyone")
        if self.audience == "general" and self.triggers:
            raise ValueError("a general item is shown without triggers; remove them or make it targeted")
        return self

    def text_fields(self) -> dict[str, str]:
        """The user-facing text of the entry, by field name (checked by the tone guardrail at load)."""
        return {"title": self.title, "summary": self.summary, "so_that": self.so_that}


class EducationItem(_CatalogEntry):
    """A piece of financial-education content written by us."""

    format: Literal["article", "checklist", "template", "calculator", "explainer", "video"]
    body: str = Field(min_length=40)

    def text_fields(self) -> dict[str, str]:
        """Title, summary, so_that and body."""
        return {**super().text_fields(), "body": self.body}


class Eligibility(StrictModel):
    """Who may see an offer. Every rule must pass; absent rules always pass."""

    min_annual_income: float = Field(default=0.0, ge=0.0)  # compared with avg_monthly_income * 12
    min_credit_score: int | None = Field(default=None, ge=300, le=850)
    max_credit_score: int | None = Field(default=None, ge=300, le=850)  # products for people building credit
    max_utilization: float | None = Field(default=None, ge=0.0)  # compared with max_utilization (no cards: pass)
    excluded_if_has_subtypes: list[str] = Field(default_factory=list)  # holding any of these excludes
    requires_subtypes: list[str] = Field(default_factory=list)  # must hold at least one of these (if listed)
    situation: list[Trigger] = Field(default_factory=list)  # all must hold on the user's signals (null fails)

    @field_validator("excluded_if_has_subtypes", "requires_subtypes")
    @classmethod
    def _known_subtypes(cls, v: list[str]) -> list[str]:
        unknown = [s for s in v if s not in ACCOUNT_SUBTYPES]
        if unknown:
            raise ValueError(f"unknown account subtype(s) {unknown}; known: {sorted(ACCOUNT_SUBTYPES)}")
        return _unique(v, "subtype")

    @model_validator(mode="after")
    def _consistent(self) -> Eligibility:
        both = set(self.excluded_if_has_subtypes) & set(self.requires_subtypes)
        if both:
            raise ValueError(f"subtype(s) {sorted(both)} both required and excluded")
        if self.min_credit_score is not None and self.max_credit_score is not None \
                and self.min_credit_score > self.max_credit_score:
            raise ValueError("min_credit_score is greater than max_credit_score")
        return self


class Offer(_CatalogEntry):
    """A partner product, shown only to users who pass its eligibility rules."""

    partner: str = Field(min_length=2, max_length=80)
    product_type: str = Field(pattern=PRODUCT_TYPE)
    eligibility: Eligibility = Field(default_factory=Eligibility)

    @field_validator("product_type", mode="before")
    @classmethod
    def _canonical_type(cls, v: object) -> object:
        return normalize_product_type(v) if isinstance(v, str) else v

    @model_validator(mode="after")
    def _offers_are_targeted(self) -> Offer:
        if self.audience != "targeted":
            raise ValueError("offers are always targeted: a partner product is never shown to everyone")
        return self

    def text_fields(self) -> dict[str, str]:
        """Partner, title, summary and so_that."""
        return {"partner": self.partner, **super().text_fields()}


class RationaleTemplate(StrictModel):
    """A "because" sentence with named placeholders `{name:format}` filled from the user's own data.

    `fields` maps every placeholder name to the column it quotes: a bare signals_wide column
    (`max_utilization`), or `credit_cards.<column>` / `recurring_streams.<column>` read from the row chosen by
    `source`. That column name is the `signal` of the fact recorded beside the rendered text.
    """

    id: str = Field(pattern=SLUG)
    version: int = Field(ge=1)
    source: Literal[TEMPLATE_SOURCES]  # type: ignore[valid-type]
    limit: int = Field(default=3, ge=1, le=5)  # streams listed by `top_subscription_streams`
    text: str = Field(min_length=20)
    fields: dict[str, str] = Field(min_length=1)
    requires: list[Trigger] = Field(default_factory=list)  # all must hold on the user's signals, else fallback
    fallback: str | None = Field(default=None, pattern=SLUG)

    def placeholders(self) -> list[tuple[str, str]]:
        """(name, format) of each distinct placeholder, in order of first appearance."""
        seen: dict[str, str] = {}
        for _, name, spec, conv in string.Formatter().parse(self.text):
            if name is None:
                continue
            if conv or not name.isidentifier():
                raise ValueError(f"placeholder {{{name}}} must be a plain name with an optional ':format'")
            fmt = spec or "text"
            if name in seen and seen[name] != fmt:
                raise ValueError(f"placeholder {name!r} used with two formats: {seen[name]!r}, {fmt!r}")
            seen[name] = fmt
        return list(seen.items())

    @model_validator(mode="after")
    def _fields_match_text(self) -> RationaleTemplate:
        try:
            holders = self.placeholders()
        except ValueError as exc:  # string.Formatter raises ValueError on unbalanced braces too
            raise ValueError(f"text: {exc}") from None
        names = [n for n, _ in holders]
        missing = [n for n in names if n not in self.fields]
        unused = [n for n in self.fields if n not in names]
        if missing:
            raise ValueError(f"placeholder(s) {missing} not declared in fields")
        if unused:
            raise ValueError(f"field(s) {unused} declared but not used in text")
        table = SOURCE_TABLE[self.source]
        for name, fmt in holders:
            base = fmt.split(":", 1)[0]
            if base not in FORMATS:
                raise ValueError(f"placeholder {name!r}: unknown format {fmt!r}; known: {', '.join(FORMATS)}")
            column = self.fields[name]
            if "." in column:
                tbl, col = column.split(".", 1)
                if tbl not in TABLE_COLUMNS or col not in TABLE_COLUMNS[tbl]:
                    raise ValueError(f"field {name!r}: unknown column {column!r}")
                if tbl != table:
                    raise ValueError(f"field {name!r}: {column!r} cannot be read with source {self.source!r}")
                if self.source == "top_subscription_streams" and (base != "list" or col != "merchant"):
                    raise ValueError(f"field {name!r}: {self.source!r} lists only recurring_streams.merchant, "
                                     "with the 'list' format")
            else:
                if column not in SIGNAL_NAMES:
                    raise ValueError(f"field {name!r}: unknown signal {column!r}")
                if base == "list":
                    raise ValueError(f"field {name!r}: 'list' format only applies to stream columns")
        return self


# --- guardrails ----------------------------------------------------------------------------------------------

class RefusedProductType(StrictModel):
    """A product type SpendSense never offers, with the reason."""

    id: str = Field(pattern=PRODUCT_TYPE)
    reason: str = Field(min_length=5)


class Guardrails(StrictModel):
    """config/guardrails.yaml: the disclosure, product-type lists and tone rules."""

    disclosure: str = Field(min_length=20)
    allowed_product_types: list[str] = Field(min_length=1)
    refused_product_types: list[RefusedProductType] = Field(min_length=1)
    tone_rules: list[ToneRule] = Field(min_length=1)  # after load: the listed rules, then the expanded shapes
    tone_shapes: ToneShapes | None = None
    _source: str = PrivateAttr(default="config/guardrails.yaml")  # file it was loaded from, for messages

    @property
    def source(self) -> str:
        """The file these guardrails were loaded from (for error messages)."""
        return self._source

    @field_validator("allowed_product_types")
    @classmethod
    def _slugs(cls, v: list[str]) -> list[str]:
        bad = [p for p in v if not re.match(PRODUCT_TYPE, p)]
        if bad:
            raise ValueError(f"product types must be snake_case: {bad}")
        return _unique(v, "product type")

    @model_validator(mode="after")
    def _disjoint(self) -> Guardrails:
        if self.tone_shapes is not None:  # frozen model: the shapes are appended once, here, before any read
            object.__setattr__(self, "tone_rules", [*self.tone_rules, *self.tone_shapes.as_tone_rules()])
        refused = [r.id for r in self.refused_product_types]
        _unique(refused, "refused product type")
        _unique([r.id for r in self.tone_rules], "tone rule id")
        both = set(refused) & set(self.allowed_product_types)
        if both:
            raise ValueError(f"product type(s) {sorted(both)} are both allowed and refused")
        return self

    def refused_reason(self, product_type: str) -> str | None:
        """The refusal reason for a product type (any spelling), or None when it is not refused."""
        key = normalize_product_type(product_type)
        return next((r.reason for r in self.refused_product_types if r.id == key), None)
