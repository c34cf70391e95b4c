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

A thin facade: each concern is a module of `spendsense.dashboard.data`, its SQL in the .sql file beside it.
"""

from __future__ import annotations

from pathlib import Path

import duckdb
import pandas as pd

from spendsense import paths
from spendsense.dashboard.data import consent, recompute, replacements, reviews, search
from spendsense.dashboard.data import preview as customer_view
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
from spendsense.recommend.trace_contract import DecisionTrace

__all__ = ["DISCLOSURE", "FLAG_OPTIONS", "METRICS_FILE", "PER_USER_ROLES", "QUEUE_STATUSES", "REVIEW_ACTIONS",
           "ROLES", "SEARCH_BY", "STATUS_OF_ACTION", "AccessDenied", "CustomerPreview", "DashboardData",
           "NoPublishedRun", "QueueFilter", "QueuePage", "mask_account", "mask_name", "query_param", "requires", "resolve_operator",
           "resolve_role"]


class DashboardData:
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

    # ---------------------------------------------------------------- consent state (internal, every role)

    def _consent_all(self) -> pd.DataFrame:
        return consent.status_all(self._run, self._store)

    def _consent_status(self, user_id: str) -> tuple[str, dict]:
        return consent.status(self._run, self._store, user_id)

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

    # ---------------------------------------------------------------- search (operator, admin)

    @requires(*PER_USER_ROLES)
    def persona_options(self) -> list[tuple[str, str]]:
        """(label, persona_id) pairs of personas present in the run."""
        return search.persona_options(self._run)

    @requires(*PER_USER_ROLES)
    def search_options(self) -> list[tuple[str, str]]:
        """The search modes this role may use: (label, key)."""
        return search.search_options(self.role)

    @requires(*PER_USER_ROLES)
    def search_users(self, text: str = "", by: str = "id", limit: int = 200) -> pd.DataFrame:
        """Users matching a search: user_id, label (id, name as the role may see it, personas per window)."""
        return search.search_users(self._run, self._store, self.role, text, by, limit)

    # ---------------------------------------------------------------- one user (operator, admin)

    @requires(*PER_USER_ROLES)
    def user_profile(self, user_id: str) -> dict:
        """The user's row (name as the role may see it) with consent status, account count and skip reason."""
        return self._evidence.user_profile(user_id)

    @requires(*PER_USER_ROLES)
    def signals(self, user_id: str) -> pd.DataFrame:
        """Signals side by side: signal, value_30, text_30, value_180, text_180 (one row per signal)."""
        return self._evidence.signals(user_id)

    @requires(*PER_USER_ROLES)
    def credit_cards(self, user_id: str) -> pd.DataFrame:
        """Per-card evidence per window (masks and card names masked for operators)."""
        return self._evidence.credit_cards(user_id)

    @requires(*PER_USER_ROLES)
    def recurring_streams(self, user_id: str) -> pd.DataFrame:
        """Recurring streams per window with their transaction ids."""
        return self._evidence.recurring_streams(user_id)

    @requires(*PER_USER_ROLES)
    def transactions(self, user_id: str) -> pd.DataFrame:
        """The user's transactions: date, amount, description (merchant or category for operators), account."""
        return self._evidence.transactions(user_id)

    @requires(*PER_USER_ROLES)
    def stream_transactions(self, user_id: str, streams: pd.DataFrame | None = None,
                            txns: pd.DataFrame | None = None) -> pd.DataFrame:
        """Transactions of each recurring stream: window_days, merchant_key plus the transaction columns."""
        streams = self.recurring_streams(user_id) if streams is None else streams
        if txns is None and len(streams) and "transaction_ids" in streams:
            txns = self.transactions(user_id)
        return self._evidence.stream_transactions(streams, txns)

    @requires(*PER_USER_ROLES)
    def payroll_deposits(self, user_id: str) -> pd.DataFrame:
        """Payroll deposits per window with the receiving account masked for the role."""
        return self._evidence.payroll_deposits(user_id)

    @requires(*PER_USER_ROLES)
    def personas(self, user_id: str) -> pd.DataFrame:
        """Persona per window with matched personas and the parsed criteria."""
        return self._evidence.personas(user_id)

    @requires(*PER_USER_ROLES)
    def counterfactuals(self, user_id: str) -> pd.DataFrame:
        """What would change the persona, per window (persona_counterfactuals; empty for older runs)."""
        return self._evidence.counterfactuals(user_id)

    @requires(*PER_USER_ROLES)
    def timeline(self, user_id: str, txns: pd.DataFrame | None = None) -> dict[str, pd.DataFrame]:
        """Daily cash balance (depository accounts, rebuilt backwards from today's balance) and monthly spending."""
        return self._evidence.timeline(user_id, self.transactions(user_id) if txns is None else txns)

    @requires(*PER_USER_ROLES)
    def recommendations(self, user_id: str) -> pd.DataFrame:
        """The user's recommendations of this run with their review status (latest review)."""
        return self._evidence.recommendations(user_id)

    @requires(*PER_USER_ROLES)
    def traces(self, user_id: str) -> dict[str, DecisionTrace]:
        """Decision traces of the user's recommendations, by recommendation_id (parsed, masked for the role)."""
        return self._evidence.traces(user_id)

    @requires(*PER_USER_ROLES)
    def decision_trace(self, recommendation_id: str) -> DecisionTrace | None:
        """One recommendation's decision trace (parsed), or None."""
        return self._evidence.decision_trace(recommendation_id)

    @requires(*PER_USER_ROLES)
    def shortfalls(self, user_id: str) -> pd.DataFrame:
        """Why the user got fewer items than the minimum, per window and kind."""
        return self._evidence.shortfalls(user_id)

    @requires(*PER_USER_ROLES)
    def user_bundle(self, user_id: str) -> dict:
        """Every table the user views need, read once (what a user switch costs in data access)."""
        txns = self.transactions(user_id)
        streams = self.recurring_streams(user_id)
        return {
            "profile": self.user_profile(user_id),
            "signals": self.signals(user_id),
            "credit_cards": self.credit_cards(user_id),
            "recurring_streams": streams,
            "stream_transactions": self.stream_transactions(user_id, streams, txns),
            "payroll_deposits": self.payroll_deposits(user_id),
            "personas": self.personas(user_id),
            "timeline": self.timeline(user_id, txns),
            "recommendations": self.recommendations(user_id),
            "traces": self.traces(user_id),
            "shortfalls": self.shortfalls(user_id),
        }

    # ---------------------------------------------------------------- reviews

    @requires(*PER_USER_ROLES)
    def replacement_options_for_user(self, user_id: str, recs: pd.DataFrame | None = None,
                                     traces: dict | None = None) -> dict[str, list[tuple[str, str]]]:
        """Eligible replacement items of every recommendation of a user, by recommendation_id."""
        recs = self.recommendations(user_id) if recs is None else recs
        traces = self.traces(user_id) if traces is None else traces
        return replacements.replacement_options(recs, traces, self.catalog())

    @requires(*PER_USER_ROLES)
    def replacement_options(self, recommendation_id: str) -> list[tuple[str, str]]:
        """Eligible items that may replace a recommendation: (label, item_id)."""
        rec = reviews.recommendation(self._run, recommendation_id)
        return self.replacement_options_for_user(rec["user_id"]).get(recommendation_id, [])

    @requires(*PER_USER_ROLES)
    def record_review(self, recommendation_id: str, action: str, reason: str = "",
                      replacement_item_id: str | None = None, expected_latest: str | None = None) -> str:
        """Record an operator decision on a recommendation (append-only) and audit it; returns the review id.

        `expected_latest` is the review id the operator saw as the latest ("" for none): a decision made on a
        state that is no longer the latest raises opstore.StaleDecision (checked inside the write transaction).
        """
        reviews.check_action(action)
        reason = (reason or "").strip()
        user_id = str(reviews.recommendation(self._run, recommendation_id)["user_id"])
        eligible = ({item for _, item in self.replacement_options(recommendation_id)}
                    if action == "override" and reason else None)
        status = self._consent_status(user_id)[0] if action in reviews.NEEDS_CONSENT else None
        reviews.check_review(action, reason, replacement_item_id, eligible, status, recommendation_id, user_id)
        # opstore.record_review writes the review and its audit row in one transaction
        return self._store.record_review(recommendation_id, user_id, action, reason or None, replacement_item_id,
                                         expected_latest)

    @requires(*PER_USER_ROLES)
    def record_reviews(self, decisions: list[tuple[str, str | None]], action: str, reason: str = "") -> list[dict]:
        """One decision (approve or flag, one reason) on many (recommendation_id, expected_latest) pairs, each
        checked and written on its own: [{recommendation_id, review_id | None, error | None, stale}] in order."""
        reason = (reason or "").strip()
        users = reviews.recommendation_users(self._run, [rid for rid, _ in decisions])
        now = self._consent_all()  # once for the batch: per-user look-ups cost a query each
        consent_of = dict(zip(now["user_id"], now["status"]))

        def record(recommendation_id: str, expected: str | None) -> str:
            if recommendation_id not in users:
                raise KeyError(f"recommendation {recommendation_id!r} is not in run {self.run_id}")
            user_id = users[recommendation_id]
            reviews.check_review(action, reason, None, None, consent_of.get(user_id, "none"), recommendation_id,
                                 user_id)
            return self._store.record_review(recommendation_id, user_id, action, reason or None, None, expected)

        return reviews.record_each(record, decisions, action)

    @requires(*PER_USER_ROLES)
    def review_history(self, user_id: str | None = None, limit: int = 200) -> pd.DataFrame:
        """Reviews, newest first (of one user, or of everyone)."""
        return reviews.history(self._store, user_id, limit)

    @requires(*PER_USER_ROLES)
    def review_queue(self, flt: QueueFilter | None = None) -> QueuePage:
        """One page of the review queue under a filter (default: flagged then pending), counts exact, masked."""
        return self._queue.page(flt or QueueFilter(), self._redactor)

    @requires(*PER_USER_ROLES)
    def queue_options(self) -> dict[str, list[str]]:
        """The values the queue's filter lists offer: persona_id, kind, item_id, window_days."""
        return self._queue.options()

    def review_mark(self) -> tuple[int, int]:
        """The opstore's (newest review, newest consent event) positions: polled to learn of others' decisions."""
        return self._store.review_mark()

    # ---------------------------------------------------------------- consent

    @requires(*PER_USER_ROLES)
    def consent(self, user_id: str) -> dict:
        """Current consent: status (granted, revoked, none), occurred_at, source, actor."""
        status, last = self._consent_status(user_id)
        return {"user_id": user_id, "status": status, "occurred_at": last.get("occurred_at"),
                "source": last.get("source"), "actor": last.get("actor")}

    @requires(*PER_USER_ROLES)
    def consent_history(self, user_id: str) -> pd.DataFrame:
        """Every consent event of the user, oldest first, with where it is stored."""
        return pd.DataFrame(consent.history(self._run, self._store, user_id), columns=consent.COLUMNS)

    @requires(*PER_USER_ROLES)
    def set_consent(self, user_id: str, event: str, note: str = "") -> str:
        """Record a consent grant or revocation made through the dashboard (audited); returns the event id.

        Operators may record revocations (a customer asked to stop); granting consent needs an admin.
        """
        consent.check_event(event, self.role)
        self._check_user(user_id)
        # opstore.record_consent writes the event and its audit row in one transaction
        event_id = self._store.record_consent(user_id, event, "dashboard")
        if (note or "").strip():
            self.audit("consent.note", user_id, {"event_id": event_id, "event": event, "note": note.strip(),
                                                 "run_id": self.run_id})
        return event_id

    # ---------------------------------------------------------------- audit

    def audit(self, action: str, target: str, detail: dict) -> None:
        """Append to the audit log (actor, role, action, target, JSON detail)."""
        self._store.audit(action, target, detail)

    @requires("admin")
    def audit_log(self, limit: int = 200) -> pd.DataFrame:
        """The newest audit entries (admins only)."""
        return self._store.frame(reviews.SQL, "audit_log", limit=limit)

    # ---------------------------------------------------------------- customer preview

    @requires(*PER_USER_ROLES)
    def customer_preview(self, user_id: str) -> CustomerPreview:
        """The customer's view: approved items (overrides replaced) of both windows, one per item_id; nothing
        at all when consent is not granted (rules in spendsense.dashboard.data.preview)."""
        self._check_user(user_id)
        base = {"user_id": user_id, "consent_status": self._consent_status(user_id)[0], "run_id": self.run_id,
                "as_of": self.as_of,
                "greeting_name": customer_view.greeting(self._run.user_names([user_id]).get(user_id), self.role)}
        if base["consent_status"] != "granted":
            return customer_view.refused(**base)
        return customer_view.build(self.recommendations(user_id), self.catalog(),
                                   self._replacement_label,
                                   self.counterfactuals(user_id)["text_customer"], **base)

    def _replacement_label(self, recommendation_id: str, item_id: str) -> str:
        return {item: label for label, item in self.replacement_options(recommendation_id)}.get(item_id, item_id)

    # ---------------------------------------------------------------- on-demand recompute

    @staticmethod
    def recompute_function():
        """The engine's single-user recompute function, or None when it is not available."""
        return recompute.engine_function()

    def recompute_available(self) -> tuple[bool, str]:
        """Whether the single-user recompute can run for this role, and why not."""
        if self.role not in PER_USER_ROLES:
            return False, f"role {self.role!r} may not recompute a user"
        if self.recompute_function() is None:
            return False, recompute.unavailable_reason()
        return True, ""

    @requires(*PER_USER_ROLES)
    def recompute(self, user_id: str) -> dict:
        """Recompute signals, persona and recommendations for one user from the published warehouse.

        The result is returned for display only; the published run is never modified.
        """
        self._check_user(user_id)
        fn = self.recompute_function()
        if fn is None:
            raise RuntimeError(recompute.unavailable_reason())
        result, seconds = recompute.run(fn, self.warehouse, self.con, user_id, self.as_of, self.opstore_path)
        self.audit("user.recompute", user_id, {"run_id": self.run_id, "seconds": round(seconds, 4)})
        return {**recompute.masked(result, self.role, self._redactor(user_id)), "_seconds": seconds}
