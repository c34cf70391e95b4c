"""The generator's working ledger: transactions as parallel numpy arrays, plus vector helpers.

Amounts are integer cents with Plaid's sign (positive = money out of the account), so balances reconcile
exactly. Text columns are an index into the descriptor catalog (spendsense.generate.catalog).
"""

from __future__ import annotations

from enum import IntEnum

import numpy as np


class Slot(IntEnum):
    """Account slots a user can hold (at most one of each)."""

    CHECKING = 0
    SAVINGS = 1
    CARD1 = 2
    CARD2 = 3
    CARD3 = 4
    MORTGAGE = 5
    STUDENT = 6
    BUSINESS = 7


N_SLOTS = len(Slot)
CARD_SLOTS = (Slot.CARD1, Slot.CARD2, Slot.CARD3)


class Kind(IntEnum):
    """What generated a transaction (drives pending, authorized_date and consistency checks)."""

    PURCHASE = 0  # habitual purchase stream (groceries, gas, dining, coffee)
    ONEOFF = 1  # one-off purchase
    FLOOR = 2  # top-up purchase keeping a paid-in-full card's statement above the floor
    REFUND = 3
    SUBSCRIPTION = 4
    BILL = 5  # utility bill with varying amount
    RENT = 6
    LOAN_PAYMENT = 7  # mortgage, student or car loan payment from checking
    CARD_PAYMENT_OUT = 8  # card payment, checking side
    CARD_PAYMENT_IN = 9  # card payment, card side
    INTEREST = 10  # interest charged on a card
    FEE = 11  # overdraft / NSF fee on checking
    PAYROLL = 12
    TO_SAVINGS = 13  # checking side of a transfer to savings
    SAVINGS_IN = 14  # savings side of a transfer from checking
    SAVINGS_OUT = 15  # savings side of a withdrawal to checking
    FROM_SAVINGS = 16  # checking side of a withdrawal from savings
    SAVINGS_INTEREST = 17
    ATM = 18
    BUSINESS = 19  # activity on a business account
    LATE_FEE = 20  # late fee on a card
    PENSION = 21


PENDING_KINDS = (Kind.PURCHASE, Kind.ONEOFF)


def kind_flags(kinds) -> np.ndarray:
    """Lookup table: flags[kind] is True for the given kinds (fast membership on millions of rows)."""
    flags = np.zeros(max(Kind) + 1, dtype=bool)
    flags[list(kinds)] = True
    return flags


NULL_AUTH_KINDS = (Kind.INTEREST, Kind.FEE, Kind.LATE_FEE, Kind.PAYROLL, Kind.PENSION, Kind.SAVINGS_INTEREST)

FIELDS = {
    "user": np.int32,
    "slot": np.int8,
    "day": np.int32,
    "cents": np.int64,
    "desc": np.int32,
    "kind": np.int8,
    "pending": np.bool_,
}


class Ledger:
    """Collects transaction batches; `columns()` concatenates them once."""

    def __init__(self) -> None:
        self._parts: list[dict[str, np.ndarray]] = []

    def add(self, *, user, slot, day, cents, desc, kind, pending=False) -> None:
        """Append a batch; scalars broadcast to the batch length."""
        n = max(np.size(x) for x in (user, slot, day, cents, desc, kind, pending))
        if n == 0 or min(np.size(x) for x in (user, slot, day, cents, desc, kind, pending)) == 0:
            return
        part = {}
        for name, value in (
            ("user", user),
            ("slot", slot),
            ("day", day),
            ("cents", cents),
            ("desc", desc),
            ("kind", kind),
            ("pending", pending),
        ):
            arr = np.asarray(value).astype(FIELDS[name], copy=False)
            part[name] = np.broadcast_to(arr, (n,)) if arr.ndim == 0 else arr
        if any(len(v) != n for v in part.values()):
            raise ValueError("ledger batch with columns of different lengths")
        self._parts.append(part)

    def release(self) -> dict[str, np.ndarray]:
        """Every column, handing the arrays over (the ledger is empty afterwards, so memory can be freed)."""
        out = self.columns()
        self._parts = []
        return out

    def columns(self) -> dict[str, np.ndarray]:
        """Every column concatenated over all batches (in insertion order)."""
        if not self._parts:
            return {k: np.zeros(0, dtype=t) for k, t in FIELDS.items()}
        out = {
            k: np.concatenate([p[k] for p in self._parts]).astype(t, copy=False) for k, t in FIELDS.items()
        }
        self._parts = [out]
        return out


def group_arange(counts: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """For groups of the given sizes: the group of every element and its position within the group."""
    counts = np.asarray(counts, dtype=np.int64)
    owner = np.repeat(np.arange(len(counts)), counts)
    starts = np.cumsum(counts) - counts
    position = np.arange(owner.size, dtype=np.int64) - starts[owner]
    return owner, position


def choice_by_weights(rng: np.random.Generator, weights, size: int) -> np.ndarray:
    """Indices drawn with the given (unnormalised) weights."""
    w = np.asarray(list(weights), dtype=float)
    return rng.choice(len(w), size=size, p=w / w.sum())


def uniform(rng: np.random.Generator, bounds, size) -> np.ndarray:
    """Uniform draws within a [low, high] pair."""
    return rng.uniform(bounds[0], bounds[1], size)


def integers(rng: np.random.Generator, bounds, size) -> np.ndarray:
    """Integer draws within an inclusive [low, high] pair."""
    return rng.integers(int(bounds[0]), int(bounds[1]) + 1, size)


def to_cents(dollars: np.ndarray) -> np.ndarray:
    """Round dollar amounts to integer cents."""
    return np.rint(np.asarray(dollars, dtype=float) * 100).astype(np.int64)
