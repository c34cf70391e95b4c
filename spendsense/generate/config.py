"""The generator's configuration (config/generator.yaml): archetype mix and behaviour parameters.

Every bound that keeps a planted persona exact (or keeps an ordinary user out of a persona) is checked
here, at load, against the persona thresholds of issue 3, so a config edit cannot silently break the
ground truth.
"""

from __future__ import annotations

from pathlib import Path
from typing import Annotated, Literal

from pydantic import AfterValidator, Field, model_validator

from spendsense import schema
from spendsense.config import StrictModel, config_path, load_config, validate_config

ArchetypeName = Literal["credit_stretched", "variable_earner", "subscriber", "saver", "fee_prone"]


def _ordered(pair: tuple[float, float]) -> tuple[float, float]:
    """A [low, high] range with low <= high."""
    if pair[0] > pair[1]:
        raise ValueError(f"range [{pair[0]}, {pair[1]}] has low > high")
    return pair


Range = Annotated[tuple[float, float], AfterValidator(_ordered)]
IntRange = Annotated[tuple[int, int], AfterValidator(_ordered)]
Share = Annotated[float, Field(ge=0.0, le=1.0)]
Weights = dict[str, Annotated[float, Field(ge=0.0)]]


def _weights_over(enum: str):
    """Validator: a weight for every value of a schema enum, and a positive total."""

    def check(weights: dict[str, float]) -> dict[str, float]:
        allowed = set(schema.ENUMS[enum])
        unknown = sorted(set(weights) - allowed)
        missing = sorted(allowed - set(weights))
        if unknown:
            raise ValueError(f"unknown {enum} value(s) {unknown}; allowed: {sorted(allowed)}")
        if missing:
            raise ValueError(f"missing weight for {enum} value(s) {missing}")
        if sum(weights.values()) <= 0:
            raise ValueError("weights must not all be zero")
        return weights

    return AfterValidator(check)


class MixEntry(StrictModel):
    """One combination of archetypes and its share of users ([] = ordinary user, no persona planted)."""

    archetypes: tuple[ArchetypeName, ...] = ()
    weight: Annotated[float, Field(gt=0.0)]

    @model_validator(mode="after")
    def _compatible(self) -> MixEntry:
        if len(set(self.archetypes)) != len(self.archetypes):
            raise ValueError(f"archetype listed twice in {list(self.archetypes)}")
        if {"saver", "credit_stretched"} <= set(self.archetypes):
            raise ValueError(
                "saver + credit_stretched cannot be planted together: savings_builder needs "
                "max utilization < 0.30, high_utilization plants >= 0.50"
            )
        return self


class Demographics(StrictModel):
    """Weights of each demographic value, and annual gross income per tier."""

    age_band: Annotated[Weights, _weights_over("age_band")]
    gender: Annotated[Weights, _weights_over("gender")]
    region: Annotated[Weights, _weights_over("region")]
    income_tier: Annotated[Weights, _weights_over("income_tier")]
    strained_income_tier: Annotated[Weights, _weights_over("income_tier")] = Field(
        description="income tier weights for credit_stretched, variable_earner and fee_prone users"
    )
    annual_income_low: Range
    annual_income_middle: Range
    annual_income_high: Range


class Consent(StrictModel):
    """Consent events: granted at signup, some revoked later, some granted again."""

    granted_at_signup: Share
    revoked_share: Share = Field(description="share of granted users who revoke before as_of")
    regranted_share: Share = Field(description="share of revoking users who grant again before as_of")


class Accounts(StrictModel):
    """Which accounts users hold."""

    savings_share: Share
    savings_subtypes: Weights
    card_count_weights: Annotated[
        list[Annotated[float, Field(ge=0.0)]], Field(min_length=4, max_length=4)
    ] = Field(description="weights of holding 0, 1, 2, 3 credit cards (users not credit_stretched)")
    stretched_card_count_weights: Annotated[
        list[Annotated[float, Field(ge=0.0)]], Field(min_length=3, max_length=3)
    ]
    mortgage_share_low: Share
    mortgage_share_middle: Share
    mortgage_share_high: Share
    student_loan_share: Share
    car_loan_share: Share
    business_share: Share

    @model_validator(mode="after")
    def _subtypes(self) -> Accounts:
        bad = sorted(set(self.savings_subtypes) - set(schema.SAVINGS_LIKE_SUBTYPES))
        if bad:
            raise ValueError(
                f"savings_subtypes must be savings-like subtypes {schema.SAVINGS_LIKE_SUBTYPES}; got {bad}"
            )
        return self


