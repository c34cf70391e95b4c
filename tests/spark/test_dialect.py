"""Each rewrite rule of spendsense.spark.dialect: the DuckDB statement run on DuckDB as written and on Spark
after translation gives the same values (tiny literal inputs, answers computed by hand)."""

from __future__ import annotations

import datetime as dt
import math
from decimal import Decimal

import duckdb
import pytest

from spendsense.spark.dialect import to_spark

CASES = {
    # list_median: middle element, or the mean of the two middle ones (3, 1, 10, 2 -> 2.5; 5, 1, 4 -> 4)
    "list_median": ("select list_median([3, 1, 10, 2]) as even, list_median([5, 1, 4]) as odd", (2.5, 4.0)),
    # list_avg of cents and list_sum of cents (exact decimal sum: 1.10 + 2.25 = 3.35)
    "list_avg_sum": (("select list_avg([cast(1.10 as decimal(18, 2)), cast(2.25 as decimal(18, 2))]) as mean, "
                     "cast(list_sum([cast(1.10 as decimal(18, 2)), cast(2.25 as decimal(18, 2))]) as double) as total"),
                     (1.675, 3.35)),
    # mean of cents as DuckDB's avg(decimal): 1.00, 1.00, 1.01 -> 3.01 / 3 in one rounding
    "cents_avg": (("select cast(list_aggregate([cast(1.00 as decimal(18, 2)), cast(1.00 as decimal(18, 2)), "
                  "cast(1.01 as decimal(18, 2))], 'avg') as double) as mean"), (301 / 300,)),
    # x[i] with a computed index: 1-based on both (SQLGlot alone would read x[n] as the element after the last)
    "index": (("with t as (select [10, 20, 30] as x, 3 as n) select x[n] as last, x[1] as first, x[n - 1] as mid "
              "from t"), (30, 10, 20)),
    # hash in a grouping: 'a' twice and 'b' once are two groups
    "hash": ("with t as (select unnest(['a', 'b', 'a']) as k) select count(distinct hash(k)) as groups from t", (2,)),
    # array_length (portable list length) and date arithmetic with an integer
    "length_dates": (("select array_length([1, 2, 3]) as n, date '2026-10-31' - 30 as start, "
                     "date_diff('day', date '2026-10-01', date '2026-10-31') as days"), (3, dt.date(2026, 10, 1), 30)),
}


def _plain(row) -> tuple:
    return tuple(float(v) if isinstance(v, Decimal) else v for v in row)


def _same(a: tuple, b: tuple) -> bool:
    return len(a) == len(b) and all(math.isclose(x, y, rel_tol=1e-12) if isinstance(x, float) else x == y
                                    for x, y in zip(a, b))


def _spark_row(spark, text: str, values: dict) -> tuple:
    return _plain(spark.sql(to_spark(text, values).text).collect()[0])


@pytest.mark.parametrize("case", CASES)
def test_rule_gives_the_duckdb_values_on_spark(spark, case):
    text, expected = CASES[case]
    on_duckdb = _plain(duckdb.connect().execute(text).fetchone())
    assert _same(on_duckdb, expected), on_duckdb
    on_spark = _spark_row(spark, text, {})
    assert _same(on_spark, expected), on_spark


def test_parameters_are_bound_as_typed_literals(spark):
    text = ("select cast($as_of as date) as d, list_contains($names, 'b') as has_b, "
            "cast($user_ids as varchar[]) is null as everyone, array_length(cast($empty as varchar[])) as none_listed")
    values = {"as_of": dt.date(2026, 10, 31), "names": ["a", "b"], "user_ids": None, "empty": []}
    assert _spark_row(spark, text, values) == (dt.date(2026, 10, 31), True, True, 0)


def test_a_top_level_order_by_moves_to_the_read_back_and_temp_tables_become_cached_views():
    t = to_spark("select user_id, window_days from signals_wide order by user_id, window_days", {})
    assert t.order_by == ("user_id", "window_days") and "ORDER BY" not in t.text
    t = to_spark("create or replace temp table stg_scope as select 1 as user_id", {})
    assert (t.creates, t.cached) == ("stg_scope", True) and t.text.startswith("CREATE OR REPLACE TEMPORARY VIEW")


def test_a_missing_parameter_is_named():
    with pytest.raises(KeyError, match=r"\$as_of"):
        to_spark("select $as_of", {})
