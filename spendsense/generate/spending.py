"""Everyday outflows: rent, utilities, subscriptions, habitual purchases, one-offs, ATM, car loans.

Design rule (docs/decisions.md): only subscriptions have stable amounts on a weekly or monthly rhythm.
Habitual purchases cycle through low / middle / high amounts (never stable), cheap habits come every 2-4
days (never weekly), one-off merchants never repeat for a user, and utility bills swing by more than 20%.
So users not planted subscription_heavy hold at most two recurring streams.
"""

from __future__ import annotations

import numpy as np

from spendsense.generate.ledger import Kind, Slot, group_arange, integers, to_cents, uniform
from spendsense.generate.schedules import UNSTABLE_PATTERN, anchored, monthly_on_day, random_gaps
from spendsense.generate.world import World


def budget_scale(world: World, rng: np.random.Generator) -> np.ndarray:
    """Each user's monthly everyday-spending budget in dollars (a share of net income)."""
    return world.people.monthly_net * uniform(rng, world.config.spending.spend_scale, world.n)


def add_rent(world: World, rng: np.random.Generator) -> None:
    """Monthly rent around the 1st for users without a mortgage."""
    renters = np.flatnonzero(~world.accounts.has(Slot.MORTGAGE))
    rent = (
        np.round(
            world.people.monthly_net[renters]
            * uniform(rng, world.config.spending.housing_share, renters.size)
            / 5
        )
        * 5
    )
    landlord = world.catalog.group("rent")[rng.integers(0, world.catalog.group("rent").size, renters.size)]
    dom = np.ones(renters.size, dtype=np.int64)
    owner, month, day = monthly_on_day(world.cal, dom, lambda size: rng.choice([-2, -1, 0, 0, 0, 1], size))
    raise_month = rng.integers(4, world.cal.n_months + 8, renters.size)  # lease renewal (may be after as_of)
    amount = rent[owner] * np.where(month >= raise_month[owner], 1.04, 1.0)
    world.ledger.add(
        user=renters[owner],
        slot=Slot.CHECKING,
        day=day,
        cents=to_cents(np.round(amount)),
        desc=landlord[owner],
        kind=Kind.RENT,
    )


def add_utilities(world: World, rng: np.random.Generator) -> None:
    """A monthly electricity bill whose amount swings by more than 20% month to month."""
    users = np.arange(world.n)
    base = rng.uniform(60, 180, world.n) * np.where(world.accounts.has(Slot.MORTGAGE), 1.3, 1.0)
    phase = rng.integers(0, 3, world.n)
    dom = rng.integers(8, 26, world.n)
    owner, month, day = monthly_on_day(world.cal, dom, lambda size: rng.integers(-2, 3, size))
    amount = base[owner] * UNSTABLE_PATTERN[(month + phase[owner]) % 3] * rng.uniform(0.95, 1.05, owner.size)
    provider = world.catalog.group("utility")[rng.integers(0, world.catalog.group("utility").size, world.n)]
    slot = np.where(rng.random(world.n) < 0.25, world.pick_account(users, rng), Slot.CHECKING)
    world.ledger.add(
        user=owner, slot=slot[owner], day=day, cents=to_cents(amount), desc=provider[owner], kind=Kind.BILL
    )


