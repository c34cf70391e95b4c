"""Signal settings (config/signals.yaml): windows, category lists, cadence bands and tolerances."""

from __future__ import annotations

import re
from pathlib import Path
from typing import Literal

from pydantic import Field, field_validator, model_validator

from spendsense.config import StrictModel, config_path, load_config
from spendsense.schema import ACCOUNT_TYPES, category_codes

Frequency = Literal["WEEKLY", "BIWEEKLY", "SEMI_MONTHLY", "MONTHLY", "ANNUALLY", "UNKNOWN"]


def _known_categories(cls, codes: tuple[str, ...]) -> tuple[str, ...]:
    """Reject category codes that are not in the Plaid taxonomy (v1 or v2)."""
    unknown = sorted(set(codes) - category_codes())
    if unknown:
        raise ValueError(f"unknown personal_finance_category code(s): {', '.join(unknown)}")
    return codes


class SpendingConfig(StrictModel):
    """Which outflows count as spending."""

    excluded_primary: tuple[str, ...]
    excluded_detailed: tuple[str, ...]

    check_codes = field_validator("excluded_primary", "excluded_detailed")(_known_categories)


class SubscriptionConfig(StrictModel):
    """Recurring-stream detection."""

    excluded_primary: tuple[str, ...]
    excluded_detailed: tuple[str, ...]
    min_occurrences: int = Field(ge=2)
    amount_tolerance_fraction: float = Field(ge=0)
    amount_tolerance_min: float = Field(ge=0)
    subscription_frequencies: tuple[Frequency, ...] = Field(min_length=1)

    check_codes = field_validator("excluded_primary", "excluded_detailed")(_known_categories)


class Band(StrictModel):
    """An inclusive range of median gaps in days."""

    min_days: float = Field(ge=0)
    max_days: float = Field(ge=0)

    @model_validator(mode="after")
    def _ordered(self) -> Band:
        if self.min_days > self.max_days:
            raise ValueError(f"min_days {self.min_days} is greater than max_days {self.max_days}")
        return self


class FrequencyConfig(StrictModel):
    """Cadence bands shared by recurring streams and payroll."""

    weekly: Band
    semi_monthly: Band
    biweekly: Band
    monthly: Band
    annually: Band
    semi_monthly_min_concentration: float = Field(ge=0, le=1)


class SavingsConfig(StrictModel):
    """Which depository subtypes are savings-like."""

    savings_like_subtypes: tuple[str, ...] = Field(min_length=1)

    @field_validator("savings_like_subtypes")
    @classmethod
    def _depository(cls, value: tuple[str, ...]) -> tuple[str, ...]:
        unknown = sorted(set(value) - set(ACCOUNT_TYPES["depository"]))
        if unknown:
            raise ValueError(f"not a depository subtype: {', '.join(unknown)}")
        return value


class CreditConfig(StrictModel):
    """Card utilization flags, the minimum-payment bound, and which card transactions are payments/interest."""

    utilization_flag_30: float = Field(gt=0)
    utilization_flag_50: float = Field(gt=0)
    utilization_flag_80: float = Field(gt=0)
    minimum_payment_tolerance: float = Field(ge=1)
    payment_categories: tuple[str, ...] = Field(min_length=1)
    interest_categories: tuple[str, ...] = Field(min_length=1)

    check_codes = field_validator("payment_categories", "interest_categories")(_known_categories)

    @model_validator(mode="after")
    def _ascending(self) -> CreditConfig:
        if not self.utilization_flag_30 <= self.utilization_flag_50 <= self.utilization_flag_80:
            raise ValueError("utilization flags must satisfy flag_30 <= flag_50 <= flag_80")
        return self


class IncomeConfig(StrictModel):
    """How payroll deposits are recognised."""

    payroll_categories: tuple[str, ...] = Field(min_length=1)
    payroll_name_pattern: str = Field(min_length=1)

    check_codes = field_validator("payroll_categories")(_known_categories)

    @field_validator("payroll_name_pattern")
    @classmethod
    def _compiles(cls, value: str) -> str:
        try:
            re.compile(value)
        except re.error as exc:
            raise ValueError(f"not a valid regular expression: {exc}") from None
        return value


class FeesConfig(StrictModel):
    """Which bank-fee categories count toward fee_count / fee_amount."""

    fee_categories: tuple[str, ...] = Field(min_length=1)

    check_codes = field_validator("fee_categories")(_known_categories)


class SignalConfig(StrictModel):
    """All signal settings (config/signals.yaml)."""

    cadence_min_lookback_days: int = Field(ge=1)
    spending: SpendingConfig
    subscriptions: SubscriptionConfig
    frequency: FrequencyConfig
    savings: SavingsConfig
    credit: CreditConfig
    income: IncomeConfig
    fees: FeesConfig


def load_signal_config(path: Path | str | None = None) -> SignalConfig:
    """Load and validate config/signals.yaml (or the given file)."""
    return load_config(path if path is not None else config_path("signals.yaml"), SignalConfig)
