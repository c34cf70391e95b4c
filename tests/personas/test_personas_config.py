"""config/personas.yaml is validated at load: rule shapes, thresholds, unique ids and priorities."""

from __future__ import annotations

import pytest
import yaml

from spendsense.config import ConfigError, config_path
from spendsense.personas import load_persona_config


def write(tmp_path, mutate) -> str:
    data = yaml.safe_load(config_path("personas.yaml").read_text(encoding="utf-8"))
    mutate(data["personas"])
    path = tmp_path / "personas.yaml"
    path.write_text(yaml.safe_dump(data), encoding="utf-8")
    return str(path)


def first_condition(personas):
    return personas[0]["criteria"]["any"][0]


@pytest.mark.parametrize("mutate, message", [
    (lambda p: first_condition(p).update(value_by_window={30: 1}), "exactly one of value or value_by_window"),
    (lambda p: first_condition(p).pop("value"), "exactly one of value or value_by_window"),
    (lambda p: first_condition(p).update(op="is_null"), "op is_null takes no value"),
    (lambda p: first_condition(p).update(op="~="), r"personas\[0\]\.criteria\.any\.any\[0\]\.condition\.op"),
    (lambda p: first_condition(p).update(threshold=3), "threshold: Extra inputs are not permitted"),
    (lambda p: first_condition(p).update(value="high"), "text value can only be compared with == or !="),
    (lambda p: p[1].update(priority=1), "duplicate persona priority: 1"),
    (lambda p: p[1].update(id="high_utilization"), "duplicate persona id: high_utilization"),
    (lambda p: p[4].update(id="none"), "reserved"),
    (lambda p: p[2]["criteria"].update(all=[]), r"personas\[2\]\.criteria\.all\.all"),
    (lambda p: p[3].pop("why_it_matters"), r"personas\[3\]\.why_it_matters: Field required"),
])
def test_invalid_persona_config_names_file_and_key(tmp_path, mutate, message):
    path = write(tmp_path, mutate)
    with pytest.raises(ConfigError, match=message) as err:
        load_persona_config(path)
    assert str(err.value).startswith(path)