def add_subscriptions(world: World, rng: np.random.Generator) -> None:
    """Stable weekly/monthly subscriptions: 4-7 for subscription_heavy users, 0-2 for everybody else."""
    cat, cfg, cal = world.catalog, world.config.subscriptions, world.cal
    prices = cat.attrs["subscription_price"]
    weekly = cat.attrs["subscription_weekly"]
    monthly_equiv = np.where(weekly, prices * 52 / 12, prices)
    heavy = world.plan.has("subscriber")
    # a random order of the catalog per user; heavy users get an anchor (>= heavy_min_monthly a month) first,
    # so their subscriptions always add up to more than the persona's $50 a month
    keys = rng.random((world.n, prices.size))
    anchors = np.flatnonzero(monthly_equiv >= cfg.heavy_min_monthly)
    anchor = anchors[rng.integers(0, anchors.size, world.n)]
    keys[np.flatnonzero(heavy), anchor[heavy]] = -1.0
    picks = np.argsort(keys, axis=1, kind="stable")
    weights = np.asarray(cfg.ordinary_count_weights, dtype=float)
    ordinary_k = rng.choice(weights.size, world.n, p=weights / weights.sum())
    active_k = np.where(heavy, integers(rng, cfg.heavy_count, world.n), ordinary_k)
    cancelled_k = np.where(heavy, rng.integers(0, cfg.heavy_cancelled_max + 1, world.n), 0)
    user, j = group_arange(active_k + cancelled_k)
    sub = picks[user, j]
    active = j < active_k[user]
    is_weekly = weekly[sub]
    period = np.where(is_weekly, 7.0, 30.4375)
    # the latest date of an active subscription falls 4-24 days (monthly) or 1-6 days (weekly) before as_of,
    # so the 30-day window holds one and the 90-day lookback holds at least three
    last_ago = np.where(is_weekly, rng.integers(1, 7, sub.size), rng.integers(4, 25, sub.size))
    last_ago = np.where(active, last_ago, rng.integers(100, 300, sub.size))  # cancelled ones stopped long ago
    late_start = (~heavy[user]) & (rng.random(sub.size) < 0.4)
    start_day = np.where(late_start, rng.integers(0, cal.T - 120, sub.size), 0)
    start_day = np.where(active, start_day, np.maximum(np.minimum(start_day, cal.T - last_ago - 120), 0))
    owner, k, day = anchored(cal, last_ago, period, start_day)
    jit = rng.choice([-2, -1, 0, 1, 2], owner.size, p=[0.05, 0.2, 0.5, 0.2, 0.05])
    wk = is_weekly[owner]
    jit = np.where(wk, np.clip(jit, -1, 1), jit)
    jit = np.where((k == 0) & wk, np.minimum(jit, last_ago[owner] - 1), jit)
    day = np.clip(day + jit, 0, cal.T)
    noisy = rng.random(sub.size) < 0.3
    change_k = np.where(rng.random(sub.size) < cfg.price_change_share, rng.integers(2, 10, sub.size), 10**6)
    amount = prices[sub][owner] * np.where(noisy[owner], rng.uniform(0.985, 1.025, owner.size), 1.0)
    amount = amount / np.where(k >= change_k[owner], 1.08, 1.0)  # older occurrences before a price rise
    slot = world.pick_account(user, rng)
    world.ledger.add(
        user=user[owner],
        slot=slot[owner],
        day=day,
        cents=to_cents(amount),
        desc=cat.group("subscription")[sub[owner]],
        kind=Kind.SUBSCRIPTION,
    )


def add_habits(world: World, budget: np.ndarray, rng: np.random.Generator) -> None:
    """Groceries, gas, dining and coffee: frequent purchases whose amounts are never stable."""
    cfg = world.config.spending
    cat = world.catalog
    n = world.n
    users = np.arange(n)
    streams = []  # (users, group key, merchant index within group, base $, gap low, gap high)
    grocers = cat.group("grocery").size
    g1 = rng.integers(0, grocers, n)
    grocery_base = np.clip(budget * 0.22 / 4.3, 35, 220)
    streams.append((users, "grocery", g1, grocery_base, 6, 13))
    second = users[rng.random(n) < cfg.second_grocer_share]
    g2 = (g1[second] + 1 + rng.integers(0, grocers - 1, second.size)) % grocers
    streams.append((second, "grocery", g2, np.maximum(grocery_base[second] * 0.6, 32), 12, 24))
    gas = users[rng.random(n) < cfg.gas_share]
    streams.append(
        (gas, "gas", rng.integers(0, cat.group("gas").size, gas.size), rng.uniform(35, 65, gas.size), 7, 16)
    )
    dining = users[rng.random(n) < cfg.dining_share]
    streams.append(
        (
            dining,
            "dining",
            rng.integers(0, cat.group("dining").size, dining.size),
            np.clip(budget[dining] * 0.02, 32, 110) * rng.uniform(0.85, 1.15, dining.size),
            9,
            21,
        )
    )
    coffee = users[rng.random(n) < cfg.coffee_share]
    streams.append(
        (
            coffee,
            "coffee",
            rng.integers(0, cat.group("coffee").size, coffee.size),
            rng.uniform(5, 14, coffee.size),
            2,
            4,
        )
    )
    for who, key, merchant, base, lo, hi in streams:
        owner, k, day = random_gaps(world.cal, np.full(who.size, lo), np.full(who.size, hi), rng)
        phase = rng.integers(0, 3, who.size)
        amount = base[owner] * UNSTABLE_PATTERN[(k + phase[owner]) % 3] * rng.uniform(0.93, 1.07, owner.size)
        slot = world.pick_account(who, rng)
        world.ledger.add(
            user=who[owner],
            slot=slot[owner],
            day=day,
            cents=to_cents(amount),
            desc=cat.group(key)[merchant[owner]],
            kind=Kind.PURCHASE,
            pending=world.pending_flags(day, rng),
        )


