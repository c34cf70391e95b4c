"""Signal and persona phrasing for counterfactuals (content/signal_phrases.yaml), and vectorized number formats."""

from __future__ import annotations

from pathlib import Path
from typing import Literal

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc
from pydantic import Field, model_validator

from spendsense import paths
from spendsense.config import StrictModel, load_config
from spendsense.personas.config import NONE_PERSONA_ID, PersonaConfig, rule_conditions

Format = Literal["usd", "pct", "months", "days", "count", "flag", "text"]
_DECIMAL = pa.decimal256(76, 40)  # holds the shortest spelling of any float between 1e-20 and 1e36 exactly


class SignalPhrase(StrictModel):
    """How one signal is named, formatted, stepped past a threshold and weighed in a counterfactual."""

    label: str = Field(min_length=1)
    customer_label: str = Field(min_length=1)
    format: Format
    step: float = Field(gt=0)
    scale: float = Field(gt=0)
    better: Literal["lower", "higher"]
    min: float | None = None
    max: float | None = None
    null_label: str = Field(min_length=1)
    customer_states: dict[int, str] | None = None

    @model_validator(mode="after")
    def _flag_states(self) -> SignalPhrase:
        if (self.format == "flag") != (self.customer_states is not None):
            raise ValueError("customer_states is required for format flag and only allowed there")
        if self.customer_states is not None and set(self.customer_states) != {0, 1}:
            raise ValueError("customer_states needs exactly the states 0 and 1")
        if self.min is not None and self.max is not None and self.min >= self.max:
            raise ValueError("min must be below max")
        return self


class PersonaPhrase(StrictModel):
    """The customer wording of one persona in a counterfactual."""

    focus: str = Field(min_length=1)
    concern: bool
    steady: str = Field(min_length=1)


class SignalPhrases(StrictModel):
    """content/signal_phrases.yaml: phrasing per signal and per persona (including `none`)."""

    signals: dict[str, SignalPhrase] = Field(min_length=1)
    personas: dict[str, PersonaPhrase] = Field(min_length=1)


def load_signal_phrases(path: Path | str | None = None) -> SignalPhrases:
    """Load and validate content/signal_phrases.yaml (or the given file)."""
    return load_config(path if path is not None else paths.CONTENT_DIR / "signal_phrases.yaml", SignalPhrases)


def check_phrases(phrases: SignalPhrases, cfg: PersonaConfig) -> None:
    """Every signal the personas use and every persona (and `none`) has phrasing."""
    used = {c.signal for p in cfg.personas for c in rule_conditions(p.criteria)}
    missing = sorted(used - phrases.signals.keys())
    if missing:
        raise ValueError(f"signal phrases: no entry for signal(s) {', '.join(missing)}")
    lacking = sorted(({p.id for p in cfg.personas} | {NONE_PERSONA_ID}) - phrases.personas.keys())
    if lacking:
        raise ValueError(f"signal phrases: no entry for persona(s) {', '.join(lacking)}")


# --- vectorized formatting: the same text as spendsense.content.format_value, for whole arrays ---------------

def _rounded(x: np.ndarray, places: int) -> pa.Array:
    """|x| rounded half away from zero on its shortest decimal spelling (as format_value does), as decimals."""
    a = np.abs(np.asarray(x, dtype=float))
    a = np.where(np.isfinite(a), np.where(a < 1e-20, 0.0, a), np.nan)  # tinier values round to 0 anyway
    text = pc.cast(pa.array(a, from_pandas=True), pa.string())
    rounded = pc.round(pc.cast(text, _DECIMAL), ndigits=places, round_mode="half_towards_infinity")
    return pc.cast(rounded, pa.decimal256(76, places))


def _grouped(text: pa.Array) -> pa.Array:
    """Digits before the decimal point grouped by thousands with commas ("1234567.5" -> "1,234,567.5")."""
    while len(text) and pc.any(pc.match_substring_regex(text, r"^\d{4}")).as_py():
        text = pc.replace_substring_regex(text, r"^(\d+)(\d{3})", r"\1,\2")
    return text


def _signed(x: np.ndarray, body: pa.Array) -> pa.Array:
    """A minus sign before body where x is negative (as Python prints a negative Decimal, even one that is 0)."""
    return pc.binary_join_element_wise(pa.array(np.where(np.signbit(x), "-", "")), body, "")


def _with_unit(x: np.ndarray, places: int, one: str, many: str) -> pa.Array:
    """x rounded to places, grouped, with a singular unit at exactly 1 and a plural otherwise."""
    rounded = _rounded(x, places)
    unit = pc.if_else(pc.and_(pc.equal(rounded, pa.scalar(1, rounded.type)), pa.array(~np.signbit(x))), one, many)
    return pc.binary_join_element_wise(_signed(x, _grouped(pc.cast(rounded, pa.string()))), unit, " ")


def _usd(x: np.ndarray) -> pa.Array:
    """Dollars: whole dollars from $100, cents below unless they are .00, '-$' for negatives."""
    cents = _rounded(x, 2)
    cents_text = pc.cast(cents, pa.string())
    whole = pc.cast(_rounded(x, 0), pa.string())
    body = pc.if_else(pc.greater_equal(cents, pa.scalar(100, cents.type)), whole,
                      pc.if_else(pc.ends_with(cents_text, ".00"), pc.utf8_slice_codeunits(cents_text, 0, -3),
                                 cents_text))
    negative = pc.and_(pa.array(x < 0), pc.not_equal(cents, pa.scalar(0, cents.type)))
    return pc.binary_join_element_wise(pc.if_else(negative, "-$", "$"), _grouped(body), "")


def _pct(x: np.ndarray) -> pa.Array:
    """A fraction as a whole percent; a non-zero value that rounds to 0 reads 'less than 1%'."""
    hundred = x * 100
    rounded = _rounded(hundred, 0)
    text = pc.binary_join_element_wise(_signed(hundred, _grouped(pc.cast(rounded, pa.string()))), "%", "")
    tiny = pc.and_(pc.equal(rounded, pa.scalar(0, rounded.type)), pa.array(x != 0))
    return pc.if_else(tiny, "less than 1%", text)


def format_number(values: np.ndarray, places: int) -> pa.Array:
    """Numbers rounded half away from zero to `places` decimals, grouped by thousands ("1,234.5")."""
    x = np.asarray(values, dtype=float)
    return _signed(x, _grouped(pc.cast(_rounded(x, places), pa.string())))


def format_values(values: np.ndarray, fmt: Format) -> pa.Array:
    """Each value formatted as format_value(value, fmt) would (null where the value is missing)."""
    if fmt == "text":
        return pc.cast(pa.array(np.asarray(values, dtype=object), from_pandas=True), pa.string())
    x = np.asarray(values, dtype=float)
    if fmt == "usd":
        return _usd(x)
    if fmt == "pct":
        return _pct(x)
    if fmt == "months":
        return _with_unit(x, 1, "month", "months")
    if fmt == "days":
        return _with_unit(x, 0, "day", "days")
    if fmt == "count":
        return format_number(x, 0)
    if fmt == "flag":
        return pc.if_else(pa.array(x == 1), "yes", pc.if_else(pa.array(np.isnan(x)), pa.scalar(None, pa.string()), "no"))
    raise ValueError(f"unknown format {fmt!r}")
