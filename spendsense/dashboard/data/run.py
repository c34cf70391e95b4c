"""The published run a dashboard session shows: resolved once, its warehouse opened read-only, its aggregates.

Readers of a published run see an immutable directory; `latest_run_dir` finds the newest one.
"""

from __future__ import annotations

import json
import os
from pathlib import Path

import duckdb
import pandas as pd

from spendsense import runs, sql
from spendsense.serving import ServingIndex

SQL = "dashboard/data/run.sql"
METRICS_FILE = "metrics.json"


class NoPublishedRun(FileNotFoundError):
    """There is no published run to show."""


def latest_run_dir(runs_root: Path | None) -> Path:
    """The newest published run under runs_root (or SPENDSENSE_RUNS_DIR, or the default runs folder)."""
    root = runs_root or (Path(os.environ["SPENDSENSE_RUNS_DIR"]) if os.environ.get("SPENDSENSE_RUNS_DIR") else None)
    found = runs.latest_run_dir(root)
    if found is None:
        where = runs.runs_dir(root) / runs.LATEST
        raise NoPublishedRun(f"no published run at {where}: run `make run` (or `spendsense run`) first")
    return found


class PublishedRun:
    """One run directory: the read-only warehouse connection, its tables, run id and as-of date."""

    def __init__(self, run_dir: Path | str):
        run_dir = Path(run_dir).resolve()
        warehouse = run_dir / runs.WAREHOUSE
        if not warehouse.exists():
            raise NoPublishedRun(f"{warehouse}: no warehouse in this run directory")
        self.con = duckdb.connect(str(warehouse), read_only=True)
        self.con.execute(*sql.query(SQL, "session_settings").bind())
        self.run_dir, self.warehouse = run_dir, warehouse
        self.serving = ServingIndex.beside(warehouse)  # per-user lookups in SQLite, when the run has the index
        self.tables = {r[0] for r in self.rows(SQL, "tables")}
        self.run_id = self._run_id()
        self.as_of = self._as_of()
        self._metrics_cache: tuple[float, dict | None] | None = None
        self._memo: dict[str, object] = {}

    def memo(self, key: str, make):
        """`make()` once per run (a published run never changes), then the same value for this session."""
        if key not in self._memo:
            self._memo[key] = make()
        return self._memo[key]

    def close(self) -> None:
        self.con.close()
        if self.serving is not None:
            self.serving.close()

    # ------------------------------------------------------------------------ queries (named, from .sql files)

    def execute(self, file: str, name: str, **params):
        """Run one named query of a .sql file with its parameters (names checked against the text); a per-user
        lookup the run's serving index answers (serving.SERVES) goes there, with the same rows."""
        if self.serving is not None and self.serving.answers(file, name):
            sql.query(file, name).bind(**params)  # the same parameter check as the warehouse query's
            return self.serving.execute(name, **params)
        return self.con.execute(*sql.query(file, name).bind(**params))

    def frame(self, file: str, name: str, **params) -> pd.DataFrame:
        """A query's rows as a DataFrame (via fetchall: for the small per-user results this is ~5x faster
        than DuckDB's .df(); dates come back as datetime.date, lists as lists)."""
        cur = self.execute(file, name, **params)
        return pd.DataFrame(cur.fetchall(), columns=[d[0] for d in cur.description])

    def rows(self, file: str, name: str, **params) -> list[tuple]:
        return self.execute(file, name, **params).fetchall()

    def has(self, *tables: str) -> bool:
        return all(t in self.tables for t in tables)

    def user_exists(self, user_id: str) -> bool:
        return bool(user_id) and bool(self.rows(SQL, "user_exists", user_id=user_id))

    def known_users(self, user_ids) -> set[str]:
        """The given user_ids that the run's users table holds (one query for all of them)."""
        if not self.has("users") or not len(user_ids):
            return set()
        return {r[0] for r in self.rows(SQL, "known_users", user_ids=list(user_ids))}

    def user_names(self, user_ids) -> dict[str, str]:
        """user_id -> name (unmasked: callers mask for the role)."""
        if not self.has("users") or not len(user_ids):
            return {}
        return dict(self.rows(SQL, "user_names", user_ids=list(user_ids)))

    # ------------------------------------------------------------------------ run identity

    def _run_id(self) -> str:
        if self.has("recommendations"):
            row = self.rows(SQL, "run_id")
            if row and row[0][0]:
                return str(row[0][0])
        meta = self.run_dir / "run.json"
        if meta.exists():
            try:
                return str(json.loads(meta.read_text())["run_id"])
            except (ValueError, KeyError):
                pass
        return self.run_dir.name

    def _as_of(self) -> str:
        params = self.run_dir / "params.yaml"
        if params.exists():
            import yaml

            try:
                value = (yaml.safe_load(params.read_text()) or {}).get("as_of")
                if value:
                    return str(value)
            except yaml.YAMLError:
                pass
        if self.has("transactions"):
            row = self.rows(SQL, "last_transaction_date")
            if row and row[0][0]:
                return str(row[0][0])
        return ""

    # ------------------------------------------------------------------------ aggregates (every role)

    def persona_mix(self) -> pd.DataFrame:
        """Users per persona and window: window_days, persona_id, persona_name, users, share."""
        if not self.has("persona_assignments"):
            return pd.DataFrame(columns=["window_days", "persona_id", "persona_name", "users", "share"])
        return self.frame(SQL, "persona_mix")

    def metrics(self) -> dict | None:
        """The run's metrics.json (None when the run has none)."""
        path = self.run_dir / METRICS_FILE
        if not path.exists():
            return None
        mtime = path.stat().st_mtime
        if self._metrics_cache and self._metrics_cache[0] == mtime:
            return self._metrics_cache[1]
        try:
            data = json.loads(path.read_text(encoding="utf-8"))
        except ValueError as exc:
            raise ValueError(f"{path}: not valid JSON: {exc}") from None
        self._metrics_cache = (mtime, data)
        return data

    def source_lines(self) -> list[str]:
        """The run's source.json as short sentences (the actual input, never the synthetic defaults)."""
        from spendsense.profile import read_source_summary, source_lines

        try:
            return source_lines(read_source_summary(self.run_dir))
        except (ValueError, KeyError, TypeError) as exc:
            return [f"source.json unreadable: {exc}"]

    def fairness(self) -> object | None:
        """The fairness section of metrics.json, if any."""
        m = self.metrics()
        return m.get("fairness") if isinstance(m, dict) else None

    def counts(self) -> dict[str, int]:
        """Headline counts of the run: users, users with recommendations, recommendations."""
        out = {"users": 0, "users_with_recommendations": 0, "recommendations": 0}
        if self.has("users"):
            out["users"] = int(self.rows(SQL, "user_count")[0][0])
        if self.has("recommendations"):
            n, u = self.rows(SQL, "recommendation_counts")[0]
            out["recommendations"], out["users_with_recommendations"] = int(n), int(u)
        return out
