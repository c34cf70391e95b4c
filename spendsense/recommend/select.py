"""The candidate funnel: every (consenting user-window) x catalog entry, scored, filtered and ranked at once.

Candidates are numpy matrices (rows = user-windows in (user_id, window_days) order, columns = catalog entries
in (kind, item_id) order), so every stage is a handful of vector operations, never a loop per user:

1. eligibility - offers: spendsense.guardrails.offer_eligibility (refused product types never pass);
   education always passes;
2. persona_match - component 1.0 when the entry is tagged with the assigned persona, 0.5 when tagged with another
   persona the user matched, else 0;
3. signal_triggers - component = triggers matched / triggers total (0 without triggers); a targeted item whose
   triggers all fail is removed here as not relevant, whatever its persona tags (tags only raise the score);
   `audience: general` items pass (nothing is padded);
4. recency - removed when delivered to the same user (any window) within recency_days before the run;
5. business_rules - score = weights . components; per (user-window, kind) ranked by score, ties by item_id;
   per-partner cap on offers; at most one general item per user-window; at most `max` of each kind; offers only
   when an education item is shown.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass

import numpy as np
import pandas as pd

from spendsense.content import PERSONA_TAGS, Catalog, EducationItem, Guardrails, Offer, ScoringConfig
from spendsense.content.memo import by_identity
from spendsense.content.triggers import ConditionMasks
from spendsense.guardrails import offer_eligibility

KEYS = ["user_id", "window_days"]
KINDS = ("education", "offer")
STAGES = ("consent", "eligibility", "persona_match", "signal_triggers", "recency", "business_rules", "rationale",
          "tone")
STAGE_CODE = {s: i + 1 for i, s in enumerate(STAGES)}  # the stage where a candidate was removed
SELECTED = 0  # not removed

# reasons a candidate was cut by the business rules
CUT_NONE, CUT_MAX, CUT_PARTNER, CUT_NO_EDUCATION, CUT_GENERAL = 0, 1, 2, 3, 4
MAX_GENERAL = 1  # general-audience items per user-window
MAX_TRIGGERS = 8  # triggers per entry tracked as bits (the catalog uses at most 3)


@dataclass(frozen=True)
class Items:
    """The catalog entries as aligned arrays, in (kind, item_id) order."""

    entries: tuple[EducationItem | Offer, ...]
    item_id: np.ndarray
    kind: np.ndarray
    version: np.ndarray
    title: np.ndarray
    partner: np.ndarray  # None for education
    product_type: np.ndarray  # None for education
    priority: np.ndarray
    template: np.ndarray  # requested rationale template id
    n_triggers: np.ndarray
    tags: np.ndarray  # (entries x PERSONA_TAGS) bool
    general: np.ndarray  # bool: audience general (shown without a trigger)
    so_that: np.ndarray  # what the item does for the person (appended to its rationale)

    def columns(self, kind: str) -> np.ndarray:
        """Column positions of one kind (education or offer)."""
        return np.flatnonzero(self.kind == kind)

    @property
    def is_offer(self) -> np.ndarray:
        return self.kind == "offer"

    def position(self, item_ids) -> np.ndarray:
        """Column positions of item ids (-1 for ids not in the catalog)."""
        return pd.Index(self.item_id).get_indexer(pd.Index(item_ids, dtype=object))


_ITEMS: dict[int, tuple[Catalog, Items]] = {}


def catalog_items(catalog: Catalog) -> Items:
    """The catalog as aligned arrays, education then offers, each by item_id (built once per catalog object)."""
    return by_identity(_ITEMS, catalog, _catalog_items, cap=64)


def _catalog_items(catalog: Catalog) -> Items:
    entries = tuple(sorted(catalog.education, key=lambda e: e.id)) + tuple(sorted(catalog.offers, key=lambda e: e.id))
    for e in entries:
        if len(e.triggers) > MAX_TRIGGERS:
            raise ValueError(f"catalog entry {e.id}: more than {MAX_TRIGGERS} triggers")
    tag_pos = {t: i for i, t in enumerate(PERSONA_TAGS)}
    tags = np.zeros((len(entries), len(PERSONA_TAGS)), dtype=bool)
    for i, e in enumerate(entries):
        tags[i, [tag_pos[t] for t in e.persona_tags]] = True
    obj = lambda values: np.array(list(values), dtype=object)
    return Items(
        entries=entries,
        item_id=obj(e.id for e in entries),
        kind=obj("offer" if isinstance(e, Offer) else "education" for e in entries),
        version=np.array([e.version for e in entries], dtype=np.int64),
        title=obj(e.title for e in entries),
        partner=obj(getattr(e, "partner", None) for e in entries),
        product_type=obj(getattr(e, "product_type", None) for e in entries),
        priority=np.array([e.priority for e in entries], dtype=float),
        template=obj(e.rationale_template for e in entries),
        n_triggers=np.array([len(e.triggers) for e in entries], dtype=np.int64),
        tags=tags,
        general=np.array([e.audience == "general" for e in entries], dtype=bool),
        so_that=obj(e.so_that for e in entries),
    )


@dataclass
class Candidates:
    """Every candidate's stage outcomes and score components (rows x entries matrices)."""

    keys: pd.DataFrame  # user_id, window_days of each row
    items: Items
    eligible: np.ndarray
    eligibility_failures: pd.DataFrame  # row, col, reason, rules: one per ineligible (row, offer)
    persona: np.ndarray  # component in {0, 0.5, 1}
    trig_matched: np.ndarray
    trig_bits: np.ndarray
    signal: np.ndarray  # component
    relevant: np.ndarray
    days_since: np.ndarray  # days since last delivered to the user (NaN = never)
    recent: np.ndarray
    freshness: np.ndarray
    priority: np.ndarray  # component (per entry, broadcast)
    score: np.ndarray

    @property
    def shape(self) -> tuple[int, int]:
        return self.eligible.shape

    def alive(self) -> np.ndarray:
        """Candidates that pass stages 1-4 (eligible, relevant, not shown recently)."""
        return self.eligible & self.relevant & ~self.recent

    def removed_stage(self) -> np.ndarray:
        """The stage code (STAGE_CODE) where each candidate fell before the business rules; 0 if it survived."""
        out = np.zeros(self.shape, dtype=np.int8)
        out[self.recent] = STAGE_CODE["recency"]
        out[~self.relevant] = STAGE_CODE["signal_triggers"]
        out[~self.eligible] = STAGE_CODE["eligibility"]
        return out


