"""The identifiers filled into the ingest SQL templates ({slot}s), every name checked against the raw-table contract.

The ingest queries are written once per shape (load_table.sql, duplicates.sql, ...) and filled per table with
spendsense.sql's Query.fill; the only text spliced in is built here, from names spendsense.schema lists.
"""

from __future__ import annotations

from spendsense import sql
from spendsense.schema import PRIMARY_KEYS, TABLES

_COLUMNS = {table: frozenset(c.name for c in columns) | frozenset(c.name + "__v" for c in columns)
            for table, columns in TABLES.items()}


def column(table: str, name: str, parsed: bool = False, prefix: str = "") -> str:
    """One contract column of a table, quoted: as found (`name`) or parsed (`name__v`), optionally qualified."""
    return prefix + sql.identifier(name + "__v" if parsed else name, _COLUMNS[table])


def view(table: str, part: int | None = None) -> str:
    """The staged view of a raw table (t_<table>), or of one of its staged files (t_<table>_<part>)."""
    name = f"t_{table}" if part is None else f"t_{table}_{int(part)}"
    return sql.identifier(name, {name} if table in TABLES else ())


def typed_columns(table: str, skip: tuple[str, ...] = (), prefix: str = "") -> str:
    """Each contract column's parsed value under its contract name (`"c__v" as "c"`), in contract order."""
    return ",\n        ".join(f"{column(table, c.name, True, prefix)} as {column(table, c.name)}"
                               for c in TABLES[table] if c.name not in skip)


def keys(table: str, parsed: bool = False, prefix: str = "", sep: str = ", ", suffix: str = "") -> str:
    """The table's primary-key columns, quoted (parsed or as named), each followed by `suffix`, joined by `sep`."""
    return sep.join(column(table, k, parsed, prefix) + suffix for k in PRIMARY_KEYS[table])
