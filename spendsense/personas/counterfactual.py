"""What would change this: per user and window, the cheapest change of the person's own signals that changes the
persona, verified by re-assigning the changed signals with the evaluation assign_personas uses (docs/personas.md)."""

from __future__ import annotations

from dataclasses import dataclass
from decimal import Decimal

import numpy as np
import pandas as pd

from spendsense.personas.assign import Evaluated, check_signals, evaluate_rule, first_match, matched_personas
from spendsense.personas.config import (
    NEGATED_OPS,
    NONE_PERSONA_ID,
    AllOf,
    Condition,
    PersonaConfig,
    Rule,
    rule_conditions,
)
from spendsense.personas.counterfactual_text import counterfactual_texts
from spendsense.personas.phrases import SignalPhrase, SignalPhrases, check_phrases

COUNTERFACTUAL_COLUMNS = ("user_id", "window_days", "persona_id", "target_persona_id", "cost", "changes",
                          "text_operator", "text_customer")
MAX_CONDITIONS = 63  # a persona's flipped conditions are one int64 bit code
FIXED_COST = 100.0  # a change no threshold distance can measure: a missing value, a null test, a text value


@dataclass(frozen=True)
class Flip:
    """One condition on every row, with the value that makes it pass / fail (just past the threshold) and the cost."""

    index: int
    persona: int  # the persona's index in config order, and the condition's bit among that persona's conditions
    bit: int
    evaluated: Evaluated
    phrase: SignalPhrase
    to_pass: np.ndarray
    cost_pass: np.ndarray
    to_fail: np.ndarray
    cost_fail: np.ndarray
    number: np.ndarray  # the signal's values as floats (NaN when missing or not a number)
    better_pass: np.ndarray  # whether the pass / fail value moves the signal its `better` way
    better_fail: np.ndarray

    @property
    def condition(self) -> Condition:
        """The condition as declared in config/personas.yaml."""
        return self.evaluated.condition

    def to(self, want_pass: bool) -> np.ndarray:
        """The values that make the condition pass (or fail)."""
        return self.to_pass if want_pass else self.to_fail

    def better(self, want_pass: bool) -> np.ndarray:
        """Whether passing (or failing) moves the signal its `better` way."""
        return self.better_pass if want_pass else self.better_fail


def numeric_values(values: pd.Series) -> np.ndarray:
    """Values as floats, NaN where missing or not a number."""
    return pd.to_numeric(values, errors="coerce").to_numpy(dtype=float, na_value=np.nan)


def _places(step: float) -> int:
    """Decimal places of a step (0.01 -> 2, 1 -> 0), so a stepped value reads 0.49 and not 0.49000000000000002."""
    return max(0, -Decimal(repr(step)).normalize().as_tuple().exponent)


def _just_past(op: str, threshold: np.ndarray, value: np.ndarray, phrase: SignalPhrase) -> np.ndarray:
    """The value closest to the threshold that satisfies `value op threshold` (NaN when the bounds forbid it)."""
    step, places = phrase.step, _places(phrase.step)
    below, above = np.round(threshold - step, places), np.round(threshold + step, places)
    if op in (">=", "<=", "=="):
        to = threshold.astype(float)
    elif op == ">":
        to = above
    elif op == "<":
        to = below
    else:  # "!=": step away on the side the value is on, or the other side if the bounds forbid it
        first, second = np.where(value > threshold, above, below), np.where(value > threshold, below, above)
        to = np.where(_in_bounds(first, phrase), first, second)
    return np.where(_in_bounds(to, phrase), to, np.nan)


def _in_bounds(to: np.ndarray, phrase: SignalPhrase) -> np.ndarray:
    """Whether values stay inside the signal's min / max."""
    low = -np.inf if phrase.min is None else phrase.min
    high = np.inf if phrase.max is None else phrase.max
    return (to >= low) & (to <= high)


def _target(ev: Evaluated, op: str, value: np.ndarray, phrase: SignalPhrase) -> tuple[np.ndarray, np.ndarray]:
    """The new value making `signal op threshold` hold, and its cost (inf where no value can)."""
    n = len(value)
    if op in ("is_null", "not_null"):  # only "becomes missing" is a change; a missing value cannot be invented
        return np.full(n, np.nan), np.full(n, FIXED_COST if op == "is_null" else np.inf)
    if ev.threshold.dtype == object:  # text: only "becomes exactly this text" is a change
        if op == "==":
            return ev.threshold.copy(), np.full(n, FIXED_COST)
        return np.full(n, None, dtype=object), np.full(n, np.inf)
    to = _just_past(op, ev.threshold, value, phrase)
    cost = np.where(np.isnan(value), FIXED_COST, np.abs(to - value) / phrase.scale)
    return to, np.where(np.isnan(to), np.inf, cost)