def _persona_components(items: Items, persona_id: np.ndarray, matched: pd.Series) -> np.ndarray:
    """1.0 tagged with the assigned persona, 0.5 with another matched persona, else 0 (rows x entries)."""
    tag_pos = pd.Index(PERSONA_TAGS)
    own_idx = tag_pos.get_indexer(pd.Index(persona_id, dtype=object))
    if (own_idx < 0).any():
        bad = persona_id[np.flatnonzero(own_idx < 0)[0]]
        raise ValueError(f"persona_assignments: unknown persona_id {bad!r}; expected one of {list(PERSONA_TAGS)}")
    n = len(persona_id)
    own = np.zeros((n, len(PERSONA_TAGS)), dtype=bool)
    own[np.arange(n), own_idx] = True
    other = np.zeros_like(own)
    lists = matched.reset_index(drop=True)
    exploded = lists.explode().dropna()
    if len(exploded):
        cols = tag_pos.get_indexer(pd.Index(exploded.to_numpy(dtype=object)))
        keep = cols >= 0
        other[exploded.index.to_numpy()[keep], cols[keep]] = True
    tags = items.tags.astype(np.int32).T
    own_hit = own.astype(np.int32) @ tags > 0
    other_hit = other.astype(np.int32) @ tags > 0
    return np.where(own_hit, 1.0, np.where(other_hit, 0.5, 0.0))


def _triggers(items: Items, signals: pd.DataFrame) -> tuple[np.ndarray, np.ndarray]:
    """Matched-trigger counts and bit sets (bit j = the entry's j-th trigger holds), rows x entries."""
    frame = signals.reset_index(drop=True)
    n, m = len(frame), len(items.entries)
    matched = np.zeros((n, m), dtype=np.int16)
    bits = np.zeros((n, m), dtype=np.uint8)
    masks = ConditionMasks(frame)
    for e_idx, entry in enumerate(items.entries):
        for j, trig in enumerate(entry.triggers):
            hit = masks(trig)
            matched[:, e_idx] += hit
            bits[:, e_idx] |= (hit.astype(np.uint8) << j)
    return matched, bits


