"""Users (Faker names, demographics, credit score, signup date) and their consent events."""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass

import numpy as np
import pandas as pd
import pyarrow as pa
import pyarrow.compute as pc
from faker import Faker

from spendsense import schema
from spendsense.generate.archetypes import Plan
from spendsense.generate.calendar import Calendar
from spendsense.generate.config import GeneratorConfig
from spendsense.generate.frames import padded, take, to_frame
from spendsense.generate.ledger import choice_by_weights

STRAINED = ("credit_stretched", "variable_earner", "fee_prone")
SCORE_MEAN = {"credit_stretched": 640, "fee_prone": 610, "variable_earner": 670, "saver": 765}


def user_ids(n_users: int) -> pa.Array:
    """u00001 ... zero-padded to at least 5 digits (or the digits of n_users)."""
    return padded("u", np.arange(1, n_users + 1), max(5, len(str(n_users))))


@dataclass(frozen=True)
class People:
    """Per-user attributes the later stages condition on."""

    ids: pa.Array
    age_band: np.ndarray  # index into ENUMS["age_band"]
    gender: np.ndarray
    region: np.ndarray
    income_tier: np.ndarray  # 0 low, 1 middle, 2 high
    annual_income: np.ndarray  # gross dollars
    credit_score: np.ndarray
    created_day: np.ndarray  # day index (may be before the history start)

    @property
    def n(self) -> int:
        """Number of users."""
        return len(self.ids)

    @property
    def monthly_net(self) -> np.ndarray:
        """Take-home pay per month (75% of gross)."""
        return self.annual_income * 0.75 / 12


def _weighted(rng: np.random.Generator, weights: dict[str, float], enum: str, size: int) -> np.ndarray:
    """Indices into ENUMS[enum] drawn with the config's weights."""
    values = schema.ENUMS[enum]
    return choice_by_weights(rng, [weights[v] for v in values], size)


def draw_people(plan: Plan, config: GeneratorConfig, cal: Calendar, rng: np.random.Generator) -> People:
    """Demographics, income and credit score for every user, conditioned on their archetypes."""
    n = plan.mix_index.size
    demo = config.demographics
    age = _weighted(rng, demo.age_band, "age_band", n)
    gender = _weighted(rng, demo.gender, "gender", n)
    region = _weighted(rng, demo.region, "region", n)
    strained = np.logical_or.reduce([plan.has(a) for a in STRAINED])
    tier = np.where(
        strained,
        _weighted(rng, demo.strained_income_tier, "income_tier", n),
        _weighted(rng, demo.income_tier, "income_tier", n),
    )
    bounds = np.array([demo.annual_income_low, demo.annual_income_middle, demo.annual_income_high])
    lo, hi = bounds[tier, 0], bounds[tier, 1]
    income = np.exp(rng.uniform(np.log(lo), np.log(hi)))
    income = np.round(income, -2)
    mean = np.full(n, 720.0)
    for archetype, m in SCORE_MEAN.items():
        mean = np.where(plan.has(archetype), np.minimum(mean, m) if archetype != "saver" else m, mean)
    score = np.clip(np.rint(rng.normal(mean, 45.0)), 300, 850).astype(np.int32)
    created = cal.T - rng.integers(45, 5 * 365, n)
    return People(
        ids=user_ids(n),
        age_band=age,
        gender=gender,
        region=region,
        income_tier=tier,
        annual_income=income,
        credit_score=score,
        created_day=created,
    )


