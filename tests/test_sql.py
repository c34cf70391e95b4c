"""The one SQL loader: sections, parameter names found outside literals and comments, checked binding."""

from __future__ import annotations

import duckdb
import pytest

from spendsense import sql


def test_sections_parameters_and_binding(tmp_path):
    f = tmp_path / "q.sql"
    f.write_text("-- header comment, not a query\n"
                 "-- name: by_user\n"
                 "select '$not_a_param' as \"$nor_this\" -- nor $this\n"
                 "from range(3) r(i) where i >= $low and i < $high\n"
                 "-- name: count_all\n"
                 "select count(*) from range($n)\n")
    qs = sql.queries(f)
    assert list(qs) == ["by_user", "count_all"]
    assert qs["by_user"].params == {"low", "high"}
    text, params = qs["by_user"].bind(low=1, high=3)
    result = duckdb.sql(text, params=params)
    assert result.columns == ["$nor_this"] and result.fetchall() == [("$not_a_param",), ("$not_a_param",)]
    with pytest.raises(sql.SqlError, match=r"q.sql query 'by_user': missing parameter\(s\) \$high"):
        qs["by_user"].bind(low=1)
    with pytest.raises(sql.SqlError, match=r"unknown parameter\(s\) hgih"):
        qs["by_user"].bind(low=1, high=2, hgih=3)
    with pytest.raises(sql.SqlError, match="has no query 'nope'"):
        sql.query(f, "nope")
    with pytest.raises(sql.SqlError, match="holds 2 queries"):
        sql.query(f)


def test_a_file_without_sections_is_one_query_named_after_it(tmp_path):
    f = tmp_path / "only.sql"
    f.write_text("select $x as x\n")
    q = sql.query(f)
    assert (q.name, q.params) == ("only", frozenset({"x"}))


def test_a_section_defined_twice_is_an_error(tmp_path):
    f = tmp_path / "dup.sql"
    f.write_text("-- name: a\nselect 1\n-- name: a\nselect 2\n")
    with pytest.raises(sql.SqlError, match="defined twice"):
        sql.queries(f)
