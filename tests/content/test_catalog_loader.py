"""Content catalog loading: the real catalog loads; every kind of bad edit fails naming file, item and field."""

import re
import shutil

import pandas as pd
import pytest
import yaml

from spendsense import paths
from spendsense.config import ConfigError
from spendsense.content import (
    PERSONA_IDS,
    Trigger,
    load_catalog,
    load_guardrails,
    load_scoring,
    trigger_matches,
)

GUARDRAILS = load_guardrails()


@pytest.fixture(scope="module")
def catalog():
    return load_catalog(guardrails=GUARDRAILS)


@pytest.fixture
def content(tmp_path):
    """A private copy of content/ that a test may edit."""
    dest = tmp_path / "content"
    shutil.copytree(paths.CONTENT_DIR, dest)
    return dest


def edit(content_dir, name, mutate):
    """Load a content YAML file, let `mutate` change the parsed data, write it back."""
    path = content_dir / name
    data = yaml.safe_load(path.read_text())
    mutate(data)
    path.write_text(yaml.safe_dump(data, sort_keys=False, allow_unicode=True))


def load_error(content_dir) -> str:
    with pytest.raises(ConfigError) as exc:
        load_catalog(content_dir, guardrails=GUARDRAILS)
    return str(exc.value)


def test_real_catalog_loads(catalog):
    assert len(catalog.education) >= 30
    assert len(catalog.offers) >= 10
    assert re.fullmatch(r"[0-9a-f]{16}", catalog.version)
    ids = [e.id for e in (*catalog.education, *catalog.offers)]
    assert len(ids) == len(set(ids))
    for entry in (*catalog.education, *catalog.offers):
        assert entry.rationale_template in catalog.templates
    assert {e.format for e in catalog.education} == {"article", "checklist", "template", "calculator",
                                                     "explainer", "video"}


def test_every_persona_can_reach_the_minimum_counts(catalog):
    scoring = load_scoring()
    for persona in PERSONA_IDS:
        edu = [e for e in catalog.education if persona in e.persona_tags]
        offers = [o for o in catalog.offers if persona in o.persona_tags]
        assert len(edu) >= scoring.education.max, persona
        assert len({o.partner for o in offers}) >= scoring.offers.min, persona


def test_version_is_stable_and_follows_the_bytes(content, catalog):
    assert load_catalog(content, guardrails=GUARDRAILS).version == catalog.version
    path = content / "education.yaml"
    path.write_text(path.read_text() + "\n# a comment changes the bytes\n")
    assert load_catalog(content, guardrails=GUARDRAILS).version != catalog.version


def test_entries_frame(catalog):
    frame = catalog.entries_frame()
    assert len(frame) == len(catalog.education) + len(catalog.offers)
    assert set(frame["kind"]) == {"education", "offer"}
    offers = frame[frame["kind"] == "offer"]
    assert offers["partner"].notna().all() and offers["product_type"].notna().all()
    assert catalog.template_for("subscription-audit").id == "subscriptions_top"


def test_unknown_key_names_file_and_item(content):
    def mutate(d):
        d["items"][2]["colour"] = "blue"
    edit(content, "education.yaml", mutate)
    item_id = yaml.safe_load((content / "education.yaml").read_text())["items"][2]["id"]
    msg = load_error(content)
    assert f"education.yaml: items[2] (id={item_id}): colour: unknown key" in msg


def test_unknown_key_in_offer_eligibility(content):
    def mutate(d):
        d["offers"][0]["eligibility"]["max_age"] = 40
    edit(content, "offers.yaml", mutate)
    assert "offers.yaml: offers[0] (id=northwind-balance-transfer): eligibility.max_age: unknown key" in \
        load_error(content)


def test_predatory_offer_is_refused_with_a_clear_message(content):
    def mutate(d):
        quick = dict(d["offers"][0], id="quick-cash", partner="QuickCash", title="Cash today",
                     product_type="payday_loan", eligibility={})
        d["offers"].insert(3, quick)
    edit(content, "offers.yaml", mutate)
    msg = load_error(content)
    assert ("offers.yaml: offers[3] (id=quick-cash): product_type 'payday_loan' is refused by "
            "config/guardrails.yaml") in msg


