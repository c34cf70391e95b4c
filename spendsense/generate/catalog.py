"""The descriptor catalog: every distinct (name, merchant, category, channel) a transaction can carry.

A transaction stores only an index into this catalog; the text columns are filled in one vectorized take
at the end. Merchant groups are disjoint on purpose: a merchant used for habitual purchases never appears
as a subscription or a one-off, so the recurring-stream detector sees exactly the streams we planted.

The descriptors are data, in `merchants.csv` beside this module: one row a descriptor, grouped (a group's
rows are contiguous, and the file's order is the catalog's order), with the columns

- `group`: the name the generator asks for (`catalog.group("grocery")`); `floor` holds the big-box and
  online stores used only for the statement-floor top-ups; `card_payment_out` is the checking side of a
  card payment (names the issuer), `card_payment_in` the card side (the issuer's generic thank-you line);
- `merchant` (empty: no merchant, as Plaid leaves it for transfers, fees and payroll), `name` (the raw
  transaction name), `pfc_detailed` (a code of the PFC taxonomy), `channel` (`in store`, `online`,
  `other`), `confidence` (the `pfc_confidence_level`);
- `party`: the servicer, lender or issuer an account is named after (`MORTGAGE_SERVICERS`, `CARD_ISSUERS`);
- `low`, `high` (one-off price range, $), `price` ($) and `cadence` (`monthly`/`weekly`): per-group
  attributes, each either filled on every row of a group or on none; a filled column becomes
  `catalog.attrs["<group>_<column>"]` (`cadence` becomes the boolean `"<group>_weekly"`).

A `name` containing `{employer}` is a payroll template: the group gets one descriptor per employer (names
from Faker, seeded with the run's seed), the templates taken in turn.
"""

from __future__ import annotations

import csv
import hashlib
import re
from dataclasses import dataclass, field, replace
from functools import cache
from pathlib import Path

import numpy as np
from faker import Faker

from spendsense import paths, schema

MERCHANTS_CSV = Path(__file__).with_name("merchants.csv")
COLUMNS = ("group", "merchant", "name", "pfc_detailed", "channel", "confidence", "party", "low", "high",
           "price", "cadence")
CHANNELS = ("in store", "online", "other")
CONFIDENCES = ("VERY_HIGH", "HIGH", "MEDIUM", "LOW")
CADENCES = ("monthly", "weekly")
GROUP_COLUMNS = ("party", "low", "high", "price", "cadence")  # filled on every row of a group or on none
NUMERIC_COLUMNS = ("low", "high", "price")
EMPLOYER = "{employer}"
N_EMPLOYERS = 150


class CatalogFileError(ValueError):
    """A row of the merchant file that cannot be used, named by file, line and field."""


@dataclass(frozen=True)
class Descriptor:
    """One row of the merchant file."""

    group: str
    merchant: str | None
    name: str
    pfc_detailed: str
    channel: str
    confidence: str
    party: str | None
    low: float | None
    high: float | None
    price: float | None
    cadence: str | None


def _row(path: Path, line: int, raw: dict[str, str | None], primary_of: dict[str, str]) -> Descriptor:
    """One validated descriptor from one CSV row."""

    def fail(column: str, problem: str) -> CatalogFileError:
        return CatalogFileError(f"{path}: line {line}, field {column!r}: {problem}")

    if None in raw or any(v is None for v in raw.values()):
        raise fail("*", f"expected {len(COLUMNS)} fields")
    text = {k: v.strip() for k, v in raw.items()}
    for column in ("group", "name", "pfc_detailed", "channel", "confidence"):
        if not text[column]:
            raise fail(column, "must not be empty")
    if not re.fullmatch(r"[a-z][a-z0-9_]*", text["group"]):
        raise fail("group", f"{text['group']!r} is not a lower_snake_case name")
    for column, allowed in (("channel", CHANNELS), ("confidence", CONFIDENCES), ("cadence", CADENCES)):
        if text[column] and text[column] not in allowed:
            raise fail(column, f"{text[column]!r} is not one of {', '.join(allowed)}")
    if text["pfc_detailed"] not in primary_of:
        raise fail("pfc_detailed", f"{text['pfc_detailed']!r} is not in the PFC taxonomy")
    if "{" in text["name"].replace(EMPLOYER, "") or "}" in text["name"].replace(EMPLOYER, ""):
        raise fail("name", f"{text['name']!r}: the only placeholder allowed is {EMPLOYER}")
    numbers: dict[str, float | None] = {}
    for column in NUMERIC_COLUMNS:
        try:
            numbers[column] = float(text[column]) if text[column] else None
        except ValueError:
            raise fail(column, f"{text[column]!r} is not a number") from None
        if numbers[column] is not None and not numbers[column] > 0:
            raise fail(column, f"{text[column]!r} must be positive")
    if (numbers["low"] is None) != (numbers["high"] is None):
        raise fail("high" if numbers["high"] is None else "low", "low and high go together")
    if numbers["low"] is not None and numbers["low"] > numbers["high"]:
        raise fail("high", f"{text['high']} is below low ({text['low']})")
    return Descriptor(**{k: (text[k] or None) for k in ("group", "merchant", "name", "pfc_detailed",
                                                       "channel", "confidence", "party", "cadence")},
                      **numbers)


