"""Coverage on hand-made cases."""

import pandas as pd
import pytest

from spendsense.evaluate.coverage import coverage

BEHAVIORS = {
    "subscriptions": {"signal": "recurring_merchant_count", "op": ">", "value": 0},
    "income": {"signal": "payroll_count", "op": ">", "value": 0},
    "fees": {"signal": "fee_count", "op": ">", "value": 0},
}


def test_covered_needs_a_persona_and_three_behaviors():
    wide = pd.DataFrame({
        "user_id": ["a", "b", "c", "d"], "window_days": [30] * 4,
        "recurring_merchant_count": [3, 3, 0, 2],
        "payroll_count": [2, 2, 2, None],
        "fee_count": [1, 1, 1, 1],
    })
    personas = pd.DataFrame({"user_id": ["a", "b", "c", "d"], "window_days": [30] * 4,
                             "persona_id": ["subscription_heavy", "none", "cash_flow_stressed", "cash_flow_stressed"]})
    per_user, summary = coverage(wide, personas, BEHAVIORS, min_behaviors=3)
    # a: persona + 3 behaviors -> covered; b: no persona; c: 2 behaviors; d: payroll null -> 2 behaviors
    assert per_user.set_index("user_id")["covered"].to_dict() == {"a": True, "b": False, "c": False, "d": False}
    assert per_user.set_index("user_id")["behaviors"].to_dict() == {"a": 3, "b": 3, "c": 2, "d": 2}
    assert summary.set_index("window_days").loc[30, "coverage"] == pytest.approx(0.25)


def test_a_behavior_rule_naming_an_unknown_signal_fails_at_load(tmp_path):
    import yaml

    from spendsense import paths
    from spendsense.config import ConfigError
    from spendsense.evaluate import load_evaluation_config

    cfg = yaml.safe_load((paths.CONFIG_DIR / "evaluation.yaml").read_text())
    cfg["behaviors"]["fees"]["signal"] = "fee_cnt"
    path = tmp_path / "evaluation.yaml"
    path.write_text(yaml.safe_dump(cfg))
    with pytest.raises(ConfigError, match=r"behaviors\.fees\.signal: .*unknown signal 'fee_cnt'"):
        load_evaluation_config(path)
