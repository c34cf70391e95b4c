"""The operational store as the dashboard uses it: named reads from .sql files, and writes through `opstore`
(each its own short transaction, with its audit row) retried by the store's one rule while SQLite is locked; either backend (SQLite file or PostgreSQL URL)."""

from __future__ import annotations

import sqlite3
from pathlib import Path

import pandas as pd

from spendsense import opstore


class OpStore:
    """The opstore connection of one dashboard session (opened on first use), for one actor and role."""

    def __init__(self, path: Path | str, actor: str, role: str):
        self.path, self.actor, self.role = path, actor, role
        self._con: sqlite3.Connection | None = None

    @property
    def con(self) -> sqlite3.Connection:
        if self._con is None:
            self._con = opstore.connect(self.path)  # creates an SQLite file's folder; a URL names a server
        return self._con

    def close(self) -> None:
        if self._con is not None:
            self._con.close()
            self._con = None

    # ------------------------------------------------------------------------ reads

    def execute(self, file: str, name: str, **params) -> sqlite3.Cursor:
        return self.con.execute(*opstore.query(self.con, file, name).bind(**params))

    def frame(self, file: str, name: str, **params) -> pd.DataFrame:
        cur = self.execute(file, name, **params)
        return pd.DataFrame(cur.fetchall(), columns=[d[0] for d in cur.description])

    # ------------------------------------------------------------------------ writes (audited by opstore)

    def record_review(self, recommendation_id: str, user_id: str, action: str, reason: str | None,
                      replacement_item_id: str | None, expected_latest: str | None = None) -> str:
        return opstore.retry_locked(lambda: opstore.record_review(
            self.con, recommendation_id, user_id, action, self.actor, self.role, reason,
            replacement_item_id=replacement_item_id, expected_latest=expected_latest))

    def review_mark(self) -> tuple[int, int]:
        """(newest review rowid, newest consent event rowid): changes whenever anyone records either."""
        return tuple(int(v) for v in self.execute("dashboard/data/queue.sql", "marks").fetchone())

    def record_consent(self, user_id: str, event: str, source: str) -> str:
        return opstore.retry_locked(lambda: opstore.record_consent(
            self.con, user_id, event, source, self.actor, role=self.role))

    def audit(self, action: str, target: str, detail: dict) -> None:
        opstore.retry_locked(lambda: opstore.record_audit(self.con, self.actor, self.role, action, target, detail))
