"""The state shared by the generator's stages: who the users are, what they hold, and the ledger so far."""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from spendsense.generate.accounts import AccountPlan
from spendsense.generate.archetypes import Plan
from spendsense.generate.calendar import Calendar
from spendsense.generate.catalog import Catalog
from spendsense.generate.config import GeneratorConfig
from spendsense.generate.ledger import Ledger, Slot
from spendsense.generate.users import People


@dataclass
class World:
    """Inputs every stage reads; stages append transactions to `ledger`."""

    cal: Calendar
    config: GeneratorConfig
    catalog: Catalog
    plan: Plan
    people: People
    accounts: AccountPlan
    ledger: Ledger

    @property
    def n(self) -> int:
        """Number of users."""
        return self.people.n

    def pick_account(self, users: np.ndarray, rng: np.random.Generator) -> np.ndarray:
        """Slot paying a purchase stream: one of the user's cards (with the configured share) or checking."""
        cfg = self.config.cards
        n_cards = self.accounts.card_count()[users]
        share = np.where(
            self.plan.has("credit_stretched")[users], cfg.stretched_card_spend_share, cfg.card_spend_share
        )
        use_card = (n_cards > 0) & (rng.random(users.size) < share)
        which = np.floor(rng.random(users.size) * np.maximum(n_cards, 1)).astype(np.int64)
        return np.where(use_card, Slot.CARD1 + which, Slot.CHECKING)

    def pending_flags(self, day: np.ndarray, rng: np.random.Generator) -> np.ndarray:
        """Purchases in the last two days are still pending with the configured probability."""
        return (day >= self.cal.T - 1) & (rng.random(day.size) < self.config.spending.pending_share)
