"""The signal SQL files: house layout, bound parameters only, one staging layer, runnable on their own, and
transpilable to Spark SQL by sqlglot."""

from __future__ import annotations

import datetime as dt
import re

import pandas as pd
import pytest
import sqlglot
from signal_fixtures import AS_OF, CONSENT, build_fixture, consent_frame
from sqlglot.errors import ErrorLevel

from spendsense import sql
from spendsense.signals import compute_signals, load_signal_config
from spendsense.signals.compute import FAMILY_QUERIES, SQL_DIR, STAGING, sql_files, sql_parameters, statements

FILES = sql_files()
QUERY_FILES = [p for p in FILES if p.stem not in STAGING and p.stem != "signals_long"]
KNOWN = sql_parameters(dt.date(2026, 10, 31), load_signal_config(), (30, 180), None)


def test_every_family_has_its_file():
    names = {p.stem for p in FILES}
    assert {"subscriptions", "savings", "credit", "income", "fees", "spending"} <= names
    assert set(FAMILY_QUERIES) <= names


@pytest.mark.parametrize("path", FILES, ids=lambda p: p.name)
def test_parses_as_duckdb_and_transpiles_to_spark(path):
    for query in statements(path.stem):
        sqlglot.parse_one(query.text, read="duckdb", error_level=ErrorLevel.RAISE)
        spark = sqlglot.transpile(query.text, read="duckdb", write="spark", unsupported_level=ErrorLevel.RAISE)
        assert len(spark) == 1 and "SELECT" in spark[0]


@pytest.mark.parametrize("path", QUERY_FILES, ids=lambda p: p.name)
def test_layout_and_parameters(path):
    query = sql.query(path)
    assert query.text.lstrip().startswith("--"), "starts with a comment saying what it computes"
    assert "\nwith\n" in query.text and "final as (" in query.text and "select * from final" in query.text
    assert query.params <= KNOWN.keys() and not query.slots


def test_the_shared_filters_are_written_once():
    texts = {p.name: re.sub(r"--[^\n]*", "", p.read_text()) for p in FILES}
    def where(pattern: str) -> dict[str, int]:
        return {name: n for name, text in texts.items() if (n := len(re.findall(pattern, text)))}
    assert where(r"coalesce\(t\.pending, false\)|coalesce\(pending") == {"staging.sql": 1}
    assert where(r"\$(as_of|windows|user_ids|min_lookback_days|max_lookback_days)\b") == {"parameters.sql": 5}
    assert where(r"business") == {}  # ingest stores personal accounts only
    assert where(r"\b(from|join) (transactions|accounts|signal_scope)\b") == {"staging.sql": 2}


def test_signals_view_lists_exactly_the_catalogue_signals():
    from spendsense.signals.catalog import CATEGORICAL_SIGNALS, NUMERIC_SIGNALS

    text = sql.query("signals/signals_long.sql", "view").text
    numeric, categorical = text.split("categorical_signals as (")
    for name in NUMERIC_SIGNALS:
        assert numeric.count(f"cast({name} as double) as {name}") == 1, name
    for name in CATEGORICAL_SIGNALS:
        assert categorical.count(f"            {name}") == 2, name  # selected, then unpivoted
    listed = {w.strip(" ,") for w in numeric.split("in (")[1].split(")")[0].split()}
    assert listed == set(NUMERIC_SIGNALS)


def _literal(value: object) -> str:
    """A Python parameter value as a SQL literal (what a shell user types)."""
    if value is None:
        return "null"
    if isinstance(value, list):
        return "[" + ", ".join(_literal(v) for v in value) + "]"
    if isinstance(value, dt.date):
        return f"date '{value.isoformat()}'"
    if isinstance(value, str):
        return "'" + value.replace("'", "''") + "'"
    return repr(value)


@pytest.mark.parametrize("family", FAMILY_QUERIES)
def test_each_family_runs_on_its_own_in_a_plain_duckdb_session(family):
    """The shell recipe of docs/signals.md: raw tables, the parameter row and consent as literals, `.read
    staging.sql` (one script), then the family file as a prepared statement; equal to the step's result."""
    con = build_fixture().build()
    want = compute_signals(con, AS_OF, consent_frame(CONSENT), load_signal_config())
    values = sql_parameters(AS_OF, load_signal_config(), (30, 180), None)
    with con.cursor() as shell:  # a new session on the same tables: nothing registered, no temp objects
        assert shell.execute("select count(*) from duckdb_views() where view_name like 'stg_%' or view_name like "
                             "'signal_%'").fetchone()[0] == 0
        shared = sql.query("signals/parameters.sql")
        shell.execute("create temp table stg_parameters as select " + ", ".join(
            f"cast({_literal(values[k])} as {t}) as {k}" for k, t in (
                ("as_of", "date"), ("windows", "integer[]"), ("user_ids", "varchar[]"),
                ("min_lookback_days", "integer"), ("max_lookback_days", "integer"))))
        assert shared.params == {"as_of", "windows", "user_ids", "min_lookback_days", "max_lookback_days"}
        shell.execute("create temp table signal_consent as select * from (values "
                      + ", ".join(f"('{u}', '{s}')" for u, s in CONSENT.items()) + ") as c(user_id, status)")
        shell.execute((SQL_DIR / "staging.sql").read_text())
        query = sql.query(f"signals/{family}.sql")
        shell.execute(f"prepare family as {query.text}")
        got = shell.execute("execute family(" + ", ".join(f"{k} := {_literal(values[k])}" for k in sorted(query.params))
                            + ")").df()
    table = {"credit": "credit_cards", "subscriptions": "recurring_streams", "income": "payroll_deposits"}
    expected = want.frame(table[family]) if family in table else want.signals_wide[["user_id", "window_days",
                                                                                   *got.columns[2:]]]
    assert len(got) > 0
    def rows(frame: pd.DataFrame) -> pd.DataFrame:
        return frame.astype(str).sort_values(list(frame.columns[:3])).reset_index(drop=True)
    pd.testing.assert_frame_equal(rows(got[list(expected.columns)]), rows(expected))
