"""Dashboard roles: the launch role narrowed by the page URL, the operator's name, and the per-method role check."""

from __future__ import annotations

import functools
import getpass
import os
import urllib.parse

ROLES = ("analyst", "operator", "admin")  # increasing privilege
PER_USER_ROLES = ("operator", "admin")


class AccessDenied(PermissionError):
    """The dashboard role may not see or do this."""


def check_role(role: str) -> str:
    """The role, if it is one of ROLES (ValueError otherwise)."""
    if role not in ROLES:
        raise ValueError(f"unknown dashboard role {role!r}; expected one of {', '.join(ROLES)}")
    return role


def resolve_role(ceiling: str | None = None, query_string: str | None = None) -> str:
    """The effective role: the launch role (env SPENDSENSE_ROLE, default operator), narrowed by ?role=.

    A query parameter can only lower privileges (an operator page cannot ask for admin).
    """
    ceiling = check_role((ceiling or os.environ.get("SPENDSENSE_ROLE") or "operator").strip().lower())
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


def deny(role: str, what: str, needs: str) -> AccessDenied:
    """The AccessDenied for a role that may not do `what`."""
    return AccessDenied(f"role {role!r} may not {what} (needs {needs})")


def requires(*roles: str):
    """Decorator: the method raises AccessDenied unless the dashboard's role (self.role) is one of `roles`."""

    def wrap(method):
        @functools.wraps(method)
        def inner(self, *args, **kwargs):
            if self.role not in roles:
                raise deny(self.role, method.__name__.replace("_", " "), " or ".join(roles))
            return method(self, *args, **kwargs)

        inner.roles = roles
        return inner

    return wrap
