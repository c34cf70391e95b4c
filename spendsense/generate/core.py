"""Orchestration: draw users, accounts and every transaction stream, then build the raw tables."""

from __future__ import annotations

import datetime as dt
import hashlib
import json
import time
from dataclasses import dataclass

import numpy as np
import pandas as pd
from tqdm.auto import tqdm

from spendsense import schema
from spendsense.generate import accounts as accounts_mod
from spendsense.generate import archetypes, business, cards, cashflow, loans, savings, spending, users
from spendsense.generate.calendar import Calendar
from spendsense.generate.catalog import build_catalog
from spendsense.generate.config import GeneratorConfig, resolve_config
from spendsense.generate.frames import money
from spendsense.generate.ledger import Ledger
from spendsense.generate.transactions import transactions_table
from spendsense.generate.world import World

GENERATOR_VERSION = "1.0.0"
STAGES = ("users", "accounts", "spending", "loans", "savings", "cards", "payroll", "business", "tables")
# one independent random stream per stage (numpy SeedSequence.spawn), so stages do not perturb each other
RNG_STREAMS = (
    "plan",
    "people",
    "names",
    "consent",
    "accounts",
    "rent",
    "utilities",
    "subscriptions",
    "habits",
    "oneoffs",
    "atm",
    "car",
    "loans",
    "late_fees",
    "savings",
    "cards",
    "cashflow",
    "business",
    "transactions",
)


@dataclass(frozen=True)
class Generated:
    """The raw tables (schema.TABLES + ground_truth) and what the generator knows beyond them."""

    tables: dict[str, pd.DataFrame]
    opening_balances: pd.DataFrame  # account_id, opening_balance: balance on the history's first day
    history_start: dt.date
    stage_seconds: dict[str, float]


def _progress(enabled: bool):
    """A tqdm bar over the stages (silent unless asked for and attached to a terminal)."""
    import sys

    return tqdm(
        total=len(STAGES),
        desc="generate",
        unit="stage",
        disable=not enabled or not sys.stderr.isatty(),
        leave=False,
    )


def config_digest(config: GeneratorConfig) -> str:
    """SHA-256 of the validated configuration (recorded in the manifest)."""
    return hashlib.sha256(json.dumps(config.model_dump(mode="json"), sort_keys=True).encode()).hexdigest()


