"""config/signals.yaml is validated at load: unknown keys, unknown category codes, bad bands are rejected."""

from __future__ import annotations

import pytest
import yaml

from spendsense.config import ConfigError, config_path
from spendsense.signals import load_signal_config


def write(tmp_path, mutate) -> str:
    data = yaml.safe_load(config_path("signals.yaml").read_text(encoding="utf-8"))
    mutate(data)
    path = tmp_path / "signals.yaml"
    path.write_text(yaml.safe_dump(data), encoding="utf-8")
    return str(path)


def test_default_config_matches_the_issue():
    cfg = load_signal_config()
    assert cfg.cadence_min_lookback_days == 90
    assert (cfg.subscriptions.min_occurrences, cfg.subscriptions.amount_tolerance_fraction,
            cfg.subscriptions.amount_tolerance_min) == (3, 0.20, 5.0)
    assert cfg.subscriptions.subscription_frequencies == ("WEEKLY", "MONTHLY")
    assert (cfg.frequency.weekly.min_days, cfg.frequency.weekly.max_days) == (5, 9)
    assert (cfg.frequency.monthly.min_days, cfg.frequency.monthly.max_days) == (26, 35)
    assert cfg.credit.minimum_payment_tolerance == 1.05
    assert set(cfg.savings.savings_like_subtypes) == {"savings", "money market", "cd", "cash management", "hsa"}


@pytest.mark.parametrize("mutate, message", [
    (lambda d: d["credit"].update(bogus=1), r"credit\.bogus: Extra inputs are not permitted"),
    (lambda d: d["fees"]["fee_categories"].append("BANK_FEES_NOPE"), r"fees\.fee_categories: .*BANK_FEES_NOPE"),
    (lambda d: d["frequency"]["weekly"].update(min_days=10), r"frequency\.weekly: .*greater than max_days"),
    (lambda d: d["income"].update(payroll_name_pattern="(payroll"), r"income\.payroll_name_pattern: .*regular"),
    (lambda d: d["savings"].update(savings_like_subtypes=["checking", "brokerage"]), r"not a depository subtype"),
    (lambda d: d["subscriptions"].update(subscription_frequencies=["FORTNIGHTLY"]), r"subscription_frequencies"),
    (lambda d: d.pop("spending"), r"spending: Field required"),
])
def test_invalid_config_names_file_and_key(tmp_path, mutate, message):
    path = write(tmp_path, mutate)
    with pytest.raises(ConfigError, match=message) as err:
        load_signal_config(path)
    assert str(err.value).startswith(path)
