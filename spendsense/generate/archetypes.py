"""Archetypes: which behaviours each user is drawn with, and the ground truth they plant."""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import pandas as pd

from spendsense.generate.config import MixEntry

PERSONAS = (
    "high_utilization",
    "variable_income_budgeter",
    "subscription_heavy",
    "savings_builder",
    "cash_flow_stressed",
)

# archetype -> the persona its behaviour plants
ARCHETYPE_PERSONA = {
    "credit_stretched": "high_utilization",
    "variable_earner": "variable_income_budgeter",
    "subscriber": "subscription_heavy",
    "saver": "savings_builder",
    "fee_prone": "cash_flow_stressed",
}
ARCHETYPES = tuple(ARCHETYPE_PERSONA)
ORDINARY = "ordinary"


@dataclass(frozen=True)
class Plan:
    """Each user's mix entry and one boolean array per archetype."""

    mix_index: np.ndarray  # int, index into the config's archetype_mix
    flags: dict[str, np.ndarray]  # archetype -> bool per user

    def has(self, archetype: str) -> np.ndarray:
        """Users drawn with this archetype."""
        return self.flags[archetype]

    @property
    def ordinary(self) -> np.ndarray:
        """Users with no archetype (nothing planted)."""
        return ~np.logical_or.reduce([self.flags[a] for a in ARCHETYPES])


def mix_counts(n_users: int, mix: list[MixEntry]) -> np.ndarray:
    """Users per mix entry: exact shares by largest remainder, so small runs get every combination."""
    weights = np.array([m.weight for m in mix], dtype=float)
    quota = weights / weights.sum() * n_users
    counts = np.floor(quota).astype(np.int64)
    remainder = quota - counts
    order = np.lexsort((np.arange(len(mix)), -remainder))  # biggest remainder first, ties by position
    counts[order[: n_users - counts.sum()]] += 1
    return counts


def draw_plan(n_users: int, mix: list[MixEntry], rng: np.random.Generator) -> Plan:
    """Assign every user one mix entry (exact counts, shuffled) and derive archetype flags."""
    counts = mix_counts(n_users, mix)
    mix_index = rng.permutation(np.repeat(np.arange(len(mix)), counts))
    flags = {}
    for archetype in ARCHETYPES:
        member = np.array([archetype in m.archetypes for m in mix], dtype=bool)
        flags[archetype] = member[mix_index]
    return Plan(mix_index=mix_index, flags=flags)


def ground_truth(user_ids: np.ndarray, plan: Plan, mix: list[MixEntry]) -> pd.DataFrame:
    """user_id, archetypes (comma-joined, 'ordinary' if none), planted_personas (comma-joined persona ids)."""
    labels = []
    personas = []
    for m in mix:
        ordered = [a for a in ARCHETYPES if a in m.archetypes]
        labels.append(",".join(ordered) if ordered else ORDINARY)
        personas.append(",".join(p for p in PERSONAS if p in {ARCHETYPE_PERSONA[a] for a in ordered}))
    labels_arr = np.array(labels, dtype=object)
    personas_arr = np.array(personas, dtype=object)
    return pd.DataFrame(
        {
            "user_id": pd.array(user_ids, dtype="str"),
            "archetypes": pd.array(labels_arr[plan.mix_index], dtype="str"),
            "planted_personas": pd.array(personas_arr[plan.mix_index], dtype="str"),
        }
    )