def fake_names(people: People, seed: int, rng: np.random.Generator) -> pa.Array:
    """Full names drawn (vectorized) from Faker's en_US name lists, first names matching the gender."""
    fake = Faker("en_US")
    fake.seed_instance(seed)
    person = next(p for p in fake.providers if p.__provider__ == "faker.providers.person")
    lists = {
        "female": person.first_names_female,
        "male": person.first_names_male,
        "nonbinary": person.first_names_nonbinary,
    }
    pool: list[str] = []
    first = np.zeros(people.n, dtype=np.int32)
    for gi, gender in enumerate(schema.ENUMS["gender"]):
        mask = people.gender == gi
        names = list(lists[gender].keys())
        weights = np.array(list(lists[gender].values()), dtype=float)
        first[mask] = len(pool) + rng.choice(len(names), int(mask.sum()), p=weights / weights.sum())
        pool.extend(names)
    last_names = list(person.last_names.keys())
    last_w = np.array(list(person.last_names.values()), dtype=float)
    last = rng.choice(len(last_names), people.n, p=last_w / last_w.sum())
    return pc.binary_join_element_wise(take(pool, first), take(last_names, last), " ")


def users_table(people: People, names: pa.Array, cal: Calendar) -> pd.DataFrame:
    """The users table (schema order)."""
    enum = {k: list(schema.ENUMS[k]) for k in ("age_band", "gender", "region", "income_tier")}
    return to_frame(
        "users",
        {
            "user_id": people.ids,
            "name": names,
            "age_band": take(enum["age_band"], people.age_band),
            "gender": take(enum["gender"], people.gender),
            "region": take(enum["region"], people.region),
            "income_tier": take(enum["income_tier"], people.income_tier),
            "credit_score": people.credit_score.astype(np.int32),
            "created_at": pa.array(
                people.created_day + (cal.start - dt.date(1970, 1, 1)).days, pa.int32()
            ).cast(pa.date32()),
        },
    )


def consent_events(
    people: People, config: GeneratorConfig, cal: Calendar, rng: np.random.Generator
) -> pd.DataFrame:
    """Granted at signup (most users), later revoked (a few), granted again (a few of those)."""
    n = people.n
    c = config.consent
    base = np.datetime64(cal.start, "s") + (people.created_day * 86400).astype("timedelta64[s]")
    as_of_end = np.datetime64(cal.as_of, "s") + np.timedelta64(20 * 3600, "s")
    granted = rng.random(n) < c.granted_at_signup
    revoked = granted & (rng.random(n) < c.revoked_share)
    regranted = revoked & (rng.random(n) < c.regranted_share)
    signup_at = base + rng.integers(8 * 3600, 22 * 3600, n).astype("timedelta64[s]")
    span = (as_of_end - signup_at).astype(np.int64)
    revoke_at = signup_at + (span * rng.uniform(0.2, 0.8, n)).astype(np.int64).astype("timedelta64[s]")
    regrant_at = revoke_at + ((as_of_end - revoke_at).astype(np.int64) * rng.uniform(0.1, 0.9, n)).astype(
        np.int64
    ).astype("timedelta64[s]")
    users = np.concatenate([np.flatnonzero(granted), np.flatnonzero(revoked), np.flatnonzero(regranted)])
    when = np.concatenate([signup_at[granted], revoke_at[revoked], regrant_at[regranted]])
    event = np.concatenate(
        [
            np.zeros(granted.sum(), np.int32),
            np.ones(revoked.sum(), np.int32),
            np.zeros(regranted.sum(), np.int32),
        ]
    )  # 0 granted, 1 revoked
    source = np.concatenate(
        [np.zeros(granted.sum(), np.int32), np.ones(revoked.sum() + regranted.sum(), np.int32)]
    )  # 0 signup, 1 app
    order = np.lexsort((when, users))
    users, when, event, source = users[order], when[order], event[order], source[order]
    n_events = users.size
    return to_frame(
        "consent_events",
        {
            "event_id": padded("ce", np.arange(1, n_events + 1), max(6, len(str(n_events)))),
            "user_id": pc.take(people.ids, pa.array(users)),
            "event": take(["granted", "revoked"], event),
            "occurred_at": pa.array(when.astype("datetime64[us]")),
            "source": take(["signup", "app"], source),
            "actor": take(["user"], np.zeros(n_events, dtype=np.int32)),
        },
    )
