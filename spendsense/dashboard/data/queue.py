"""The review queue, paged in the warehouse: every recommendation of the run for a consenting user with its review
state (opstore), filtered, sorted, counted exactly and cut to one page by SQL (queue.sql).

The opstore's review state (the latest review per recommendation) and the consenting users are read only when the
opstore's marks (newest review / consent rowid) change, and registered into the session's read-only DuckDB
connection, and every row with its state is materialized once per marks (temp table queue_state); the filtered
set is materialized from it once per (filter, marks) (queue_filtered), so paging and sorting read only that.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Literal

import pandas as pd
from pydantic import BaseModel, ConfigDict, Field

from spendsense import sql
from spendsense.dashboard.data import consent
from spendsense.dashboard.data.reviews import QUEUE_STATUSES, STATUSES
from spendsense.dashboard.data.run import PublishedRun
from spendsense.dashboard.data.store import OpStore

SQL = "dashboard/data/queue.sql"
# sort key -> (column, the secondary keys that follow it); recommendation_id always ends the order
SORTS = {
    "status": ("status_order", ("score desc",)),
    "score": ("score", ()),
    "user": ("user_id", ("window_days", "rank")),
    "item": ("item_id", ("user_id", "window_days")),
    "window": ("window_days", ("user_id", "rank")),
    "rank": ("rank", ("user_id",)),
    "kind": ("kind", ("user_id", "window_days", "rank")),
    "persona": ("persona_id", ("user_id", "window_days", "rank")),
    "decided": ("reviewed_at", ()),
}
SORT_LABELS = (("status (flagged first)", "status"), ("score", "score"), ("user", "user"), ("item", "item"),
               ("window", "window"), ("rank", "rank"), ("kind", "kind"), ("persona", "persona"),
               ("last decision", "decided"))
SORTABLE = {"status_order", "score", "user_id", "item_id", "window_days", "rank", "kind", "persona_id",
            "reviewed_at", "recommendation_id"}
USERS_LISTED = 2000  # the "Open user" list; the total number of matching users is always given


class QueueFilter(BaseModel):
    """What the queue shows: filters (None = any), sort and page (0-based)."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    statuses: tuple[Literal["pending", "flagged", "approved", "overridden", "suppressed"], ...] = QUEUE_STATUSES
    persona_id: str | None = None
    kind: str | None = None
    window_days: int | None = None
    ever_flagged: bool | None = None
    score_min: float | None = None
    score_max: float | None = None
    item_id: str | None = None
    both_windows: bool = False
    sort: Literal[tuple(SORTS)] = "status"
    descending: bool = False
    page: int = Field(0, ge=0)
    page_size: int = Field(50, ge=1, le=500)

    def params(self) -> dict:
        """The filter's bound parameters of queue.sql's `filter` query."""
        return {"statuses": list(self.statuses or STATUSES), "persona_id": self.persona_id, "kind": self.kind,
                "window_days": self.window_days, "ever_flagged": self.ever_flagged, "score_min": self.score_min,
                "score_max": self.score_max, "item_id": self.item_id, "both_windows": self.both_windows}


@dataclass
class QueuePage:
    """One page of the queue with the exact counts under its filter."""

    rows: pd.DataFrame
    total: int
    users_total: int
    first: int  # 1-based position of the first row shown (0 when empty)
    last: int
    status_counts: dict[str, int] = field(default_factory=dict)
    users: pd.DataFrame = field(default_factory=pd.DataFrame)

    @property
    def showing(self) -> str:
        """'showing 1-50 of 437' (or 'nothing matches')."""
        return f"showing {self.first}-{self.last} of {self.total}" if self.total else "nothing matches"