def _improves(to: np.ndarray, value: np.ndarray, phrase: SignalPhrase) -> np.ndarray:
    """Whether setting the signal to `to` moves it its `better` way (never from or to a missing value, or a text)."""
    if to.dtype == object:
        return np.zeros(len(value), dtype=bool)
    with np.errstate(invalid="ignore"):
        delta = to - value
    return delta <= 0 if phrase.better == "lower" else delta >= 0  # NaN compares false


def condition_flips(frame: pd.DataFrame, cfg: PersonaConfig, phrases: SignalPhrases) -> list[list[Flip]]:
    """Per persona (config order), its conditions (depth first) with pass / fail targets and costs."""
    out: list[list[Flip]] = []
    index = 0
    for persona in cfg.personas:
        evaluated: list[Evaluated] = []
        evaluate_rule(persona.criteria, frame, persona.id, "", evaluated)
        if len(evaluated) > MAX_CONDITIONS:
            raise ValueError(f"persona {persona.id}: more than {MAX_CONDITIONS} conditions")
        flips = []
        for bit, ev in enumerate(evaluated):
            phrase = phrases.signals[ev.condition.signal]
            value = numeric_values(ev.value)
            to_pass, cost_pass = _target(ev, ev.condition.op, value, phrase)
            to_fail, cost_fail = _target(ev, NEGATED_OPS[ev.condition.op], value, phrase)
            flips.append(Flip(index, len(out), bit, ev, phrase, to_pass, cost_pass, to_fail, cost_fail, value,
                              _improves(to_pass, value, phrase), _improves(to_fail, value, phrase)))
            index += 1
        out.append(flips)
    return out


def _plan(rule: Rule, want_pass: bool, flips: list[Flip], improving: bool = False) -> tuple[np.ndarray, np.ndarray]:
    """Cheapest cost per row for the rule to pass (or fail) and which conditions flip (bit code per row);
    with `improving`, only flips that move their signal its `better` way are allowed.

    Consumes `flips` (this persona's conditions, depth first) in the order the rule tree lists them."""
    if isinstance(rule, Condition):
        flip = flips.pop(0)
        done = flip.evaluated.passed if want_pass else ~flip.evaluated.passed
        cost = np.where(done, 0.0, flip.cost_pass if want_pass else flip.cost_fail)
        if improving:
            cost = np.where(done | flip.better(want_pass), cost, np.inf)
        return cost, np.where(done, np.int64(0), np.int64(1) << flip.bit)
    children = [_plan(sub, want_pass, flips, improving) for sub in (rule.all if isinstance(rule, AllOf) else rule.any)]
    costs = np.stack([c for c, _ in children])
    masks = np.stack([m for _, m in children])
    if isinstance(rule, AllOf) == want_pass:  # all must pass / any must fail: every child that is not there yet
        return costs.sum(axis=0), np.bitwise_or.reduce(masks, axis=0)
    pick = np.argmin(costs, axis=0)  # one child is enough: the cheapest, the first in config order on a tie
    rows = np.arange(costs.shape[1])
    return costs[pick, rows], masks[pick, rows]


def flipped(flip: Flip, persona: np.ndarray, code: np.ndarray) -> np.ndarray:
    """Per row, whether the plan (persona index, bit code) flips this condition."""
    return (persona == flip.persona) & (code >> flip.bit & 1 == 1)


def changed_signals(frame: pd.DataFrame, rows: np.ndarray, flat: list[Flip], persona: np.ndarray, code: np.ndarray,
                    want_pass: np.ndarray) -> pd.DataFrame:
    """A copy of the rows with every condition their plan (persona, code, want_pass on rows) flips set anew."""
    work = frame.iloc[rows]
    for flip in flat:
        flips = flipped(flip, persona, code)
        if not flips.any():
            continue
        to = np.where(want_pass, flip.to_pass[rows], flip.to_fail[rows])
        column = work[flip.condition.signal]
        if to.dtype == object:
            work[flip.condition.signal] = np.where(flips, to, column.to_numpy(dtype=object))
        else:
            work[flip.condition.signal] = np.where(flips, to, column.to_numpy(dtype=float, na_value=np.nan))
    return work


def assigned_codes(frame: pd.DataFrame, cfg: PersonaConfig) -> np.ndarray:
    """Per row, the config-order index of the persona assign_personas gives (len(cfg.personas) for `none`), by the
    assignment's own rule evaluation."""
    personas = cfg.by_priority()
    config_order = np.array([cfg.personas.index(p) for p in personas] + [len(personas)])
    return config_order[first_match(matched_personas(frame.reset_index(drop=True), personas, []))]


