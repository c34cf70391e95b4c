"""Tone guardrail: shaming phrasings are caught in any case, spacing and punctuation; neutral text passes."""

import pandas as pd
import pytest

from spendsense.config import ConfigError
from spendsense.content import load_catalog, load_guardrails
from spendsense.content.tone_models import PLACEHOLDER
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


# --- shape rules (tone_shapes): judgments of the person by their grammatical shape ----------------------------

SHAPES = [
    ("You clearly can't manage money.", "you-cant-manage"),
    ("you CANNOT handle your own finances", "you-cant-manage"),
    ("You'll see: you are incapable of sticking to a budget.", "you-cant-manage"),
    ("You're financially illiterate.", "you-are-trait"),
    ("Ur such a hopeless spender", "you-are-trait"),
    ("You are, frankly, a walking disaster.", "you-are-trait"),
    ("your a total joke", "you-are-trait"),
    ("You have no idea what you're doing.", "you-have-no-sense"),
    ("You don't have a clue.", "you-have-no-sense"),
    ("What's wrong with you?!", "whats-wrong-with-you"),
    ("What were you thinking?", "whats-wrong-with-you"),
    ("You should be embarrassed.", "you-should-be-ashamed"),
    ("You only have yourself to blame.", "you-should-be-ashamed"),
    ("That's entirely your own fault.", "you-should-be-ashamed"),
    ("Your budget is a complete joke.", "your-finances-are-a-mess"),
    ("Get your act together!", "scolding-imperative"),
    ("GROW UP.", "scolding-imperative"),
    ("Stop being such a baby about it.", "scolding-imperative"),
    ("Quit wasting your paycheck.", "scolding-imperative"),
    ("You never learn.", "you-never-learn"),
]

SHAPE_LOOKALIKES = [
    "You're on track.", "You're eligible.", "You are paid every two weeks.", "You're saving 10% of each check.",
    "You're in a good position to refinance.", "You're doing well.", "You're ahead of plan.",
    "You're behind on a payment.", "You're not alone.", "You're entitled to a refund of that fee.",
    "You can set up autopay.", "You could save about $40 a month.", "You might be surprised.",
    "You can't always control when bills arrive.", "You have no payments due.", "You deserve a break from fees.",
    "Grow your savings up to 4% APY.", "Your savings can grow up to $600.", "Wake up to a daily balance alert.",
    "Wake up each payday to a transfer that already happened.", "You have nothing to be ashamed of.",
    "Get real-time alerts.", "Stop payments on a check.", "Stop a recurring charge.",
    "Stop being charged overdraft fees.", "It's not your fault that prices went up.",
    "You shouldn't feel embarrassed to ask for help.", "You never pay interest if you pay in full.",
    "Pay, Set up, Check, Automate, Review, Consider, Start, Keep: small steps add up.",
    "Your credit score is 640.", "A poor credit score can be rebuilt.",
]


@pytest.mark.parametrize(("text", "rule_id"), SHAPES)
def test_shape_rule_rejects_judgment(text, rule_id):
    result = check_tone(text, RULES)
    assert result.action == "reject"
    assert rule_id in {m.rule_id for m in result.matches}


@pytest.mark.parametrize("text", SHAPE_LOOKALIKES)
def test_shape_lookalike_passes(text):
    assert check_tone(text, RULES).action == "pass", [m.rule_id for m in check_tone(text, RULES).matches]


def test_negation_listed_word_still_rejected_shape_passes():
    """A listed word is rejected even when negated (documented); a shape needs the trait right after 'you are'
    and its intensifiers, and 'not' is not one, so a negated shape passes."""
    assert check_tone("You're not irresponsible.", RULES).action == "reject"
    assert check_tone("You're not hopeless with money.", RULES).action == "reject"  # 'hopeless' is listed
    assert check_tone("You're not a disaster, you're a person with a plan.", RULES).action == "pass"


def test_shapes_are_appended_as_reject_rules():
    shape_ids = [s.id for s in RULES.tone_shapes.rules]
    rules = {r.id: r for r in RULES.tone_rules}
    assert [r.id for r in RULES.tone_rules][-len(shape_ids):] == shape_ids
    assert all(rules[i].action == "reject" and not PLACEHOLDER.search("".join(rules[i].patterns)) for i in shape_ids)


def test_unless_excuses_only_matches_inside_the_longer_phrase():
    assert check_tone("Savings grow up to 4%.", RULES).action == "pass"
    assert check_tone("Savings grow up to 4%. Now grow up.", RULES).action == "reject"


def test_batch_matches_single_on_shapes():
    texts = pd.Series([t for t, _ in SHAPES] + SHAPE_LOOKALIKES)
    batch = check_tone_batch(texts, RULES)
    assert list(batch["action"]) == [check_tone(t, RULES).action for t in texts]


def test_combined_pattern_runs_on_re2():
    """recommend's batch pre-filter runs the combined pattern on Arrow's RE2: no look-arounds or back-references."""
    import pyarrow as pa
    import pyarrow.compute as pc

    from spendsense.guardrails.tone import _compile, _rule_key

    pattern = _compile(_rule_key(RULES.tone_rules)).combined.pattern
    hits = pc.match_substring_regex(pa.array(["youre clearly hopeless", "youre on track"]), pattern)
    assert hits.to_pylist() == [True, False]


def test_unknown_lexicon_in_shape_fails_to_load(tmp_path):
    path = _write_guardrails(tmp_path, lambda d: d["tone_shapes"]["rules"][0]["patterns"].append("{no_such} x"))
    with pytest.raises(ConfigError, match=r"unknown lexicon\(s\) \['no_such'\]"):
        load_guardrails(path)


def test_unused_lexicon_fails_to_load(tmp_path):
    path = _write_guardrails(tmp_path, lambda d: d["tone_shapes"]["lexicons"].update(spare=["x"]))
    with pytest.raises(ConfigError, match=r"\['spare'\] are not used"):
        load_guardrails(path)


def test_unknown_key_in_tone_shapes_fails_to_load(tmp_path):
    path = _write_guardrails(tmp_path, lambda d: d["tone_shapes"]["rules"][0].update(action="rewrite"))
    with pytest.raises(ConfigError, match=r"tone_shapes\.rules\[0\]\.action"):
        load_guardrails(path)


def test_lexicon_word_not_normalized_fails_to_load(tmp_path):
    path = _write_guardrails(tmp_path, lambda d: d["tone_shapes"]["lexicons"]["trait_noun"].append("Loser's"))
    with pytest.raises(ConfigError, match=r"lexicon 'trait_noun'.*normalized form"):
        load_guardrails(path)


def test_shape_id_clashing_with_listed_rule_fails_to_load(tmp_path):
    def mutate(d):
        d["tone_shapes"]["rules"][0]["id"] = d["tone_rules"][0]["id"]
    path = _write_guardrails(tmp_path, mutate)
    with pytest.raises(ConfigError, match="duplicate tone rule id"):
        load_guardrails(path)
