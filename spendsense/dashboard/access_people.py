"""The dashboard facade's reads of people (operator, admin): search, one user's evidence and recommendations, the
customer preview and the on-demand recompute; mixed into `spendsense.dashboard.access.DashboardData`."""

from __future__ import annotations

import pandas as pd

from spendsense.dashboard.data import preview as customer_view
from spendsense.dashboard.data import recompute, replacements, reviews, search
from spendsense.dashboard.data.preview import CustomerPreview
from spendsense.dashboard.data.roles import PER_USER_ROLES, requires
from spendsense.recommend.trace_contract import DecisionTrace


class PeopleAccess:
    """Search, one user's tables, the customer preview and the recompute, checked against the session's role."""

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
        """Every table the Signals & personas panel shows, read once: what a user switch costs in data access.

        Only the visible panel's data: recommendations, traces and shortfalls are read by the Recommendations
        panel when it is shown (`recommendations`, `traces`, `shortfalls`).
        """
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
        }

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
        return customer_view.build(self._evidence.recommendation_rows(user_id, with_facts=False), self.catalog(),
                                   self._replacement_label, self._evidence.customer_texts(user_id), **base)

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
