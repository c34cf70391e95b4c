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
"""

from __future__ import annotations

import datetime as dt
import functools
import getpass
import importlib
import inspect
import json
import logging
import os
import re
import sqlite3
import time
import urllib.parse
from dataclasses import dataclass, field
from pathlib import Path

import duckdb
import pandas as pd

from spendsense import consent as consent_rule
from spendsense import paths, runs
from spendsense.dashboard.render import is_missing, parse_json

ROLES = ("analyst", "operator", "admin")  # increasing privilege
PER_USER_ROLES = ("operator", "admin")
REVIEW_ACTIONS = ("approve", "override", "suppress", "flag")
STATUS_OF_ACTION = {"approve": "approved", "override": "overridden", "suppress": "suppressed", "flag": "flagged"}
QUEUE_STATUSES = ("flagged", "pending")
METRICS_FILE = "metrics.json"
log = logging.getLogger("spendsense.dashboard")
RECOMPUTE_FUNCTION = ("spendsense.recommend", "recompute_user")
DISCLOSURE = ("This is educational content, not financial advice. "
              "Consult a licensed advisor for personalized guidance.")

FLAG_OPTIONS = {  # search-by-flag choices: key -> label
    "review_flagged": "flagged for review",
    "review_pending": "recommendations pending review",
    "consent_revoked": "consent revoked or missing",
    "util_50": "a card at 50%+ utilization",
    "util_80": "a card at 80%+ utilization",
    "overdue": "an overdue card",
    "minimum_payment_only": "paying only the minimum",
    "interest_charges": "paying card interest",
    "shortfall": "fewer recommendations than the minimum",
}
SEARCH_BY = ("id", "persona", "flag", "name")


class AccessDenied(PermissionError):
    """The dashboard role may not see or do this."""


class NoPublishedRun(FileNotFoundError):
    """There is no published run to show."""


def resolve_role(ceiling: str | None = None, query_string: str | None = None) -> str:
    """The effective role: the launch role (env SPENDSENSE_ROLE, default operator), narrowed by ?role=.

    A query parameter can only lower privileges (an operator page cannot ask for admin).
    """
    ceiling = (ceiling or os.environ.get("SPENDSENSE_ROLE") or "operator").strip().lower()
    if ceiling not in ROLES:
        raise ValueError(f"unknown dashboard role {ceiling!r}; expected one of {', '.join(ROLES)}")
    requested = query_param("role", query_string)
    if requested and requested.lower() in ROLES and ROLES.index(requested.lower()) < ROLES.index(ceiling):
        return requested.lower()
    return ceiling


def resolve_operator(name: str | None = None, query_string: str | None = None) -> str:
    """The operator name recorded with every action: argument, env SPENDSENSE_OPERATOR, ?operator=, OS user."""
    for candidate in (name, os.environ.get("SPENDSENSE_OPERATOR"), query_param("operator", query_string)):
        if candidate and candidate.strip():
            return candidate.strip()[:80]
    try:
        return getpass.getuser()
    except (KeyError, OSError):
        return "unknown"


def query_param(key: str, query_string: str | None = None) -> str | None:
    """One parameter of the page URL (Voila passes the query string to the kernel as QUERY_STRING)."""
    qs = query_string if query_string is not None else os.environ.get("QUERY_STRING", "")
    values = urllib.parse.parse_qs(qs or "").get(key)
    return values[-1] if values else None


def mask_name(name: object) -> str:
    """A person's name reduced to initials, e.g. 'Jane Doe' -> 'J*** D***'."""
    if is_missing(name) or not str(name).strip():
        return "—"
    return " ".join(f"{part[0]}***" for part in str(name).split())


def mask_account(mask: object, role: str) -> str:
    """An account's last-4 mask as shown to a role: admin ••••4523, operator ••23."""
    if is_missing(mask) or not str(mask).strip():
        return "—"
    digits = str(mask).strip()
    return f"••••{digits}" if role == "admin" else f"••{digits[-2:]}"


def requires(*roles: str):
    """Decorator: the method raises AccessDenied unless the dashboard's role is one of `roles`."""

    def wrap(method):
        @functools.wraps(method)
        def inner(self, *args, **kwargs):
            if self.role not in roles:
                raise AccessDenied(f"role {self.role!r} may not {method.__name__.replace('_', ' ')} "
                                   f"(needs {' or '.join(roles)})")
            return method(self, *args, **kwargs)

        inner.roles = roles
        return inner

    return wrap


@dataclass
class CustomerPreview:
    """What the customer would see: approved items of both windows merged, or why nothing is shown."""

    user_id: str
    greeting_name: str
    consent_status: str
    run_id: str
    items: pd.DataFrame
    message: str = ""
    disclosure: str = DISCLOSURE
    as_of: str = ""
    notes: list[str] = field(default_factory=list)
    what_would_change: list[str] = field(default_factory=list)  # supportive customer texts, one per distinct text