@cache
def load_merchants(path: Path = MERCHANTS_CSV) -> dict[str, tuple[Descriptor, ...]]:
    """The merchant file's groups in file order, each a tuple of its descriptors; raises CatalogFileError."""
    primary_of = _primary_of()
    groups: dict[str, list[Descriptor]] = {}
    first_line: dict[str, int] = {}
    merchant_group: dict[str, str] = {}
    with Path(path).open(encoding="utf-8", newline="") as fh:
        reader = csv.DictReader(fh)
        if tuple(reader.fieldnames or ()) != COLUMNS:
            raise CatalogFileError(f"{path}: line 1: the header must be {','.join(COLUMNS)}, "
                                   f"not {','.join(reader.fieldnames or ())}")
        last = None
        for raw in reader:
            row = _row(path, reader.line_num, raw, primary_of)
            if row.group != last and row.group in groups:
                raise CatalogFileError(f"{path}: line {reader.line_num}, field 'group': {row.group!r} "
                                       f"started at line {first_line[row.group]}; a group's rows are contiguous")
            if row.merchant and merchant_group.setdefault(row.merchant, row.group) != row.group:
                raise CatalogFileError(f"{path}: line {reader.line_num}, field 'merchant': {row.merchant!r} is "
                                       f"already in group {merchant_group[row.merchant]!r}; groups are disjoint")
            first_line.setdefault(row.group, reader.line_num)
            groups.setdefault(row.group, []).append(row)
            last = row.group
    for group, rows in groups.items():
        checks = {c: [getattr(r, c) is not None for r in rows] for c in GROUP_COLUMNS}
        checks["name"] = [EMPLOYER in r.name for r in rows]  # templates: all of a group's names or none
        for column, filled in checks.items():
            if any(filled) and not all(filled):
                raise CatalogFileError(f"{path}: line {first_line[group] + filled.index(not filled[0])}, "
                                       f"field {column!r}: group {group!r} fills it on some rows only")
    return {group: tuple(rows) for group, rows in groups.items()}


def entity_id(merchant: str) -> str:
    """A stable, Plaid-looking merchant_entity_id (37 alphanumerics) derived from the merchant's name."""
    alphabet = "0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz"
    digest = hashlib.sha256(("spendsense-merchant:" + merchant).encode()).digest()
    digest += hashlib.sha256(digest).digest()
    return "".join(alphabet[b % 62] for b in digest[:37])


def _primary_of() -> dict[str, str]:
    """detailed -> primary code from the taxonomy files (v1, and v2 via the crosswalk)."""
    out = {}
    with (paths.TAXONOMY_DIR / "pfc_taxonomy_v1.csv").open(encoding="utf-8") as fh:
        for row in csv.DictReader(fh):
            out[row["DETAILED"].strip()] = row["PRIMARY"].strip()
    with (paths.TAXONOMY_DIR / "pfc_taxonomy_v2_v1_crosswalk.csv").open(encoding="utf-8") as fh:
        for row in csv.DictReader(fh):
            out.setdefault(row["pfc_v2_detailed"].strip(), row["pfc_v2_primary"].strip())
    return out


