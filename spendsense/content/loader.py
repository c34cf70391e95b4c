"""Load and validate the content catalog (content/*.yaml), the guardrails and the scoring config.

Every problem raises spendsense.config.ConfigError naming the file, the item (index and id) and the field,
e.g. "content/offers.yaml: offers[3] (id=quick-cash): product_type 'payday_loan' is refused by
config/guardrails.yaml (...)". All problems in the catalog are reported together.
"""

from __future__ import annotations

import hashlib
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path

import pandas as pd
import yaml
from pydantic import BaseModel, ValidationError

from spendsense import paths
from spendsense.config import ConfigError, _location, config_path, load_config
from spendsense.content.models import (
    EducationItem,
    Guardrails,
    Offer,
    RationaleTemplate,
    normalize_product_type,
)
from spendsense.content.scoring import ScoringConfig
from spendsense.content.tone_match import find_tone_matches

_SafeLoader = getattr(yaml, "CSafeLoader", yaml.SafeLoader)

EDUCATION_FILE = "education.yaml"
OFFERS_FILE = "offers.yaml"
RATIONALES_FILE = "rationales.yaml"
# file name -> (top-level key, model)
CONTENT_FILES: dict[str, tuple[str, type[BaseModel]]] = {
    EDUCATION_FILE: ("items", EducationItem),
    OFFERS_FILE: ("offers", Offer),
    RATIONALES_FILE: ("templates", RationaleTemplate),
}


def display_path(path: Path) -> str:
    """A path as shown in messages: relative to the project root when inside it."""
    try:
        return str(Path(path).resolve().relative_to(paths.PROJECT_ROOT))
    except ValueError:
        return str(path)


# --- guardrails and scoring ----------------------------------------------------------------------------------

def load_guardrails(path: Path | str | None = None) -> Guardrails:
    """Read config/guardrails.yaml; its disclosure and every rewrite replacement must pass its own tone rules."""
    path = Path(path) if path is not None else config_path("guardrails.yaml")
    guardrails = load_config(path, Guardrails)
    shown = display_path(path)
    problems = []
    for m in find_tone_matches(guardrails.disclosure, guardrails):
        problems.append(f"{shown}: disclosure: flagged phrase {m.phrase!r} (tone rule {m.rule_id})")
    for i, rule in enumerate(guardrails.tone_rules):
        for m in find_tone_matches(rule.replacement or "", guardrails):
            problems.append(f"{shown}: tone_rules[{i}] (id={rule.id}): replacement {rule.replacement!r} is "
                            f"itself flagged by tone rule {m.rule_id}")
    if problems:
        raise ConfigError("\n".join(problems))
    guardrails._source = shown
    return guardrails


def load_scoring(path: Path | str | None = None) -> ScoringConfig:
    """Read config/scoring.yaml (weights in [0, 1] summing to 1, count ranges, caps, recency, freshness)."""
    return load_config(Path(path) if path is not None else config_path("scoring.yaml"), ScoringConfig)


# --- catalog -------------------------------------------------------------------------------------------------

