"""The one SQL loader: sections, parameter names found outside literals and comments, checked binding."""

from __future__ import annotations

import os

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


def test_slots_are_filled_by_name_outside_literals_and_comments(tmp_path):
    f = tmp_path / "t.sql"
    f.write_text("-- {not_a_slot}\nselect {columns}, '{kept}' as s, {x: 1} as st from {view} where i < $n\n")
    q = sql.query(f)
    assert q.slots == {"columns", "view"}
    with pytest.raises(sql.SqlError, match=r"unfilled slot\(s\) \{columns\}, \{view\}"):
        q.bind(n=2)
    with pytest.raises(sql.SqlError, match=r"missing slot\(s\) view; unknown slot\(s\) vew"):
        q.fill(columns="i", vew="range(3) r(i)")
    filled = q.fill(columns="i", view="range(3) r(i)")
    assert filled.slots == frozenset() and filled.params == {"n"}
    text, params = filled.bind(n=2)
    assert "-- {not_a_slot}" in text
    assert duckdb.sql(text, params=params).fetchall() == [(0, "{kept}", {"x": 1}), (1, "{kept}", {"x": 1})]


def test_identifier_refuses_a_name_the_catalogue_does_not_list():
    assert sql.identifier('odd"name', {'odd"name'}) == '"odd""name"'
    with pytest.raises(sql.SqlError, match="'user_id; drop table x' is not in the schema catalogue"):
        sql.identifier("user_id; drop table x", {"user_id"})


def test_no_module_reads_sql_text_itself():
    offenders = []
    for path in sorted(sql.PACKAGE_DIR.rglob("*.py")):
        shown = path.relative_to(sql.PACKAGE_DIR).as_posix()
        if shown == "sql.py":
            continue
        for n, line in enumerate(path.read_text().splitlines(), 1):
            reads = ".sql" in line and ("read_text(" in line or "open(" in line)
            if reads or (".format(" in line and "_sql(" in line):
                offenders.append(f"{shown}:{n}: {line.strip()}")
    assert offenders == []


def test_psycopg_text_translates_parameters_and_keeps_literals():
    text = ("select '$kept ?', \"a%b\" from t -- $comment ?\n"
            "where x = $x and y like 'a%' and z = ? and w % 2 = 0 and v = $x")
    assert sql.psycopg_text(text) == (
        "select '$kept ?', \"a%%b\" from t -- $comment ?\n"
        "where x = %(x)s and y like 'a%%' and z = %s and w %% 2 = 0 and v = %(x)s")


def test_an_edited_file_is_read_again(tmp_path, monkeypatch):
    f = tmp_path / "edited.sql"
    f.write_text("select 1 as v\n")
    assert "1" in sql.query(f).text
    f.write_text("select 2 as v -- edited\n")
    os.utime(f, ns=(f.stat().st_atime_ns, f.stat().st_mtime_ns + 10**9))  # a later modification time
    assert "1" in sql.query(f).text  # within a second: the modification time is not looked at again
    monkeypatch.setattr(sql, "STAT_INTERVAL_SECONDS", 0.0)
    assert "2" in sql.query(f).text
