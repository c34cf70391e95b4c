"""The decision-trace contract: the JSON document `recommend` writes per recommendation and its readers rely on.

`recommend/decision_traces.sql` renders one trace per recommendation (the warehouse's decision_traces view); the
operator dashboard, `spendsense explain` and replay read it. This module is the one definition of its shape: every
key below is always present (a value may be null where the type says so), and no other key is written. A reader
indexes the keys it needs (`trace["stages"]["business_rules"]["filtered_out"]`) instead of guessing among
alternatives; tests render real traces and validate each with `validate_trace`, so a key renamed or dropped on
either side fails there.
"""

from __future__ import annotations

from functools import cache
from typing import Any, NotRequired

from pydantic import ConfigDict, TypeAdapter, ValidationError, with_config
from typing_extensions import TypedDict  # pydantic validates typing_extensions TypedDicts on Python < 3.12

_STRICT = ConfigDict(extra="forbid")


class TraceContractError(ValueError):
    """A trace that does not match the contract (a key missing, unknown or of the wrong type)."""


# ------------------------------------------------------------------------------------------------ item, inputs

@with_config(_STRICT)
class TraceItem(TypedDict):
    item_id: str
    kind: str  # education | offer
    version: int | str | None
    persona_tags: list[str] | None


@with_config(_STRICT)
class CriterionResult(TypedDict):
    """One persona criterion evaluated for the user-window."""
    persona_id: str
    rule: str
    signal: str
    op: str
    threshold: float | int | str | bool | None
    value: float | int | str | bool | None
    when_null: str
    passed: bool


@with_config(_STRICT)
class PersonaInputs(TypedDict):
    persona_id: str | None
    persona_name: str | None
    matched_personas: list[str] | None
    criteria_matched: list[CriterionResult] | None


@with_config(_STRICT)
class EligibilityFeatures(TypedDict):
    credit_score: float | None
    annual_income: float | None
    max_utilization: float | None
    account_subtypes: list[str] | None


@with_config(_STRICT)
class ConsentInput(TypedDict):
    status: str | None
    occurred_at: str | None


@with_config(_STRICT)
class TraceInputs(TypedDict):
    signals: dict[str, Any] | None  # signal name -> value of the window
    persona: PersonaInputs
    eligibility_features: EligibilityFeatures
    consent: ConsentInput
    history: list[Any] | None  # recent deliveries considered by the recency rule


# ------------------------------------------------------------------------------------------------ stages

@with_config(_STRICT)
class FilteredItem(TypedDict):
    """A candidate a stage removed, and why."""
    item_id: str
    reason: str


@with_config(_STRICT)
class NotRelevantGroup(TypedDict):
    """Candidates the trigger stage removed together (none of their triggers holds)."""
    reason: str
    count: int
    items: list[str]


@with_config(_STRICT)
class ConsentStage(TypedDict):
    passed: bool
    reason: str


@with_config(_STRICT)
class FilterStage(TypedDict):
    passed: bool
    reason: str
    filtered_out: list[FilteredItem] | None


@with_config(_STRICT)
class PersonaStage(FilterStage):
    component: float | None


@with_config(_STRICT)
class TriggerStage(TypedDict):
    passed: bool
    component: float | None
    triggers_total: int | None
    matched_triggers: list[str] | None
    admitted_by: list[str] | None  # the trigger conditions that admitted the item, with the user's values
    reason: str
    filtered_out: list[NotRelevantGroup] | None


@with_config(_STRICT)
class RecencyStage(FilterStage):
    days_since_last_shown: float | None


@with_config(_STRICT)
class BusinessRulesStage(FilterStage):
    """filtered_out: candidates that passed every earlier stage and were cut by the count and partner caps."""
    rank: int


@with_config(_STRICT)
class ToneStage(FilterStage):
    action: str  # pass | rewrite
    matches: list[Any] | None


