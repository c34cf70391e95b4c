"""The dashboard facade's consent concern: current status, history and recording a grant or revocation (audited);
mixed into `spendsense.dashboard.access.DashboardData`."""

from __future__ import annotations

import pandas as pd

from spendsense.dashboard.data import consent
from spendsense.dashboard.data.roles import PER_USER_ROLES, requires


class ConsentAccess:
    """Consent reads and writes, checked against the session's role."""

    # consent state (internal, every role)

    def _consent_all(self) -> pd.DataFrame:
        return consent.status_all(self._run, self._store)

    def _consent_status(self, user_id: str) -> tuple[str, dict]:
        return consent.status(self._run, self._store, user_id)

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