def _days_since_delivery(keys: pd.DataFrame, items: Items, history: pd.DataFrame,
                         created_at: dt.datetime) -> np.ndarray:
    """Days between the run and the last delivery of each entry to each row's user (NaN = never delivered)."""
    n, m = len(keys), len(items.entries)
    out = np.full((n, m), np.nan)
    if history is None or not len(history):
        return out
    created = pd.Timestamp(created_at)
    hist = history[["user_id", "item_id", "delivered_at"]].copy()
    hist["delivered_at"] = pd.to_datetime(hist["delivered_at"])
    if getattr(hist["delivered_at"].dt, "tz", None) is not None:
        hist["delivered_at"] = hist["delivered_at"].dt.tz_convert("UTC").dt.tz_localize(None)
    if created.tzinfo is not None:
        created = created.tz_convert("UTC").tz_localize(None)
    hist = hist[hist["delivered_at"] <= created]
    codes, uniques = pd.factorize(keys["user_id"].to_numpy(dtype=object))
    u = pd.Index(uniques).get_indexer(pd.Index(hist["user_id"].to_numpy(dtype=object)))
    c = items.position(hist["item_id"].to_numpy(dtype=object))
    keep = (u >= 0) & (c >= 0)
    if not keep.any():
        return out
    days = ((created - hist["delivered_at"]).to_numpy()[keep] / np.timedelta64(1, "D")).astype(float)
    per_user = np.full((len(uniques), m), np.inf)
    np.minimum.at(per_user, (u[keep], c[keep]), days)
    per_user[np.isinf(per_user)] = np.nan
    return per_user[codes]


def score_candidates(signals: pd.DataFrame, personas: pd.DataFrame, features: pd.DataFrame,
                     history: pd.DataFrame, items: Items, scoring: ScoringConfig, guardrails: Guardrails,
                     created_at: dt.datetime) -> Candidates:
    """Stages 1-4 and the score of every candidate.

    signals, personas and features are aligned row by row (one row per user-window in (user_id, window_days)
    order): signals_wide rows, their persona_assignments (persona_id, matched_personas), and
    eligibility_features rows (avg_monthly_income, credit_score, max_utilization, account_subtypes).
    history: deliveries (user_id, item_id, delivered_at); only those at or before created_at count.
    """
    keys = signals[KEYS].reset_index(drop=True)
    n, m = len(keys), len(items.entries)
    for name, frame in (("persona_assignments", personas), ("eligibility features", features)):
        if len(frame) != n or not (frame["user_id"].to_numpy(dtype=object) == keys["user_id"].to_numpy(dtype=object)).all() \
                or not (frame["window_days"].to_numpy() == keys["window_days"].to_numpy()).all():
            raise ValueError(f"{name} rows are not aligned with signals_wide rows")

    # 1. eligibility
    eligible = np.ones((n, m), dtype=bool)
    offer_cols = items.columns("offer")
    failures = pd.DataFrame({"row": np.zeros(0, np.int64), "col": np.zeros(0, np.int64),
                             "reason": np.zeros(0, object), "rules": np.zeros(0, object)})
    if len(offer_cols) and n:
        situation = {t.signal for c in offer_cols for t in items.entries[c].eligibility.situation}
        extra = {s: signals[s].to_numpy() for s in sorted(situation - set(features.columns)) if s in signals}
        if extra:
            features = features.reset_index(drop=True).assign(**extra)
        elig = offer_eligibility([items.entries[c] for c in offer_cols], features, guardrails)
        ok = elig["eligible"].to_numpy(dtype=bool).reshape(n, len(offer_cols))
        got_users = elig["user_id"].to_numpy(dtype=object).reshape(n, len(offer_cols))[:, 0]
        if not (got_users == keys["user_id"].to_numpy(dtype=object)).all():
            raise ValueError("user-windows must be sorted by (user_id, window_days) and unique")
        eligible[:, offer_cols] = ok
        bad = np.flatnonzero(~ok.ravel())
        rule_cols = [c for c in elig.columns if c.startswith("pass_")]
        code = np.zeros(len(bad), dtype=np.int64)
        for k, rc in enumerate(rule_cols):
            code |= (~elig[rc].to_numpy(dtype=bool)[bad]).astype(np.int64) << k
        uniq, inverse = np.unique(code, return_inverse=True)
        names = np.array([",".join(rc[5:] for k, rc in enumerate(rule_cols) if u >> k & 1) for u in uniq],
                         dtype=object)
        rules = names[inverse.ravel()] if len(bad) else np.zeros(0, dtype=object)
        r, j = np.divmod(bad, len(offer_cols))
        failures = pd.DataFrame({"row": r, "col": offer_cols[j], "reason": elig["reason"].to_numpy(dtype=object)[bad],
                                 "rules": rules})

    # 2. persona match, 3. signal triggers and relevance
    persona = _persona_components(items, personas["persona_id"].to_numpy(dtype=object),
                                  personas["matched_personas"])
    matched, bits = _triggers(items, signals)
    total = items.n_triggers[None, :]
    signal = np.where(total > 0, matched / np.maximum(total, 1), 0.0)
    relevant = (matched > 0) | items.general[None, :]

    # 4. recency, freshness
    days = _days_since_delivery(keys, items, history, created_at)
    recent = np.nan_to_num(days, nan=np.inf) < scoring.recency_days
    freshness = scoring.freshness_score(pd.Series(days.ravel())).to_numpy(dtype=float).reshape(n, m)

    w = scoring.weights
    priority = np.broadcast_to(items.priority[None, :], (n, m))
    score = w.persona * persona + w.signal * signal + w.priority * priority + w.freshness * freshness
    return Candidates(keys, items, eligible, failures, persona, matched, bits, signal, relevant, days, recent,
                      freshness, priority, score)