def add_oneoffs(world: World, rng: np.random.Generator) -> None:
    """Occasional purchases; a user's k-th one-off goes to the k-th merchant of a rotation (no repeats)."""
    cfg = world.config.spending
    cat = world.catalog
    months = world.cal.T / 30.4375
    rate = uniform(rng, cfg.oneoff_per_month, world.n)
    counts = rng.poisson(rate * months)
    user, _ = group_arange(counts)
    day = rng.integers(0, world.cal.T + 1, user.size)
    order = np.lexsort((day, user))
    user, day = user[order], day[order]
    _, rank = group_arange(counts)
    pool = cat.group("oneoff")
    offset = rng.integers(0, pool.size, world.n)
    merchant = (offset[user] + rank) % pool.size
    lo, hi = cat.attrs["oneoff_low"][merchant], cat.attrs["oneoff_high"][merchant]
    tier_factor = np.array([0.75, 1.0, 1.3])[world.people.income_tier[user]]
    amount = np.clip(np.exp(rng.uniform(np.log(lo), np.log(hi))) * tier_factor, lo, hi * 1.3)
    slot = world.pick_account(user, rng)
    cents = to_cents(amount)
    world.ledger.add(
        user=user,
        slot=slot,
        day=day,
        cents=cents,
        desc=pool[merchant],
        kind=Kind.ONEOFF,
        pending=world.pending_flags(day, rng),
    )
    # no refunds into the checking account of users whose pay is sized to their outflows (their balance
    # only falls between paydays)
    funded = world.plan.has("variable_earner") | world.plan.has("fee_prone")
    refund = (rng.random(user.size) < cfg.refund_share) & ~(funded[user] & (slot == Slot.CHECKING))
    refund_day = day + rng.integers(3, 16, user.size)
    refund &= refund_day <= world.cal.T - 2
    part = np.where(rng.random(user.size) < 0.7, 1.0, rng.uniform(0.3, 0.9, user.size))
    world.ledger.add(
        user=user[refund],
        slot=slot[refund],
        day=refund_day[refund],
        cents=-np.rint(cents[refund] * part[refund]).astype(np.int64),
        desc=pool[merchant[refund]],
        kind=Kind.REFUND,
    )


def add_atm(world: World, rng: np.random.Generator) -> None:
    """Cash withdrawals from checking every 10-35 days for some users."""
    who = np.flatnonzero(rng.random(world.n) < world.config.spending.atm_share)
    owner, _, day = random_gaps(world.cal, np.full(who.size, 10), np.full(who.size, 35), rng)
    amount = rng.choice([40, 60, 80, 100, 140, 200], owner.size)
    world.ledger.add(
        user=who[owner],
        slot=Slot.CHECKING,
        day=day,
        cents=amount * 100,
        desc=world.catalog.one("atm"),
        kind=Kind.ATM,
    )


def add_car_loans(world: World, rng: np.random.Generator) -> None:
    """A fixed monthly car payment from checking for some users (no loan account: the lender is elsewhere)."""
    who = np.flatnonzero(rng.random(world.n) < world.config.accounts.car_loan_share)
    payment = np.round(rng.uniform(250, 650, who.size), 2)
    dom = rng.integers(3, 26, who.size)
    lender = world.catalog.group("car")[rng.integers(0, world.catalog.group("car").size, who.size)]
    owner, _, day = monthly_on_day(world.cal, dom)
    world.ledger.add(
        user=who[owner],
        slot=Slot.CHECKING,
        day=day,
        cents=to_cents(payment[owner]),
        desc=lender[owner],
        kind=Kind.LOAN_PAYMENT,
    )
