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

from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Literal

import pandas as pd

from spendsense.content.models import Guardrails, ToneRule
from spendsense.content.tone_match import (
    APOSTROPHES,
    CHUNK_CHARS,
    CompiledRules,
    ToneMatch,
    alternation,
    chunked,
    compile_rules,
    find_tone_matches,
    normalize_series,
    normalize_text,
    rule_key,
    rules_of,
)

Action = Literal["pass", "rewrite", "reject"]
_compile, _rule_key = compile_rules, rule_key  # older names, used by tests

__all__ = ["APOSTROPHES", "CHUNK_CHARS", "CompiledRules", "ToneMatch", "ToneResult", "alternation", "check_tone",
           "check_tone_batch", "chunked", "find_tone_matches", "normalize_series", "normalize_text"]


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


def _match_case(replacement: str, phrase: str) -> str:
    """Carry the phrase's capitalization over to its replacement (ALL CAPS, or a capital first letter)."""
    letters = [c for c in phrase if c.isalpha()]
    if len(letters) > 1 and all(c.isupper() for c in letters):
        return replacement.upper()
    if letters and letters[0].isupper():
        return replacement[:1].upper() + replacement[1:]
    return replacement


def check_tone(text: str, rules: Guardrails | Sequence[ToneRule]) -> ToneResult:
    """Check one text: 'pass' if nothing matches; 'rewrite' if every match has a neutral replacement and the
    rewritten text passes; otherwise 'reject'."""
    rule_list = rules_of(rules)
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
    rule_list = rules_of(rules)
    compiled = compile_rules(rule_key(rule_list))
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