class DashboardData:
    """One dashboard session's view of a published run and the operational store, for one role."""

    def __init__(self, run_dir: Path | str | None = None, role: str = "operator", operator: str | None = None,
                 opstore_path: Path | str | None = None, runs_root: Path | str | None = None):
        if role not in ROLES:
            raise ValueError(f"unknown dashboard role {role!r}; expected one of {', '.join(ROLES)}")
        self.role = role
        self.operator = resolve_operator(operator, "")
        self.runs_root = Path(runs_root) if runs_root else None
        self._fixed_run_dir = Path(run_dir) if run_dir else None
        self.opstore_path = Path(opstore_path) if opstore_path else paths.opstore_path()
        self.con: duckdb.DuckDBPyConnection | None = None
        self._ops: sqlite3.Connection | None = None
        self._catalog: dict[str, dict] | None = None
        self._open_run(self._fixed_run_dir or self._latest())

    # ---------------------------------------------------------------- run and connections

    def _latest(self) -> Path:
        root = self.runs_root or (Path(os.environ["SPENDSENSE_RUNS_DIR"])
                                  if os.environ.get("SPENDSENSE_RUNS_DIR") else None)
        found = runs.latest_run_dir(root)
        if found is None:
            where = runs.runs_dir(root) / runs.LATEST
            raise NoPublishedRun(f"no published run at {where}: run `make run` (or `spendsense run`) first")
        return found

    def _open_run(self, run_dir: Path) -> None:
        run_dir = Path(run_dir).resolve()
        warehouse = run_dir / runs.WAREHOUSE
        if not warehouse.exists():
            raise NoPublishedRun(f"{warehouse}: no warehouse in this run directory")
        con = duckdb.connect(str(warehouse), read_only=True)
        if self.con is not None:
            self.con.close()
        self.con, self.run_dir, self.warehouse = con, run_dir, warehouse
        self.tables = {r[0] for r in con.execute(
            "select table_name from information_schema.tables where table_schema = 'main'").fetchall()}
        self.run_id = self._run_id()
        self.as_of = self._as_of()
        self._metrics_cache: tuple[float, dict | None] | None = None
        self._redactors: dict[str, object] = {}
        self._persona_names: dict[str, str] | None = None

    def reload(self) -> bool:
        """Switch to the newest published run (unless a run directory was fixed); True if it changed."""
        if self._fixed_run_dir is not None:
            return False
        latest = self._latest()
        if latest == self.run_dir:
            return False
        self._open_run(latest)
        return True

    def latest_differs(self) -> bool:
        """True when a newer run than the one shown has been published."""
        if self._fixed_run_dir is not None:
            return False
        try:
            return self._latest() != self.run_dir
        except NoPublishedRun:
            return False

    def close(self) -> None:
        """Close both connections."""
        if self.con is not None:
            self.con.close()
            self.con = None
        if self._ops is not None:
            self._ops.close()
            self._ops = None

    @property
    def ops(self) -> sqlite3.Connection:
        """The operational store connection (opened on first use)."""
        if self._ops is None:
            from spendsense import opstore

            self.opstore_path.parent.mkdir(parents=True, exist_ok=True)
            self._ops = opstore.connect(self.opstore_path)
        return self._ops

    def _run_id(self) -> str:
        if "recommendations" in self.tables:
            row = self.con.execute("select max(run_id) from recommendations").fetchone()
            if row and row[0]:
                return str(row[0])
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
        if "transactions" in self.tables:
            row = self.con.execute("select max(date) from transactions").fetchone()
            if row and row[0]:
                return str(row[0])
        return ""

    def _q(self, sql: str, params: dict | None = None) -> pd.DataFrame:
        """A query's rows as a DataFrame (via fetchall: for the small per-user results this is ~5x faster
        than DuckDB's .df(); dates come back as datetime.date, lists as lists)."""
        cur = self.con.execute(sql, params or {})
        return pd.DataFrame(cur.fetchall(), columns=[d[0] for d in cur.description])

    def _has(self, *tables: str) -> bool:
        return all(t in self.tables for t in tables)

    # ---------------------------------------------------------------- aggregates (every role)

    def persona_mix(self) -> pd.DataFrame:
        """Users per persona and window: window_days, persona_id, persona_name, users, share."""
        if not self._has("persona_assignments"):
            return pd.DataFrame(columns=["window_days", "persona_id", "persona_name", "users", "share"])
        df = self._q("""
            with final as (
                select window_days, persona_id, any_value(persona_name) as persona_name,
                       count(distinct user_id) as users
                from persona_assignments group by window_days, persona_id)
            select *, users / sum(users) over (partition by window_days) as share
            from final order by window_days, users desc, persona_id""")
        return df

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

    def fairness(self) -> object | None:
        """The fairness section of metrics.json, if any."""
        m = self.metrics()
        return m.get("fairness") if isinstance(m, dict) else None

    def review_counts(self) -> dict[str, int]:
        """Recommendations of this run by review status (pending, approved, overridden, suppressed, flagged)."""
        status = self._status_all()
        counts = status["status"].value_counts().to_dict() if len(status) else {}
        return {s: int(counts.get(s, 0)) for s in ("pending", "flagged", "approved", "overridden", "suppressed")}

    def review_queue_size(self) -> int:
        """Recommendations waiting for a decision (pending or flagged) among consenting users."""
        status = self._status_all()
        return int(status["status"].isin(QUEUE_STATUSES).sum()) if len(status) else 0

    def counts(self) -> dict[str, int]:
        """Headline counts of the run: users, users with recommendations, recommendations."""
        out = {"users": 0, "users_with_recommendations": 0, "recommendations": 0}
        if self._has("users"):
            out["users"] = int(self.con.execute("select count(*) from users").fetchone()[0])
        if self._has("recommendations"):
            n, u = self.con.execute(
                "select count(*), count(distinct user_id) from recommendations").fetchone()
            out["recommendations"], out["users_with_recommendations"] = int(n), int(u)
        return out

    # ---------------------------------------------------------------- consent and review state (internal)

    def _ops_df(self, sql: str, params: tuple = ()) -> pd.DataFrame:
        cur = self.ops.execute(sql, params)
        cols = [d[0] for d in cur.description]
        return pd.DataFrame(cur.fetchall(), columns=cols)

    def _consent_events(self, user_id: str | None = None) -> pd.DataFrame:
        """Consent events from the opstore and the warehouse copy (de-duplicated by event_id), oldest first by
        the one status rule (spendsense.consent), with `events_after` (0 = the event that is the status).

        Times are ISO-8601 UTC text as the opstore stores them (text order is time order). Recording order is
        the opstore's rowid; events only in the warehouse copy count as recorded before all of the opstore's.
        """
        cols = ["event_id", "user_id", "event", "occurred_at", "source", "actor", "recorded_at", "origin"]
        where, args = ("where user_id = ?", (user_id,)) if user_id else ("", ())
        ops = self._ops_df(f"select event_id, user_id, event, occurred_at, source, actor, recorded_at, "
                           f"'opstore' as origin, rowid as seq from consent_events {where} order by rowid", args)
        frames = [ops]
        if self._has("consent_events"):
            wh = self._q("select event_id, user_id, event, "
                         "strftime(occurred_at, '%Y-%m-%dT%H:%M:%S.%f+00:00') as occurred_at, source, actor, "
                         "null as recorded_at, 'warehouse' as origin, "
                         "row_number() over () - 1 - count(*) over () as seq from consent_events"
                         + (" where user_id = $u" if user_id else ""), {"u": user_id} if user_id else None)
            frames.append(wh[~wh["event_id"].isin(set(ops["event_id"]))])
        frames = [f for f in frames if len(f)]
        if not frames:
            return pd.DataFrame(columns=cols + ["events_after"])
        events = pd.concat(frames, ignore_index=True) if len(frames) > 1 else frames[0]
        return consent_rule.ranked(events)[cols + ["events_after"]]

    def _consent_all(self) -> pd.DataFrame:
        """Current consent status of every user with an event: user_id, status, occurred_at."""
        events = self._consent_events()
        last = events[events["events_after"] == 0]
        return last.rename(columns={"event": "status"})[["user_id", "status", "occurred_at"]]

    def _consent_rows(self, user_id: str) -> list[dict]:
        """One user's consent events (opstore and warehouse copy, de-duplicated), oldest first, as dicts."""
        events = self._consent_events(user_id)
        rows = events.drop(columns="events_after").astype(object).where(events.notna(), None)
        return rows.to_dict("records")

    def _consent_status(self, user_id: str) -> tuple[str, dict]:
        rows = self._consent_rows(user_id)
        return (str(rows[-1]["event"]), rows[-1]) if rows else ("none", {})

    def _latest_reviews(self) -> pd.DataFrame:
        """The newest review per recommendation (append-only store: state is the latest event)."""
        df = self._ops_df(
            "select review_id, recommendation_id, user_id, action, replacement_item_id, reason, "
            "operator, role, recorded_at from reviews order by recorded_at, rowid")
        if not len(df):
            return df
        return df.groupby("recommendation_id", sort=False).tail(1).reset_index(drop=True)

    def _latest_reviews_of(self, recommendation_ids: list[str]) -> dict[str, dict]:
        """The newest review of each of these recommendations (by the opstore's recommendation index)."""
        out: dict[str, dict] = {}
        cols = ("recommendation_id", "action", "replacement_item_id", "reason", "operator", "recorded_at")
        for start in range(0, len(recommendation_ids), 500):
            chunk = list(recommendation_ids[start:start + 500])
            marks = ",".join("?" * len(chunk))
            for row in self.ops.execute(
                    f"select {', '.join(cols)} from reviews where recommendation_id in ({marks}) "
                    f"order by recorded_at, rowid", chunk).fetchall():
                out[row[0]] = dict(zip(cols, row))  # later rows win
        return out

    def _status_all(self) -> pd.DataFrame:
        """Every recommendation of this run for a consenting user with its review status."""
        if not self._has("recommendations"):
            return pd.DataFrame(columns=["recommendation_id", "user_id", "status"])
        recs = self._q("select recommendation_id, user_id from recommendations")
        latest = self._latest_reviews()
        out = recs.merge(latest[["recommendation_id", "action"]] if len(latest) else
                         pd.DataFrame(columns=["recommendation_id", "action"]), on="recommendation_id", how="left")
        out["status"] = out["action"].map(STATUS_OF_ACTION).fillna("pending")
        consent = self._consent_all()
        granted = set(consent.loc[consent["status"] == "granted", "user_id"])
        return out[out["user_id"].isin(granted)].drop(columns="action")

    # ---------------------------------------------------------------- masking

    def _user_names(self, user_ids) -> dict[str, str]:
        if not self._has("users") or not len(user_ids):
            return {}
        df = self.con.execute("select user_id, name from users where user_id in (select unnest($ids))",
                              {"ids": list(user_ids)}).df()
        return dict(zip(df["user_id"], df["name"]))

    def display_name(self, name: object) -> str:
        """A user's name as this role may see it."""
        return str(name) if self.role == "admin" and not is_missing(name) else mask_name(name)

    def _redactor(self, user_id: str):
        """A function masking the user's account numbers and name inside free text (identity for admin)."""
        if self.role == "admin":
            return lambda s: s
        cached = self._redactors.get(user_id)
        if cached is None:
            cached = self._redactors[user_id] = self._make_redactor(user_id)
            if len(self._redactors) > 64:  # a published run is immutable: only bound the memory
                self._redactors.pop(next(iter(self._redactors)))
        return cached

    def _make_redactor(self, user_id: str):
        masks = []
        if self._has("accounts"):
            masks = [m for m in self.con.execute(
                "select distinct mask from accounts where user_id = $u and mask is not null",
                {"u": user_id}).fetchall()]
            masks = [str(m[0]) for m in masks if str(m[0]).strip()]
        names = []
        name = self._user_names([user_id]).get(user_id)
        if name:
            names = [p for p in str(name).split() if len(p) >= 2]
        patterns = [(re.compile(rf"(?<!\d){re.escape(m)}(?!\d)"), mask_account(m, self.role)) for m in masks]
        patterns += [(re.compile(rf"\b{re.escape(p)}\b", re.IGNORECASE), f"{p[0]}***") for p in names]

        def redact(text):
            if not isinstance(text, str):
                return text
            for pattern, replacement in patterns:
                text = pattern.sub(replacement, text)
            return text

        return redact

    def _redact_deep(self, obj, redact):
        if isinstance(obj, str):
            return redact(obj)
        if isinstance(obj, dict):
            return {k: self._redact_deep(v, redact) for k, v in obj.items()}
        if isinstance(obj, list):
            return [self._redact_deep(v, redact) for v in obj]
        return obj

    # ---------------------------------------------------------------- content catalog (titles, kinds)

    def catalog(self) -> dict[str, dict]:
        """Catalog entries by item_id (kind, title, summary), loaded once; empty if the catalog cannot load."""
        if self._catalog is None:
            try:
                from spendsense.content.loader import load_catalog

                cat = load_catalog()
                self._catalog = {e.id: {"item_id": e.id, "kind": kind, "title": e.title, "summary": e.summary}
                                 for kind, entries in (("education", cat.education), ("offer", cat.offers))
                                 for e in entries}
            except Exception as exc:  # noqa: BLE001 - titles are a convenience; the run's tables still work
                log.warning("content catalog unavailable for the dashboard: %s", exc)
                self._catalog = {}
        return self._catalog

    # ---------------------------------------------------------------- search (operator, admin)

    @requires(*PER_USER_ROLES)
    def persona_options(self) -> list[tuple[str, str]]:
        """(label, persona_id) pairs of personas present in the run."""
        if not self._has("persona_assignments"):
            return []
        df = self._q("select persona_id, any_value(persona_name) as persona_name from persona_assignments "
                     "group by persona_id order by persona_id")
        return [(f"{n or p} ({p})", p) for p, n in zip(df["persona_id"], df["persona_name"])]

    @requires(*PER_USER_ROLES)
    def search_options(self) -> list[tuple[str, str]]:
        """The search modes this role may use: (label, key)."""
        opts = [("user id", "id"), ("persona", "persona"), ("flag", "flag")]
        if self.role == "admin":
            opts.append(("name", "name"))
        return opts

    @requires(*PER_USER_ROLES)
    def search_users(self, text: str = "", by: str = "id", limit: int = 200) -> pd.DataFrame:
        """Users matching a search: user_id, label (id, name as the role may see it, personas per window)."""
        if by not in SEARCH_BY:
            raise ValueError(f"unknown search field {by!r}; expected one of {', '.join(SEARCH_BY)}")
        if by == "name" and self.role != "admin":
            raise AccessDenied(f"role {self.role!r} may not search by name (names are masked)")
        text = (text or "").strip()
        ids: list[str] | None = None
        if by == "id":
            sql = "select user_id from users where user_id ilike $p order by user_id limit $n"
            ids = [r[0] for r in self.con.execute(sql, {"p": f"%{text}%", "n": limit}).fetchall()]
        elif by == "name":
            sql = "select user_id from users where name ilike $p order by name, user_id limit $n"
            ids = [r[0] for r in self.con.execute(sql, {"p": f"%{text}%", "n": limit}).fetchall()]
        elif by == "persona":
            if not self._has("persona_assignments"):
                ids = []
            else:
                sql = ("select distinct user_id from persona_assignments where persona_id = $p "
                       "order by user_id limit $n")
                ids = [r[0] for r in self.con.execute(sql, {"p": text, "n": limit}).fetchall()]
        else:
            ids = sorted(self._users_with_flag(text))[:limit]
        return self._search_labels(ids)

    def _users_with_flag(self, flag: str) -> set[str]:
        if flag not in FLAG_OPTIONS:
            raise ValueError(f"unknown flag {flag!r}; expected one of {', '.join(FLAG_OPTIONS)}")
        if flag in ("review_flagged", "review_pending"):
            status = self._status_all()
            want = "flagged" if flag == "review_flagged" else "pending"
            return set(status.loc[status["status"] == want, "user_id"])
        if flag == "consent_revoked":
            consent = self._consent_all()
            known = set(consent["user_id"])
            revoked = set(consent.loc[consent["status"] != "granted", "user_id"])
            everyone = {r[0] for r in self.con.execute("select user_id from users").fetchall()}
            return revoked | (everyone - known)
        if flag == "shortfall":
            if not self._has("recommendation_shortfalls"):
                return set()
            return {r[0] for r in self.con.execute(
                "select distinct user_id from recommendation_shortfalls").fetchall()}
        if not self._has("credit_cards"):
            return set()
        condition = {"util_50": "flag_50", "util_80": "flag_80", "overdue": "is_overdue",
                     "minimum_payment_only": "minimum_payment_only",
                     "interest_charges": "coalesce(interest_charges, 0) > 0"}[flag]
        sql = f"select distinct user_id from credit_cards where coalesce(({condition})::boolean, false)"
        return {r[0] for r in self.con.execute(sql).fetchall()}

    def _search_labels(self, ids: list[str]) -> pd.DataFrame:
        if not ids:
            return pd.DataFrame(columns=["user_id", "label"])
        names = self._user_names(ids)
        personas: dict[str, str] = {}
        if self._has("persona_assignments"):
            df = self.con.execute(
                "select user_id, string_agg(persona_id || ' ' || window_days || 'd', ', ' order by window_days) "
                "from persona_assignments where user_id in (select unnest($ids)) group by user_id",
                {"ids": ids}).fetchall()
            personas = dict(df)
        labels = [" · ".join(x for x in (u, self.display_name(names.get(u)), personas.get(u, "")) if x)
                  for u in ids]
        return pd.DataFrame({"user_id": ids, "label": labels})

    # ---------------------------------------------------------------- one user (operator, admin)

    def _check_user(self, user_id: str) -> None:
        if not user_id or not self.con.execute("select 1 from users where user_id = $u",
                                               {"u": user_id}).fetchone():
            raise KeyError(f"user {user_id!r} is not in run {self.run_id}")

    @requires(*PER_USER_ROLES)
    def user_profile(self, user_id: str) -> dict:
        """The user's row (name as the role may see it) with consent status, account count and skip reason."""
        accounts = ("(select count(*) from accounts a where a.user_id = u.user_id)" if self._has("accounts")
                    else "null")
        skipped = ("(select string_agg(reason, '; ') from skipped_users s where s.user_id = u.user_id)"
                   if self._has("skipped_users") else "null")
        df = self._q(f"select u.*, {accounts} as accounts, {skipped} as skipped from users u "
                     f"where u.user_id = $u", {"u": user_id})
        if not len(df):
            raise KeyError(f"user {user_id!r} is not in run {self.run_id}")
        row = df.iloc[0].to_dict()
        row["name"] = self.display_name(row.get("name"))
        status, last = self._consent_status(user_id)
        row["consent"] = status
        row["consent_since"] = last.get("occurred_at")
        return row

    @requires(*PER_USER_ROLES)
    def signals(self, user_id: str) -> pd.DataFrame:
        """Signals side by side: signal, value_30, text_30, value_180, text_180 (one row per signal)."""
        if not self._has("signals"):
            return pd.DataFrame(columns=["signal"])
        long = self._q("select window_days, signal, value, value_text from signals where user_id = $u "
                       "order by signal, window_days", {"u": user_id})
        if not len(long):
            return pd.DataFrame(columns=["signal"])
        out = pd.DataFrame({"signal": pd.unique(long["signal"])})
        for w, part in long.groupby("window_days"):
            part = part.set_index("signal")
            out[f"value_{int(w)}"] = out["signal"].map(part["value"])
            out[f"text_{int(w)}"] = out["signal"].map(part["value_text"])
        return out

    @requires(*PER_USER_ROLES)
    def credit_cards(self, user_id: str) -> pd.DataFrame:
        """Per-card evidence per window (masks and card names masked for operators)."""
        if not self._has("credit_cards"):
            return pd.DataFrame()
        df = self._q("select * from credit_cards where user_id = $u order by window_days, account_id",
                     {"u": user_id})
        redact = self._redactor(user_id)
        if "mask" in df:
            df["mask"] = [mask_account(m, self.role) for m in df["mask"]]
        if "card_name" in df:
            df["card_name"] = [redact(c) for c in df["card_name"]]
        return df

    @requires(*PER_USER_ROLES)
    def recurring_streams(self, user_id: str) -> pd.DataFrame:
        """Recurring streams per window with their transaction ids."""
        if not self._has("recurring_streams"):
            return pd.DataFrame()
        return self._q("select * from recurring_streams where user_id = $u "
                       "order by window_days, coalesce(amount_in_window, 0) desc, merchant_key", {"u": user_id})

    @requires(*PER_USER_ROLES)
    def transactions(self, user_id: str) -> pd.DataFrame:
        """The user's transactions: date, amount, description (merchant or category for operators), account."""
        if not self._has("transactions"):
            return pd.DataFrame(columns=["transaction_id", "date", "amount", "description"])
        desc = ("coalesce(t.merchant_name, t.name)" if self.role == "admin"
                else "coalesce(t.merchant_name, '(' || lower(replace(t.pfc_detailed, '_', ' ')) || ')')")
        acct = "a.mask" if self._has("accounts") else "null"
        join = "left join accounts a using (account_id)" if self._has("accounts") else ""
        df = self._q(f"""
            select t.transaction_id, t.date, t.amount, {desc} as description, t.pfc_primary, t.account_id,
                   {acct} as account_mask{', a.type as account_type' if join else ''}
            from transactions t {join}
            where t.user_id = $u order by t.date, t.transaction_id""", {"u": user_id})
        df["account_mask"] = [mask_account(m, self.role) for m in df["account_mask"]]
        return df

    @requires(*PER_USER_ROLES)
    def stream_transactions(self, user_id: str, streams: pd.DataFrame | None = None,
                            txns: pd.DataFrame | None = None) -> pd.DataFrame:
        """Transactions of each recurring stream: window_days, merchant_key plus the transaction columns."""
        streams = self.recurring_streams(user_id) if streams is None else streams
        if not len(streams) or "transaction_ids" not in streams:
            return pd.DataFrame(columns=["window_days", "merchant_key", "transaction_id", "date", "amount"])
        txns = self.transactions(user_id) if txns is None else txns
        pairs = streams[["window_days", "merchant_key", "transaction_ids"]].copy()
        pairs["transaction_id"] = pairs["transaction_ids"].map(lambda v: list(v) if v is not None else [])
        pairs = pairs.drop(columns="transaction_ids").explode("transaction_id").dropna(subset=["transaction_id"])
        return pairs.merge(txns, on="transaction_id", how="left").sort_values(
            ["window_days", "merchant_key", "date"], kind="stable").reset_index(drop=True)

    @requires(*PER_USER_ROLES)
    def payroll_deposits(self, user_id: str) -> pd.DataFrame:
        """Payroll deposits per window with the receiving account masked for the role."""
        if not self._has("payroll_deposits"):
            return pd.DataFrame()
        df = self._q("""select p.*, a.mask as account_mask from payroll_deposits p
                        left join accounts a using (account_id)
                        where p.user_id = $u order by p.window_days, p.date""" if self._has("accounts") else
                     "select *, null as account_mask from payroll_deposits where user_id = $u "
                     "order by window_days, date", {"u": user_id})
        df["account_mask"] = [mask_account(m, self.role) for m in df["account_mask"]]
        return df

    @requires(*PER_USER_ROLES)
    def personas(self, user_id: str) -> pd.DataFrame:
        """Persona per window with matched personas and the parsed criteria."""
        if not self._has("persona_assignments"):
            return pd.DataFrame(columns=["window_days", "persona_id", "persona_name", "matched_personas",
                                         "criteria"])
        df = self._q("select * from persona_assignments where user_id = $u order by window_days", {"u": user_id})
        change = self.counterfactuals(user_id)
        df = df.merge(change[["window_days", "text_operator", "text_customer"]], on="window_days", how="left")
        df["criteria"] = [parse_json(c) for c in df["criteria"]]
        df["matched_personas"] = [list(m) if m is not None and not isinstance(m, str) else m
                                  for m in df["matched_personas"]]
        return df

    @requires(*PER_USER_ROLES)
    def counterfactuals(self, user_id: str) -> pd.DataFrame:
        """What would change the persona, per window (persona_counterfactuals; empty for older runs)."""
        cols = ["window_days", "persona_id", "target_persona_id", "text_operator", "text_customer", "changes"]
        if not self._has("persona_counterfactuals"):
            return pd.DataFrame(columns=cols)
        return self._q("select " + ", ".join(cols) + " from persona_counterfactuals where user_id = $u "
                       "order by window_days", {"u": user_id})

    @requires(*PER_USER_ROLES)
    def timeline(self, user_id: str, txns: pd.DataFrame | None = None) -> dict[str, pd.DataFrame]:
        """Daily cash balance (depository accounts, rebuilt backwards from today's balance) and monthly spending."""
        txns = self.transactions(user_id) if txns is None else txns
        out = {"balance": pd.DataFrame(columns=["date", "balance"]),
               "spending": pd.DataFrame(columns=["month", "spending", "income"])}
        if not len(txns):
            return out
        t = txns.copy()
        t["date"] = pd.to_datetime(t["date"])
        money_out = t["amount"].clip(lower=0)
        t["month"] = t["date"].dt.to_period("M").dt.to_timestamp()
        spend = t.assign(spending=money_out, income=(-t["amount"]).clip(lower=0)).groupby("month")[
            ["spending", "income"]].sum().reset_index()
        out["spending"] = spend
        if self._has("accounts") and "account_type" in t:
            current = self.con.execute(
                "select coalesce(sum(balance_current), 0) from accounts where user_id = $u and type = 'depository'",
                {"u": user_id}).fetchone()[0]
            dep = t[t["account_type"] == "depository"]
            if len(dep):
                daily = dep.groupby("date")["amount"].sum().sort_index()
                end = max(daily.index.max(), pd.Timestamp(self.as_of[:10])) if self.as_of else daily.index.max()
                days = pd.date_range(daily.index.min(), end, freq="D")
                daily = daily.reindex(days, fill_value=0.0)
                # balance at end of day d = current + sum of amounts after d (Plaid sign: > 0 is money out)
                after = daily[::-1].cumsum()[::-1].shift(-1, fill_value=0.0)
                out["balance"] = pd.DataFrame({"date": days, "balance": float(current) + after.to_numpy()})
        return out

    @requires(*PER_USER_ROLES)
    def recommendations(self, user_id: str) -> pd.DataFrame:
        """The user's recommendations of this run with their review status (latest review)."""
        if not self._has("recommendations"):
            return pd.DataFrame(columns=["recommendation_id", "status"])
        df = self._q("select * from recommendations where user_id = $u order by window_days, kind, rank",
                     {"u": user_id})
        latest = self._latest_reviews_of(df["recommendation_id"].tolist())
        for col, key in (("review_action", "action"), ("replacement_item_id", "replacement_item_id"),
                         ("review_reason", "reason"), ("reviewed_by", "operator"), ("reviewed_at", "recorded_at")):
            df[col] = [latest.get(r, {}).get(key) for r in df["recommendation_id"]]
        df["status"] = [STATUS_OF_ACTION.get(a, "pending") for a in df["review_action"]]
        redact = self._redactor(user_id)
        for col in ("rationale", "title"):
            if col in df:
                df[col] = [redact(v) for v in df[col]]
        if "facts" in df:
            df["facts"] = [self._redact_deep(parse_json(f), redact) for f in df["facts"]]
        return df

    @requires(*PER_USER_ROLES)
    def traces(self, user_id: str) -> dict[str, dict]:
        """Decision traces of the user's recommendations, by recommendation_id (parsed, masked for the role)."""
        if not self._has("decision_traces"):
            return {}
        df = self._q("select recommendation_id, trace from decision_traces where user_id = $u", {"u": user_id})
        redact = self._redactor(user_id)
        return {r: self._redact_deep(parse_json(t), redact) for r, t in zip(df["recommendation_id"], df["trace"])}

    @requires(*PER_USER_ROLES)
    def decision_trace(self, recommendation_id: str) -> dict | None:
        """One recommendation's decision trace (parsed), or None."""
        if not self._has("decision_traces"):
            return None
        row = self.con.execute("select user_id, trace from decision_traces where recommendation_id = $r",
                               {"r": recommendation_id}).fetchone()
        if not row:
            return None
        return self._redact_deep(parse_json(row[1]), self._redactor(row[0]))

    @requires(*PER_USER_ROLES)
    def shortfalls(self, user_id: str) -> pd.DataFrame:
        """Why the user got fewer items than the minimum, per window and kind."""
        if not self._has("recommendation_shortfalls"):
            return pd.DataFrame()
        return self._q("select * from recommendation_shortfalls where user_id = $u order by window_days, kind",
                       {"u": user_id})

    # ---------------------------------------------------------------- reviews

    def _rec_row(self, recommendation_id: str) -> dict:
        if not self._has("recommendations"):
            raise KeyError(f"run {self.run_id} has no recommendations")
        df = self._q("select * from recommendations where recommendation_id = $r", {"r": recommendation_id})
        if not len(df):
            raise KeyError(f"recommendation {recommendation_id!r} is not in run {self.run_id}")
        return df.iloc[0].to_dict()

    @staticmethod
    def _replacements(recs: pd.DataFrame, traces: dict[str, object],
                      catalog: dict[str, dict] | None = None) -> dict[str, list[tuple[str, str]]]:
        """Eligible replacements per recommendation of one user: (label, item_id) lists by recommendation_id.

        Eligible means the item passed every filter for this user: the candidates the trace shows cut only by
        the business rules (count and partner caps), any `eligible_alternatives` the trace lists, and the
        user's recommendations of the other window. Only items of the same kind (when the catalog knows the
        kind) and not already recommended in the same window.
        """
        catalog = catalog or {}
        out: dict[str, list[tuple[str, str]]] = {}
        if not len(recs):
            return out
        titles = recs.drop_duplicates("item_id").set_index("item_id")["title"].to_dict()
        in_window = recs.groupby("window_days")["item_id"].agg(set).to_dict()
        of_kind = recs.groupby("kind")["item_id"].agg(lambda s: sorted(set(s))).to_dict()
        for rec in recs[["recommendation_id", "item_id", "kind", "window_days"]].to_dict("records"):
            options: dict[str, str] = {}
            trace = traces.get(rec["recommendation_id"])
            if isinstance(trace, dict):
                candidates = list(_cut_by_business_rules(trace.get("stages")))
                for key in ("eligible_alternatives", "alternatives", "runners_up"):
                    candidates += [a for a in trace.get(key) or [] if isinstance(a, (dict, str))]
                for alt in candidates:
                    item = alt.get("item_id") if isinstance(alt, dict) else alt
                    if not item:
                        continue
                    title = (alt.get("title") if isinstance(alt, dict) else None) or catalog.get(item, {}).get("title")
                    options.setdefault(str(item), str(title or item))
            for item in of_kind.get(rec["kind"], []):
                options.setdefault(str(item), str(titles.get(item, item)))
            for item in in_window.get(rec["window_days"], set()) | {rec["item_id"]}:
                options.pop(str(item), None)
            for item in list(options):
                kind = catalog.get(item, {}).get("kind")
                if kind is not None and kind != rec["kind"]:
                    options.pop(item)
            out[rec["recommendation_id"]] = [(f"{title} ({item})", item) for item, title in options.items()]
        return out

    @requires(*PER_USER_ROLES)
    def replacement_options_for_user(self, user_id: str, recs: pd.DataFrame | None = None,
                                     traces: dict | None = None) -> dict[str, list[tuple[str, str]]]:
        """Eligible replacement items of every recommendation of a user, by recommendation_id."""
        recs = self.recommendations(user_id) if recs is None else recs
        traces = self.traces(user_id) if traces is None else traces
        return self._replacements(recs, traces, self.catalog())

    @requires(*PER_USER_ROLES)
    def replacement_options(self, recommendation_id: str) -> list[tuple[str, str]]:
        """Eligible items that may replace a recommendation: (label, item_id)."""
        rec = self._rec_row(recommendation_id)
        return self.replacement_options_for_user(rec["user_id"]).get(recommendation_id, [])

    @requires(*PER_USER_ROLES)
    def record_review(self, recommendation_id: str, action: str, reason: str = "",
                      replacement_item_id: str | None = None) -> str:
        """Record an operator decision on a recommendation (append-only) and audit it; returns the review id."""
        from spendsense import opstore

        if action not in REVIEW_ACTIONS:
            raise ValueError(f"unknown review action {action!r}; expected one of {', '.join(REVIEW_ACTIONS)}")
        reason = (reason or "").strip()
        rec = self._rec_row(recommendation_id)
        user_id = str(rec["user_id"])
        if action in ("override", "suppress", "flag") and not reason:
            raise ValueError(f"a reason is required to {action} a recommendation")
        if action == "override":
            allowed = {item for _, item in self.replacement_options(recommendation_id)}
            if not replacement_item_id or replacement_item_id not in allowed:
                raise ValueError(f"replacement {replacement_item_id!r} is not an eligible item for "
                                 f"{recommendation_id}; choose one of: {', '.join(sorted(allowed)) or '(none)'}")
        elif replacement_item_id:
            raise ValueError("a replacement item is only allowed with action 'override'")
        if action in ("approve", "override"):
            status, _ = self._consent_status(user_id)
            if status != "granted":
                raise PermissionError(f"user {user_id} has no granted consent ({status}); "
                                      f"their recommendations cannot be approved")
        # opstore.record_review writes the review and its audit row in one transaction
        return _retry_locked(lambda: opstore.record_review(
            self.ops, recommendation_id, user_id, action, self.operator, self.role, reason or None,
            replacement_item_id=replacement_item_id))

    @requires(*PER_USER_ROLES)
    def review_history(self, user_id: str | None = None, limit: int = 200) -> pd.DataFrame:
        """Reviews, newest first (of one user, or of everyone)."""
        where, args = ("where user_id = ?", (user_id, limit)) if user_id else ("", (limit,))
        return self._ops_df(f"select recorded_at, operator, role, action, recommendation_id, user_id, "
                            f"replacement_item_id, reason from reviews {where} "
                            f"order by recorded_at desc, rowid desc limit ?", args)

    @requires(*PER_USER_ROLES)
    def review_queue(self, statuses: tuple[str, ...] = QUEUE_STATUSES, limit: int = 200) -> pd.DataFrame:
        """Recommendations waiting for a decision, flagged first, with title, user and latest note."""
        status = self._status_all()
        status = status[status["status"].isin(statuses)]
        if not len(status):
            return pd.DataFrame(columns=["status", "user_id", "window_days", "kind", "rank", "title",
                                         "recommendation_id", "note"])
        order = {s: i for i, s in enumerate(statuses)}
        status = status.assign(_o=status["status"].map(order)).sort_values(
            ["_o", "user_id", "recommendation_id"], kind="stable").head(limit)
        ids = list(status["recommendation_id"])
        recs = self.con.execute(
            "select recommendation_id, window_days, kind, rank, title, item_id from recommendations "
            "where recommendation_id in (select unnest($ids))", {"ids": ids}).df()
        latest = self._latest_reviews()
        notes = (latest.set_index("recommendation_id")["reason"] if len(latest) else pd.Series(dtype=object))
        out = status.drop(columns="_o").merge(recs, on="recommendation_id", how="left")
        out["note"] = out["recommendation_id"].map(notes)
        return out[["status", "user_id", "window_days", "kind", "rank", "title", "item_id",
                    "recommendation_id", "note"]]

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
        cols = ["event_id", "user_id", "event", "occurred_at", "source", "actor", "recorded_at", "origin"]
        return pd.DataFrame(self._consent_rows(user_id), columns=cols)

    @requires(*PER_USER_ROLES)
    def set_consent(self, user_id: str, event: str, note: str = "") -> str:
        """Record a consent grant or revocation made through the dashboard (audited); returns the event id.

        Operators may record revocations (a customer asked to stop); granting consent needs an admin.
        """
        from spendsense import opstore

        if event not in ("granted", "revoked"):
            raise ValueError(f"unknown consent event {event!r}; expected granted or revoked")
        if event == "granted" and self.role != "admin":
            raise AccessDenied(f"role {self.role!r} may not grant consent (needs admin)")
        self._check_user(user_id)
        # opstore.record_consent writes the event and its audit row in one transaction
        event_id = _retry_locked(lambda: opstore.record_consent(
            self.ops, user_id, event, "dashboard", self.operator, role=self.role))
        if (note or "").strip():
            self.audit("consent.note", user_id, {"event_id": event_id, "event": event, "note": note.strip(),
                                                 "run_id": self.run_id})
        return event_id

    # ---------------------------------------------------------------- audit

    def audit(self, action: str, target: str, detail: dict) -> None:
        """Append to the audit log (actor, role, action, target, JSON detail)."""
        from spendsense import opstore

        _retry_locked(lambda: opstore.record_audit(self.ops, self.operator, self.role, action, target, detail))

    @requires("admin")
    def audit_log(self, limit: int = 200) -> pd.DataFrame:
        """The newest audit entries (admins only)."""
        return self._ops_df("select recorded_at, actor, role, action, target, detail from audit_log "
                            "order by recorded_at desc, rowid desc limit ?", (limit,))

    # ---------------------------------------------------------------- customer preview

    @requires(*PER_USER_ROLES)
    def customer_preview(self, user_id: str) -> CustomerPreview:
        """The customer's view: approved items (overrides replaced) of both windows, one per item_id.

        Nothing at all when consent is not granted. Approved rows are shown, and an override shows its
        replacement item instead of the original. An item is held back when any of its rows (either window) is
        flagged, suppressed or overridden: an explicit doubt wins over an approval. Duplicates across windows
        keep the higher score (then the shorter window).
        """
        self._check_user(user_id)
        name = self._user_names([user_id]).get(user_id)
        first = str(name).split()[0] if name and str(name).split() else "there"
        greeting = first if self.role == "admin" else mask_name(first)
        status, _ = self._consent_status(user_id)
        cols = ["item_id", "kind", "title", "summary", "rationale", "disclosure", "score", "window_days", "windows",
                "recommendation_id", "source"]
        empty = pd.DataFrame(columns=cols)
        base = {"user_id": user_id, "greeting_name": greeting, "consent_status": status, "run_id": self.run_id,
                "as_of": self.as_of}
        if status != "granted":
            msg = ("Consent revoked: this customer sees no recommendations." if status == "revoked"
                   else "No consent on record: this customer sees no recommendations.")
            return CustomerPreview(items=empty, message=msg, **base)
        recs = self.recommendations(user_id)
        if not len(recs):
            return CustomerPreview(items=empty, message="No recommendations in this run.", **base)
        held = set(recs.loc[recs["status"].isin(["flagged", "suppressed", "overridden"]), "item_id"])
        shown = recs[recs["status"] == "approved"].assign(source="recommended")
        by_item = recs.sort_values(["score", "window_days"], ascending=[False, True]).drop_duplicates("item_id")
        by_item = by_item.set_index("item_id")
        replacements = []
        notes = []
        for _, row in recs[recs["status"] == "overridden"].iterrows():
            item = row["replacement_item_id"]
            if is_missing(item):
                continue
            if item in by_item.index:
                rep = by_item.loc[item].to_dict()
                rep.update(item_id=item, window_days=row["window_days"], recommendation_id=row["recommendation_id"],
                           source="operator replacement")
            else:
                label = {i: t for t, i in self.replacement_options(row["recommendation_id"])}.get(item, item)
                title = self.catalog().get(item, {}).get("title") or label.rsplit(" (", 1)[0]
                rep = {"item_id": item, "kind": row["kind"], "title": title,
                       "rationale": None, "disclosure": row.get("disclosure") or DISCLOSURE,
                       "score": row["score"], "window_days": row["window_days"],
                       "recommendation_id": row["recommendation_id"], "source": "operator replacement"}
            replacements.append(rep)
        items = pd.concat([shown, pd.DataFrame(replacements)], ignore_index=True) if replacements else shown
        items = items[~items["item_id"].isin(held)]
        if len(items):
            windows = items.groupby("item_id")["window_days"].agg(lambda w: sorted({int(x) for x in w}))
            items = items.sort_values(["score", "window_days"], ascending=[False, True], kind="stable")
            items = items.drop_duplicates("item_id").copy()
            items["windows"] = items["item_id"].map(windows)
            kind_order = {"education": 0, "offer": 1}
            items = items.assign(_k=items["kind"].map(kind_order).fillna(2)).sort_values(
                ["_k", "score"], ascending=[True, False], kind="stable").drop(columns="_k")
        catalog = self.catalog()
        items["summary"] = [catalog.get(i, {}).get("summary") for i in items["item_id"]]
        pending = int((recs["status"] == "pending").sum())
        if pending:
            notes.append(f"{pending} recommendation(s) still pending review are not shown.")
        if held:
            notes.append(f"{len(held)} item(s) held back (flagged, suppressed or overridden).")
        msg = "" if len(items) else "Nothing approved yet: the customer sees no recommendations."
        for col in cols:
            if col not in items:
                items[col] = None
        change = self.counterfactuals(user_id)["text_customer"].dropna()
        return CustomerPreview(items=items[cols].reset_index(drop=True), message=msg, notes=notes,
                               what_would_change=list(dict.fromkeys(change)), **base)

    # ---------------------------------------------------------------- on-demand recompute

    @staticmethod
    def recompute_function():
        """The engine's single-user recompute function, or None when it is not available."""
        module_name, attr = RECOMPUTE_FUNCTION
        try:
            module = importlib.import_module(module_name)
        except ImportError:
            return None
        fn = getattr(module, attr, None)
        return fn if callable(fn) else None

    def recompute_available(self) -> tuple[bool, str]:
        """Whether the single-user recompute can run for this role, and why not."""
        if self.role not in PER_USER_ROLES:
            return False, f"role {self.role!r} may not recompute a user"
        if self.recompute_function() is None:
            return False, (f"on-demand recompute unavailable: {'.'.join(RECOMPUTE_FUNCTION)}"
                           f"(warehouse, user_id, ...) is not provided by this install")
        return True, ""

    @requires(*PER_USER_ROLES)
    def recompute(self, user_id: str) -> dict:
        """Recompute signals, persona and recommendations for one user from the published warehouse.

        The result is returned for display only; the published run is never modified.
        """
        self._check_user(user_id)
        fn = self.recompute_function()
        if fn is None:
            raise RuntimeError(self.recompute_available()[1])
        kwargs = {}
        params = inspect.signature(fn).parameters
        if "as_of" in params and self.as_of:
            kwargs["as_of"] = dt.date.fromisoformat(self.as_of[:10])
        if "con" in params:
            kwargs["con"] = self.con
        if "opstore_path" in params:
            kwargs["opstore_path"] = self.opstore_path
        t0 = time.perf_counter()
        result = fn(self.warehouse, user_id, **kwargs)
        seconds = time.perf_counter() - t0
        self.audit("user.recompute", user_id, {"run_id": self.run_id, "seconds": round(seconds, 4)})
        if not isinstance(result, dict):
            result = {"result": result}
        redact = self._redactor(user_id)
        out = {}
        for key, value in result.items():
            if isinstance(value, pd.DataFrame) and self.role != "admin":
                value = value.copy()
                for col in value.columns:
                    if value[col].dtype == object or str(value[col].dtype).startswith(("str", "string")):
                        value[col] = [self._redact_deep(parse_json(v) if col in ("criteria", "trace", "facts")
                                                        else v, redact) for v in value[col]]
            out[key] = value
        out["_seconds"] = seconds
        return out

    # ---------------------------------------------------------------- everything for a user switch

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


def _retry_locked(fn, attempts: int = 6, first_wait: float = 0.05):
    """Call fn, retrying when SQLite reports the database locked (the insert did not happen in that case)."""
    for i in range(attempts):
        try:
            return fn()
        except sqlite3.OperationalError as exc:
            if "locked" not in str(exc).lower() and "busy" not in str(exc).lower() or i == attempts - 1:
                raise
            time.sleep(first_wait * (2 ** i))
    raise AssertionError("unreachable")


def _cut_by_business_rules(stages: object) -> list:
    """Candidates the trace shows removed only at the business-rules stage (they passed every other filter)."""
    if isinstance(stages, dict):
        stage = stages.get("business_rules")
    elif isinstance(stages, list):
        stage = next((s for s in stages if isinstance(s, dict) and (s.get("stage") or s.get("name")) == "business_rules"),
                     None)
    else:
        stage = None
    removed = stage.get("filtered_out") if isinstance(stage, dict) else None
    return list(removed) if isinstance(removed, list) else []
