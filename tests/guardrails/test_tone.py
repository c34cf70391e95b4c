"""Tone guardrail: shaming phrasings are caught in any case, spacing and punctuation; neutral text passes."""

import pandas as pd
import pytest

from spendsense.config import ConfigError
from spendsense.content import load_catalog, load_guardrails
from spendsense.guardrails.tone import check_tone, check_tone_batch, find_tone_matches, normalize_text

RULES = load_guardrails()

SHAMING = [
    "You're overspending.",
    "YOU ARE OVERSPENDING on dining",
    "you   are   over-spending again",
    "You\u2019re over spending every month",
    "you re overspending",
    "ur overspending lol",
    "You've been overspending on takeout.",
    "Your overspending is a problem.",
    "You overspent last month.",
    "Don't over-spend this weekend.",
    "That was irresponsible.",
    "IRRESPONSIBLE spending habits",
    "You're so irresponsible!!!",
    "You're bad with money.",
    "you are BAD   with money",
    "bad-with-money habits",
    "Bad spending habits are hurting you",
    "Stop wasting money.",
    "You're WASTING your paycheck",
    "You wasted $200 on takeout.",
    "You've wasted so much of your money",
    "What a waste of money!",
    "Don't waste your money on that.",
    "Reckless spending",
    "recklessly using your card",
    "Too lazy to budget",
    "You're a failure with money.",
    "you are a complete failure",
    "a financial failure",
    "careless with your card",
    "Your spending is out of control.",
    "Out-of-control spending",
    "Your debt has gotten totally out of control",
    "You should be ashamed.",
    "you should feel ashamed of your debt",
    "Shame on you.",
    "Those were poor choices.",
    "Poor financial decisions got you here",
    "bad choices",
    "You're living beyond your means.",
    "living above your means",
    "Spending way beyond your means",
    "a foolish purchase",
    "stupid purchases",
    "frivolous spending",
    "You're broke again",
    "Don't be a deadbeat",
    "clueless about money",
    "pathetic savings",
    "You have no self-control.",
    "a lack of discipline",
    "Blowing your paycheck on shoes",
    "you blew all your money",
    "Stop throwing money away.",
    "You mismanaged your money.",
    "What a spendthrift",
    "No excuses this month",
    "Such a shopaholic",
]

NEUTRAL = [
    "Avoid paying interest by paying the full statement balance.",
    "Your Visa ending in 4523 is at 68% utilization.",
    "Failure to pay by the due date can add a late fee.",
    "A failed payment can trigger a returned-payment fee.",
    "There's no shame in starting small.",
    "Waste Management charges you $45 each month.",
    "Cut down on food waste by planning meals for the week.",
    "Irregular income is common for freelancers.",
    "A responsible lender explains all fees up front.",
    "Overdraft fees can add up quickly.",
    "Spending on dining was $320 this month.",
    "It can feel out of control when several bills land at once.",
    "Subscriptions are easy to forget.",
    "Consider a balance transfer to lower your interest rate.",
    "Your careful planning is paying off.",
    "A foolproof way to remember due dates is autopay.",
    "Living within your means gets easier with a plan.",
    "Your spending stayed within your plan.",
    "Track how much you spend on streaming each month.",
    "Pay more than the minimum when you can.",
    "You are building a buffer, one deposit at a time.",
    "Money left over at month end can go to savings.",
    "Your budget shows $120 left for groceries.",
    "Interest charged this month: $87.50.",
    "Breaking big goals into small steps makes them easier.",
    "Poor credit history? A secured card can help you build one.",
    "You spent $45 more on dining than last month.",
    "Unexpected expenses happen to everyone.",
]


def test_lists_are_big_enough():
    assert len(SHAMING) >= 40 and len(NEUTRAL) >= 20


@pytest.mark.parametrize("text", SHAMING)
def test_shaming_phrase_is_caught(text):
    result = check_tone(text, RULES)
    assert result.action in ("rewrite", "reject")
    assert not result.ok and result.matches


@pytest.mark.parametrize("text", SHAMING)
def test_rewrite_yields_passing_text_and_reject_yields_nothing(text):
    result = check_tone(text, RULES)
    if result.action == "rewrite":
        assert check_tone(result.rewritten_text, RULES).action == "pass"
        assert result.final_text == result.rewritten_text
    else:
        assert result.rewritten_text is None and result.final_text is None


@pytest.mark.parametrize("text", NEUTRAL)
def test_neutral_sentence_passes(text):
    result = check_tone(text, RULES)
    assert result.action == "pass", result.matches
    assert result.ok and result.rewritten_text == text


