"""Masking for the role: names to initials, account numbers to their last digits, also inside free text.

admin sees everything; operator sees names as initials (``J*** D***``) and account numbers as their last two
digits (``••23``), also inside rationales and traces.
"""

from __future__ import annotations

import re
from collections.abc import Callable

from spendsense.dashboard.data.run import PublishedRun
from spendsense.dashboard.render import is_missing

SQL = "dashboard/data/redaction.sql"
CACHED_USERS = 64  # a published run is immutable: the cache only bounds the memory


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


def display_name(name: object, role: str) -> str:
    """A user's name as the role may see it."""
    return str(name) if role == "admin" and not is_missing(name) else mask_name(name)


def redact_deep(obj, redact: Callable):
    """`redact` applied to every string inside nested dicts and lists."""
    if isinstance(obj, str):
        return redact(obj)
    if isinstance(obj, dict):
        return {k: redact_deep(v, redact) for k, v in obj.items()}
    if isinstance(obj, list):
        return [redact_deep(v, redact) for v in obj]
    return obj


class Redactors:
    """Per-user functions masking the user's account numbers and name inside free text (identity for admin)."""

    def __init__(self, run: PublishedRun, role: str):
        self.run, self.role = run, role
        self._cache: dict[str, Callable] = {}

    def __call__(self, user_id: str) -> Callable:
        if self.role == "admin":
            return _identity
        cached = self._cache.get(user_id)
        if cached is None:
            cached = self._cache[user_id] = self._make(user_id)
            if len(self._cache) > CACHED_USERS:
                self._cache.pop(next(iter(self._cache)))
        return cached

    def _make(self, user_id: str) -> Callable:
        masks = []
        if self.run.has("accounts"):
            masks = [str(m[0]) for m in self.run.rows(SQL, "account_masks", user_id=user_id) if str(m[0]).strip()]
        names = []
        name = self.run.user_names([user_id]).get(user_id)
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


def _identity(text):
    return text
