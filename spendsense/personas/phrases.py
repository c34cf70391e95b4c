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
from spendsense.content.formats import format_values as catalog_format_values
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


# --- vectorized formatting: the catalog's (spendsense.content.formats), plus flags and a plain number ---------------

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


def format_number(values: np.ndarray, places: int) -> pa.Array:
    """Numbers rounded half away from zero to `places` decimals, grouped by thousands ("1,234.5")."""
    x = np.asarray(values, dtype=float)
    return _signed(x, _grouped(pc.cast(_rounded(x, places), pa.string())))


def format_values(values: np.ndarray, fmt: Format) -> pa.Array:
    """Each value formatted as format_value(value, fmt) would (null where the value is missing): the catalog's
    vectorized formatter for numbers, plus the counterfactuals' own text and flag (yes/no) formats."""
    if fmt == "text":
        return pc.cast(pa.array(np.asarray(values, dtype=object), from_pandas=True), pa.string())
    x = np.asarray(values, dtype=float)
    if fmt == "flag":
        return pc.if_else(pa.array(x == 1), "yes", pc.if_else(pa.array(np.isnan(x)), pa.scalar(None, pa.string()), "no"))
    if fmt not in ("usd", "pct", "months", "days", "count"):
        raise ValueError(f"unknown format {fmt!r}")
    present = ~np.isnan(x)
    out = pa.nulls(len(x), pa.string())
    if present.any():
        out = pc.replace_with_mask(out, pa.array(present), catalog_format_values(x[present], fmt))
    return out
