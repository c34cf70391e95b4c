"""Tone guardrail: find shaming or judgmental phrases, rewrite them to a neutral alternative or reject the text.

Matching runs on a normalized copy of the text so that case, spacing, punctuation, hyphens and apostrophes do
not matter: the text is case-folded, apostrophes are deleted ("you're" -> "youre"), and every run of characters
other than a-z and 0-9 becomes one space ("Over-Spending!!" -> "over spending"). Rule patterns in
config/guardrails.yaml are regexes over that normalized form, wrapped in word boundaries. A map from normalized
to original positions lets a rewrite replace exactly the matched span of the original text.

Two kinds of rule share that machinery. Listed rules (`tone_rules`) name phrases: behaviour described
judgmentally is rewritten ("overspending" -> "spending more than planned"), judgment words are rejected.
Shape rules (`tone_shapes`) catch judgments of the person phrased without a listed word, by their structure:
"you are" + intensifiers + a negative trait ("you're clearly financially illiterate"), "you can't manage/handle/
control" + money or yourself, "you have no idea/clue/business", "what's wrong with you", "you should be
ashamed/embarrassed", "yourself to blame", "your finances are a mess", and scolding imperatives ("get your act
together", "grow up", "stop being ..."). Their word lists are data (`tone_shapes.lexicons`); at load each shape
becomes an ordinary reject rule, and `unless` phrases excuse neutral look-alikes ("grow up to 4% APY").

Limits (measured on tests/guardrails/tone_labelled.csv): negation is not understood for listed words ("you're
not irresponsible" is rejected) while a negated shape passes ("you're not a failure"); rhetorical questions
("who spends $90 on takeout?"), sarcasm ("another brilliant purchase, genius"), a trait missing from the
lexicon and a scold in a shape not listed ("you've really messed up", where "youve" is one token the shape
does not expect) slip through. Rules, not a model: every decision names the rule and phrase that made it.
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from dataclasses import dataclass, field
from functools import lru_cache
from typing import Literal

import pandas as pd

from spendsense.content.models import Guardrails, ToneRule

APOSTROPHES = "'\u2019\u2018`\u00b4\u02bc\u2032"
_APOS_RE = "[" + re.escape(APOSTROPHES) + "]"

Action = Literal["pass", "rewrite", "reject"]
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


@dataclass(frozen=True)
class ToneResult:
    """Outcome of the tone check. `final_text` is what may be shown: the text, its rewrite, or None."""

    ok: bool
    matches: tuple[ToneMatch, ...] = field(default_factory=tuple)
    rewritten_text: str | None = None
    action: Action = "pass"

    @property
    def final_text(self) -> str | None:
        """Text safe to show: the original on pass, the rewrite on rewrite, None on reject."""
        return self.rewritten_text if self.action != "reject" else None

    def as_dict(self) -> dict:
        """JSON-friendly form for decision traces."""
        return {"ok": self.ok, "action": self.action, "matches": [m.as_dict() for m in self.matches],
                "rewritten_text": self.rewritten_text}


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
class _Compiled:
    # (id, action, replacement, regex, unless regex or None)
    rules: tuple[tuple[str, str, str | None, re.Pattern, re.Pattern | None], ...]
    combined: re.Pattern  # any rule (recommend's RE2 pre-filter reads its pattern)
    chunks: tuple[re.Pattern, ...]  # the same rules in a few mid-sized regexes: faster than `combined` on `re`


def _rule_key(rules: Sequence[ToneRule]) -> tuple:
    return tuple((r.id, tuple(r.patterns), r.action, r.replacement, tuple(r.unless)) for r in rules)


def _alternation(patterns: Sequence[str]) -> re.Pattern:
    """One regex matching any of the patterns, wrapped in word boundaries."""
    return re.compile(r"\b(?:" + "|".join(f"(?:{p})" for p in patterns) + r")\b")


@lru_cache(maxsize=32)
def _compile(key: tuple) -> _Compiled:
    compiled = tuple(
        (rid, action, repl, _alternation(pats), _alternation(unless) if unless else None)
        for rid, pats, action, repl, unless in key
    )
    patterns = [p for _, pats, _, _, _ in key for p in pats]
    return _Compiled(compiled, _alternation(patterns), tuple(_alternation(c) for c in _chunked(patterns)))


def _chunked(patterns: list[str], size: int = CHUNK_CHARS) -> list[list[str]]:
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


def _rules_of(rules: Guardrails | Sequence[ToneRule]) -> Sequence[ToneRule]:
    return rules.tone_rules if isinstance(rules, Guardrails) else rules


def _match_case(replacement: str, phrase: str) -> str:
    """Carry the phrase's capitalization over to its replacement (ALL CAPS, or a capital first letter)."""
    letters = [c for c in phrase if c.isalpha()]
    if len(letters) > 1 and all(c.isupper() for c in letters):
        return replacement.upper()
    if letters and letters[0].isupper():
        return replacement[:1].upper() + replacement[1:]
    return replacement