@with_config(_STRICT)
class Stages(TypedDict):
    consent: ConsentStage
    eligibility: FilterStage
    persona_match: PersonaStage
    signal_triggers: TriggerStage
    recency: RecencyStage
    business_rules: BusinessRulesStage
    rationale: FilterStage
    tone: ToneStage


STAGE_ORDER = tuple(Stages.__annotations__)


# ------------------------------------------------------------------------------------------------ score, text

@with_config(_STRICT)
class ScoreComponents(TypedDict):
    persona: float | None
    signal: float | None
    priority: float | None
    freshness: float | None


@with_config(_STRICT)
class TraceScore(TypedDict):
    total: float
    rank: int
    components: ScoreComponents
    weights: dict[str, float] | None


@with_config(_STRICT)
class TraceRationale(TypedDict):
    requested_template_id: str | None
    template_id: str | None
    template_version: int | str | None
    values: dict[str, Any] | None  # the values the template was filled with
    text_before_rewrite: str | None  # set when the tone guardrail rewrote the text


@with_config(_STRICT)
class GuardrailOutcome(TypedDict):
    outcome: str
    detail: str


@with_config(_STRICT)
class Guardrails(TypedDict):
    consent: GuardrailOutcome
    eligibility: GuardrailOutcome
    recency: GuardrailOutcome
    tone: GuardrailOutcome


@with_config(_STRICT)
class PersonaChange(TypedDict):
    """One signal change that would move the user to another persona."""
    persona_id: str
    rule: str
    signal: str
    label: str
    op: str
    threshold: float | int | None
    value: float | int | None
    to: float | int | None
    passes: bool


@with_config(_STRICT)
class WhatWouldChange(TypedDict):
    target_persona_id: str | None
    text: str | None  # operator wording
    customer_text: str | None  # supportive customer wording
    changes: list[PersonaChange] | None


@with_config(_STRICT)
class Selected(TypedDict):
    education: list[str] | None
    offer: list[str] | None


@with_config(_STRICT)
class Versions(TypedDict):
    config: str | None
    config_files: dict[str, str] | None
    content: str | None
    code: dict[str, Any] | str | None
    raw_batch: NotRequired[int | None]  # the raw-store batch the run read (absent in traces from before the store)


# ------------------------------------------------------------------------------------------------ the trace

@with_config(_STRICT)
class DecisionTrace(TypedDict):
    """One recommendation's decision trace (decision_traces.trace)."""
    recommendation_id: str
    context_id: str
    run_id: str
    user_id: str
    window_days: int
    as_of: str
    created_at: str
    item: TraceItem
    inputs: TraceInputs
    stages: Stages
    selected: Selected  # every item shown in the user-window, by kind
    score: TraceScore
    template_id: str | None
    rationale: TraceRationale
    guardrails: Guardrails
    what_would_change: WhatWouldChange
    rules: dict[str, Any] | None  # the recommend rules in force (caps, recency, freshness)
    versions: Versions | None


TRACE_KEYS = tuple(DecisionTrace.__annotations__)


@cache
def _adapter() -> TypeAdapter:
    return TypeAdapter(DecisionTrace)


def validate_trace(trace: object) -> DecisionTrace:
    """The trace (a dict or its JSON text) checked against the contract; TraceContractError names what is off."""
    try:
        if isinstance(trace, (str, bytes)):
            return _adapter().validate_json(trace, strict=False)
        return _adapter().validate_python(trace, strict=False)
    except ValidationError as exc:
        rid = trace.get("recommendation_id") if isinstance(trace, dict) else None
        problems = "; ".join(f"{'.'.join(str(p) for p in e['loc'])}: {e['msg']}" for e in exc.errors()[:10])
        raise TraceContractError(f"decision trace {rid or ''} breaks the contract: {problems}".replace("  ", " ")) \
            from None


def business_rule_cuts(trace: DecisionTrace) -> list[FilteredItem]:
    """Candidates that passed every stage up to the business rules and were cut there (count and partner caps),
    with the reason; the user was eligible for each of them."""
    return list(trace["stages"]["business_rules"]["filtered_out"] or [])
