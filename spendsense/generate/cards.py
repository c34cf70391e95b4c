"""Credit cards: monthly statements simulated for all cards at once (a loop over months, not over cards).

For every card and cycle: the previous statement is paid (in full, the minimum, or a share), interest is
charged on the statement date on any carried balance, and the new statement balance is
previous - payment + purchases + interest. So a card's current balance equals its opening balance plus the
sum of its posted transactions, to the cent, and its liability row (minimum payment, last payment, last
statement, interest) is read from the same simulation.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import pandas as pd
import pyarrow as pa

from spendsense.generate.frames import dates, money, take, to_frame
from spendsense.generate.ledger import CARD_SLOTS, Kind, Slot, to_cents, uniform
from spendsense.generate.world import World

TRANSACTOR, MIN_PAYER, PARTIAL_PAYER = 0, 1, 2
MIN_PAYMENT_FLOOR = 2500  # cents


@dataclass(frozen=True)
class CardState:
    """One entry per credit card, after the simulation."""

    rows: np.ndarray
    user: np.ndarray
    behavior: np.ndarray
    stretched: np.ndarray
    overdue: np.ndarray
    apr: np.ndarray
    cash_apr: np.ndarray  # NaN when the card has no cash APR row
    opening: np.ndarray  # cents, balance at the history's first day
    current: np.ndarray  # cents, posted balance at as_of
    limit: np.ndarray  # cents
    pending: np.ndarray  # cents of pending purchases
    last_statement_day: np.ndarray
    last_statement_balance: np.ndarray
    minimum_payment: np.ndarray
    next_due_day: np.ndarray
    last_payment_day: np.ndarray  # -1 when none
    last_payment_amount: np.ndarray
    interest_last: np.ndarray  # interest charged on the last statement
    subject_last: np.ndarray  # balance the last interest was charged on


def minimum_payment(balance: np.ndarray, interest: np.ndarray) -> np.ndarray:
    """Minimum due: the balance below $25, else the larger of $25 and 1% of the balance plus interest."""
    floor = np.maximum(MIN_PAYMENT_FLOOR, np.rint(0.01 * balance).astype(np.int64) + interest)
    return np.where(balance <= 0, 0, np.where(balance < MIN_PAYMENT_FLOOR, balance, floor))


def _cycle_of(world: World, statement_dom: np.ndarray, card: np.ndarray, day: np.ndarray) -> np.ndarray:
    """Statement cycle of a card transaction: the month whose statement date is the first on/after the day."""
    month = world.cal.month_index(day)
    dom = day - world.cal.month_first[month] + 1
    return month + (dom > statement_dom[card])


def simulate_cards(world: World, rng: np.random.Generator) -> CardState:
    """Run every card's statements over the history; append floor top-ups, payments and interest."""
    cal, cfg, accounts, ledger = world.cal, world.config.cards, world.accounts, world.ledger
    is_card = np.isin(accounts.slot, CARD_SLOTS)
    rows = np.flatnonzero(is_card)
    c_count = rows.size
    card_of_row = np.full(accounts.n, -1, dtype=np.int64)
    card_of_row[rows] = np.arange(c_count)
    user = accounts.user[rows]
    slot = accounts.slot[rows]
    stretched = (slot == Slot.CARD1) & world.plan.has("credit_stretched")[user]
    behavior = np.where(
        stretched, np.where(rng.random(c_count) < cfg.min_payer_share, MIN_PAYER, PARTIAL_PAYER), TRANSACTOR
    )
    overdue = stretched & (rng.random(c_count) < cfg.overdue_share)
    apr = np.round(
        np.where(stretched, uniform(rng, cfg.stretched_apr, c_count), uniform(rng, cfg.apr, c_count)), 2
    )
    cash_apr = np.where(
        rng.random(c_count) < cfg.cash_apr_share, np.minimum(apr + rng.uniform(3, 6, c_count), 29.99), np.nan
    )
    statement_dom = rng.integers(1, 29, c_count)
    lag = rng.integers(12, 22, c_count)
    fraction = uniform(rng, cfg.partial_payment_fraction, c_count)
    n_cycles = cal.n_months + 1  # cycle i closes on month i's statement date; the last one is always open
    stmt_day = cal.month_first[None, :n_cycles] + statement_dom[:, None] - 1  # (C, n_cycles)
    is_stmt = stmt_day <= cal.T
    # monthly purchases (posted card transactions so far), by card and cycle
    tx = ledger.columns()
    on_card = np.isin(tx["slot"], CARD_SLOTS)
    acc_row = accounts.index[tx["user"][on_card], tx["slot"][on_card]]
    card = card_of_row[acc_row]
    posted = ~tx["pending"][on_card]
    day = tx["day"][on_card]
    cycle = _cycle_of(world, statement_dom, card, day)
    purchases = (
        np.bincount(
            (card * n_cycles + cycle)[posted],
            weights=tx["cents"][on_card][posted],
            minlength=c_count * n_cycles,
        )
        .reshape(c_count, n_cycles)
        .astype(np.int64)
    )
    pending = np.bincount(card[~posted], weights=tx["cents"][on_card][~posted], minlength=c_count).astype(
        np.int64
    )
    # floor top-ups: statements paid in full stay above the floor, so the payment clearly beats the minimum
    floor = to_cents(cfg.statement_floor)
    short = (behavior[:, None] == TRANSACTOR) & is_stmt & (purchases < floor)
    sc, si = np.nonzero(short)
    prev_day = np.where(si > 0, stmt_day[sc, np.maximum(si - 1, 0)], stmt_day[sc, 0] - 30)
    lo = np.maximum(prev_day + 1, 0)
    top_day = lo + (rng.random(sc.size) * (stmt_day[sc, si] - lo + 1)).astype(np.int64)
    top_amount = floor - purchases[sc, si] + rng.integers(2000, 8000, sc.size)
    stores = world.catalog.group("floor")
    store_offset = rng.integers(0, stores.size, world.n)
    store = (store_offset[user[sc]] + si + 5 * (slot[sc] - Slot.CARD1)) % stores.size
    ledger.add(
        user=user[sc], slot=slot[sc], day=top_day, cents=top_amount, desc=stores[store], kind=Kind.FLOOR
    )
    np.add.at(purchases, (sc, si), top_amount)
    # opening balance: about one month of purchases for cards paid in full; a large carried balance otherwise
    mean_purchases = np.where(is_stmt, purchases, 0).sum(axis=1) / np.maximum(is_stmt.sum(axis=1), 1)
    income_factor = np.clip(world.people.monthly_net[user] / 4000, 0.5, 2.0)
    opening = np.where(
        stretched,
        to_cents(uniform(rng, cfg.stretched_opening, c_count) * income_factor),
        np.maximum(floor, np.rint(mean_purchases * rng.uniform(0.8, 1.2, c_count)).astype(np.int64)),
    )
    last_stmt = is_stmt.sum(axis=1) - 1  # index of the last statement (>= 11 for 13 months of history)
    # simulate
    balance = opening.copy()  # statement balance of the previous cycle (the opening for cycle 0)
    min_due = minimum_payment(balance, np.zeros(c_count, dtype=np.int64))
    current = np.zeros(c_count, dtype=np.int64)
    open_done = np.zeros(c_count, dtype=bool)
    last_balance = np.zeros(c_count, dtype=np.int64)
    last_min = np.zeros(c_count, dtype=np.int64)
    last_interest = np.zeros(c_count, dtype=np.int64)
    last_subject = np.zeros(c_count, dtype=np.int64)
    last_pay_day = np.full(c_count, -1, dtype=np.int64)
    last_pay_amount = np.zeros(c_count, dtype=np.int64)
    max_balance = opening.copy()
    pay_rows, pay_days, pay_cents = [], [], []
    int_rows, int_days, int_cents = [], [], []
    for i in range(n_cycles):
        active = ~open_done
        prev = stmt_day[:, i - 1] if i > 0 else stmt_day[:, 0] - 30
        pay = np.select(
            [behavior == TRANSACTOR, behavior == MIN_PAYER],
            [balance, min_due],
            np.clip(
                np.rint(fraction * balance).astype(np.int64), np.ceil(1.5 * min_due).astype(np.int64), balance
            ),
        )
        pay = np.where(balance > 0, np.minimum(pay, balance), 0)
        pay_day = np.maximum(prev + lag, 0)
        skipped = overdue & (i - 1 >= last_stmt - 1)  # overdue cards missed their last two payments
        paid = active & (pay > 0) & (pay_day <= cal.T) & ~skipped
        pay = np.where(paid, pay, 0)
        pay_rows.append(np.flatnonzero(paid))
        pay_days.append(pay_day[paid])
        pay_cents.append(pay[paid])
        last_pay_day = np.where(paid, pay_day, last_pay_day)
        last_pay_amount = np.where(paid, pay, last_pay_amount)
        carried = balance - pay
        statement = active & is_stmt[:, i]
        days = stmt_day[:, i] - prev
        interest = np.where(
            statement & (behavior != TRANSACTOR) & (carried > 0),
            np.rint(carried * apr / 100 / 365 * days).astype(np.int64),
            0,
        )
        int_rows.append(np.flatnonzero(interest > 0))
        int_days.append(stmt_day[interest > 0, i])
        int_cents.append(interest[interest > 0])
        new_balance = carried + purchases[:, i] + interest
        closing = active & ~is_stmt[:, i]  # the open cycle: today's balance
        current = np.where(closing, new_balance, current)
        last_balance = np.where(statement, new_balance, last_balance)
        last_interest = np.where(statement, interest, last_interest)
        last_subject = np.where(
            statement, np.where(behavior != TRANSACTOR, np.maximum(carried, 0), 0), last_subject
        )
        new_min = minimum_payment(new_balance, interest)
        last_min = np.where(statement, new_min, last_min)
        max_balance = np.where(statement, np.maximum(max_balance, new_balance), max_balance)
        balance = np.where(statement, new_balance, balance)
        min_due = np.where(statement, new_min, min_due)
        open_done |= closing
    pay_row = np.concatenate(pay_rows)
    ledger.add(
        user=user[pay_row],
        slot=slot[pay_row],
        day=np.concatenate(pay_days),
        cents=-np.concatenate(pay_cents),
        desc=world.catalog.one("card_payment_in"),
        kind=Kind.CARD_PAYMENT_IN,
    )
    ledger.add(
        user=user[pay_row],
        slot=Slot.CHECKING,
        day=np.concatenate(pay_days),
        cents=np.concatenate(pay_cents),
        desc=world.catalog.group("card_payment_out")[accounts.issuer[rows[pay_row]]],
        kind=Kind.CARD_PAYMENT_OUT,
    )
    int_row = np.concatenate(int_rows)
    ledger.add(
        user=user[int_row],
        slot=slot[int_row],
        day=np.concatenate(int_days),
        cents=np.concatenate(int_cents),
        desc=world.catalog.one("interest"),
        kind=Kind.INTEREST,
    )
    # limits: utilization at as_of is planted exactly (posted balance / limit)
    u = np.where(
        stretched,
        uniform(rng, cfg.stretched_utilization, c_count),
        uniform(rng, cfg.ordinary_utilization, c_count),
    )
    hundred = 10000
    transactor_limit = (
        np.maximum.reduce(
            [
                np.ceil(np.maximum(current, 0) / u / hundred),
                np.ceil(max_balance / 0.5 / hundred),
                np.full(c_count, 5.0),
            ]
        )
        * hundred
    )
    stretched_limit = np.maximum(
        np.rint(current / u / hundred) * hundred, np.ceil(max_balance / 0.98 / 1000) * 1000
    )
    stretched_limit = np.clip(
        stretched_limit, np.ceil(current / 0.97 / 1000) * 1000, np.floor(current / 0.52 / 1000) * 1000
    )
    limit = np.where(stretched, stretched_limit, transactor_limit).astype(np.int64)
    last_day = stmt_day[np.arange(c_count), last_stmt]
    next_day = stmt_day[np.arange(c_count), last_stmt + 1]
    next_due = np.where(paid_last_statement(last_pay_day, last_day), next_day, last_day) + 25
    return CardState(
        rows=rows,
        user=user,
        behavior=behavior,
        stretched=stretched,
        overdue=overdue,
        apr=apr,
        cash_apr=cash_apr,
        opening=opening,
        current=current,
        limit=limit,
        pending=pending,
        last_statement_day=last_day,
        last_statement_balance=last_balance,
        minimum_payment=last_min,
        next_due_day=next_due,
        last_payment_day=last_pay_day,
        last_payment_amount=last_pay_amount,
        interest_last=last_interest,
        subject_last=last_subject,
    )


