"""The one SQL loader: named queries in .sql files under the package, one parameter style, checked on bind.

A file holds one query, or several in sections opened by a comment line `-- name: <query_name>` (aiosql's
convention); lines before the first section are the file's header comment. Parameters are written `$name` (DuckDB
and SQLite both bind that style by name); binding checks the given names against the ones the text uses, so a
typo or a forgotten parameter fails with the file, query and parameter named, before the database sees it.

    from spendsense import sql
    q = sql.query("signals/credit.sql")                 # the file's only query
    q = sql.query("recommend/queries.sql", "ids")        # one section of a file
    con.execute(*q.bind(run_id="r1"))                    # (text, params), names checked
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from functools import lru_cache
from pathlib import Path

PACKAGE_DIR = Path(__file__).resolve().parent
_SECTION = re.compile(r"^--\s*name:\s*([a-z_][a-z0-9_]*)\s*$", re.MULTILINE)
# string literals, quoted identifiers and comments are skipped when looking for $parameters
_SKIP = re.compile(r"'(?:[^']|'')*'|\"(?:[^\"]|\"\")*\"|--[^\n]*|/\*.*?\*/", re.DOTALL)
_PARAM = re.compile(r"\$([A-Za-z_][A-Za-z0-9_]*)")


class SqlError(ValueError):
    """A query that does not exist, or parameters that do not match the query's text."""


@dataclass(frozen=True)
class Query:
    """One named query: where it comes from, its text and the parameters the text uses."""

    file: str
    name: str
    text: str
    params: frozenset[str]

    def bind(self, **params) -> tuple[str, dict]:
        """(text, params) for con.execute / con.sql, after checking the names against the text."""
        missing = sorted(self.params - params.keys())
        unknown = sorted(params.keys() - self.params)
        if missing or unknown:
            parts = ([f"missing parameter(s) {', '.join('$' + m for m in missing)}"] if missing else []) + \
                    ([f"unknown parameter(s) {', '.join(unknown)}"] if unknown else [])
            raise SqlError(f"{self.file} query {self.name!r}: {'; '.join(parts)}")
        return self.text, dict(params)

    def __str__(self) -> str:
        return self.text


def parameters(text: str) -> frozenset[str]:
    """The $names a SQL text uses outside string literals, quoted identifiers and comments."""
    return frozenset(_PARAM.findall(_SKIP.sub(" ", text)))


@lru_cache(maxsize=256)
def _load(path: Path, mtime_ns: int) -> dict[str, Query]:
    text = path.read_text()
    shown = path.relative_to(PACKAGE_DIR).as_posix() if path.is_relative_to(PACKAGE_DIR) else str(path)
    heads = list(_SECTION.finditer(text))
    if not heads:
        return {path.stem: Query(shown, path.stem, text, parameters(text))}
    out: dict[str, Query] = {}
    for i, m in enumerate(heads):
        body = text[m.end():heads[i + 1].start() if i + 1 < len(heads) else len(text)].strip() + "\n"
        if m.group(1) in out:
            raise SqlError(f"{shown}: query {m.group(1)!r} is defined twice")
        out[m.group(1)] = Query(shown, m.group(1), body, parameters(body))
    return out


def queries(file: str | Path) -> dict[str, Query]:
    """Every query of one file (a path relative to the spendsense package, or absolute), by name."""
    path = Path(file) if Path(file).is_absolute() else PACKAGE_DIR / file
    try:
        return _load(path, path.stat().st_mtime_ns)
    except FileNotFoundError:
        raise SqlError(f"no SQL file {file}") from None


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
