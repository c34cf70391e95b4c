"""Tone guardrail on the labelled set (tone_labelled.csv): per split, >= 95% of shaming caught, <= 5% neutral flagged."""

import csv
from pathlib import Path

import pytest

from spendsense.content import load_guardrails
from spendsense.guardrails.tone import check_tone

RULES = load_guardrails()
LABELLED = Path(__file__).with_name("tone_labelled.csv")


def labelled_rows() -> list[dict[str, str]]:
    """The labelled sentences (split, label, text), comment lines skipped."""
    with LABELLED.open(encoding="utf-8") as fh:
        return list(csv.DictReader(line for line in fh if not line.startswith("#")))


ROWS = labelled_rows()


def test_labelled_set_is_well_formed():
    assert {r["split"] for r in ROWS} == {"dev", "holdout"}
    assert {r["label"] for r in ROWS} == {"shaming", "neutral"}
    texts = [r["text"] for r in ROWS]
    assert len(texts) == len(set(texts)), "a sentence is listed twice"
    for split, least in (("dev", 40), ("holdout", 40)):
        for label in ("shaming", "neutral"):
            assert sum(r["split"] == split and r["label"] == label for r in ROWS) >= least, (split, label)
    assert sum(r["label"] == "shaming" for r in ROWS) >= 120
    assert sum(r["label"] == "neutral" for r in ROWS) >= 120


@pytest.mark.parametrize("split", ["dev", "holdout"])
def test_rates_on_split(split):
    shaming = [r["text"] for r in ROWS if r["split"] == split and r["label"] == "shaming"]
    neutral = [r["text"] for r in ROWS if r["split"] == split and r["label"] == "neutral"]
    missed = [t for t in shaming if check_tone(t, RULES).action == "pass"]
    flagged = [t for t in neutral if check_tone(t, RULES).action != "pass"]
    caught_rate = 1 - len(missed) / len(shaming)
    flagged_rate = len(flagged) / len(neutral)
    print(f"\n{split}: shaming caught {caught_rate:.1%} ({len(shaming) - len(missed)}/{len(shaming)}), "
          f"neutral flagged {flagged_rate:.1%} ({len(flagged)}/{len(neutral)})")
    assert caught_rate >= 0.95, f"missed: {missed}"
    assert flagged_rate <= 0.05, f"flagged: {flagged}"
