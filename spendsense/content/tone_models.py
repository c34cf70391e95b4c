"""Validated tone rules of config/guardrails.yaml: listed rules (`tone_rules`) and shape rules (`tone_shapes`).

A shape rule is a regex template over normalized text whose `{name}` placeholders stand for word lists
(`tone_shapes.lexicons`); at load each placeholder becomes one alternation `(?:w1|w2|...)` and the shape becomes an
ordinary reject ToneRule, so every caller that reads `Guardrails.tone_rules` sees shape rules too.
"""

from __future__ import annotations

import re
from typing import Literal

from pydantic import Field, field_validator, model_validator

from spendsense.config import StrictModel

SLUG = r"^[a-z0-9][a-z0-9_-]*$"
LEXICON_NAME = r"^[a-z][a-z0-9_]*$"
PLACEHOLDER = re.compile(r"\{([a-z][a-z0-9_]*)\}")


def _normalized_regexes(v: list[str]) -> list[str]:
    """Reject patterns not in normalized form (upper case, apostrophes), invalid, or matching the empty string."""
    for p in v:
        if re.search(r"[A-Z']", p):
            raise ValueError(f"pattern {p!r}: write patterns in normalized form (lower case, no apostrophes)")
        try:
            compiled = re.compile(p)
        except re.error as exc:
            raise ValueError(f"pattern {p!r} is not a valid regex: {exc}") from None
        if compiled.fullmatch(""):
            raise ValueError(f"pattern {p!r} matches the empty string")
    return v


class ToneRule(StrictModel):
    """Regexes over normalized text (see tone.normalize_text) that flag shaming or judgmental language.

    `unless`: regexes for longer neutral phrases; a match is dropped when one of them starts at or before it and
    runs past its start ("grow up" is flagged, "grow up to 4% APY" is not).
    """

    id: str = Field(pattern=SLUG)
    patterns: list[str] = Field(min_length=1)
    action: Literal["rewrite", "reject"]
    replacement: str | None = None
    unless: list[str] = Field(default_factory=list)
    note: str = ""

    @field_validator("patterns", "unless")
    @classmethod
    def _compilable(cls, v: list[str]) -> list[str]:
        return _normalized_regexes(v)

    @model_validator(mode="after")
    def _replacement_for_rewrite(self) -> ToneRule:
        if self.action == "rewrite" and not self.replacement:
            raise ValueError("action 'rewrite' needs a replacement")
        if self.action == "reject" and self.replacement:
            raise ValueError("action 'reject' takes no replacement")
        return self


class ToneShape(StrictModel):
    """One structural pattern: regex templates whose {lexicon} placeholders expand to word lists; always reject."""

    id: str = Field(pattern=SLUG)
    patterns: list[str] = Field(min_length=1)
    unless: list[str] = Field(default_factory=list)
    note: str = ""


class ToneShapes(StrictModel):
    """`tone_shapes`: named word lists (regex fragments in normalized form) and the shapes that combine them."""

    lexicons: dict[str, list[str]] = Field(min_length=1)
    rules: list[ToneShape] = Field(min_length=1)

    @field_validator("lexicons")
    @classmethod
    def _lexicon_entries(cls, v: dict[str, list[str]]) -> dict[str, list[str]]:
        for name, words in v.items():
            if not re.match(LEXICON_NAME, name):
                raise ValueError(f"lexicon name {name!r} must be snake_case")
            if not words:
                raise ValueError(f"lexicon {name!r} is empty")
            if len(set(words)) != len(words):
                raise ValueError(f"lexicon {name!r} lists a word twice: {sorted(w for w in set(words) if words.count(w) > 1)}")
            try:
                _normalized_regexes(words)
            except ValueError as exc:
                raise ValueError(f"lexicon {name!r}: {exc}") from None
        return v

    @model_validator(mode="after")
    def _placeholders_known_and_lexicons_used(self) -> ToneShapes:
        used: set[str] = set()
        for shape in self.rules:
            for p in (*shape.patterns, *shape.unless):
                names = set(PLACEHOLDER.findall(p))
                unknown = names - set(self.lexicons)
                if unknown:
                    raise ValueError(f"tone shape {shape.id}: unknown lexicon(s) {sorted(unknown)} in {p!r}")
                used |= names
        unused = set(self.lexicons) - used
        if unused:
            raise ValueError(f"lexicon(s) {sorted(unused)} are not used by any tone shape")
        return self

    def expand(self, template: str) -> str:
        """The template with every {name} replaced by its lexicon as one non-capturing alternation (longest first)."""
        def alternation(m: re.Match) -> str:
            words = sorted(self.lexicons[m.group(1)], key=len, reverse=True)
            return "(?:" + "|".join(words) + ")"
        return PLACEHOLDER.sub(alternation, template)

    def as_tone_rules(self) -> list[ToneRule]:
        """Every shape as a reject ToneRule with its templates expanded (validated like a listed rule)."""
        out = []
        for shape in self.rules:
            try:
                out.append(ToneRule(id=shape.id, action="reject", note=shape.note,
                                    patterns=[self.expand(p) for p in shape.patterns],
                                    unless=[self.expand(p) for p in shape.unless]))
            except ValueError as exc:
                raise ValueError(f"tone shape {shape.id}: {exc}") from None
        return out
