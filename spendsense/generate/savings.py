"""Savings-like accounts: savers' regular transfers, everyone else's round trips, and monthly interest.

Savers (savings_builder) move a fixed amount every month or every two weeks, anchored back from as_of so
each window holds the planned number of transfers. Other savings holders only park money and take it back
within the same 30-day block (blocks end at as_of, so the 30- and 180-day windows each net to zero) and
earn at most 1% APY: their net inflow stays far below $200 a month and their growth far below 2%.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from spendsense.generate.ledger import Kind, Slot, group_arange, uniform
from spendsense.generate.schedules import anchored
from spendsense.generate.world import World


@dataclass(frozen=True)
class SavingsState:
    """One entry per savings-like account."""

    rows: np.ndarray
    user: np.ndarray
    opening: np.ndarray  # cents
    current: np.ndarray  # cents (posted balance at as_of)


def add_savings(world: World, rng: np.random.Generator) -> SavingsState:
    """Transfers in and out of savings (both sides), interest, and each account's balances."""
    cal, cfg, ledger, cat = world.cal, world.config.savings, world.ledger, world.catalog
    users = np.flatnonzero(world.accounts.has(Slot.SAVINGS))
    m = users.size
    rows = world.accounts.index[users, Slot.SAVINGS]
    local = np.full(world.n, -1, dtype=np.int64)
    local[users] = np.arange(m)
    tier = world.people.income_tier[users]
    bounds = np.array([cfg.opening_low, cfg.opening_middle, cfg.opening_high])[tier]
    opening = np.rint(np.exp(rng.uniform(np.log(bounds[:, 0]), np.log(bounds[:, 1]))) * 100).astype(np.int64)
    saver = world.plan.has("saver")[users]
    funded = (world.plan.has("variable_earner") | world.plan.has("fee_prone"))[users]
    flow_acct, flow_day, flow_cents = [], [], []  # savings-side flows (Plaid sign) for the interest loop

    # savers: a fixed transfer every month (1 in any 30-day window) or every 14 days (2+ in any 30 days)
    s_idx = np.flatnonzero(saver)
    biweekly = rng.random(s_idx.size) < cfg.saver_biweekly_share
    monthly_amount = np.round(uniform(rng, cfg.saver_monthly, s_idx.size) / 25) * 25
    amount = np.where(biweekly, np.round(monthly_amount / 2 / 5) * 5, monthly_amount)
    period = np.where(biweekly, 14.0, 30.4375)
    last_ago = np.where(biweekly, rng.integers(1, 14, s_idx.size), rng.integers(3, 21, s_idx.size))
    owner, _, day = anchored(cal, last_ago, period, np.zeros(s_idx.size, dtype=np.int64))
    cents = (amount[owner] * 100).astype(np.int64)
    who = users[s_idx[owner]]
    ledger.add(
        user=who, slot=Slot.CHECKING, day=day, cents=cents, desc=cat.one("to_savings"), kind=Kind.TO_SAVINGS
    )
    ledger.add(
        user=who, slot=Slot.SAVINGS, day=day, cents=-cents, desc=cat.one("savings_in"), kind=Kind.SAVINGS_IN
    )
    flow_acct.append(s_idx[owner])
    flow_day.append(day)
    flow_cents.append(-cents)

    # everyone else (but variable earners and fee_prone users, whose checking must only fall between
    # paychecks): round trips inside 30-day blocks that end at as_of
    p_idx = np.flatnonzero(~saver & ~funded)
    n_blocks = cal.T // 30
    owner, block = group_arange(np.full(p_idx.size, n_blocks))
    take_it = rng.random(owner.size) < cfg.pair_probability
    owner, block = owner[take_it], block[take_it]
    block_first = cal.T - 30 * block - 29
    d_in = block_first + rng.integers(0, 15, owner.size)
    d_out = d_in + rng.integers(3, 15, owner.size)
    x = (np.round(uniform(rng, cfg.pair_amount, owner.size) / 5) * 5 * 100).astype(np.int64)
    who = users[p_idx[owner]]
    for d, sign_checking, desc_chk, desc_sav, kind_chk, kind_sav in (
        (d_in, 1, "to_savings", "savings_in", Kind.TO_SAVINGS, Kind.SAVINGS_IN),
        (d_out, -1, "from_savings", "savings_out", Kind.FROM_SAVINGS, Kind.SAVINGS_OUT),
    ):
        ledger.add(
            user=who,
            slot=Slot.CHECKING,
            day=d,
            cents=sign_checking * x,
            desc=cat.one(desc_chk),
            kind=kind_chk,
        )
        ledger.add(
            user=who,
            slot=Slot.SAVINGS,
            day=d,
            cents=-sign_checking * x,
            desc=cat.one(desc_sav),
            kind=kind_sav,
        )
        flow_acct.append(p_idx[owner])
        flow_day.append(d)
        flow_cents.append(-sign_checking * x)

    # monthly interest on the month-end balance
    acct = np.concatenate(flow_acct)
    fday = np.concatenate(flow_day)
    fcents = np.concatenate(flow_cents)
    apy = uniform(rng, cfg.apy_percent, m)
    balance = opening.copy()  # money in the account (positive), updated month by month
    month_of_flow = cal.month_index(fday)
    inflow_by_month = np.zeros((m, cal.n_months), dtype=np.int64)
    np.add.at(inflow_by_month, (acct, month_of_flow), -fcents)
    int_acct, int_day, int_cents = [], [], []
    for month in range(cal.n_months):
        balance = balance + inflow_by_month[:, month]
        month_end = cal.month_first[month + 1] - 1
        if month_end > cal.T:
            break
        interest = np.rint(np.maximum(balance, 0) * apy / 100 / 12).astype(np.int64)
        paid = interest > 0
        int_acct.append(np.flatnonzero(paid))
        int_day.append(np.full(paid.sum(), month_end))
        int_cents.append(interest[paid])
        balance = balance + interest
    ia = np.concatenate(int_acct) if int_acct else np.zeros(0, dtype=np.int64)
    ledger.add(
        user=users[ia],
        slot=Slot.SAVINGS,
        day=np.concatenate(int_day) if int_day else ia,
        cents=-(np.concatenate(int_cents) if int_cents else ia),
        desc=cat.one("savings_interest"),
        kind=Kind.SAVINGS_INTEREST,
    )
    flows_total = np.bincount(acct, weights=fcents, minlength=m).astype(np.int64)
    interest_total = (
        np.bincount(ia, weights=np.concatenate(int_cents) if int_cents else None, minlength=m).astype(
            np.int64
        )
        if ia.size
        else np.zeros(m, dtype=np.int64)
    )
    current = opening - flows_total + interest_total
    return SavingsState(rows=rows, user=users, opening=opening, current=current)