class Income(StrictModel):
    """Payroll cadences of regular earners and the irregular pay of variable earners."""

    cadence_weights: dict[
        Literal["weekly", "biweekly", "semi_monthly", "monthly"], Annotated[float, Field(ge=0.0)]
    ]
    hourly_share: Share = Field(description="regular earners whose pay varies a few percent per paycheck")
    hourly_variation: Annotated[float, Field(ge=0.0, le=0.2)]
    pension_share_65plus: Share = Field(description="ordinary 65+ users paid a monthly pension, not wages")
    margin: Range = Field(description="pay exceeds the user's outflows by this fraction (savings drift)")
    variable_gap_days: IntRange = Field(description="days between variable earners' paychecks")
    variable_last_pay_days_ago: IntRange = Field(description="days from the last variable paycheck to as_of")
    variable_buffer_months: Range = Field(
        description="variable earners' checking balance at as_of, in months of spending"
    )
    variable_trough_months: Range = Field(description="variable earners' balance just before a paycheck")
    cushion_months: Range = Field(description="lowest checking balance of other users, in months of outflows")

    @model_validator(mode="after")
    def _variable(self) -> Income:
        lo_gap, _hi_gap = self.variable_gap_days
        lo_last, hi_last = self.variable_last_pay_days_ago
        if lo_gap <= 45:
            raise ValueError("variable_gap_days must stay above 45 (median_pay_gap_days > 45)")
        if lo_last < 1 or hi_last + lo_gap > 88:
            raise ValueError(
                "variable_last_pay_days_ago + variable_gap_days[0] must be <= 88 so that two "
                "paychecks fall in the 90-day lookback of the 30-day window"
            )
        if hi_last > 28:
            raise ValueError(
                "variable_last_pay_days_ago must stay within 28 days (a fee_prone variable earner's "
                "overdraft falls on the eve of a payday inside the 30-day window)"
            )
        if self.variable_buffer_months[1] >= 0.9:
            raise ValueError("variable_buffer_months must stay below 0.9 (cash_flow_buffer_months < 1)")
        if self.variable_trough_months[1] > self.variable_buffer_months[0]:
            raise ValueError("variable_trough_months must not exceed variable_buffer_months")
        if sum(self.cadence_weights.values()) <= 0:
            raise ValueError("cadence_weights must not all be zero")
        return self


class Cards(StrictModel):
    """Credit cards: utilization, APRs, and how stretched cards are paid."""

    ordinary_utilization: Range
    stretched_utilization: Range
    apr: Range
    stretched_apr: Range
    min_payer_share: Share = Field(description="stretched cards paying exactly the minimum")
    partial_payment_fraction: Range = Field(
        description="other stretched cards pay this share of the statement"
    )
    overdue_share: Share = Field(description="stretched cards whose last two payments were missed")
    statement_floor: Annotated[float, Field(ge=40.0)] = Field(
        description="every statement of a card paid in full is at least this much (its payment then exceeds "
        "1.05 x the minimum payment)"
    )
    stretched_opening: Range
    card_spend_share: Share = Field(description="share of a card holder's purchase streams put on a card")
    stretched_card_spend_share: Share
    cash_apr_share: Share

    @model_validator(mode="after")
    def _thresholds(self) -> Cards:
        if self.ordinary_utilization[1] >= 0.30:
            raise ValueError(
                "ordinary_utilization must stay below 0.30 (utilization flag and savings_builder)"
            )
        if self.stretched_utilization[0] < 0.52 or self.stretched_utilization[1] > 0.97:
            raise ValueError("stretched_utilization must lie within [0.52, 0.97] (high_utilization >= 0.50)")
        if self.partial_payment_fraction[1] > 0.5:
            raise ValueError("partial_payment_fraction above 0.5 would let stretched balances shrink")
        return self