def find_tone_matches(text: str, rules: Guardrails | Sequence[ToneRule]) -> list[ToneMatch]:
    """Every flagged phrase in the text, in order, longest first where two start at the same place."""
    compiled = _compile(_rule_key(_rules_of(rules)))
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


def check_tone(text: str, rules: Guardrails | Sequence[ToneRule]) -> ToneResult:
    """Check one text: 'pass' if nothing matches; 'rewrite' if every match has a neutral replacement and the
    rewritten text passes; otherwise 'reject'."""
    rule_list = _rules_of(rules)
    matches = find_tone_matches(text, rule_list)
    if not matches:
        return ToneResult(ok=True, matches=(), rewritten_text=text, action="pass")
    if any(m.action == "reject" for m in matches):
        return ToneResult(ok=False, matches=tuple(matches), rewritten_text=None, action="reject")
    replacement = {r.id: r.replacement for r in rule_list}
    chosen: list[ToneMatch] = []
    for m in matches:  # sorted by start, longest first: keep the first of overlapping matches
        if not chosen or m.start >= chosen[-1].end:
            chosen.append(m)
    out = text
    for m in reversed(chosen):
        out = out[: m.start] + _match_case(replacement[m.rule_id], m.phrase) + out[m.end:]
    if find_tone_matches(out, rule_list):
        return ToneResult(ok=False, matches=tuple(matches), rewritten_text=None, action="reject")
    return ToneResult(ok=False, matches=tuple(matches), rewritten_text=out, action="rewrite")


def check_tone_batch(texts: pd.Series, rules: Guardrails | Sequence[ToneRule]) -> pd.DataFrame:
    """check_tone over a Series: a vectorized pre-filter on the normalized texts, the full check only on hits.

    Returns a DataFrame on the same index with columns ok, action, matches (list of match dicts),
    rewritten_text (the text itself on pass, the rewrite on rewrite, None on reject).
    """
    rule_list = _rules_of(rules)
    compiled = _compile(_rule_key(rule_list))
    norm = normalize_series(texts)
    hit = pd.Series(False, index=texts.index)
    for rx in compiled.chunks:
        hit |= norm.str.contains(rx, regex=True)
    out = pd.DataFrame(
        {"ok": True, "action": "pass", "matches": [[] for _ in range(len(texts))], "rewritten_text": texts},
        index=texts.index,
    )
    out["rewritten_text"] = out["rewritten_text"].astype(object)
    for idx in hit[hit].index:  # only flagged texts (rare) take the slower exact path
        res = check_tone(str(texts.at[idx]), rule_list)
        out.at[idx, "ok"] = res.ok
        out.at[idx, "action"] = res.action
        out.at[idx, "matches"] = [m.as_dict() for m in res.matches]
        out.at[idx, "rewritten_text"] = res.rewritten_text
    return out