@dataclass
class Selection:
    """Outcome of the business rules (rows x entries)."""

    selected: np.ndarray
    rank: np.ndarray  # 1 = best per (row, kind); 0 when not selected
    cut: np.ndarray  # CUT_* code for alive candidates that were not selected
    position: np.ndarray  # 1-based position among the row's kept candidates of that kind (after the cap)


def apply_business_rules(score: np.ndarray, alive: np.ndarray, items: Items, scoring: ScoringConfig) -> Selection:
    """Rank alive candidates per (row, kind) by score (ties: item_id), cap per partner, keep one general item at
    most, keep the top `max` of each kind, and show offers only where at least one education item is shown."""
    n, m = score.shape
    selected = np.zeros((n, m), dtype=bool)
    rank = np.zeros((n, m), dtype=np.int16)
    cut = np.zeros((n, m), dtype=np.int8)
    position = np.zeros((n, m), dtype=np.int16)
    rows = np.arange(n)[:, None]
    for kind, limit in (("education", scoring.education.max), ("offer", scoring.offers.max)):
        cols = items.columns(kind)
        if not len(cols) or not n:
            continue
        s = np.where(alive[:, cols], score[:, cols], -np.inf)
        order = np.argsort(-s, axis=1, kind="stable")  # columns are in item_id order: ties -> item_id asc
        live = np.take_along_axis(alive[:, cols], order, axis=1)
        capped = np.zeros_like(live)
        if kind == "offer":
            partners = items.partner[cols][order]
            for p in pd.unique(items.partner[cols]):
                mine = live & (partners == p)
                capped |= mine & (np.cumsum(mine, axis=1) > scoring.per_partner_cap)
        general = live & items.general[cols][order]
        extra_general = general & (np.cumsum(general, axis=1) > MAX_GENERAL)
        kept = live & ~capped & ~extra_general
        pos = np.cumsum(kept, axis=1)
        chosen = kept & (pos <= limit)
        target = cols[order]
        selected[rows, target] = chosen
        rank[rows, target] = np.where(chosen, pos, 0)
        position[rows, target] = np.where(kept, pos, 0)
        cut[rows, target] = np.where(capped, CUT_PARTNER, np.where(extra_general, CUT_GENERAL,
                                                                   np.where(kept & ~chosen, CUT_MAX, CUT_NONE)))
    offers = items.columns("offer")
    if len(offers):
        no_edu = ~selected[:, items.columns("education")].any(axis=1)
        withheld = selected[:, offers] & no_edu[:, None]
        sub_cut = cut[:, offers]
        sub_cut[(alive[:, offers]) & no_edu[:, None] & (sub_cut == CUT_NONE)] = CUT_NO_EDUCATION
        cut[:, offers] = sub_cut
        sel = selected[:, offers]
        sel[withheld] = False
        selected[:, offers] = sel
        r = rank[:, offers]
        r[withheld] = 0
        rank[:, offers] = r
    return Selection(selected, rank, cut, position)
