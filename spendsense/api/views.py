"""What a caller sees: the dashboard's role-enforced data access (`spendsense.dashboard.access.DashboardData`,
the one implementation of role rules and masking) per caller, the consent rule on every read of a person's data,
and the operational store the API writes to."""

from __future__ import annotations

import datetime as dt
import json
import math
import sqlite3
import time
from collections import OrderedDict
from pathlib import Path

import numpy as np
import pandas as pd

from spendsense import opstore, paths
from spendsense.api.auth import Principal
from spendsense.api.errors import ConsentRequired, Forbidden, NotFound, Unavailable
from spendsense.dashboard.access import AccessDenied, DashboardData, NoPublishedRun

CACHED_VIEWS = 32
LATEST_CHECK_SECONDS = 1.0  # a newly published run is served within a second
CUSTOMER_VIEW_ROLE = "operator"  # a customer reads their own data through the masked operator view


def records(df: pd.DataFrame) -> list[dict]:
    """A frame as JSON-safe records (dates ISO text, NaN/NaT as null, numpy scalars as numbers)."""
    if df is None or not len(df):
        return []
    return json.loads(df.to_json(orient="records", date_format="iso", default_handler=str))


def plain(value):
    """A value made JSON-safe: frames as records, timestamps as ISO text, numpy values as Python, NaN as null."""
    if isinstance(value, pd.DataFrame):
        return records(value)
    if isinstance(value, dict):
        return {str(k): plain(v) for k, v in value.items()}
    if isinstance(value, (list, tuple, np.ndarray)):
        return [plain(v) for v in value]
    if isinstance(value, np.generic):
        value = value.item()
    if value is pd.NaT:
        return None
    if isinstance(value, (dt.datetime, dt.date)):
        return value.isoformat()
    if isinstance(value, float) and not math.isfinite(value):
        return None
    if value is None or isinstance(value, (str, int, float, bool)):
        return value
    try:
        if pd.isna(value):
            return None
    except (TypeError, ValueError):
        pass
    return str(value)


class Views:
    """One worker's access to the latest published run and the operational store."""

    def __init__(self, runs_root: Path | None = None, opstore_path: Path | None = None):
        self.runs_root = Path(runs_root) if runs_root else None
        self.opstore_path = paths.opstore_location(opstore_path or None)
        self._views: OrderedDict[tuple[str, str], DashboardData] = OrderedDict()
        self._checked: dict[tuple[str, str], float] = {}  # view key -> when `latest` was last looked at
        self._con: sqlite3.Connection | None = None

    # ------------------------------------------------------------------ connections

    @property
    def con(self) -> sqlite3.Connection:
        """The API's own opstore connection (for its writes and the audit log)."""
        if self._con is None:
            self._con = opstore.connect(self.opstore_path)
        return self._con

    def write(self, operation):
        """Run an opstore write by the store's one retry rule."""
        return opstore.retry_locked(lambda: operation(self.con))

    def data(self, who: Principal) -> DashboardData:
        """The dashboard data access for this caller (role and name recorded with its writes), on the latest run."""
        role = CUSTOMER_VIEW_ROLE if who.role == "customer" else who.role
        key = (role, f"{who.role}:{who.subject}")
        view = self._views.get(key)
        try:
            if view is None:
                view = DashboardData(role=role, operator=key[1], opstore_path=self.opstore_path,
                                     runs_root=self.runs_root)
                self._views[key] = view
                if len(self._views) > CACHED_VIEWS:
                    evicted, old_view = self._views.popitem(last=False)
                    self._checked.pop(evicted, None)
                    old_view.close()
            elif self._newer_run_published(key, view):
                view.reload()
        except NoPublishedRun:
            raise Unavailable("no published run yet: run the pipeline first") from None
        self._views.move_to_end(key)
        return view

    def _newer_run_published(self, key: tuple[str, str], view: DashboardData) -> bool:
        """Whether a run newer than the view's has been published (looked at most once a second per view)."""
        now = time.monotonic()
        if now - self._checked.get(key, -LATEST_CHECK_SECONDS) < LATEST_CHECK_SECONDS:
            return False
        self._checked[key] = now
        return view.latest_differs()

    def close(self) -> None:
        for view in self._views.values():
            view.close()
        self._views.clear()
        if self._con is not None:
            self._con.close()
            self._con = None

    # ------------------------------------------------------------------ rules every route applies

    def person(self, who: Principal, user_id: str, consent_needed: bool = True) -> DashboardData:
        """The data access for reading one person's data: customers only their own, staff (not analysts) any;
        the user must be in the run; without granted consent only an admin may read (auditing)."""
        who.require_user(user_id)
        if who.role == "analyst":
            raise Forbidden("role 'analyst' may not read one person's data (aggregates only)")
        data = self.data(who)
        if not data.has_user(user_id):
            raise NotFound("no such user in the published run")
        if consent_needed and who.role != "admin" and self.consent_status(data, user_id) != "granted":
            raise ConsentRequired("this user has not granted consent; their data is not shown")
        return data

    @staticmethod
    def consent_status(data: DashboardData, user_id: str) -> str:
        """granted, revoked or none, by the one consent rule (opstore events and the run's copy)."""
        return str(data.consent(user_id)["status"])


def denied(exc: AccessDenied) -> Forbidden:
    return Forbidden(str(exc))