@dataclass
class Found:
    """Per row, the persona a verified change reaches (code, -1 while none is found), its cost, and the plan that
    reaches it: whose conditions (persona index) and which of them flip (bit code)."""

    target: np.ndarray
    cost: np.ndarray
    persona: np.ndarray
    code: np.ndarray

    @classmethod
    def empty(cls, n: int) -> Found:
        """Nothing found yet for n rows."""
        return cls(np.full(n, -1), np.full(n, np.nan), np.full(n, -1), np.zeros(n, dtype=np.int64))

    def mask(self, flat: list[Flip]) -> np.ndarray:
        """Rows x all conditions: which conditions the found plans flip."""
        out = np.zeros((len(self.code), len(flat)), dtype=bool)
        for flip in flat:
            out[:, flip.index] = flipped(flip, self.persona, self.code)
        return out


def verify_cheapest(signals: pd.DataFrame, cfg: PersonaConfig, flat: list[Flip], now: np.ndarray,
                    want_pass: np.ndarray, cost: np.ndarray, persona: np.ndarray, code: np.ndarray,
                    allowed: np.ndarray, found: Found) -> None:
    """For each row not found yet, try its candidate plans (candidates x rows: cost, persona index, bit code)
    cheapest first (ties: candidate order) and keep the first whose changed signals re-assign to an allowed
    persona other than the current one."""
    n = len(now)
    rows = np.arange(n)
    ranked = np.argsort(cost, axis=0, kind="stable")
    for pick in ranked:
        try_cost = cost[pick, rows]
        trying = np.flatnonzero((found.target < 0) & np.isfinite(try_cost))
        if not len(trying):
            continue
        try_persona, try_code = persona[pick[trying], trying], code[pick[trying], trying]
        changed = changed_signals(signals, trying, flat, try_persona, try_code, want_pass[trying])
        result = assigned_codes(changed, cfg)
        ok = (result != now[trying]) & allowed[result]
        moved = trying[ok]
        found.target[moved], found.cost[moved] = result[ok], try_cost[moved]
        found.persona[moved], found.code[moved] = try_persona[ok], try_code[ok]


def persona_counterfactuals(signals_wide: pd.DataFrame, cfg: PersonaConfig, phrases: SignalPhrases) -> pd.DataFrame:
    """persona_counterfactuals: per (user_id, window_days) the cheapest verified change of persona, with texts."""
    check_signals(signals_wide, cfg)
    check_phrases(phrases, cfg)
    frame = signals_wide.reset_index(drop=True)
    n = len(frame)
    used = list(dict.fromkeys(c.signal for p in cfg.personas for c in rule_conditions(p.criteria)))
    signals = frame[list(dict.fromkeys(["user_id", "window_days", *used]))]
    ids = np.array([p.id for p in cfg.personas] + [NONE_PERSONA_ID, None], dtype=object)  # code -1: not reached
    now = assigned_codes(signals, cfg)
    per_persona = condition_flips(signals, cfg, phrases)
    flat = [f for flips in per_persona for f in flips]
    want_pass = now == len(cfg.personas)  # `none` rows look for a persona to reach, the others to leave theirs
    rows = np.arange(n)
    own = np.minimum(now, len(cfg.personas) - 1)
    concern = np.array([phrases.personas[p.id].concern for p in cfg.personas])
    found = Found.empty(n)
    personas = np.broadcast_to(np.arange(len(cfg.personas))[:, None], (len(cfg.personas), n))

    def plans(want: bool, improving: bool = False) -> tuple[np.ndarray, np.ndarray]:
        """Every persona's cheapest plan (personas x rows: cost, bit code)."""
        out = [_plan(p.criteria, want, list(fl), improving) for p, fl in zip(cfg.personas, per_persona)]
        return np.stack([c for c, _ in out]), np.stack([m for _, m in out])

    pass_cost, pass_code = plans(True)
    if want_pass.any():  # `none` first: a persona nobody should aim for is not a goal, nor is a step back
        better_cost, better_code = plans(True, improving=True)
        better_cost = np.where(want_pass & ~concern[:, None], better_cost, np.inf)
        verify_cheapest(signals, cfg, flat, now, want_pass, better_cost, personas, better_code,
                        np.append(~concern, False), found)
    # then every row: for `none` every persona's "start matching", otherwise the persona's own "stop matching"
    fail_cost, fail_code = plans(False)
    leave = personas == 0
    cost = np.where(want_pass, pass_cost, np.where(leave, fail_cost[own, rows], np.inf))
    persona = np.where(want_pass, personas, own)
    code = np.where(want_pass, pass_code, fail_code[own, rows])
    verify_cheapest(signals, cfg, flat, now, want_pass, cost, persona, code, np.ones(len(ids) - 1, dtype=bool), found)

    texts = counterfactual_texts(cfg, phrases, flat, found.mask(flat), want_pass, now, found.target, found.cost,
                                signals["window_days"].to_numpy())
    return pd.DataFrame({
        "user_id": frame["user_id"].to_numpy(), "window_days": frame["window_days"].to_numpy(),
        "persona_id": ids[now], "target_persona_id": ids[found.target], "cost": found.cost, **texts,
    }, columns=list(COUNTERFACTUAL_COLUMNS))
