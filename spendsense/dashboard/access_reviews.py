"""The dashboard facade's review concern: decisions on recommendations (one and in bulk, stale-state refusal),
history, the review queue, the polled store marks and the audit log; mixed into
`spendsense.dashboard.access.DashboardData`."""

from __future__ import annotations

import pandas as pd

from spendsense.dashboard.data import reviews
from spendsense.dashboard.data.queue import QueueFilter, QueuePage
from spendsense.dashboard.data.roles import PER_USER_ROLES, requires


class ReviewAccess:
    """Reviews, the queue and the audit log, checked against the session's role."""

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

    @requires("admin")
    def audit_log(self, limit: int = 200) -> pd.DataFrame:
        """The newest audit entries (admins only)."""
        return self._store.frame(reviews.SQL, "audit_log", limit=limit)
