"""The one SQL loader: named queries in .sql files under the package, one parameter style, checked on bind.

A file holds one query, or several in sections opened by a comment line `-- name: <query_name>` (aiosql's
convention); lines before the first section are the file's header comment. Parameters are written `$name` (DuckDB
and SQLite both bind that style by name); binding checks the given names against the ones the text uses, so a
typo or a forgotten parameter fails with the file, query and parameter named, before the database sees it.

    from spendsense import sql
    q = sql.query("signals/credit.sql")                 # the file's only query
    q = sql.query("recommend/queries.sql", "ids")        # one section of a file
    con.execute(*q.bind(run_id="r1"))                    # (text, params), names checked

Where a query must be generated (identifier lists from the schema catalogue, per-file predicates), the file holds
the query with `{slot}` placeholders and `Query.fill(slot=fragment)` substitutes them, names checked like
parameters; the fragments come from one small helper per module, built from identifiers passed through
`identifier(name, known)`, which refuses a name the catalogue does not list. No other code edits SQL text.
"""

from __future__ import annotations

import re
import time
from collections.abc import Collection
from dataclasses import dataclass
from functools import lru_cache
from pathlib import Path

PACKAGE_DIR = Path(__file__).resolve().parent
_SECTION = re.compile(r"^--\s*name:\s*([a-z_][a-z0-9_]*)\s*$", re.MULTILINE)
# string literals, quoted identifiers and comments are skipped when looking for $parameters
_SKIP = re.compile(r"'(?:[^']|'')*'|\"(?:[^\"]|\"\")*\"|--[^\n]*|/\*.*?\*/", re.DOTALL)
_PARAM = re.compile(r"\$([A-Za-z_][A-Za-z0-9_]*)")
_SLOT = re.compile(r"\{([a-z_][a-z0-9_]*)\}")
_SKIP_OR_SLOT = re.compile(f"(?:{_SKIP.pattern})|{_SLOT.pattern}", re.DOTALL)
STAT_INTERVAL_SECONDS = 1.0
_STAT_SEEN: dict[str | Path, tuple[float, Path, int]] = {}  # file -> (when its mtime was read, path, mtime)
_PSYCOPG_TOKEN = re.compile(f"({_SKIP.pattern})|{_PARAM.pattern}|[?%]", re.DOTALL)


class SqlError(ValueError):
    """A query that does not exist, or parameters that do not match the query's text."""


@dataclass(frozen=True)
class Query:
    """One named query: where it comes from, its text and the parameters the text uses."""

    file: str
    name: str
    text: str
    params: frozenset[str]
    slots: frozenset[str] = frozenset()

    def bind(self, **params) -> tuple[str, dict]:
        """(text, params) for con.execute / con.sql, after checking the names against the text."""
        missing = sorted(self.params - params.keys())
        unknown = sorted(params.keys() - self.params)
        if missing or unknown:
            parts = ([f"missing parameter(s) {', '.join('$' + m for m in missing)}"] if missing else []) + \
                    ([f"unknown parameter(s) {', '.join(unknown)}"] if unknown else [])
            raise SqlError(f"{self.file} query {self.name!r}: {'; '.join(parts)}")
        if self.slots:
            raise SqlError(f"{self.file} query {self.name!r}: unfilled slot(s) "
                           f"{', '.join('{' + s + '}' for s in sorted(self.slots))}")
        return self.text, dict(params)

    def fill(self, **fragments: str) -> Query:
        """The query with every {slot} replaced by its SQL fragment (names checked against the text)."""
        missing, unknown = sorted(self.slots - fragments.keys()), sorted(fragments.keys() - self.slots)
        if missing or unknown:
            parts = ([f"missing slot(s) {', '.join(missing)}"] if missing else []) + \
                    ([f"unknown slot(s) {', '.join(unknown)}"] if unknown else [])
            raise SqlError(f"{self.file} query {self.name!r}: {'; '.join(parts)}")
        text = _SKIP_OR_SLOT.sub(lambda m: fragments[m.group(1)] if m.group(1) else m.group(0), self.text)
        return Query(self.file, self.name, text, parameters(text))

    def __str__(self) -> str:
        return self.text


def parameters(text: str) -> frozenset[str]:
    """The $names a SQL text uses outside string literals, quoted identifiers and comments."""
    return frozenset(_PARAM.findall(_SKIP.sub(" ", text)))


@lru_cache(maxsize=512)
def psycopg_text(text: str) -> str:
    """The same query for psycopg (PostgreSQL): `$name` becomes `%(name)s`, a positional `?` becomes `%s` and a
    literal `%` is doubled; string literals, quoted identifiers and comments keep their text (their % doubled)."""
    def token(m: re.Match) -> str:
        if m.group(1) is not None:
            return m.group(1).replace("%", "%%")
        if m.group(2) is not None:
            return f"%({m.group(2)})s"
        return "%s" if m.group(0) == "?" else "%%"

    return _PSYCOPG_TOKEN.sub(token, text)


def slots(text: str) -> frozenset[str]:
    """The {slot}s a SQL text leaves to Query.fill, outside string literals, quoted identifiers and comments."""
    return frozenset(_SLOT.findall(_SKIP.sub(" ", text)))


def identifier(name: str, known: Collection[str]) -> str:
    """A double-quoted identifier for a name the schema catalogue lists (`known`); any other name is refused."""
    if name not in known:
        raise SqlError(f"identifier {name!r} is not in the schema catalogue")
    return '"' + name.replace('"', '""') + '"'


def _query(file: str, name: str, text: str) -> Query:
    return Query(file, name, text, parameters(text), slots(text))


@lru_cache(maxsize=256)
def _load(path: Path, mtime_ns: int) -> dict[str, Query]:
    text = path.read_text()
    shown = path.relative_to(PACKAGE_DIR).as_posix() if path.is_relative_to(PACKAGE_DIR) else str(path)
    heads = list(_SECTION.finditer(text))
    if not heads:
        return {path.stem: _query(shown, path.stem, text)}
    out: dict[str, Query] = {}
    for i, m in enumerate(heads):
        body = text[m.end():heads[i + 1].start() if i + 1 < len(heads) else len(text)].strip() + "\n"
        if m.group(1) in out:
            raise SqlError(f"{shown}: query {m.group(1)!r} is defined twice")
        out[m.group(1)] = _query(shown, m.group(1), body)
    return out


def queries(file: str | Path) -> dict[str, Query]:
    """Every query of one file (a path relative to the spendsense package, or absolute), by name; an edited file
    is read again (its modification time is looked at most once a second: a served request runs many queries)."""
    now = time.monotonic()
    seen = _STAT_SEEN.get(file)
    if seen is not None and now - seen[0] < STAT_INTERVAL_SECONDS:
        return _load(seen[1], seen[2])
    path = Path(file) if Path(file).is_absolute() else PACKAGE_DIR / file
    try:
        mtime = path.stat().st_mtime_ns
    except FileNotFoundError:
        raise SqlError(f"no SQL file {file}") from None
    _STAT_SEEN[file] = (now, path, mtime)
    return _load(path, mtime)


def query(file: str | Path, name: str | None = None) -> Query:
    """One query of a file: the named section, or the file's only query when no name is given."""
    found = queries(file)
    if name is None:
        if len(found) != 1:
            raise SqlError(f"{file} holds {len(found)} queries ({', '.join(found)}); name one")
        return next(iter(found.values()))
    try:
        return found[name]
    except KeyError:
        raise SqlError(f"{file} has no query {name!r} (it has: {', '.join(found)})") from None