def test_predatory_type_in_another_spelling_is_refused(content):
    def mutate(d):
        d["offers"][1]["product_type"] = "Title-Loan"
    edit(content, "offers.yaml", mutate)
    assert "offers[1] (id=clearpath-credit-counseling): product_type 'title_loan' is refused" in load_error(content)


def test_unreviewed_product_type_is_refused(content):
    def mutate(d):
        d["offers"][1]["product_type"] = "crypto_trading"
    edit(content, "offers.yaml", mutate)
    assert "product_type 'crypto_trading' is not in allowed_product_types" in load_error(content)


def test_unknown_template_id_fails(content):
    def mutate(d):
        d["items"][0]["rationale_template"] = "no_such_template"
    edit(content, "education.yaml", mutate)
    msg = load_error(content)
    assert "items[0] (id=credit-utilization-explained): rationale_template 'no_such_template' is not defined" in msg
    assert "rationales.yaml" in msg


def test_bad_trigger_signal_fails(content):
    def mutate(d):
        d["items"][1]["triggers"][0]["signal"] = "utilisation"
    edit(content, "education.yaml", mutate)
    msg = load_error(content)
    assert "items[1] (id=debt-avalanche-vs-snowball): triggers[0].signal: unknown signal 'utilisation'" in msg


def test_text_trigger_needs_equality(content):
    def mutate(d):
        d["items"][1]["triggers"][0] = {"signal": "pay_frequency", "op": ">", "value": "weekly"}
    edit(content, "education.yaml", mutate)
    assert "triggers[0]: signal 'pay_frequency' is text" in load_error(content)


def test_unknown_persona_tag_fails(content):
    def mutate(d):
        d["offers"][0]["persona_tags"] = ["big_spender"]
    edit(content, "offers.yaml", mutate)
    assert "offers[0] (id=northwind-balance-transfer): persona_tags[0]:" in load_error(content)


def test_shaming_text_fails_naming_field_and_phrase(content):
    def mutate(d):
        d["items"][4]["body"] += "\nStop wasting money on late fees.\n"
    edit(content, "education.yaml", mutate)
    msg = load_error(content)
    assert "items[4] (id=autopay-and-payment-planning): body: shaming or judgmental phrase 'wasting'" in msg


def test_shaming_template_fails(content):
    def mutate(d):
        d["templates"][0]["text"] += " Carrying this balance is irresponsible."
    edit(content, "rationales.yaml", mutate)
    assert "templates[0] (id=card_utilization): text: shaming or judgmental phrase 'irresponsible'" in \
        load_error(content)


def test_duplicate_id_across_files_fails(content):
    def mutate(d):
        d["offers"][0]["id"] = "subscription-audit"
    edit(content, "offers.yaml", mutate)
    assert "offers[0] (id=subscription-audit): duplicate id (first defined at" in load_error(content)


def test_template_placeholder_must_be_declared(content):
    def mutate(d):
        d["templates"][0]["text"] += " Your limit is {credit_limit_2:usd}."
    edit(content, "rationales.yaml", mutate)
    assert "templates[0] (id=card_utilization)" in load_error(content)
    assert "not declared in fields" in load_error(content)


def test_template_field_must_match_its_source(content):
    def mutate(d):
        t = next(t for t in d["templates"] if t["id"] == "spending_snapshot")
        t["text"] += " Card {mask}."
        t["fields"]["mask"] = "credit_cards.mask"
    edit(content, "rationales.yaml", mutate)
    assert "'credit_cards.mask' cannot be read with source 'signals_wide'" in load_error(content)


def test_fallback_cycle_fails(content):
    def mutate(d):
        t = next(t for t in d["templates"] if t["id"] == "spending_snapshot")
        t["fallback"] = "card_utilization"
    edit(content, "rationales.yaml", mutate)
    assert "fallback cycle" in load_error(content)


