"""Checking accounts: payroll sized to the user's outflows, the opening balance, and overdraft/NSF fees.

Pay is decided last, from the checking outflows already in the ledger:
- regular earners (weekly, biweekly, semi-monthly, monthly) get a fixed paycheck a little above their average
  outflow per pay period; the opening balance keeps their lowest balance at a positive cushion;
- variable earners get a paycheck every 50-75 days that covers exactly the outflows until the next one, so
  their balance returns to a thin trough before each paycheck and sits below one month of spending at as_of;
- fee_prone users (paid every two weeks or twice a month) are "funded" the same way, with a trough of a few
  dollars; on the eve of one payday in the last 30 days and of one earlier in the 180-day window (sometimes
  one more before that) an ATM withdrawal overdraws the account (overdraft fee) or an item bounces (NSF fee);
  that payday's paycheck is larger by the same amount, so the path is back on track afterwards.
Nobody else pays a fee or goes below zero.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from spendsense.generate.ledger import CARD_SLOTS, Kind, Slot, group_arange, integers, to_cents, uniform
from spendsense.generate.world import World

CADENCES = ("weekly", "biweekly", "semi_monthly", "monthly")


@dataclass(frozen=True)
class CheckingState:
    """One entry per personal checking account (every user has one)."""

    rows: np.ndarray
    opening: np.ndarray  # cents
    current: np.ndarray  # cents, posted balance at as_of
    pending: np.ndarray  # cents of pending outflows


def add_late_fees(world: World, rng: np.random.Generator) -> None:
    """A late fee on a card for some fee_prone card holders (before the card simulation sees the month)."""
    cal = world.cal
    cards = world.accounts.card_count()
    who = np.flatnonzero(
        world.plan.has("fee_prone") & (cards > 0) & (rng.random(world.n) < world.config.fees.late_fee_share)
    )
    slot = Slot.CARD1 + (rng.random(who.size) * cards[who]).astype(np.int64)
    day = rng.integers(cal.T - 170, cal.T - 39, who.size)
    world.ledger.add(
        user=who,
        slot=slot,
        day=day,
        cents=to_cents(world.config.fees.late_fee),
        desc=world.catalog.one("late_fee"),
        kind=Kind.LATE_FEE,
    )


def _regular_paydays(
    world: World, users: np.ndarray, cadence: np.ndarray, rng: np.random.Generator
) -> tuple[np.ndarray, np.ndarray]:
    """(user, day) of every regular paycheck: Fridays weekly/biweekly, 15th + month end, or month end."""
    cal = world.cal
    out_u, out_d = [], []
    first_friday = (4 - cal.start.weekday()) % 7
    for c, name in enumerate(CADENCES):
        who = users[cadence == c]
        if name in ("weekly", "biweekly"):
            step = 7 if name == "weekly" else 14
            first = first_friday + np.where(name == "biweekly", 7 * rng.integers(0, 2, who.size), 0)
            counts = (cal.T - first) // step + 1
            owner, k = group_arange(counts)
            out_u.append(who[owner])
            out_d.append(first[owner] + step * k)
        else:
            months = np.arange(cal.n_months)
            ends = cal.month_first[1 : cal.n_months + 1] - 1
            days = [ends] if name == "monthly" else [cal.month_first[months] + 14, ends]
            for d in days:
                d = cal.previous_business_day(d)
                owner, k = group_arange(np.full(who.size, d.size))
                out_u.append(who[owner])
                out_d.append(d[k])
    u, d = np.concatenate(out_u), np.concatenate(out_d)
    keep = (d >= 0) & (d <= cal.T)
    return u[keep], d[keep]


def _variable_paydays(
    world: World, users: np.ndarray, rng: np.random.Generator
) -> tuple[np.ndarray, np.ndarray]:
    """(user, day) of variable paychecks: 50-75 days apart, back from one 4-28 days before as_of."""
    cfg = world.config.income
    cal = world.cal
    lo, hi = cfg.variable_gap_days
    last_ago = integers(rng, cfg.variable_last_pay_days_ago, users.size)
    max_count = cal.T // lo + 2
    owner, k = group_arange(np.full(users.size, max_count))
    gap = rng.integers(lo, hi + 1, owner.size)
    # the gap before the latest paycheck keeps two paychecks inside the 90-day lookback
    first_gap_hi = np.minimum(hi, 88 - last_ago)
    gap = np.where(
        k == 1, lo + (rng.random(owner.size) * (first_gap_hi[owner] - lo + 1)).astype(np.int64), gap
    )
    gap[k == 0] = 0
    back = np.cumsum(gap)
    starts = np.arange(users.size) * max_count
    back = back - back[starts][owner]
    day = cal.T - last_ago[owner] - back
    keep = day >= 0
    return users[owner[keep]], day[keep]


def _spending_mask(world: World, tx: dict[str, np.ndarray]) -> np.ndarray:
    """Transactions that count as spending (docs/signals.md): posted outflows on depository and credit
    accounts, excluding transfers and card payments."""
    cat = world.catalog
    primary = np.array(cat.pfc_primary, dtype=object)
    detailed = np.array(cat.pfc_detailed, dtype=object)
    spend_desc = ~np.isin(primary, ["TRANSFER_IN", "TRANSFER_OUT"]) & (
        detailed != "LOAN_PAYMENTS_CREDIT_CARD_PAYMENT"
    )
    slot_ok = np.zeros(max(Slot) + 1, dtype=bool)
    slot_ok[[Slot.CHECKING, Slot.SAVINGS, *CARD_SLOTS]] = True
    return (tx["cents"] > 0) & ~tx["pending"] & slot_ok[tx["slot"]] & spend_desc[tx["desc"]]


def monthly_spending(world: World, tx: dict[str, np.ndarray]) -> np.ndarray:
    """Average monthly spending per user, the lower of the 30- and 180-day windows (cents)."""
    cal = world.cal
    mask = _spending_mask(world, tx)
    out = []
    for w in (30, 180):
        sel = mask & (tx["day"] > cal.T - w)
        out.append(np.bincount(tx["user"][sel], weights=tx["cents"][sel], minlength=world.n) * 30 / w)
    return np.minimum(out[0], out[1])


def _latest_in(user: np.ndarray, day: np.ndarray, n: int, lo: int, hi: int) -> np.ndarray:
    """Per user, the index (into user/day) of the latest payday within [lo, hi]; -1 when there is none."""
    best_day = np.full(n, -1, dtype=np.int64)
    inside = (day >= lo) & (day <= hi)
    np.maximum.at(best_day, user[inside], day[inside])
    hit = inside & (day == best_day[user])
    out = np.full(n, -1, dtype=np.int64)
    out[user[hit]] = np.flatnonzero(hit)
    return out


def add_payroll_and_fees(world: World, rng: np.random.Generator) -> CheckingState:
    """Payroll for every user, the checking opening balance, and fee_prone users' fees."""
    cal, cfg, cat, ledger = world.cal, world.config, world.catalog, world.ledger
    n, days, T = world.n, cal.T + 1, cal.T
    tx = ledger.columns()
    on_checking = tx["slot"] == Slot.CHECKING
    posted = on_checking & ~tx["pending"]
    pending_out = np.bincount(
        tx["user"][on_checking & tx["pending"]], weights=tx["cents"][on_checking & tx["pending"]], minlength=n
    ).astype(np.int64)
    flows = np.bincount(
        tx["user"][posted].astype(np.int64) * days + tx["day"][posted],
        weights=tx["cents"][posted],
        minlength=n * days,
    ).reshape(n, days)
    cum_out = np.cumsum(flows, axis=1, out=flows)  # net outflow up to each day (float64, exact in cents)
    spend = monthly_spending(world, tx)
    del tx
    monthly_out = np.maximum(cum_out[:, -1] / (days / 30.4375), 20000)

    variable = world.plan.has("variable_earner")
    fee_prone = world.plan.has("fee_prone")
    funded = variable | fee_prone  # pay funds each pay period exactly (see module docstring)
    pension = (
        ~funded
        & world.plan.ordinary
        & (world.people.age_band == 5)
        & (rng.random(n) < cfg.income.pension_share_65plus)
    )
    regular = np.flatnonzero(~variable)
    weights = np.array([cfg.income.cadence_weights.get(c, 0.0) for c in CADENCES])
    cadence = rng.choice(len(CADENCES), regular.size, p=weights / weights.sum())
    # fee_prone hourly workers are paid every two weeks or twice a month (a payday in every 29 days)
    cadence = np.where(fee_prone[regular], np.where(rng.random(regular.size) < 0.6, 1, 2), cadence)
    cadence = np.where(pension[regular], CADENCES.index("monthly"), cadence)
    r_user, r_day = _regular_paydays(world, regular, cadence, rng)
    v_user, v_day = _variable_paydays(world, np.flatnonzero(variable), rng)
    pay_user = np.r_[r_user, v_user]
    pay_day = np.r_[r_day, v_day]
    order = np.lexsort((pay_day, pay_user))
    pay_user, pay_day = pay_user[order], pay_day[order]
    del order, r_user, r_day, v_user, v_day

    # fixed paychecks: a little above the average outflow per pay period (hourly workers vary a few %)
    n_pay = np.bincount(pay_user, minlength=n)
    margin = uniform(rng, cfg.income.margin, n)
    base_pay = np.maximum(np.ceil(cum_out[:, -1] / np.maximum(n_pay, 1) * (1 + margin)), 20000)
    hourly = rng.random(n) < cfg.income.hourly_share
    wiggle = np.where(
        hourly[pay_user],
        rng.uniform(1 - cfg.income.hourly_variation, 1 + cfg.income.hourly_variation, pay_user.size),
        1.0,
    )
    fixed = base_pay[pay_user] * wiggle

    # funded paychecks: the outflows until the next payday; the last one also sets the balance at as_of
    def before(u: np.ndarray, d: np.ndarray) -> np.ndarray:
        """Net checking outflow up to the day before d."""
        return np.where(d > 0, cum_out[u, np.maximum(d - 1, 0)], 0.0)

    has_next = np.r_[pay_user[1:] == pay_user[:-1], False]
    next_day = np.r_[pay_day[1:], 0]
    trough = np.where(
        variable,
        uniform(rng, cfg.income.variable_trough_months, n) * spend,
        uniform(rng, cfg.fees.trough_balance, n) * 100,
    )
    final = np.where(
        variable,
        uniform(rng, cfg.income.variable_buffer_months, n) * spend,
        trough + rng.uniform(0.0, 0.5, n) * spend,
    )
    trough, final = np.rint(trough), np.rint(final)
    gap_pay = np.where(
        has_next,
        before(pay_user, next_day) - before(pay_user, pay_day),
        cum_out[pay_user, -1] - before(pay_user, pay_day) + final[pay_user] - trough[pay_user],
    )
    pay = np.where(funded[pay_user], gap_pay, fixed)
    pay = np.maximum(np.rint(pay), 100).astype(np.int64)

    # opening balance: funded users sit at their trough the day before their first payday; everybody else
    # keeps a cushion above their lowest point
    first = np.r_[True, pay_user[1:] != pay_user[:-1]]
    first_day = np.zeros(n, dtype=np.int64)
    first_day[pay_user[first]] = pay_day[first]
    funded_open = trough + before(np.arange(n), first_day)
    cum_pay = np.bincount(
        pay_user.astype(np.int64) * days + pay_day, weights=pay, minlength=n * days
    ).reshape(n, days)
    np.cumsum(cum_pay, axis=1, out=cum_pay)
    cum_g = cum_out
    cum_g -= cum_pay  # net outflow after pay; balance = opening - cum_g
    del cum_pay
    cushion = np.rint(uniform(rng, cfg.income.cushion_months, n) * monthly_out)
    fixed_open = cushion + np.maximum(cum_g.max(axis=1), 0)
    opening = np.where(funded, funded_open, fixed_open)
    end_balance = opening - cum_g[:, -1]
    del cum_g

    # fee_prone: on the eve of a payday in the last 30 days, one in the 180-day window (maybe one before),
    # an ATM withdrawal overdraws the account (or an item bounces); the next paycheck makes up for it
    f = cfg.fees
    fee_cents = to_cents(f.overdraft_fee)
    events = [_latest_in(pay_user, pay_day, n, T - 28, T), _latest_in(pay_user, pay_day, n, T - 175, T - 36)]
    older = _latest_in(pay_user, pay_day, n, max(T - 330, 1), T - 190)
    events.append(np.where(rng.random(n) < f.older_fee_share, older, -1))
    fee_u, fee_d, fee_kind, atm_cents, bump_idx = [], [], [], [], []
    for idx in events:
        who = np.flatnonzero(fee_prone & (idx >= 0))
        payday_index = idx[who]
        nsf = rng.random(who.size) < f.nsf_share
        depth = uniform(rng, f.overdraft_depth, who.size) * 100
        withdraw = np.where(nsf, 0, np.ceil((trough[who] + depth) / 2000) * 2000).astype(np.int64)
        fee_u.append(who)
        fee_d.append(pay_day[payday_index] - 1)
        fee_kind.append(nsf)
        atm_cents.append(withdraw)
        bump_idx.append(payday_index)
        np.add.at(pay, payday_index, withdraw + fee_cents)
    fee_u, fee_d, fee_kind = np.concatenate(fee_u), np.concatenate(fee_d), np.concatenate(fee_kind)
    atm_cents = np.concatenate(atm_cents)
    if (fee_d < 0).any() or not fee_prone[fee_u].all():
        raise AssertionError("generator bug: a fee outside the history or for a user not fee_prone")
    atm = atm_cents > 0
    ledger.add(
        user=fee_u[atm],
        slot=Slot.CHECKING,
        day=fee_d[atm],
        cents=atm_cents[atm],
        desc=cat.one("atm"),
        kind=Kind.ATM,
    )
    ledger.add(
        user=fee_u,
        slot=Slot.CHECKING,
        day=fee_d,
        cents=fee_cents,
        desc=np.where(fee_kind, cat.one("nsf_fee"), cat.one("overdraft_fee")),
        kind=Kind.FEE,
    )

    employer = cat.group("employer")[rng.integers(0, cat.group("employer").size, n)]
    gig = cat.group("gig")
    gig_pair = rng.integers(0, gig.size, (n, 2))
    desc = np.where(
        pension[pay_user],
        cat.one("pension"),
        np.where(
            variable[pay_user], gig[gig_pair[pay_user, rng.integers(0, 2, pay_user.size)]], employer[pay_user]
        ),
    )
    kind = np.where(pension[pay_user], Kind.PENSION, Kind.PAYROLL)
    ledger.add(user=pay_user, slot=Slot.CHECKING, day=pay_day, cents=-pay, desc=desc, kind=kind)
    # the bumps and the withdrawals/fees cancel out by as_of (each bump lands on a payday <= as_of)
    current = np.rint(end_balance).astype(np.int64)
    return CheckingState(
        rows=world.accounts.index[:, Slot.CHECKING],
        opening=np.rint(opening).astype(np.int64),
        current=current,
        pending=pending_out,
    )
