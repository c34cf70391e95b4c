"""The descriptor catalog: built from merchants.csv, equal to the catalog the old Python literals built,
and a broken merchant file refused with the file, line and field named."""

from __future__ import annotations

import hashlib
import json
from pathlib import Path

import numpy as np
import pytest

from spendsense.generate import catalog as catalog_mod
from spendsense.generate.catalog import (
    COLUMNS,
    MERCHANTS_CSV,
    CatalogFileError,
    build_catalog,
    load_merchants,
)

# sha256 of each column, group and attribute of build_catalog(seed), frozen from the code that wrote the
# merchants as Python literals (before they moved to merchants.csv); the whole catalog was compared too.
GOLDEN = Path(__file__).with_name("catalog_golden.json")


def digests(cat: catalog_mod.Catalog) -> dict[str, str]:
    """One digest per column, group and attribute (dtype included), so a mismatch names what changed."""

    def sha(value) -> str:
        return hashlib.sha256(json.dumps(value, separators=(",", ":")).encode()).hexdigest()[:16]

    out = {f"column:{c}": sha(getattr(cat, c)) for c in ("name", "merchant_name", "merchant_entity_id",
                                                          "pfc_primary", "pfc_detailed", "payment_channel",
                                                          "confidence")}
    out |= {f"group:{k}": sha([v.dtype.str, v.tolist()]) for k, v in cat.groups.items()}
    out |= {f"attr:{k}": sha([v.dtype.str, v.tolist()]) for k, v in cat.attrs.items()}
    out["order"] = sha([list(cat.groups), list(cat.attrs)])
    return out


@pytest.mark.parametrize("seed", ["0", "7", "42", "12345"])
def test_catalog_equals_the_one_the_literals_built(seed):
    golden = json.loads(GOLDEN.read_text(encoding="utf-8"))
    assert digests(build_catalog(int(seed))) == golden["seeds"][seed]
    assert {k: getattr(catalog_mod, k) for k in golden["lists"]} == golden["lists"]


def test_catalog_shape():
    cat = build_catalog(42)
    assert len(cat) == sum(g.size for g in cat.groups.values())
    assert np.array_equal(np.concatenate(list(cat.groups.values())), np.arange(len(cat)))
    assert cat.group("employer").size == catalog_mod.N_EMPLOYERS
    assert cat.name[cat.group("employer")[0]].endswith(" PAYROLL")
    assert cat.name[cat.group("employer")[1]].startswith("DIRECT DEP ")
    assert cat.attrs["oneoff_low"].size == cat.group("oneoff").size
    assert cat.attrs["subscription_weekly"].dtype == bool
    assert len(catalog_mod.CARD_ISSUERS) == cat.group("card_payment_out").size


GOOD = "grocery,Safeway,SAFEWAY #1234,FOOD_AND_DRINK_GROCERIES,in store,VERY_HIGH,,,,,"


@pytest.mark.parametrize(
    "rows, where, problem",
    [
        (["grocery,Safeway,SAFEWAY,FOOD_AND_DRINK_GROCERIES,in store,VERY_HIGH,,,"], "line 3, field '*'",
         "expected 11 fields"),
        (["grocery,Safeway,SAFEWAY,NOT_A_CODE,in store,VERY_HIGH,,,,,"], "line 3, field 'pfc_detailed'",
         "not in the PFC taxonomy"),
        (["grocery,Safeway,SAFEWAY,FOOD_AND_DRINK_GROCERIES,drive-in,VERY_HIGH,,,,,"], "line 3, field 'channel'",
         "not one of"),
        (["grocery,Safeway,,FOOD_AND_DRINK_GROCERIES,in store,VERY_HIGH,,,,,"], "line 3, field 'name'",
         "must not be empty"),
        (["subs,Netflix,NETFLIX,ENTERTAINMENT_TV_AND_MOVIES,online,HIGH,,,,cheap,monthly"],
         "line 3, field 'price'", "not a number"),
        (["subs,Netflix,NETFLIX,ENTERTAINMENT_TV_AND_MOVIES,online,HIGH,,,,9.99,yearly"],
         "line 3, field 'cadence'", "not one of"),
        (["oneoff,Apple,APPLE,GENERAL_MERCHANDISE_ELECTRONICS,online,HIGH,,90,20,,"], "line 3, field 'high'",
         "below low"),
        (["oneoff,Apple,APPLE,GENERAL_MERCHANDISE_ELECTRONICS,online,HIGH,,20,,,"], "line 3, field 'high'",
         "go together"),
        (["gas,Shell,SHELL,TRANSPORTATION_GAS,in store,HIGH,,,,,", GOOD], "line 4, field 'group'",
         "contiguous"),
        (["gas,Safeway,SAFEWAY GAS,TRANSPORTATION_GAS,in store,HIGH,,,,,"], "line 3, field 'merchant'",
         "already in group 'grocery'"),
        (["grocery,Kroger,KROGER,FOOD_AND_DRINK_GROCERIES,in store,VERY_HIGH,,,,4.99,"], "line 3, field 'price'",
         "some rows only"),
        (["pay,,{company} PAYROLL,INCOME_WAGES,other,HIGH,,,,,"], "line 3, field 'name'", "only placeholder"),
        (["Grocery Two,Kroger,KROGER,FOOD_AND_DRINK_GROCERIES,in store,VERY_HIGH,,,,,"], "line 3, field 'group'",
         "lower_snake_case"),
    ],
)
def test_a_broken_merchant_file_is_refused_naming_file_line_and_field(tmp_path, rows, where, problem):
    path = tmp_path / "merchants.csv"
    path.write_text("\n".join([",".join(COLUMNS), GOOD, *rows]) + "\n", encoding="utf-8")
    with pytest.raises(CatalogFileError) as err:
        load_merchants(path)
    assert str(err.value).startswith(f"{path}: {where}: ")
    assert problem in str(err.value)


def test_a_wrong_header_is_refused(tmp_path):
    path = tmp_path / "merchants.csv"
    path.write_text("group,merchant,name\n" + GOOD + "\n", encoding="utf-8")
    with pytest.raises(CatalogFileError, match=r"line 1: the header must be group,merchant,name,pfc_detailed"):
        load_merchants(path)


def test_the_shipped_file_loads_and_is_package_data():
    assert list(load_merchants())[:2] == ["grocery", "gas"]
    pyproject = (Path(__file__).parents[2] / "pyproject.toml").read_text(encoding="utf-8")
    assert MERCHANTS_CSV.name in pyproject


def test_a_group_the_file_lacks_is_named():
    with pytest.raises(KeyError, match=r"descriptor group 'yachts' is not in merchants.csv"):
        build_catalog(42).group("yachts")
