"""Role-enforced data access for the operator dashboard: the published run's DuckDB (read-only) + the opstore.

Every widget reads and writes through `DashboardData`; the role is checked here, not only in the UI:

- admin: everything, full names and account masks (``••••4523``).
- operator: signals, personas, recommendations, reviews, consent revocation and the customer preview;
  names masked to initials (``J*** D***``), account numbers to their last two digits (``••23``), also inside
  rationales and traces; raw transaction descriptions replaced by the merchant or category.
- analyst: aggregates only (persona mix, metrics, fairness, review-queue counts); every per-user call raises
  `AccessDenied` (a PermissionError).

The run is resolved once when the object is made (readers of a published run see an immutable directory);
`reload()` switches to the newest published run. Writes go to the append-only operational store.

A thin facade: the run, the connections, aggregates and masking here; the per-user reads (`access_people`), the
reviews and queue (`access_reviews`) and consent (`access_consent`) in one mixin module each; every concern's
queries in a module of `spendsense.dashboard.data`, its SQL in the .sql file beside it.
"""

from __future__ import annotations

from pathlib import Path

import duckdb
import pandas as pd

from spendsense import paths
from spendsense.dashboard.access_consent import ConsentAccess
from spendsense.dashboard.access_people import PeopleAccess
from spendsense.dashboard.access_reviews import ReviewAccess
from spendsense.dashboard.data.catalog import load_entries
from spendsense.dashboard.data.evidence import Evidence
from spendsense.dashboard.data.preview import DISCLOSURE, CustomerPreview
from spendsense.dashboard.data.queue import QueueFilter, QueuePage, QueueSource
from spendsense.dashboard.data.redaction import Redactors, display_name, mask_account, mask_name
from spendsense.dashboard.data.reviews import QUEUE_STATUSES, REVIEW_ACTIONS, STATUS_OF_ACTION
from spendsense.dashboard.data.roles import (
    PER_USER_ROLES,
    ROLES,
    AccessDenied,
    check_role,
    query_param,
    requires,
    resolve_operator,
    resolve_role,
)
from spendsense.dashboard.data.run import METRICS_FILE, NoPublishedRun, PublishedRun, latest_run_dir
from spendsense.dashboard.data.search import FLAG_OPTIONS, SEARCH_BY
from spendsense.dashboard.data.store import OpStore

__all__ = ["DISCLOSURE", "FLAG_OPTIONS", "METRICS_FILE", "PER_USER_ROLES", "QUEUE_STATUSES", "REVIEW_ACTIONS",
           "ROLES", "SEARCH_BY", "STATUS_OF_ACTION", "AccessDenied", "CustomerPreview", "DashboardData",
           "NoPublishedRun", "QueueFilter", "QueuePage", "mask_account", "mask_name", "query_param", "requires",
           "resolve_operator", "resolve_role"]


class DashboardData(PeopleAccess, ReviewAccess, ConsentAccess):
    """One dashboard session's view of a published run and the operational store, for one role."""

    def __init__(self, run_dir: Path | str | None = None, role: str = "operator", operator: str | None = None,
                 opstore_path: Path | str | None = None, runs_root: Path | str | None = None):
        self.role = check_role(role)
        self.operator = resolve_operator(operator, "")
        self.runs_root = Path(runs_root) if runs_root else None
        self._fixed_run_dir = Path(run_dir) if run_dir else None
        self.opstore_path = paths.opstore_location(opstore_path or None)
        self._store = OpStore(self.opstore_path, self.operator, self.role)
        self._run: PublishedRun | None = None
        self._open_run(self._fixed_run_dir or latest_run_dir(self.runs_root))

    # ---------------------------------------------------------------- run and connections

    def _open_run(self, run_dir: Path) -> None:
        run = PublishedRun(run_dir)
        if self._run is not None:
            self._run.close()
        self._run = run
        self._redactor = Redactors(run, self.role)
        self._evidence = Evidence(run, self._store, self.role, self._redactor)
        self._queue = QueueSource(run, self._store)

    con: duckdb.DuckDBPyConnection | None = property(lambda self: self._run.con if self._run else None)
    run_dir: Path = property(lambda self: self._run.run_dir)
    warehouse: Path = property(lambda self: self._run.warehouse)
    tables: set[str] = property(lambda self: self._run.tables)
    run_id: str = property(lambda self: self._run.run_id)
    as_of: str = property(lambda self: self._run.as_of)
    ops = property(lambda self: self._store.con, doc="The operational store connection (opened on first use).")

    def reload(self) -> bool:
        """Switch to the newest published run (unless a run directory was fixed); True if it changed."""
        if self._fixed_run_dir is not None:
            return False
        latest = latest_run_dir(self.runs_root)
        if latest == self.run_dir:
            return False
        self._open_run(latest)
        return True

    def latest_differs(self) -> bool:
        """True when a newer run than the one shown has been published."""
        if self._fixed_run_dir is not None:
            return False
        try:
            return latest_run_dir(self.runs_root) != self.run_dir
        except NoPublishedRun:
            return False

    def close(self) -> None:
        """Close both connections."""
        if self._run is not None:
            self._run.close()
            self._run = None
        self._store.close()

    # ---------------------------------------------------------------- aggregates (every role)

    def persona_mix(self) -> pd.DataFrame:
        """Users per persona and window: window_days, persona_id, persona_name, users, share."""
        return self._run.persona_mix()

    def metrics(self) -> dict | None:
        """The run's metrics.json (None when the run has none)."""
        return self._run.metrics()

    def fairness(self) -> object | None:
        """The fairness section of metrics.json, if any."""
        return self._run.fairness()

    def source_lines(self) -> list[str]:
        """What the run read (source, files, users, transactions, date range), as short sentences."""
        return self._run.source_lines()

    def review_counts(self) -> dict[str, int]:
        """Recommendations of this run by review status (pending, approved, overridden, suppressed, flagged)."""
        return self._queue.status_counts()

    def review_queue_size(self) -> int:
        """Recommendations waiting for a decision (pending or flagged) among consenting users."""
        counts = self._queue.status_counts()
        return counts["pending"] + counts["flagged"]

    def counts(self) -> dict[str, int]:
        """Headline counts of the run: users, users with recommendations, recommendations."""
        return self._run.counts()

    # ---------------------------------------------------------------- masking and catalog

    def display_name(self, name: object) -> str:
        """A user's name as this role may see it."""
        return display_name(name, self.role)

    def catalog(self) -> dict[str, dict]:
        """Catalog entries by item_id (kind, title, summary), loaded once per process; empty if it cannot load."""
        return load_entries()

    def has_user(self, user_id: str) -> bool:
        """Whether the run's users table holds this user (every role: it reveals nothing else)."""
        return self._run.user_exists(user_id)

    def _check_user(self, user_id: str) -> None:
        if not self._run.user_exists(user_id):
            raise KeyError(f"user {user_id!r} is not in run {self.run_id}")

    # ---------------------------------------------------------------- audit

    def audit(self, action: str, target: str, detail: dict) -> None:
        """Append to the audit log (actor, role, action, target, JSON detail)."""
        self._store.audit(action, target, detail)