class Subscriptions(StrictModel):
    """Recurring subscriptions and bills with stable amounts."""

    ordinary_count_weights: Annotated[
        list[Annotated[float, Field(ge=0.0)]], Field(min_length=1, max_length=3)
    ] = Field(description="weights of 0, 1, 2 active subscriptions for users not planted subscription_heavy")
    heavy_count: IntRange
    heavy_min_monthly: Annotated[float, Field(ge=55.0)] = Field(
        description="subscription_heavy users' subscriptions add up to at least this per month"
    )
    heavy_cancelled_max: Annotated[int, Field(ge=0, le=3)]
    price_change_share: Share

    @model_validator(mode="after")
    def _counts(self) -> Subscriptions:
        if self.heavy_count[0] < 4:
            raise ValueError(
                "heavy_count must start at 4 or more (recurring_merchant_count >= 3 with margin)"
            )
        return self


class Savings(StrictModel):
    """Transfers into savings-like accounts and the interest they earn."""

    saver_monthly: Range = Field(description="savers' monthly transfer (biweekly savers move about half)")
    saver_biweekly_share: Share
    apy_percent: Range
    pair_probability: Share = Field(
        description="chance that a non-saver parks money in savings and takes it "
        "back within the same 30-day block"
    )
    pair_amount: Range
    opening_low: Range
    opening_middle: Range
    opening_high: Range

    @model_validator(mode="after")
    def _rules(self) -> Savings:
        if self.saver_monthly[0] < 250:
            raise ValueError(
                "saver_monthly must start at 250 or more (net_savings_inflow_monthly >= 200 in "
                "both windows, with margin)"
            )
        if self.apy_percent[1] > 2.0:
            raise ValueError("apy_percent above 2 would let interest alone approach 2% growth in 180 days")
        return self


class Fees(StrictModel):
    """Overdraft, NSF and late fees: only fee_prone users pay them."""

    overdraft_fee: Annotated[float, Field(gt=0.0)]
    nsf_share: Share
    late_fee: Annotated[float, Field(gt=0.0)]
    late_fee_share: Share = Field(description="fee_prone card holders who also paid a late fee on a card")
    overdraft_depth: Range = Field(
        description="how far below zero an overdrawing withdrawal takes the balance"
    )
    trough_balance: Range = Field(description="fee_prone users' checking balance on the eve of a payday ($)")
    older_fee_share: Share = Field(description="fee_prone users with one more fee before the 180-day window")


class Spending(StrictModel):
    """Everyday spending that must NOT read as subscriptions."""

    oneoff_per_month: Range
    refund_share: Share
    pending_share: Share = Field(description="purchases in the last two days still pending")
    gas_share: Share
    dining_share: Share
    coffee_share: Share
    second_grocer_share: Share
    atm_share: Share
    housing_share: Range = Field(description="rent or mortgage payment as a share of monthly net income")
    spend_scale: Range = Field(description="everyday spending budget relative to net income")


class GeneratorConfig(StrictModel):
    """Everything the synthetic generator draws from."""

    history_months: Annotated[int, Field(ge=13, le=36)] = Field(
        description="months of history before as_of (>= 13 so 180-day windows get a full 90-day lookback)"
    )
    archetype_mix: Annotated[list[MixEntry], Field(min_length=1)]
    demographics: Demographics
    consent: Consent
    accounts: Accounts
    income: Income
    cards: Cards
    subscriptions: Subscriptions
    savings: Savings
    fees: Fees
    spending: Spending

    @model_validator(mode="after")
    def _mix(self) -> GeneratorConfig:
        combos = [tuple(sorted(m.archetypes)) for m in self.archetype_mix]
        if len(set(combos)) != len(combos):
            raise ValueError("archetype_mix lists the same combination twice")
        return self


def default_config_path() -> Path:
    """Where the project's generator configuration lives."""
    return config_path("generator.yaml")


def load_generator_config(path: Path | str | None = None) -> GeneratorConfig:
    """Read and validate config/generator.yaml (or the given file)."""
    return load_config(Path(path) if path is not None else default_config_path(), GeneratorConfig)


def resolve_config(config: GeneratorConfig | dict | str | Path | None) -> GeneratorConfig:
    """A validated config from a model, a dict, a YAML path, or None (the project default)."""
    if config is None:
        return load_generator_config()
    if isinstance(config, GeneratorConfig):
        return config
    if isinstance(config, dict):
        return validate_config(config, GeneratorConfig, "<generator config dict>")
    return load_generator_config(config)
