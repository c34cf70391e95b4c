"""Persona definitions (config/personas.yaml): criteria as all/any rules over signal names, with priorities."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated, Literal

from pydantic import Discriminator, Field, Tag, model_validator

from spendsense.config import StrictModel, config_path, load_config

NONE_PERSONA_ID = "none"
NONE_PERSONA_NAME = "No persona"

Op = Literal[">=", ">", "<=", "<", "==", "!=", "is_null", "not_null"]
NULL_OPS = ("is_null", "not_null")
NEGATED_OPS = {">=": "<", ">": "<=", "<=": ">", "<": ">=", "==": "!=", "!=": "==", "is_null": "not_null",
               "not_null": "is_null"}  # the operator a value satisfies exactly when it fails the original


class Condition(StrictModel):
    """A comparison of one signal with a threshold (one value, or one per window)."""

    signal: str = Field(min_length=1)
    op: Op
    value: float | str | None = None
    value_by_window: dict[int, float] | None = None
    when_null: Literal["fail", "pass"] = "fail"

    @model_validator(mode="after")
    def _threshold(self) -> Condition:
        given = (self.value is not None) + (self.value_by_window is not None)
        if self.op in NULL_OPS:
            if given:
                raise ValueError(f"op {self.op} takes no value")
        elif given != 1:
            raise ValueError(f"op {self.op} needs exactly one of value or value_by_window")
        if isinstance(self.value, str) and self.op not in ("==", "!="):
            raise ValueError(f"a text value can only be compared with == or !=, not {self.op}")
        if self.value_by_window is not None and not self.value_by_window:
            raise ValueError("value_by_window is empty")
        return self


class AllOf(StrictModel):
    """Passes when every rule passes."""

    all: list[Rule] = Field(min_length=1)


class AnyOf(StrictModel):
    """Passes when at least one rule passes."""

    any: list[Rule] = Field(min_length=1)


def _rule_kind(data: object) -> str:
    """Which rule model a YAML mapping is: 'all', 'any' or 'condition'."""
    keys = data.keys() if isinstance(data, dict) else vars(data) if hasattr(data, "__dict__") else ()
    return "all" if "all" in keys else "any" if "any" in keys else "condition"


Rule = Annotated[
    Annotated[AllOf, Tag("all")] | Annotated[AnyOf, Tag("any")] | Annotated[Condition, Tag("condition")],
    Discriminator(_rule_kind),
]
AllOf.model_rebuild()
AnyOf.model_rebuild()


class Persona(StrictModel):
    """One persona: identity, priority (1 = wins), criteria and the education it points to."""

    id: str = Field(pattern=r"^[a-z][a-z0-9_]*$")
    name: str = Field(min_length=1)
    priority: int = Field(ge=1)
    criteria: Rule
    why_it_matters: str = Field(min_length=1)
    educational_focus: list[str] = Field(min_length=1)

    @model_validator(mode="after")
    def _not_none(self) -> Persona:
        if self.id == NONE_PERSONA_ID:
            raise ValueError(f"'{NONE_PERSONA_ID}' is reserved for users who match no persona")
        return self


class PersonaConfig(StrictModel):
    """All personas (config/personas.yaml)."""

    personas: list[Persona] = Field(min_length=1)

    @model_validator(mode="after")
    def _unique(self) -> PersonaConfig:
        for key in ("id", "priority"):
            values = [getattr(p, key) for p in self.personas]
            dupes = sorted({v for v in values if values.count(v) > 1})
            if dupes:
                raise ValueError(f"duplicate persona {key}: {', '.join(map(str, dupes))}")
        return self

    def by_priority(self) -> list[Persona]:
        """Personas from the highest priority (1) down."""
        return sorted(self.personas, key=lambda p: p.priority)


def rule_conditions(rule: Rule) -> list[Condition]:
    """Every condition of a rule, depth first."""
    if isinstance(rule, Condition):
        return [rule]
    return [c for sub in (rule.all if isinstance(rule, AllOf) else rule.any) for c in rule_conditions(sub)]


def load_persona_config(path: Path | str | None = None) -> PersonaConfig:
    """Load and validate config/personas.yaml (or the given file)."""
    return load_config(path if path is not None else config_path("personas.yaml"), PersonaConfig)
