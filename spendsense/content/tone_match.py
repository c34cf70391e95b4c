"""The tone rule language's matcher: normalize a text and find every phrase a list of tone rules flags.

A leaf of the tone guardrail (it imports only the rule models, spendsense.content.tone_models), so that the content
loader can validate texts against the rules and spendsense.guardrails.tone can decide pass/rewrite/reject on the
matches without the two packages importing each other. Matching runs on a normalized copy of the text (case-folded,
apostrophes deleted, every other run of non a-z0-9 characters one space); see spendsense.guardrails.tone.
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from dataclasses import dataclass
from functools import lru_cache
from typing import Literal

import pandas as pd

from spendsense.content.tone_models import ToneRule

APOSTROPHES = "'\u2019\u2018`\u00b4\u02bc\u2032"
_APOS_RE = "[" + re.escape(APOSTROPHES) + "]"

# One regex over all rules (the shape rules are large alternations) is several times slower on Python's `re`
# than a few regexes of about this many pattern characters each (measured: 10,000 texts, 0.9 s vs 0.2 s).
CHUNK_CHARS = 4000


@dataclass(frozen=True)
class ToneMatch:
    """One flagged phrase: the rule, its action, and the phrase as it appears in the original text."""

    rule_id: str
    action: Literal["rewrite", "reject"]
    phrase: str
    start: int
    end: int

    def as_dict(self) -> dict:
        """JSON-friendly form for decision traces."""
        return {"rule_id": self.rule_id, "action": self.action, "phrase": self.phrase,
                "start": self.start, "end": self.end}


def normalize_text(text: str) -> str:
    """The normalized form tone patterns are written against (lower case a-z0-9 words, single spaces)."""
    return _normalize_with_map(text)[0]


def _normalize_with_map(text: str) -> tuple[str, list[int]]:
    """Normalized text and, for each of its characters, the index of the original character it came from."""
    out: list[str] = []
    origin: list[int] = []
    gap = False
    for i, ch in enumerate(text):
        if ch in APOSTROPHES:
            continue
        for f in ch.casefold():
            if ("a" <= f <= "z") or ("0" <= f <= "9"):
                if gap and out:
                    out.append(" ")
                    origin.append(i)
                out.append(f)
                origin.append(i)
                gap = False
            else:
                gap = True
    return "".join(out), origin


def normalize_series(texts: pd.Series) -> pd.Series:
    """Vectorized normalize_text over a Series of strings (nulls become empty strings)."""
    s = texts.fillna("").astype(str)
    return (s.str.casefold().str.replace(_APOS_RE, "", regex=True)
            .str.replace(r"[^a-z0-9]+", " ", regex=True).str.strip())


@dataclass(frozen=True)
class CompiledRules:
    """A rule list's regexes: one per rule, one for all, and the same rules in a few mid-sized regexes."""

    # (id, action, replacement, regex, unless regex or None)
    rules: tuple[tuple[str, str, str | None, re.Pattern, re.Pattern | None], ...]
    combined: re.Pattern  # any rule (recommend's RE2 pre-filter reads its pattern)
    chunks: tuple[re.Pattern, ...]  # the same rules in a few mid-sized regexes: faster than `combined` on `re`


def rule_key(rules: Sequence[ToneRule]) -> tuple:
    """A hashable key of a rule list (what compile_rules caches on)."""
    return tuple((r.id, tuple(r.patterns), r.action, r.replacement, tuple(r.unless)) for r in rules)


def alternation(patterns: Sequence[str]) -> re.Pattern:
    """One regex matching any of the patterns, wrapped in word boundaries."""
    return re.compile(r"\b(?:" + "|".join(f"(?:{p})" for p in patterns) + r")\b")


@lru_cache(maxsize=32)
def compile_rules(key: tuple) -> CompiledRules:
    """The regexes of a rule list (by rule_key), compiled once."""
    compiled = tuple(
        (rid, action, repl, alternation(pats), alternation(unless) if unless else None)
        for rid, pats, action, repl, unless in key
    )
    patterns = [p for _, pats, _, _, _ in key for p in pats]
    return CompiledRules(compiled, alternation(patterns), tuple(alternation(c) for c in chunked(patterns)))


def chunked(patterns: list[str], size: int = CHUNK_CHARS) -> list[list[str]]:
    """Consecutive patterns grouped so that each group's total length stays near `size` characters."""
    chunks: list[list[str]] = [[]]
    for p in patterns:
        if chunks[-1] and sum(map(len, chunks[-1])) + len(p) > size:
            chunks.append([])
        chunks[-1].append(p)
    return chunks


def _excused(start: int, unless: re.Pattern | None, norm: str) -> bool:
    """Whether a match starting at `start` lies inside a longer neutral phrase (an `unless` match that starts at
    or before it and runs past its start)."""
    if unless is None:
        return False
    return any(u.start() <= start < u.end() for u in unless.finditer(norm))


def rules_of(rules) -> Sequence[ToneRule]:
    """The tone rules of a Guardrails config (anything with `tone_rules`) or a rule list as given."""
    return getattr(rules, "tone_rules", rules)


def find_tone_matches(text: str, rules) -> list[ToneMatch]:
    """Every flagged phrase in the text, in order, longest first where two start at the same place."""
    compiled = compile_rules(rule_key(rules_of(rules)))
    norm, origin = _normalize_with_map(text)
    found: list[ToneMatch] = []
    for rid, action, _, rx, unless in compiled.rules:
        for m in rx.finditer(norm):
            if _excused(m.start(), unless, norm):
                continue
            start, end = origin[m.start()], origin[m.end() - 1] + 1
            found.append(ToneMatch(rid, action, text[start:end], start, end))
    found.sort(key=lambda m: (m.start, -(m.end - m.start), m.rule_id))
    return found
