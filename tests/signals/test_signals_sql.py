"""The signal SQL files: house layout, bound parameters only, and transpilable to Spark SQL by sqlglot."""

from __future__ import annotations

import datetime as dt

import pytest
import sqlglot
from sqlglot.errors import ErrorLevel

from spendsense.signals import load_signal_config
from spendsense.signals.compute import FAMILY_QUERIES, query_parameters, read_sql, sql_files, sql_parameters

FILES = sql_files()


def test_every_family_has_its_file():
    names = {p.stem for p in FILES}
    assert {"subscriptions", "savings", "credit", "income", "fees", "spending"} <= names
    assert set(FAMILY_QUERIES) <= names


@pytest.mark.parametrize("path", FILES, ids=lambda p: p.name)
def test_parses_as_duckdb_and_transpiles_to_spark(path):
    sql = path.read_text(encoding="utf-8")
    sqlglot.parse_one(sql, read="duckdb", error_level=ErrorLevel.RAISE)
    spark = sqlglot.transpile(sql, read="duckdb", write="spark", unsupported_level=ErrorLevel.RAISE)
    assert len(spark) == 1 and "SELECT" in spark[0]


@pytest.mark.parametrize("path", FILES, ids=lambda p: p.name)
def test_layout_and_parameters(path):
    sql = read_sql(path.stem)
    assert sql.lstrip().startswith("--"), "starts with a comment saying what it computes"
    assert "\nwith\n" in sql and "final as (" in sql and "select * from final" in sql
    known = sql_parameters(dt.date(2026, 10, 31), load_signal_config(), (30, 180), None)
    assert query_parameters(sql) <= known.keys()
    assert "{" not in sql, "no Python formatting placeholders in SQL"


def test_signals_view_lists_exactly_the_catalogue_signals():
    from spendsense.signals.catalog import CATEGORICAL_SIGNALS, NUMERIC_SIGNALS

    sql = read_sql("signals_long")
    numeric, categorical = sql.split("categorical_signals as (")
    for name in NUMERIC_SIGNALS:
        assert numeric.count(f"cast({name} as double) as {name}") == 1, name
    for name in CATEGORICAL_SIGNALS:
        assert categorical.count(f"            {name}") == 2, name  # selected, then unpivoted
    listed = {w.strip(" ,") for w in numeric.split("in (")[1].split(")")[0].split()}
    assert listed == set(NUMERIC_SIGNALS)