@pytest.mark.parametrize("text,expected", [
    ("You\u2019re overspending on dining.", "You're spending more than you planned on dining."),
    ("Stop wasting money on fees", "Stop spending money on fees"),
    ("What a waste of money!", "What an expense worth reviewing!"),
    ("You wasted $200 on takeout.", "You spent $200 on takeout."),
    ("YOU ARE OVERSPENDING", "YOU'RE SPENDING MORE THAN YOU PLANNED"),
    ("Frivolous purchases add up.", "Discretionary purchases add up."),
    ("It looks like you're living beyond your means.", "It looks like you're spending more than you earn."),
])
def test_rewrite_replaces_exactly_the_matched_span(text, expected):
    result = check_tone(text, RULES)
    assert result.action == "rewrite"
    assert result.rewritten_text == expected


def test_judgment_of_the_person_is_rejected_even_next_to_a_rewritable_phrase():
    result = check_tone("You're overspending and irresponsible.", RULES)
    assert result.action == "reject"
    assert {m.rule_id for m in result.matches} >= {"irresponsible", "you-are-overspending"}


def test_variants_of_one_phrase_hit_the_same_rule():
    variants = ["bad with money", "BAD WITH MONEY", "Bad  with\tmoney", "bad-with-money", "bad...with, money"]
    ids = [{m.rule_id for m in find_tone_matches(v, RULES)} for v in variants]
    assert all(i == {"bad-with-money"} for i in ids)


def test_match_reports_the_phrase_as_written():
    (m,) = [m for m in find_tone_matches("Honestly, that was IRRESPONSIBLE!", RULES)]
    assert m.phrase == "IRRESPONSIBLE" and m.start == 19 and m.end == 32


def test_normalize_text():
    assert normalize_text("You\u2019re  OVER-spending!!") == "youre over spending"
    assert normalize_text("  $3,400 -- ok ") == "3 400 ok"


def test_batch_agrees_with_single_checks():
    texts = pd.Series(SHAMING + NEUTRAL + [None], index=range(100, 100 + len(SHAMING) + len(NEUTRAL) + 1))
    batch = check_tone_batch(texts, RULES)
    assert list(batch.index) == list(texts.index)
    for idx, text in texts.items():
        if pd.isna(text):
            assert batch.at[idx, "action"] == "pass"
            continue
        single = check_tone(text, RULES)
        assert batch.at[idx, "action"] == single.action
        assert batch.at[idx, "rewritten_text"] == single.rewritten_text
        assert [m["rule_id"] for m in batch.at[idx, "matches"]] == [m.rule_id for m in single.matches]


def test_every_catalog_text_passes():
    catalog = load_catalog()
    texts = [RULES.disclosure]
    for entry in (*catalog.education, *catalog.offers):
        texts.extend(entry.text_fields().values())
    texts.extend(t.text for t in catalog.templates.values())
    assert len(texts) > 100
    flagged = [(t[:60], [m.phrase for m in find_tone_matches(t, RULES)]) for t in texts
               if check_tone(t, RULES).action != "pass"]
    assert flagged == []


def test_every_rewrite_replacement_passes():
    for rule in RULES.tone_rules:
        if rule.action == "rewrite":
            assert check_tone(rule.replacement, RULES).action == "pass", rule.id


def _write_guardrails(tmp_path, mutate):
    import yaml

    from spendsense.config import config_path

    data = yaml.safe_load(config_path("guardrails.yaml").read_text())
    mutate(data)
    path = tmp_path / "guardrails.yaml"
    path.write_text(yaml.safe_dump(data, sort_keys=False))
    return path


def test_pattern_not_in_normalized_form_fails_to_load(tmp_path):
    path = _write_guardrails(tmp_path, lambda d: d["tone_rules"][0]["patterns"].append("You're Lazy"))
    with pytest.raises(ConfigError, match=r"(?s)guardrails.yaml.*tone_rules\[0\]\.patterns.*normalized form"):
        load_guardrails(path)


def test_replacement_that_is_itself_flagged_fails_to_load(tmp_path):
    def mutate(d):
        d["tone_rules"][0]["replacement"] = "you're being reckless"
    path = _write_guardrails(tmp_path, mutate)
    with pytest.raises(ConfigError, match=r"tone_rules\[0\] \(id=you-are-overspending\): replacement"):
        load_guardrails(path)


def test_rewrite_rule_without_replacement_fails_to_load(tmp_path):
    def mutate(d):
        del d["tone_rules"][0]["replacement"]
    path = _write_guardrails(tmp_path, mutate)
    with pytest.raises(ConfigError, match="needs a replacement"):
        load_guardrails(path)


def test_disclosure_is_verbatim():
    assert RULES.disclosure == ("This is educational content, not financial advice. "
                                "Consult a licensed advisor for personalized guidance.")