def paid_last_statement(last_pay_day: np.ndarray, last_statement_day: np.ndarray) -> np.ndarray:
    """Whether the latest statement has already been paid (a payment posted after it)."""
    return last_pay_day > last_statement_day


def credit_tables(cards: CardState, ids: pa.Array, cal) -> tuple[pd.DataFrame, pd.DataFrame]:
    """credit_liabilities and credit_aprs rows."""
    account = ids.take(pa.array(cards.rows))
    has_payment = cards.last_payment_day >= 0
    liabilities = to_frame(
        "credit_liabilities",
        {
            "account_id": account,
            "is_overdue": cards.overdue,
            "last_payment_amount": money(cards.last_payment_amount, valid=has_payment),
            "last_payment_date": dates(cal.epoch_day0, cards.last_payment_day, valid=has_payment),
            "last_statement_balance": money(cards.last_statement_balance),
            "last_statement_issue_date": dates(cal.epoch_day0, cards.last_statement_day),
            "minimum_payment_amount": money(cards.minimum_payment),
            "next_payment_due_date": dates(cal.epoch_day0, cards.next_due_day),
        },
    )
    has_cash = ~np.isnan(cards.cash_apr)
    n = cards.rows.size
    order = np.r_[np.arange(n), np.flatnonzero(has_cash)]
    is_cash = np.r_[np.zeros(n, dtype=bool), np.ones(has_cash.sum(), dtype=bool)]
    sort = np.lexsort((is_cash, order))
    order, is_cash = order[sort], is_cash[sort]
    aprs = to_frame(
        "credit_aprs",
        {
            "account_id": account.take(pa.array(order)),
            "apr_type": take(["purchase_apr", "cash_apr"], is_cash.astype(np.int64)),
            "apr_percentage": np.where(is_cash, np.round(cards.cash_apr[order], 2), cards.apr[order]),
            "balance_subject_to_apr": money(np.where(is_cash, 0, cards.subject_last[order])),
            "interest_charge_amount": money(np.where(is_cash, 0, cards.interest_last[order])),
        },
    )
    return liabilities, aprs