def test_all_problems_are_reported_together(content):
    def mutate(d):
        d["items"][0]["colour"] = "blue"
        d["items"][5]["priority"] = 7
    edit(content, "education.yaml", mutate)
    msg = load_error(content)
    assert "2 problem(s)" in msg and "colour" in msg and "items[5]" in msg and "priority" in msg


def test_missing_file_and_wrong_top_level(content):
    (content / "offers.yaml").write_text("partners: []\n")
    assert "offers.yaml: expected a single top-level key 'offers'" in load_error(content)
    (content / "offers.yaml").unlink()
    assert "offers.yaml: file not found" in load_error(content)


@pytest.mark.parametrize("mutate,expected", [
    (lambda d: d["weights"].update(freshness=0.2), "weights must sum to 1"),
    (lambda d: d["weights"].update(persona=1.4, signal=-0.5), "weights.persona"),
    (lambda d: d["education"].update(min=6), "min (6) is greater than max (5)"),
    (lambda d: d.update(per_partner_limit=2), "per_partner_limit: Extra inputs are not permitted"),
])
def test_scoring_config_is_validated(tmp_path, mutate, expected):
    from spendsense.config import config_path

    data = yaml.safe_load(config_path("scoring.yaml").read_text())
    mutate(data)
    path = tmp_path / "scoring.yaml"
    path.write_text(yaml.safe_dump(data))
    with pytest.raises(ConfigError, match=re.escape(expected)):
        load_scoring(path)


def test_scoring_defaults_and_freshness():
    s = load_scoring()
    assert (s.weights.persona, s.weights.signal, s.weights.priority, s.weights.freshness) == (0.4, 0.3, 0.2, 0.1)
    assert (s.education.min, s.education.max, s.offers.min, s.offers.max) == (3, 5, 1, 3)
    assert s.per_partner_cap == 1 and s.recency_days == 30
    days = pd.Series([None, 30, 45, 90, 400])
    assert s.freshness_score(days).tolist() == [1.0, 30 / 90, 0.5, 1.0, 1.0]


def test_trigger_mask_and_matches(catalog):
    frame = pd.DataFrame({"user_id": ["a", "b", "c"], "window_days": 30,
                          "max_utilization": [0.3, 0.29, None], "pay_frequency": ["irregular", "weekly", None]})
    assert Trigger(signal="max_utilization", op=">=", value=0.3).mask(frame).tolist() == [True, False, False]
    assert Trigger(signal="pay_frequency", op="==", value="irregular").mask(frame).tolist() == [True, False, False]
    assert Trigger(signal="max_utilization", op="<", value=0.3).holds(None) is False
    item = catalog.entry("irregular-income-calendar")  # pay_frequency == irregular OR median_pay_gap_days > 45
    frame["median_pay_gap_days"] = [60.0, 14.0, 50.0]
    out = trigger_matches([item], frame)
    assert out["triggers_matched"].tolist() == [2, 0, 1]
    assert out["matched_triggers"].tolist() == ["pay_frequency == 'irregular'; median_pay_gap_days > 45", "",
                                                "median_pay_gap_days > 45"]


def test_vocabularies_match_the_signal_tables():
    """Names the catalog may quote exist in the signals step's tables (when that step is present)."""
    signals = pytest.importorskip("spendsense.signals.catalog")
    from spendsense.content.models import CREDIT_CARD_COLUMNS, RECURRING_STREAM_COLUMNS, SIGNAL_NAMES

    assert set(SIGNAL_NAMES) <= set(signals.SIGNAL_NAMES)
    assert set(CREDIT_CARD_COLUMNS) <= {c for c, _ in signals.TABLE_COLUMNS["credit_cards"]}
    assert set(RECURRING_STREAM_COLUMNS) <= {c for c, _ in signals.TABLE_COLUMNS["recurring_streams"]}
