"""Business checking accounts (holder_category = business): activity the pipeline must leave out.

They carry their own payouts, software subscriptions (three or more, above $50 a month, so a pipeline that
forgot to exclude them would call their owners subscription-heavy) and supply purchases.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from spendsense.generate.ledger import Kind, Slot, group_arange, to_cents
from spendsense.generate.schedules import anchored, random_gaps
from spendsense.generate.world import World


@dataclass(frozen=True)
class BusinessState:
    """One entry per business account."""

    rows: np.ndarray
    opening: np.ndarray  # cents
    current: np.ndarray  # cents


def add_business(world: World, rng: np.random.Generator) -> BusinessState:
    """Payouts, subscriptions and supplies on every business account, and its balances."""
    cal, cat, ledger = world.cal, world.catalog, world.ledger
    users = np.flatnonzero(world.accounts.has(Slot.BUSINESS))
    m = users.size
    rows = world.accounts.index[users, Slot.BUSINESS]
    flows_u, flows_d, flows_c = [], [], []

    def add(owner_local, day, cents, desc, kind=Kind.BUSINESS):
        ledger.add(user=users[owner_local], slot=Slot.BUSINESS, day=day, cents=cents, desc=desc, kind=kind)
        flows_u.append(owner_local)
        flows_d.append(day)
        flows_c.append(np.broadcast_to(np.asarray(cents, dtype=np.int64), day.shape))

    weekly_revenue = rng.uniform(300, 3000, m)
    owner, _, day = anchored(cal, rng.integers(0, 7, m), np.full(m, 7.0), np.zeros(m, dtype=np.int64))
    add(
        owner,
        day,
        -to_cents(weekly_revenue[owner] * rng.uniform(0.6, 1.4, owner.size)),
        cat.one("business_revenue"),
    )
    subs = cat.group("business_subscription")
    prices = cat.attrs["business_subscription_price"]
    owner_s, j = group_arange(np.full(m, subs.size))
    owner, _, day = anchored(
        cal,
        rng.integers(2, 25, owner_s.size),
        np.full(owner_s.size, 30.4375),
        np.zeros(owner_s.size, dtype=np.int64),
    )
    add(owner_s[owner], day, to_cents(prices[j[owner]]), subs[j[owner]])
    supplies = cat.group("business_supplies")
    owner, _, day = random_gaps(cal, np.full(m, 10), np.full(m, 30), rng)
    add(
        owner,
        day,
        to_cents(rng.uniform(40, 900, owner.size)),
        supplies[rng.integers(0, supplies.size, owner.size)],
    )
    u = np.concatenate(flows_u) if flows_u else np.zeros(0, dtype=np.int64)
    d = np.concatenate(flows_d) if flows_d else np.zeros(0, dtype=np.int64)
    c = np.concatenate(flows_c) if flows_c else np.zeros(0, dtype=np.int64)
    days = cal.T + 1
    flows = np.bincount(u * days + d, weights=c, minlength=m * days).reshape(m, days)
    cum = np.cumsum(flows, axis=1)
    opening = np.rint(np.maximum(cum.max(axis=1, initial=0), 0) + rng.uniform(1000, 20000, m) * 100).astype(
        np.int64
    )
    current = opening - np.rint(cum[:, -1] if m else np.zeros(0)).astype(np.int64)
    return BusinessState(rows=rows, opening=opening, current=current)