@dataclass(frozen=True)
class Catalog:
    """The validated content catalog. `version` is a hash of the three content files' bytes."""

    education: tuple[EducationItem, ...]
    offers: tuple[Offer, ...]
    templates: Mapping[str, RationaleTemplate]
    version: str
    content_dir: Path

    def entry(self, item_id: str) -> EducationItem | Offer:
        """An education item or offer by id (KeyError if unknown)."""
        for e in (*self.education, *self.offers):
            if e.id == item_id:
                return e
        raise KeyError(item_id)

    def template_for(self, item_id: str) -> RationaleTemplate:
        """The rationale template of an education item or offer."""
        return self.templates[self.entry(item_id).rationale_template]

    def entries_frame(self) -> pd.DataFrame:
        """One row per education item and offer: item_id, kind, version, title, format, partner, product_type,
        persona_tags (list), priority, rationale_template, n_triggers, audience, so_that, and the offer eligibility
        thresholds."""
        rows = []
        for kind, entries in (("education", self.education), ("offer", self.offers)):
            for e in entries:
                elig = getattr(e, "eligibility", None)
                rows.append({
                    "item_id": e.id, "kind": kind, "version": e.version, "title": e.title,
                    "format": getattr(e, "format", None), "partner": getattr(e, "partner", None),
                    "product_type": getattr(e, "product_type", None), "persona_tags": list(e.persona_tags),
                    "priority": e.priority, "rationale_template": e.rationale_template,
                    "n_triggers": len(e.triggers), "audience": e.audience, "so_that": e.so_that,
                    "min_annual_income": elig.min_annual_income if elig else None,
                    "min_credit_score": elig.min_credit_score if elig else None,
                    "max_credit_score": elig.max_credit_score if elig else None,
                    "max_utilization": elig.max_utilization if elig else None,
                    "excluded_if_has_subtypes": list(elig.excluded_if_has_subtypes) if elig else None,
                    "requires_subtypes": list(elig.requires_subtypes) if elig else None,
                })
        return pd.DataFrame(rows)


def catalog_version(raw: Mapping[str, bytes]) -> str:
    """sha256 (first 16 hex digits) over the names and bytes of the content files, in CONTENT_FILES order."""
    h = hashlib.sha256()
    for name in CONTENT_FILES:
        h.update(name.encode() + b"\0" + raw[name] + b"\0")
    return h.hexdigest()[:16]


def _read(path: Path) -> tuple[object, bytes]:
    try:
        raw = path.read_bytes()
    except FileNotFoundError:
        raise ConfigError(f"{display_path(path)}: file not found") from None
    try:
        return yaml.load(raw, Loader=_SafeLoader), raw  # a safe loader (the C one when built)
    except yaml.YAMLError as exc:
        raise ConfigError(f"{display_path(path)}: not valid YAML: {exc}") from None


def _label(shown: str, key: str, i: int, entry: object) -> str:
    ident = entry.get("id") if isinstance(entry, dict) else None
    return f"{shown}: {key}[{i}]" + (f" (id={ident})" if ident is not None else "")


def _validate_file(path: Path, key: str, model: type[BaseModel], problems: list[str],
                   refuse=None) -> tuple[list, bytes]:
    """Validate one content file entry by entry; append readable problems; return (valid models, bytes)."""
    shown = display_path(path)
    data, raw = _read(path)
    if not isinstance(data, dict) or set(data) != {key} or not isinstance(data[key], list):
        found = sorted(data) if isinstance(data, dict) else type(data).__name__
        problems.append(f"{shown}: expected a single top-level key {key!r} holding a list, found {found}")
        return [], raw
    out = []
    for i, entry in enumerate(data[key]):
        try:
            out.append((i, model.model_validate(entry)))
        except ValidationError as exc:
            if refuse is not None and isinstance(entry, dict) and isinstance(entry.get("product_type"), str):
                refuse(f"{_label(shown, key, i, entry)}", entry["product_type"])  # say it even when invalid
            for err in exc.errors():
                where = _location(err["loc"])
                msg = err["msg"].removeprefix("Value error, ")
                if err["type"] == "extra_forbidden":
                    msg = "unknown key (not allowed)"
                problems.append(f"{_label(shown, key, i, entry)}: {where}: {msg}")
    return out, raw


def _unique_ids(shown: str, key: str, entries: list, seen: dict[str, str], problems: list[str]) -> None:
    for i, e in entries:
        where = f"{shown}: {key}[{i}] (id={e.id})"
        if e.id in seen:
            problems.append(f"{where}: duplicate id (first defined at {seen[e.id]})")
        else:
            seen[e.id] = where


def _unique_so_that(entries, problems: list[str]) -> None:
    """Every entry's so_that clause is its own (so no two recommendations of one user-window read the same)."""
    seen: dict[str, str] = {}
    for shown, key, i, e in entries:
        norm = " ".join(e.so_that.lower().split())
        where = f"{shown}: {key}[{i}] (id={e.id})"
        if norm in seen:
            problems.append(f"{where}: so_that: the same clause as {seen[norm]}; say what this item does")
        else:
            seen[norm] = where


