"""The planted behaviours meet the persona rules of issue 3 in both windows, and nothing else does."""

from __future__ import annotations

import datetime as dt

import numpy as np
import pytest
from generate_oracle import matched_personas, signals

from spendsense.generate import generate
from spendsense.generate.archetypes import PERSONAS, mix_counts
from spendsense.generate.config import load_generator_config


def _planted(run) -> dict[str, np.ndarray]:
    truth = run.tables["ground_truth"]
    lists = truth["planted_personas"].str.split(",")
    return {p: lists.apply(lambda items, p=p: p in items).to_numpy() for p in PERSONAS}


def test_default_run_plants_every_persona_several_times(default_run):
    truth = default_run.tables["ground_truth"]
    assert list(truth["user_id"]) == list(default_run.tables["users"]["user_id"])
    planted = _planted(default_run)
    for persona, flags in planted.items():
        assert flags.sum() >= 8, persona
    assert (truth["planted_personas"] == "").sum() >= 20  # ordinary users
    assert (truth.loc[truth["planted_personas"] == "", "archetypes"] == "ordinary").all()
    assert not (planted["savings_builder"] & planted["high_utilization"]).any()
    assert (truth["planted_personas"].str.count(",") >= 1).sum() >= 10  # mixtures


def test_mix_counts_are_exact():
    mix = load_generator_config().archetype_mix
    counts = mix_counts(100, mix)
    assert counts.sum() == 100
    weights = np.array([m.weight for m in mix])
    assert np.abs(counts - 100 * weights / weights.sum()).max() < 1


@pytest.mark.parametrize("run_name", ["default_run", "other_run"])
def test_planted_personas_match_the_rules_exactly(request, run_name):
    """Every user matches exactly the personas planted for it, in the 30- and the 180-day window."""
    run = request.getfixturevalue(run_name)
    as_of = dt.date.fromisoformat(run.tables["ground_truth"].attrs["spendsense_generator"]["as_of"])
    matched = matched_personas(signals(run.tables, as_of))
    planted = _planted(run)
    users = run.tables["ground_truth"]["user_id"].to_numpy()
    for window in (30, 180):
        got = matched[matched["window_days"] == window].set_index("user_id").reindex(users)
        for persona in PERSONAS:
            mismatch = users[got[persona].fillna(False).to_numpy(dtype=bool) != planted[persona]]
            assert len(mismatch) == 0, (persona, window, list(mismatch[:5]))


def test_non_planted_users_stay_clear_of_thresholds(other_run):
    """Margins: ordinary card holders well under 30% utilization, non-savers well under $200/month."""
    as_of = dt.date.fromisoformat(other_run.tables["ground_truth"].attrs["spendsense_generator"]["as_of"])
    sig = signals(other_run.tables, as_of).set_index("user_id")
    planted = _planted(other_run)
    users = other_run.tables["ground_truth"]["user_id"].to_numpy()
    not_hu = users[~planted["high_utilization"]]
    assert (sig.loc[not_hu, "max_util"].dropna() <= 0.25 + 1e-9).all()
    not_sb = users[~planted["savings_builder"]]
    assert (sig.loc[not_sb, "net_monthly"] < 100).all()
    not_sh = users[~planted["subscription_heavy"]]
    assert (sig.loc[not_sh, "rec_count"] <= 2).all()
    hu = users[planted["high_utilization"]]
    assert (sig.loc[hu, "max_util"] >= 0.52).all()


def test_seed_changes_data_but_not_the_mix():
    a = generate(40, 1, dt.date(2026, 10, 31)).tables
    b = generate(40, 2, dt.date(2026, 10, 31)).tables
    assert sorted(a["ground_truth"]["archetypes"]) == sorted(b["ground_truth"]["archetypes"])
    assert list(a["ground_truth"]["archetypes"]) != list(b["ground_truth"]["archetypes"])
    assert not a["transactions"]["amount"].equals(b["transactions"]["amount"])
