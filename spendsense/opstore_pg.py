"""The operational store on PostgreSQL: a connection that runs the store's SQL texts, and its migrations.

Selected by a `postgresql://` (or `postgres://`) URL in place of the SQLite path (`SPENDSENSE_OPSTORE`, or the
path given to `opstore.connect`). `PgConnection` offers what the store's code uses of an sqlite3 connection
(`execute`, `executemany`, `total_changes`, `close`), translating each query text once (spendsense.sql's
`psycopg_text`), so both dialects run the same SQL; a query whose text must differ has a section
`<name>__postgresql` beside it (`opstore.query`). Parameters are bound client-side (psycopg's ClientCursor, the
server never has to infer a type for `$x is null`).

Writes are serialized like SQLite's BEGIN IMMEDIATE: every write transaction first takes one transaction-scoped
advisory lock (`pg_advisory_xact_lock`), so writers queue up, a check-then-insert (the review conflict check)
cannot race, and the identity column `rowid` grows in commit order (the recording order and the consent
watermark stay exact). The schema is built by numbered migrations (opstore_pg.sql, sections migration_<n>)
recorded in `schema_migrations`, applied under the same lock so several processes may start at once.
"""

from __future__ import annotations

import datetime as dt
import threading
from collections.abc import Iterable, Iterator
from contextlib import contextmanager
from typing import Self

import psycopg

from spendsense import sql

DIALECT = "postgresql"
URL_PREFIXES = ("postgresql://", "postgres://")
MIGRATIONS = "opstore_pg.sql"
WRITE_LOCK = 0x5350454E44  # the advisory lock key every opstore write transaction takes ("SPEND")
CONNECT_TIMEOUT_S = 10
LOCK_TIMEOUT = "30s"  # a writer waits this long for the write lock (SQLite: busy_timeout 30 s)
RETRYABLE = (psycopg.errors.SerializationFailure, psycopg.errors.DeadlockDetected,
             psycopg.errors.LockNotAvailable)


def is_url(location) -> bool:
    """Whether an opstore location names a PostgreSQL server rather than an SQLite file."""
    return isinstance(location, str) and location.startswith(URL_PREFIXES)


class PgConnection:
    """One psycopg connection (autocommit outside write transactions), thread-safe for the store's use."""

    dialect = DIALECT

    def __init__(self, url: str):
        self.url = url
        self._con = psycopg.connect(url, autocommit=True, cursor_factory=psycopg.ClientCursor,
                                    connect_timeout=CONNECT_TIMEOUT_S)
        self._con.execute(f"set lock_timeout = '{LOCK_TIMEOUT}'")
        self._lock = threading.RLock()  # one transaction at a time per connection, even from several threads
        self.total_changes = 0  # rows inserted through this connection (like sqlite3's total_changes)

    def execute(self, text: str, params=()) -> psycopg.Cursor:
        """Run one query (a store SQL text with `$name` or `?` parameters); the cursor holds every result row."""
        with self._lock:
            cur = self._con.execute(sql.psycopg_text(text), params if params is not None else ())
            self._count(cur)
            return cur

    def executemany(self, text: str, rows: Iterable) -> psycopg.Cursor:
        """Run one statement per parameter row (in the caller's transaction)."""
        with self._lock:
            cur = self._con.cursor()
            cur.executemany(sql.psycopg_text(text), rows)
            self._count(cur)
            return cur

    def _count(self, cur: psycopg.Cursor) -> None:
        if cur.description is None and cur.rowcount > 0:
            self.total_changes += cur.rowcount

    def copy_rows(self, table: str, columns: list[str], rows: Iterable[tuple]) -> None:
        """COPY rows into a table (a temporary staging table of the caller's transaction)."""
        names = ", ".join(columns)
        with self._lock, self._con.cursor() as cur, cur.copy(f"copy {table} ({names}) from stdin") as copy:
            for row in rows:
                copy.write_row(row)

    @contextmanager
    def write(self) -> Iterator[PgConnection]:
        """One write transaction holding the store's write lock until it commits or rolls back."""
        with self._lock, self._con.transaction():
            self._con.execute("select pg_advisory_xact_lock(%s)", (WRITE_LOCK,))
            yield self

    @property
    def in_transaction(self) -> bool:
        return self._con.info.transaction_status != psycopg.pq.TransactionStatus.IDLE

    def close(self) -> None:
        self._con.close()

    def __enter__(self) -> Self:
        return self

    def __exit__(self, *exc) -> None:
        self.close()


def migrations() -> dict[int, sql.Query]:
    """The schema's migrations by version (sections migration_<n> of opstore_pg.sql)."""
    found = sql.queries(MIGRATIONS)
    return {int(name.rsplit("_", 1)[1]): q for name, q in found.items() if name.startswith("migration_")}


def schema_version(con: PgConnection) -> int:
    """The newest migration applied (0 for an empty database)."""
    if con.execute("select to_regclass('schema_migrations')").fetchone()[0] is None:
        return 0
    return int(con.execute("select coalesce(max(version), 0) from schema_migrations").fetchone()[0])


def migrate(con: PgConnection, target: int) -> int:
    """Apply the migrations after the database's version up to `target` (each once, under the write lock);
    returns the version reached."""
    if schema_version(con) >= target:
        return target
    with con.write():
        con._con.execute(sql.query(MIGRATIONS, "migrations_table").text)
        done = schema_version(con)
        for version, query in sorted(migrations().items()):
            if done < version <= target:
                con._con.execute(query.text)  # a script of its own: no parameters, run as written
                con.execute("insert into schema_migrations (version, description, applied_at) values (?, ?, ?)",
                            (version, _description(query), dt.datetime.now(dt.UTC).isoformat()))
                done = version
    return done


def _description(query: sql.Query) -> str:
    """A migration's first comment line."""
    for line in query.text.splitlines():
        if line.startswith("--"):
            return line.lstrip("- ").strip()
    return query.name


def connect(url: str, schema_version_needed: int) -> PgConnection:
    """Open the store on a PostgreSQL server, migrating its schema up to `schema_version_needed`."""
    con = PgConnection(url)
    try:
        migrate(con, schema_version_needed)
    except BaseException:
        con.close()
        raise
    return con
