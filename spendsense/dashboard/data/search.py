"""Finding users: by id, name (admins only), persona or flag; labels with the name as the role may see it."""

from __future__ import annotations

import pandas as pd

from spendsense.dashboard.data import consent, reviews
from spendsense.dashboard.data.redaction import display_name
from spendsense.dashboard.data.roles import AccessDenied
from spendsense.dashboard.data.run import PublishedRun
from spendsense.dashboard.data.store import OpStore

SQL = "dashboard/data/search.sql"
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


def persona_options(run: PublishedRun) -> list[tuple[str, str]]:
    """(label, persona_id) pairs of personas present in the run."""
    if not run.has("persona_assignments"):
        return []
    df = run.frame(SQL, "personas")
    return [(f"{n or p} ({p})", p) for p, n in zip(df["persona_id"], df["persona_name"])]


def search_options(role: str) -> list[tuple[str, str]]:
    """The search modes a role may use: (label, key)."""
    opts = [("user id", "id"), ("persona", "persona"), ("flag", "flag")]
    return opts + [("name", "name")] if role == "admin" else opts


def search_users(run: PublishedRun, ops: OpStore, role: str, text: str, by: str, limit: int) -> pd.DataFrame:
    """Users matching a search: user_id, label (id, name as the role may see it, personas per window)."""
    if by not in SEARCH_BY:
        raise ValueError(f"unknown search field {by!r}; expected one of {', '.join(SEARCH_BY)}")
    if by == "name" and role != "admin":
        raise AccessDenied(f"role {role!r} may not search by name (names are masked)")
    text = (text or "").strip()
    if by in ("id", "name"):
        ids = [r[0] for r in run.rows(SQL, f"by_{by}", pattern=f"%{text}%", limit=limit)]
    elif by == "persona":
        ids = ([r[0] for r in run.rows(SQL, "by_persona", persona_id=text, limit=limit)]
               if run.has("persona_assignments") else [])
    else:
        ids = sorted(users_with_flag(run, ops, text))[:limit]
    return labels(run, role, ids)


def users_with_flag(run: PublishedRun, ops: OpStore, flag: str) -> set[str]:
    if flag not in FLAG_OPTIONS:
        raise ValueError(f"unknown flag {flag!r}; expected one of {', '.join(FLAG_OPTIONS)}")
    if flag in ("review_flagged", "review_pending"):
        status = reviews.status_all(run, ops)
        want = "flagged" if flag == "review_flagged" else "pending"
        return set(status.loc[status["status"] == want, "user_id"])
    if flag == "consent_revoked":
        now = consent.status_all(run, ops)
        revoked = set(now.loc[now["status"] != "granted", "user_id"])
        everyone = {r[0] for r in run.rows(SQL, "all_users")}
        return revoked | (everyone - set(now["user_id"]))
    if flag == "shortfall":
        return {r[0] for r in run.rows(SQL, "shortfall_users")} if run.has("recommendation_shortfalls") else set()
    if not run.has("credit_cards"):
        return set()
    flags = run.frame(SQL, "card_flags")
    return set(flags.loc[flags[flag].astype(bool), "user_id"])


def labels(run: PublishedRun, role: str, ids: list[str]) -> pd.DataFrame:
    if not ids:
        return pd.DataFrame(columns=["user_id", "label"])
    names = run.user_names(ids)
    personas = dict(run.rows(SQL, "persona_labels", user_ids=ids)) if run.has("persona_assignments") else {}
    text = [" · ".join(x for x in (u, display_name(names.get(u), role), personas.get(u, "")) if x) for u in ids]
    return pd.DataFrame({"user_id": ids, "label": text})
