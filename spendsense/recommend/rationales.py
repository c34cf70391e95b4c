"""Rationales at scale for the engine: render (row, template) units and tone-check every text at once.

Rendering itself is spendsense.content.rationale's (one implementation, vectorized). The tone check runs Arrow's
RE2 over the normalized texts as a pre-filter (the same normalization and patterns as spendsense.guardrails.tone),
then the exact `check_tone` on the few hits and on non-ASCII texts.
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from dataclasses import dataclass, fields

import numpy as np
import pandas as pd
import pyarrow as pa
import pyarrow.compute as pc

from spendsense.content import RationaleTemplate
from spendsense.content.formats import STRING
from spendsense.content.rationale import render_template_rows, template_plan
from spendsense.content.tone_match import APOSTROPHES, alternation, chunked
from spendsense.guardrails import check_tone

# RE2 runs the tone rules several times faster as a few alternations of about this many pattern characters than as
# one (measured on 20,000 rationales: one 21,000-character regex 3.9 s; two of ~10,000 characters 0.085 s)
RE2_CHUNK_CHARS = 10_000


# -------------------------------------------------------------------------------------------------- tone


def _raw_pattern(pattern: str) -> str:
    """A tone pattern written for normalized text, made to run on lower-cased raw text: every space (one run of
    punctuation or spacing after normalization) matches one or more characters other than a-z and 0-9."""
    return pattern.replace(" ", "(?:[^a-z0-9]+)")


def tone_candidates(texts: pa.Array, guardrails) -> np.ndarray:
    """Texts that need the exact tone check: those where a rule could match, found with Arrow's RE2 on the
    lower-cased text (apostrophes deleted, '_' spaced, each pattern space allowed to match any run of non
    a-z0-9 characters, which is what normalization collapses to one space), plus every non-ASCII text (where
    case folding can differ from lower-casing). A superset of check_tone's hits: false positives only cost the
    exact check."""
    if not len(texts):
        return np.zeros(0, dtype=bool)
    patterns = [p for rule in guardrails.tone_rules for p in rule.patterns]
    odd = ~pc.string_is_ascii(texts).to_numpy(zero_copy_only=False)
    low = pc.utf8_lower(texts)
    for ch in APOSTROPHES:
        if ch.isascii():
            low = pc.replace_substring(low, ch, "")
    low = pc.replace_substring(low, "_", " ")
    hit = np.zeros(len(texts), dtype=bool)
    for chunk in chunked(patterns, RE2_CHUNK_CHARS):
        try:
            hit |= pc.match_substring_regex(low, _raw_pattern(alternation(chunk).pattern)) \
                .to_numpy(zero_copy_only=False)
        except pa.ArrowInvalid:  # a pattern RE2 cannot run: check everything exactly
            return np.ones(len(texts), dtype=bool)
    return hit | odd


def tone_outcomes(texts: pa.Array, facts: pa.Array, guardrails) -> dict[str, object]:
    """The tone check of every text: action (pass | rewrite | reject), final text (None on reject), matches (JSON)
    and the matched rule ids. A rewrite that would alter a quoted value (so a fact no longer appears in the
    text) is a rejection: the facts must be quoted exactly."""
    n = len(texts)
    action = np.full(n, "pass", dtype=object)
    final = texts
    matches = np.full(n, "[]", dtype=object)
    rules = np.full(n, "", dtype=object)
    distinct = texts.dictionary_encode()  # the pre-filter is a function of the text: once per distinct text
    check = np.flatnonzero(tone_candidates(distinct.dictionary, guardrails)[distinct.indices.to_numpy()])
    if check.size:
        text_list = texts.take(pa.array(check)).to_pylist()
        fact_list = facts.take(pa.array(check)).to_pylist()
        new_final = []
        for i, text, fj in zip(check, text_list, fact_list, strict=True):
            res = check_tone(text, guardrails)
            act, out = res.action, res.final_text
            if act == "rewrite" and any(f["text"] not in out for f in json.loads(fj)):
                act, out = "reject", None
            action[i] = act
            new_final.append(out)
            if res.matches:
                matches[i] = json.dumps([m.as_dict() for m in res.matches])
                rules[i] = ",".join(dict.fromkeys(m.rule_id for m in res.matches))
        mask = np.zeros(n, dtype=bool)
        mask[check] = True
        final = pc.replace_with_mask(texts, pa.array(mask), pa.array(new_final, STRING))
    return {"action": action, "final": final, "matches": pa.array(matches, STRING), "rules": pa.array(rules, STRING)}


# ------------------------------------------------------------------------------------------------ units


@dataclass(frozen=True)
class RenderedUnits:
    """Rendered rationales, one per (row, template) unit, with their tone outcome."""

    row: np.ndarray  # row of inputs
    template_id: np.ndarray
    text: pa.Array  # as rendered
    final_text: pa.Array  # after the tone check (rewrite applied); null when rejected
    facts: pa.Array  # JSON
    values: pa.Array  # JSON
    tone_action: np.ndarray  # pass | rewrite | reject
    tone_matches: pa.Array  # JSON list of matches
    tone_rules: pa.Array  # matched rule ids, ',' joined ('' on pass)
    ok: np.ndarray  # may be shown

    @staticmethod
    def concat(parts: list[RenderedUnits]) -> RenderedUnits:
        """One RenderedUnits from several (in order)."""
        if not parts:
            e = pa.array([], STRING)
            return RenderedUnits(np.zeros(0, np.int64), np.zeros(0, object), e, e, e, e, np.zeros(0, object), e, e,
                                 np.zeros(0, bool))
        out = {}
        for f in fields(RenderedUnits):
            vals = [getattr(p, f.name) for p in parts]
            out[f.name] = pa.concat_arrays(vals) if isinstance(vals[0], pa.Array) else np.concatenate(vals)
        return RenderedUnits(**out)


def render_units(templates: Mapping[str, RationaleTemplate], rows: np.ndarray, template_ids: np.ndarray,
                 inputs: pd.DataFrame, guardrails) -> RenderedUnits:
    """Render (row, template) units grouped by template, then tone-check every text at once."""
    rows = np.asarray(rows, dtype=np.int64)
    template_ids = np.asarray(template_ids, dtype=object)
    codes, vocab = pd.factorize(template_ids, sort=True)
    order = np.argsort(codes, kind="stable")
    rows, template_ids, codes = rows[order], template_ids[order], codes[order]
    bounds = np.searchsorted(codes, np.arange(len(vocab) + 1))
    chunks = {"text": [], "facts": [], "values": []}
    for k, tid in enumerate(vocab):
        sel = np.arange(bounds[k], bounds[k + 1])
        out = render_template_rows(template_plan(templates[tid]), inputs, rows[sel])
        for key, value in out.items():
            chunks[key].append(value)
    if not len(rows):
        return RenderedUnits.concat([])
    text, facts, values = (pa.concat_arrays(chunks[k]) for k in ("text", "facts", "values"))
    tone = tone_outcomes(text, facts, guardrails)
    return RenderedUnits(rows, template_ids, text, tone["final"], facts, values, tone["action"], tone["matches"],
                         tone["rules"], tone["action"] != "reject")