def order_clause(sort: str, descending: bool) -> str:
    """The ORDER BY keys of a sort: validated column names, nulls last, recommendation_id last (a stable order)."""
    column, then = SORTS[sort]
    keys = [f"{sql.identifier(column, SORTABLE)} {'desc' if descending else 'asc'} nulls last"]
    for key in then:
        name, _, direction = key.partition(" ")
        keys.append(f"{sql.identifier(name, SORTABLE)} {direction or 'asc'}")
    return ", ".join(keys + [sql.identifier("recommendation_id", SORTABLE)])


class QueueSource:
    """The queue over one published run and the opstore, for one dashboard session."""

    def __init__(self, run: PublishedRun, ops: OpStore):
        self.run, self.ops = run, ops
        self._marks: tuple[int, int] | None = None
        self._filtered: tuple | None = None
        self._options: dict[str, list[str]] | None = None

    def _sync_state(self) -> tuple[int, int]:
        """Register the latest review states and the consenting users, re-read when the opstore's marks moved."""
        marks = self.ops.review_mark()
        if marks != self._marks:
            latest = self.ops.frame(SQL, "latest_states")
            now = consent.status_all(self.run, self.ops)
            consenting = pd.DataFrame({"user_id": now.loc[now["status"] == "granted", "user_id"].astype(str)})
            self.run.con.register("queue_latest", latest.astype({"ever_flagged": "int64"}))
            self.run.con.register("queue_consenting", consenting)
            self.run.execute(SQL, "state")
            self._marks, self._filtered = marks, None
        return marks

    def _materialize(self, flt: QueueFilter) -> None:
        key = (self._sync_state(), flt.model_copy(update={"page": 0, "sort": "status", "descending": False}))
        if key != self._filtered:
            self.run.execute(SQL, "filter", **flt.params())
            self._filtered = key

    def page(self, flt: QueueFilter, redact: Callable[[str], Callable] | None = None) -> QueuePage:
        """The page `flt` asks for (the last page when it asks beyond it), rationales masked by `redact`."""
        if not self.run.has("recommendations"):
            return QueuePage(pd.DataFrame(), 0, 0, 0, 0)
        self._materialize(flt)
        total, users_total = self.run.execute(SQL, "total").fetchone()
        pages = max(1, -(-int(total) // flt.page_size))
        page_no = min(flt.page, pages - 1)
        q = sql.query(SQL, "page").fill(order=order_clause(flt.sort, flt.descending))
        rows = self.run.con.execute(*q.bind(limit=flt.page_size, offset=page_no * flt.page_size)).df()
        if redact is not None and len(rows):
            for col in ("rationale", "title"):
                rows[col] = [redact(u)(v) for u, v in zip(rows["user_id"], rows[col])]
        counts = dict(self.run.execute(SQL, "status_counts").fetchall())
        users = self.run.execute(SQL, "users", limit=USERS_LISTED).df()
        first = page_no * flt.page_size + 1 if total else 0
        return QueuePage(rows, int(total), int(users_total), first, first + len(rows) - 1 if total else 0,
                         {s: int(counts.get(s, 0)) for s in STATUSES}, users)

    def status_counts(self) -> dict[str, int]:
        """Recommendations of consenting users by review status, whatever the filters (every status listed)."""
        if not self.run.has("recommendations"):
            return dict.fromkeys(STATUSES, 0)
        self._sync_state()
        found = dict(self.run.execute(SQL, "all_status_counts").fetchall())
        return {s: int(found.get(s, 0)) for s in STATUSES}

    def options(self) -> dict[str, list[str]]:
        """The values each filter list offers: persona_id, kind, item_id, window_days (read once: a run is
        immutable)."""
        if self._options is not None:
            return self._options
        out: dict[str, list[str]] = {"persona_id": [], "kind": [], "item_id": [], "window_days": []}
        if self.run.has("recommendations"):
            for name, value in self.run.rows(SQL, "options"):
                if value is not None:
                    out[name].append(str(value))
        out["window_days"].sort(key=int)
        self._options = out
        return out

    def marks(self) -> tuple[int, int]:
        """The opstore's (review, consent) marks: a cheap check whether anyone recorded anything."""
        return self.ops.review_mark()
