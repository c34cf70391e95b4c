"""The signal SQL on Spark: SQLGlot's duckdb -> spark transpilation plus the documented rewrite rules below.

The .sql files stay the one definition (DuckDB runs them as written). SQLGlot translates most of the dialect
difference; what it leaves out or gets wrong is rewritten on the parsed tree, one rule per construct
(docs/scale-out.md, "SQL on Spark", lists them with why):

- `$name` parameters: bound as SQL literals (SQLGlot renders and escapes them; Spark's own markers cannot type
  an empty or NULL array);
- `create [or replace] temp table`: `create or replace temporary view` (Spark has no session temp tables; the
  caller caches the views that were tables);
- `x[i]`: `element_at(x, i)` — both 1-based; SQLGlot shifts literal indexes only, so `dates[occurrences]` would
  silently read the next element;
- `hash(x)`: `xxhash64(x)` — DuckDB's hash is 64-bit, Spark's `hash` is 32-bit murmur3 (more collisions);
- `list_sum`, `list_avg`, `list_median`: `aggregate` / sorted-element forms (Spark has no list aggregates);
  `list_aggregate(x, 'avg')` (the SQL's spelling of a mean of cents): the exact cents sum over 100 * count;
- a top-level `order by`: dropped (Spark would sort globally for nothing); the caller orders on read-back.
"""

from __future__ import annotations

import datetime as dt
from functools import lru_cache

import sqlglot
from sqlglot import exp

READ, WRITE = "duckdb", "spark"
LIST_SUM = "IF(SIZE(x) = 0, NULL, AGGREGATE(x, CAST(0 AS DECIMAL(38, 2)), (acc, v) -> CAST(acc + v AS DECIMAL(38, 2))))"
LIST_AVG = "IF(SIZE(x) = 0, NULL, AGGREGATE(x, CAST(0 AS DOUBLE), (acc, v) -> acc + CAST(v AS DOUBLE)) / SIZE(x))"
LIST_MEDIAN = ("IF(SIZE(x) = 0, NULL, (CAST(ELEMENT_AT(ARRAY_SORT(x), CAST(FLOOR((SIZE(x) + 1) / 2) AS INT)) AS DOUBLE)"
               " + CAST(ELEMENT_AT(ARRAY_SORT(x), CAST(CEIL((SIZE(x) + 1) / 2) AS INT)) AS DOUBLE)) / 2)")
# the mean of a cents list, as DuckDB computes avg(decimal(18, 2)): the exact sum in cents over 100 * count, one
# rounding (the SQL spells it list_aggregate(x, 'avg'); list_avg, in double, is for double lists)
CENTS_AVG = ("IF(SIZE(x) = 0, NULL, CAST(CAST(AGGREGATE(x, CAST(0 AS DECIMAL(38, 2)), (acc, v) -> CAST(acc + v AS "
             "DECIMAL(38, 2))) * 100 AS BIGINT) AS DOUBLE) / (SIZE(x) * 100))")
# list_sum is used on cents only (decimal(18, 2) lists); it accumulates in decimal(38, 2), DuckDB's sum type
LIST_FUNCTIONS = {"list_sum": LIST_SUM, "list_avg": LIST_AVG, "list_median": LIST_MEDIAN}


class SparkTranslation:
    """One statement translated: Spark SQL text, the view it creates (if any, and whether DuckDB stored it as a
    table), and the top-level ORDER BY the caller applies on read-back."""

    def __init__(self, text: str, creates: str | None, cached: bool, order_by: tuple[str, ...]):
        self.text, self.creates, self.cached, self.order_by = text, creates, cached, order_by


def literal(value: object) -> exp.Expression:
    """A bound parameter value as a Spark literal (dates typed; lists as typed arrays, NULL lists typed)."""
    if value is None:
        return exp.Null()
    if isinstance(value, bool):
        return exp.Boolean(this=value)
    if isinstance(value, dt.date):
        return exp.cast(exp.Literal.string(value.isoformat()), "DATE")
    if isinstance(value, list | tuple):
        if not value:
            return exp.cast(exp.Array(expressions=[]), "ARRAY<STRING>")
        return exp.Array(expressions=[literal(v) for v in value])
    if isinstance(value, str):
        return exp.Literal.string(value)
    if isinstance(value, int | float):
        return exp.Literal.number(repr(value))
    raise TypeError(f"no Spark literal for parameter value {value!r}")


@lru_cache(maxsize=64)
def _template(text: str) -> exp.Expression:
    return sqlglot.parse_one(text, read=WRITE)


def _from_template(text: str, arg: exp.Expression) -> exp.Expression:
    """A template with every column `x` replaced by the argument."""
    return _template(text).copy().transform(
        lambda n: arg.copy() if isinstance(n, exp.Column) and n.name == "x" and not n.table else n)


def _rewrite(node: exp.Expression, values: dict[str, object]) -> exp.Expression:
    """The rewrite rules of the module docstring, applied to one node."""
    if isinstance(node, exp.Placeholder):
        if node.name not in values:
            raise KeyError(f"parameter ${node.name} has no value")
        return literal(values[node.name])
    if isinstance(node, exp.Bracket) and len(node.expressions) == 1:
        return exp.Anonymous(this="ELEMENT_AT", expressions=[node.this, node.expressions[0]])
    if isinstance(node, exp.Anonymous) and node.name.lower() == "hash":
        return exp.Anonymous(this="XXHASH64", expressions=node.expressions)
    return node


def _list_function(node: exp.Expression) -> exp.Expression:
    """The list aggregate rule (after the others, so the argument it copies is already rewritten)."""
    if isinstance(node, exp.Anonymous) and node.name.lower() in LIST_FUNCTIONS:
        (arg,) = node.expressions
        return _from_template(LIST_FUNCTIONS[node.name.lower()], arg)
    if isinstance(node, exp.Anonymous) and node.name.lower() == "list_aggregate":
        arg, how = node.expressions
        if how.is_string and how.this == "avg":
            return _from_template(CENTS_AVG, arg)
        raise ValueError(f"no Spark rule for list_aggregate(..., {how.sql()})")
    return node


def _unshift_brackets(tree: exp.Expression) -> exp.Expression:
    """Parsed DuckDB brackets hold 0-based literal indexes (SQLGlot's offset); back to the 1-based index written."""
    for bracket in tree.find_all(exp.Bracket):
        if bracket.args.get("offset") is None and len(bracket.expressions) == 1:
            index = bracket.expressions[0]
            if isinstance(index, exp.Literal) and not index.is_string:
                bracket.set("expressions", [exp.Literal.number(int(index.this) + 1)])
    return tree


def to_spark(text: str, values: dict[str, object]) -> SparkTranslation:
    """One DuckDB statement of the signal SQL as Spark SQL with its parameters bound (module docstring)."""
    tree = sqlglot.parse_one(text, read=READ)
    creates, cached = None, False
    if isinstance(tree, exp.Create):
        creates = tree.this.name if isinstance(tree.this, exp.Table) else tree.this.this.name
        cached = tree.kind == "TABLE"
        tree.set("kind", "VIEW")
        tree.set("replace", True)
        select = tree.expression
    else:
        select = tree
    order = select.args.get("order")
    order_by = tuple(o.sql(READ) for o in order.expressions) if order is not None else ()
    if order is not None:
        select.set("order", None)
    tree = _unshift_brackets(tree).transform(lambda n: _rewrite(n, values)).transform(_list_function)
    return SparkTranslation(tree.sql(WRITE), creates, cached, order_by)
