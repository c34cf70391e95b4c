"""Which accounts each user holds, and the accounts table once balances are known."""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import pandas as pd
import pyarrow as pa
import pyarrow.compute as pc

from spendsense.generate.archetypes import Plan
from spendsense.generate.catalog import CARD_ISSUERS, MORTGAGE_SERVICERS, STUDENT_SERVICERS
from spendsense.generate.config import GeneratorConfig
from spendsense.generate.frames import constant, money, take, to_frame
from spendsense.generate.ledger import N_SLOTS, Slot, choice_by_weights
from spendsense.generate.users import People

SLOT_CODE = {
    Slot.CHECKING: "chk",
    Slot.SAVINGS: "sav",
    Slot.CARD1: "cc1",
    Slot.CARD2: "cc2",
    Slot.CARD3: "cc3",
    Slot.MORTGAGE: "mtg",
    Slot.STUDENT: "stu",
    Slot.BUSINESS: "biz",
}
SLOT_TYPE = {
    Slot.CHECKING: "depository",
    Slot.SAVINGS: "depository",
    Slot.CARD1: "credit",
    Slot.CARD2: "credit",
    Slot.CARD3: "credit",
    Slot.MORTGAGE: "loan",
    Slot.STUDENT: "loan",
    Slot.BUSINESS: "depository",
}
INSTITUTION = "First Platypus Bank"
CHECKING_NAMES = ["Everyday Checking", "Total Checking", "Advantage Checking", "Essential Checking"]
SAVINGS_NAMES = {
    "savings": "High-Yield Savings",
    "money market": "Money Market",
    "hsa": "Health Savings Account",
    "cash management": "Cash Management",
    "cd": "12-Month CD",
}
CARD_PRODUCTS = [
    "Cash Rewards",
    "Travel Rewards",
    "Platinum",
    "Everyday Rewards",
    "Student Card",
    "Secured Card",
]


@dataclass(frozen=True)
class AccountPlan:
    """Accounts in row order (by user, then slot), with lookups both ways."""

    index: np.ndarray  # (n_users, N_SLOTS) row of the account, -1 when the user does not hold it
    user: np.ndarray  # (n_accounts,) user of each row
    slot: np.ndarray  # (n_accounts,) slot of each row
    mask: np.ndarray  # (n_accounts,) 4-digit number
    variant: np.ndarray  # (n_accounts,) name variant: checking name, savings subtype, card product, servicer
    issuer: np.ndarray  # (n_accounts,) card issuer (cards only, else 0)
    savings_subtypes: tuple[str, ...]

    @property
    def n(self) -> int:
        """Number of accounts."""
        return self.user.size

    def has(self, slot: Slot) -> np.ndarray:
        """Users holding this slot."""
        return self.index[:, slot] >= 0

    def card_count(self) -> np.ndarray:
        """Number of credit cards per user."""
        return (self.index[:, Slot.CARD1 : Slot.CARD3 + 1] >= 0).sum(axis=1)


def draw_accounts(
    plan: Plan, people: People, config: GeneratorConfig, rng: np.random.Generator
) -> AccountPlan:
    """Draw every user's accounts: checking always, savings, 0-3 cards, loans, a few business accounts."""
    n = people.n
    acc = config.accounts
    has = np.zeros((n, N_SLOTS), dtype=bool)
    has[:, Slot.CHECKING] = True
    has[:, Slot.SAVINGS] = plan.has("saver") | (rng.random(n) < acc.savings_share)
    stretched = plan.has("credit_stretched")
    cards = np.where(
        stretched,
        1 + choice_by_weights(rng, acc.stretched_card_count_weights, n),
        choice_by_weights(rng, acc.card_count_weights, n),
    )
    for k, slot in enumerate((Slot.CARD1, Slot.CARD2, Slot.CARD3)):
        has[:, slot] = cards > k
    share = np.array([acc.mortgage_share_low, acc.mortgage_share_middle, acc.mortgage_share_high])[
        people.income_tier
    ]
    has[:, Slot.MORTGAGE] = (people.age_band >= 1) & (rng.random(n) < share)
    age_factor = np.array([1.4, 1.6, 1.1, 0.7, 0.3, 0.1])[people.age_band]
    has[:, Slot.STUDENT] = rng.random(n) < acc.student_loan_share * age_factor
    has[:, Slot.BUSINESS] = rng.random(n) < acc.business_share

    users, slots = np.nonzero(has)  # row-major: by user, then slot
    index = np.full((n, N_SLOTS), -1, dtype=np.int64)
    index[users, slots] = np.arange(users.size)
    subtypes = tuple(acc.savings_subtypes)
    size = users.size
    variant = np.select(
        [
            slots == Slot.CHECKING,
            slots == Slot.SAVINGS,
            np.isin(slots, [Slot.CARD1, Slot.CARD2, Slot.CARD3]),
            slots == Slot.MORTGAGE,
            slots == Slot.STUDENT,
        ],
        [
            rng.integers(0, len(CHECKING_NAMES), size),
            choice_by_weights(rng, acc.savings_subtypes.values(), size),
            rng.integers(0, len(CARD_PRODUCTS), size),
            rng.integers(0, len(MORTGAGE_SERVICERS), size),
            rng.integers(0, len(STUDENT_SERVICERS), size),
        ],
        0,
    )
    issuer = rng.integers(0, len(CARD_ISSUERS), size)
    mask = rng.integers(0, 10000, size)
    return AccountPlan(
        index=index,
        user=users,
        slot=slots.astype(np.int64),
        mask=mask,
        variant=variant,
        issuer=issuer,
        savings_subtypes=subtypes,
    )