def _tone_problems(where: str, fields: Mapping[str, str], guardrails: Guardrails, problems: list[str]) -> None:
    for name, text in fields.items():
        for m in find_tone_matches(text, guardrails):
            problems.append(f"{where}: {name}: shaming or judgmental phrase {m.phrase!r} (tone rule {m.rule_id})")


def load_catalog(content_dir: Path | str | None = None, guardrails: Guardrails | None = None) -> Catalog:
    """Load education items, offers and rationale templates, validated against each other and the guardrails."""
    content_dir = Path(content_dir) if content_dir is not None else paths.CONTENT_DIR
    guardrails = guardrails if guardrails is not None else load_guardrails()
    g_shown = guardrails.source
    problems: list[str] = []
    files = {name: content_dir / name for name in CONTENT_FILES}
    shown = {name: display_path(p) for name, p in files.items()}

    def refuse(where: str, product_type: str) -> bool:
        """Record a problem if the product type is refused by the guardrails; True when it was."""
        reason = guardrails.refused_reason(product_type)
        if reason is not None:
            problems.append(f"{where}: product_type {normalize_product_type(product_type)!r} is refused by "
                            f"{g_shown} ({reason})")
        return reason is not None

    parsed = {name: _validate_file(files[name], key, model, problems, refuse if name == OFFERS_FILE else None)
              for name, (key, model) in CONTENT_FILES.items()}
    education, offers, templates = (parsed[n][0] for n in (EDUCATION_FILE, OFFERS_FILE, RATIONALES_FILE))

    ids: dict[str, str] = {}
    _unique_ids(shown[EDUCATION_FILE], "items", education, ids, problems)
    _unique_ids(shown[OFFERS_FILE], "offers", offers, ids, problems)
    template_ids: dict[str, str] = {}
    _unique_ids(shown[RATIONALES_FILE], "templates", templates, template_ids, problems)
    by_id = {t.id: t for _, t in templates}

    for name, key, entries in ((EDUCATION_FILE, "items", education), (OFFERS_FILE, "offers", offers)):
        for i, e in entries:
            where = f"{shown[name]}: {key}[{i}] (id={e.id})"
            if e.rationale_template not in by_id:
                problems.append(f"{where}: rationale_template {e.rationale_template!r} is not defined in "
                                f"{shown[RATIONALES_FILE]}")
            _tone_problems(where, e.text_fields(), guardrails, problems)
            refused = isinstance(e, Offer) and refuse(where, e.product_type)
            if isinstance(e, Offer) and not refused and e.product_type not in guardrails.allowed_product_types:
                problems.append(f"{where}: product_type {e.product_type!r} is not in allowed_product_types "
                                f"of {g_shown}; review it and add it there first")

    _unique_so_that(((shown[name], key, i, e) for name, key, entries in
                     ((EDUCATION_FILE, "items", education), (OFFERS_FILE, "offers", offers)) for i, e in entries),
                    problems)

    for i, t in templates:
        where = f"{shown[RATIONALES_FILE]}: templates[{i}] (id={t.id})"
        _tone_problems(where, {"text": t.text}, guardrails, problems)
        chain, current = [t.id], t.fallback
        while current is not None:
            if current not in by_id:
                problems.append(f"{where}: fallback {current!r} is not defined")
                break
            if current in chain:
                problems.append(f"{where}: fallback cycle {' -> '.join(chain + [current])}")
                break
            chain.append(current)
            current = by_id[current].fallback

    if problems:
        head = f"content catalog in {display_path(content_dir)}: {len(problems)} problem(s)"
        raise ConfigError(problems[0] if len(problems) == 1 else head + "\n" + "\n".join(f"  - {p}" for p in problems))
    return Catalog(
        education=tuple(e for _, e in education),
        offers=tuple(o for _, o in offers),
        templates={t.id: t for _, t in templates},
        version=catalog_version({name: parsed[name][1] for name in CONTENT_FILES}),
        content_dir=content_dir,
    )