@dataclass
class Catalog:
    """Descriptor columns (one entry per distinct descriptor) and named groups of descriptor indices."""

    name: list[str] = field(default_factory=list)
    merchant_name: list[str | None] = field(default_factory=list)
    merchant_entity_id: list[str | None] = field(default_factory=list)
    pfc_primary: list[str] = field(default_factory=list)
    pfc_detailed: list[str] = field(default_factory=list)
    payment_channel: list[str] = field(default_factory=list)
    confidence: list[str] = field(default_factory=list)
    groups: dict[str, np.ndarray] = field(default_factory=dict)
    attrs: dict[str, np.ndarray] = field(default_factory=dict)  # per-group numeric attributes

    def add(
        self,
        name: str,
        merchant: str | None,
        detailed: str,
        channel: str,
        confidence: str,
        primary_of: dict[str, str],
    ) -> int:
        """Append one descriptor and return its index."""
        if detailed not in primary_of:
            raise ValueError(f"category {detailed} is not in the PFC taxonomy")
        self.name.append(name)
        self.merchant_name.append(merchant)
        self.merchant_entity_id.append(entity_id(merchant) if merchant else None)
        self.pfc_primary.append(primary_of[detailed])
        self.pfc_detailed.append(detailed)
        self.payment_channel.append(channel)
        self.confidence.append(confidence)
        return len(self.name) - 1

    def group(self, key: str) -> np.ndarray:
        """Descriptor indices of a named group."""
        if key not in self.groups:
            raise KeyError(f"descriptor group {key!r} is not in {MERCHANTS_CSV.name} (groups: {', '.join(self.groups)})")
        return self.groups[key]

    def one(self, key: str) -> int:
        """The single descriptor of a named singleton group."""
        return int(self.group(key)[0])

    def __len__(self) -> int:
        return len(self.name)


def _payroll_name(company: str) -> str:
    """Employer name as it appears on a payroll line: upper case, letters, digits and spaces."""
    return re.sub(r"\s+", " ", re.sub(r"[^A-Z0-9 ]", " ", company.upper())).strip()


def _employers(seed: int) -> list[str]:
    """N_EMPLOYERS distinct payroll names from Faker seeded with the run's seed."""
    fake = Faker("en_US")
    fake.seed_instance(seed)
    employers: list[str] = []
    while len(employers) < N_EMPLOYERS:
        name = _payroll_name(fake.company())
        if name not in employers:
            employers.append(name)
    return employers


def build_catalog(seed: int) -> Catalog:
    """The full descriptor catalog: the merchant file's groups in order; employer names from Faker."""
    primary_of = _primary_of()
    cat = Catalog()
    for group, rows in load_merchants().items():
        if EMPLOYER in rows[0].name:  # one descriptor per employer, the templates taken in turn
            rows = tuple(replace(rows[i % len(rows)], name=rows[i % len(rows)].name.replace(EMPLOYER, emp))
                         for i, emp in enumerate(_employers(seed)))
        cat.groups[group] = np.array(
            [cat.add(r.name, r.merchant, r.pfc_detailed, r.channel, r.confidence, primary_of) for r in rows],
            dtype=np.int32,
        )
        for column in NUMERIC_COLUMNS:
            if getattr(rows[0], column) is not None:
                cat.attrs[f"{group}_{column}"] = np.array([getattr(r, column) for r in rows], dtype=float)
        if rows[0].cadence is not None:
            cat.attrs[f"{group}_weekly"] = np.array([r.cadence == "weekly" for r in rows], dtype=bool)
    unknown = (set(cat.pfc_primary) | set(cat.pfc_detailed)) - schema.category_codes()
    if unknown:
        raise ValueError(f"catalog uses codes outside the PFC taxonomy: {sorted(unknown)}")
    return cat


def _parties(group: str) -> list[str]:
    """The `party` column of a group (the servicers, lenders or issuers accounts are named after)."""
    rows = load_merchants().get(group, ())
    if not rows or rows[0].party is None:
        raise CatalogFileError(f"{MERCHANTS_CSV}: group {group!r} needs rows with field 'party' filled")
    return [row.party for row in rows]


MORTGAGE_SERVICERS = _parties("mortgage")
STUDENT_SERVICERS = _parties("student")
CARD_ISSUERS = _parties("card_payment_out")