def generate(n_users: int, seed: int, as_of: dt.date, config=None, progress: bool = False) -> Generated:
    """Generate the whole synthetic dataset for n_users, deterministic in (n_users, seed, as_of, config)."""
    if n_users < 1:
        raise ValueError("n_users must be at least 1")
    if isinstance(as_of, dt.datetime):
        as_of = as_of.date()
    cfg = resolve_config(config)
    cal = Calendar.build(as_of, cfg.history_months)
    rng = dict(
        zip(
            RNG_STREAMS,
            (np.random.default_rng(s) for s in np.random.SeedSequence(seed).spawn(len(RNG_STREAMS))),
            strict=True,
        )
    )
    bar = _progress(progress)
    seconds: dict[str, float] = {}
    clock = [time.perf_counter()]

    def step(name: str) -> None:
        now = time.perf_counter()
        seconds[name] = round(now - clock[0], 3)
        clock[0] = now
        bar.set_postfix_str(name)
        bar.update(1)

    plan = archetypes.draw_plan(n_users, cfg.archetype_mix, rng["plan"])
    people = users.draw_people(plan, cfg, cal, rng["people"])
    names = users.fake_names(people, seed, rng["names"])
    users_df = users.users_table(people, names, cal)
    consent_df = users.consent_events(people, cfg, cal, rng["consent"])
    step("users")
    plan_accounts = accounts_mod.draw_accounts(plan, people, cfg, rng["accounts"])
    ids = accounts_mod.account_ids(plan_accounts, people)
    world = World(
        cal=cal,
        config=cfg,
        catalog=build_catalog(seed),
        plan=plan,
        people=people,
        accounts=plan_accounts,
        ledger=Ledger(),
    )
    step("accounts")
    budget = spending.budget_scale(world, rng["habits"])
    spending.add_rent(world, rng["rent"])
    spending.add_utilities(world, rng["utilities"])
    spending.add_subscriptions(world, rng["subscriptions"])
    spending.add_habits(world, budget, rng["habits"])
    spending.add_oneoffs(world, rng["oneoffs"])
    spending.add_atm(world, rng["atm"])
    spending.add_car_loans(world, rng["car"])
    step("spending")
    loan_state = loans.add_loans(world, rng["loans"])
    step("loans")
    savings_state = savings.add_savings(world, rng["savings"])
    step("savings")
    cashflow.add_late_fees(world, rng["late_fees"])
    card_state = cards.simulate_cards(world, rng["cards"])
    step("cards")
    checking_state = cashflow.add_payroll_and_fees(world, rng["cashflow"])
    step("payroll")
    business_state = business.add_business(world, rng["business"])
    step("business")

    n_acc = plan_accounts.n
    current = np.zeros(n_acc, dtype=np.int64)
    available = np.zeros(n_acc, dtype=np.int64)
    limit = np.full(n_acc, -1, dtype=np.int64)
    opening = np.zeros(n_acc, dtype=np.int64)
    current[checking_state.rows] = checking_state.current
    available[checking_state.rows] = checking_state.current - checking_state.pending
    opening[checking_state.rows] = checking_state.opening
    current[savings_state.rows] = savings_state.current
    available[savings_state.rows] = savings_state.current
    opening[savings_state.rows] = savings_state.opening
    current[card_state.rows] = card_state.current
    limit[card_state.rows] = card_state.limit
    available[card_state.rows] = card_state.limit - card_state.current - card_state.pending
    opening[card_state.rows] = card_state.opening
    current[loan_state.rows] = loan_state.balance_cents
    opening[loan_state.rows] = loan_state.balance_cents  # no transactions are posted on loan accounts
    current[business_state.rows] = business_state.current
    available[business_state.rows] = business_state.current
    opening[business_state.rows] = business_state.opening

    tx_df = transactions_table(
        world.ledger.release(), plan_accounts, ids, world.catalog, cal, rng["transactions"]
    )
    credit, aprs = cards.credit_tables(card_state, ids, cal)
    tables = {
        "users": users_df,
        "consent_events": consent_df,
        "accounts": accounts_mod.accounts_table(plan_accounts, people, ids, current, available, limit),
        "transactions": tx_df,
        "credit_liabilities": credit,
        "credit_aprs": aprs,
        "mortgage_liabilities": loans.mortgage_table(loan_state, ids, cal),
        "student_liabilities": loans.student_table(loan_state, ids, cal),
    }
    truth = archetypes.ground_truth(np.asarray(people.ids.to_pylist(), dtype=object), plan, cfg.archetype_mix)
    truth.attrs["spendsense_generator"] = {
        "generator_version": GENERATOR_VERSION,
        "seed": int(seed),
        "n_users": int(n_users),
        "as_of": as_of.isoformat(),
        "history_start": cal.start.isoformat(),
        "config_sha256": config_digest(cfg),
    }
    tables["ground_truth"] = truth
    assert list(tables)[: len(schema.TABLE_ORDER)] == list(schema.TABLE_ORDER)
    openings = pd.DataFrame({"account_id": ids.to_pandas(), "opening_balance": money(opening).to_pandas()})
    step("tables")
    bar.close()
    return Generated(tables=tables, opening_balances=openings, history_start=cal.start, stage_seconds=seconds)


def synthetic_tables(
    n_users: int, seed: int, as_of: dt.date, config=None, progress: bool = False
) -> dict[str, pd.DataFrame]:
    """Every raw table of spendsense.schema.TABLES (contract columns and dtypes) plus "ground_truth"."""
    return generate(n_users, seed, as_of, config=config, progress=progress).tables
