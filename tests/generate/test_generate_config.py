"""config/generator.yaml is validated at load; the bounds that keep planted personas exact are enforced."""

from __future__ import annotations

import copy

import pytest
import yaml

from spendsense.config import ConfigError
from spendsense.generate.config import default_config_path, load_generator_config, resolve_config


@pytest.fixture
def raw() -> dict:
    return yaml.safe_load(default_config_path().read_text())


def _write(tmp_path, data) -> str:
    path = tmp_path / "generator.yaml"
    path.write_text(yaml.safe_dump(data))
    return str(path)


def test_project_config_loads():
    cfg = load_generator_config()
    assert cfg.history_months >= 13
    assert any(m.archetypes == () for m in cfg.archetype_mix)


def test_unknown_key_is_rejected_with_file_and_key(tmp_path, raw):
    raw["cards"]["utilisation"] = 0.1
    path = _write(tmp_path, raw)
    with pytest.raises(ConfigError) as err:
        load_generator_config(path)
    assert path in str(err.value) and "cards.utilisation" in str(err.value)


@pytest.mark.parametrize(
    "mutate, message",
    [
        (
            lambda c: c["archetype_mix"].append({"archetypes": ["saver", "credit_stretched"], "weight": 0.1}),
            r"saver \+ credit_stretched",
        ),
        (lambda c: c["archetype_mix"].append({"archetypes": ["gambler"], "weight": 0.1}), "archetype_mix"),
        (lambda c: c["cards"].update(ordinary_utilization=[0.05, 0.35]), "below 0.30"),
        (lambda c: c["cards"].update(stretched_utilization=[0.40, 0.90]), "0.52"),
        (lambda c: c["income"].update(variable_gap_days=[40, 70]), "above 45"),
        (lambda c: c["income"].update(variable_buffer_months=[0.2, 1.2]), "below 0.9"),
        (lambda c: c["subscriptions"].update(heavy_count=[2, 5]), "4 or more"),
        (lambda c: c["savings"].update(saver_monthly=[150, 500]), "250"),
        (lambda c: c["history_months"].__class__ and c.update(history_months=12), "history_months"),
        (lambda c: c["demographics"]["gender"].pop("nonbinary"), "missing weight"),
        (lambda c: c["accounts"]["savings_subtypes"].update(checking=0.1), "savings-like"),
        (lambda c: c["cards"].update(apr=[30, 20]), "low > high"),
    ],
)
def test_planting_bounds_are_enforced(tmp_path, raw, mutate, message):
    data = copy.deepcopy(raw)
    mutate(data)
    with pytest.raises(ConfigError, match=message):
        load_generator_config(_write(tmp_path, data))


def test_resolve_accepts_a_dict(raw):
    assert resolve_config(raw) == load_generator_config()