def account_ids(accounts: AccountPlan, people: People) -> pa.Array:
    """Stable account ids: <user_id>-<slot code>, e.g. u00001-cc1."""
    codes = [SLOT_CODE[Slot(s)] for s in range(N_SLOTS)]
    return pc.binary_join_element_wise(
        pc.take(people.ids, pa.array(accounts.user)), take(codes, accounts.slot), "-"
    )


def _names(accounts: AccountPlan) -> tuple[pa.Array, pa.Array, pa.Array]:
    """name, official_name and subtype of every account."""
    names: list[str | None] = []
    offsets = {}

    def block(label: str, values: list[str | None]) -> int:
        """Append one family of names (indexed by variant) to the name table."""
        offsets[label] = len(names)
        names.extend(values)
        return offsets[label]

    block("checking", CHECKING_NAMES)
    block("savings", [SAVINGS_NAMES[s] for s in accounts.savings_subtypes])
    block("card", [f"{p}" for p in CARD_PRODUCTS])
    block("mortgage", [f"{s} Mortgage" for s in MORTGAGE_SERVICERS])
    block("student", [f"{s} Student Loan" for s in STUDENT_SERVICERS])
    block("business", ["Business Checking"])
    s = accounts.slot
    is_card = np.isin(s, [Slot.CARD1, Slot.CARD2, Slot.CARD3])
    key = np.select(
        [s == Slot.CHECKING, s == Slot.SAVINGS, is_card, s == Slot.MORTGAGE, s == Slot.STUDENT],
        [
            offsets["checking"] + accounts.variant,
            offsets["savings"] + accounts.variant,
            offsets["card"] + accounts.variant,
            offsets["mortgage"] + accounts.variant,
            offsets["student"] + accounts.variant,
        ],
        offsets["business"],
    )
    name = take(names, key)
    official_pool = [f"{INSTITUTION} {x}" for x in CHECKING_NAMES]
    official_pool += [f"{INSTITUTION} {SAVINGS_NAMES[x]}" for x in accounts.savings_subtypes]
    card_base = len(official_pool)
    official_pool += [f"{iss} {p} Visa" for iss in CARD_ISSUERS for p in CARD_PRODUCTS]
    none_at = len(official_pool)
    official_pool += [None, f"{INSTITUTION} Business Advantage Checking"]
    official_key = np.select(
        [s == Slot.CHECKING, s == Slot.SAVINGS, is_card, s == Slot.BUSINESS],
        [
            accounts.variant,
            len(CHECKING_NAMES) + accounts.variant,
            card_base + accounts.issuer * len(CARD_PRODUCTS) + accounts.variant,
            none_at + 1,
        ],
        none_at,
    )
    official = take(official_pool, official_key)
    subtype_pool = ["checking", *accounts.savings_subtypes, "credit card", "mortgage", "student"]
    subtype_key = np.select(
        [s == Slot.SAVINGS, is_card, s == Slot.MORTGAGE, s == Slot.STUDENT],
        [
            1 + accounts.variant,
            1 + len(accounts.savings_subtypes),
            2 + len(accounts.savings_subtypes),
            3 + len(accounts.savings_subtypes),
        ],
        0,
    )
    return name, official, take(subtype_pool, subtype_key)


def accounts_table(
    accounts: AccountPlan,
    people: People,
    ids: pa.Array,
    current: np.ndarray,
    available: np.ndarray,
    limit: np.ndarray,
) -> pd.DataFrame:
    """The accounts table: balances in cents per account row (limit < 0 means no limit)."""
    name, official, subtype = _names(accounts)
    types = [SLOT_TYPE[Slot(i)] for i in range(N_SLOTS)]
    business = (accounts.slot == Slot.BUSINESS).astype(np.int64)
    is_loan = np.isin(accounts.slot, [Slot.MORTGAGE, Slot.STUDENT])
    return to_frame(
        "accounts",
        {
            "account_id": ids,
            "user_id": pc.take(people.ids, pa.array(accounts.user)),
            "name": name,
            "official_name": official,
            "mask": pc.utf8_lpad(pc.cast(pa.array(accounts.mask), pa.string()), 4, "0"),
            "type": take(types, accounts.slot),
            "subtype": subtype,
            "balance_available": money(available, valid=~is_loan),
            "balance_current": money(current),
            "balance_limit": money(limit, valid=limit >= 0),
            "iso_currency_code": constant("USD", accounts.n),
            "holder_category": take(["personal", "business"], business),
        },
    )
