"""Bearer tokens: HS256-signed JWTs carrying a role (admin, operator, analyst, customer) and, for a customer,
the one user_id they may touch. The signing secret comes from SPENDSENSE_API_SECRET (shared by every worker)."""

from __future__ import annotations

import os
import secrets
import time
from dataclasses import dataclass

import jwt

from spendsense.api.errors import Forbidden, Unauthenticated

SECRET_ENV = "SPENDSENSE_API_SECRET"
MIN_SECRET_LENGTH = 32
ROLES = ("admin", "operator", "analyst", "customer")
STAFF_ROLES = ("admin", "operator", "analyst")
ALGORITHM = "HS256"
ISSUER = "spendsense"
DEFAULT_TTL_S = 12 * 3600


@dataclass(frozen=True)
class Principal:
    """Who calls: the token's subject, role and (customers only) their own user_id."""

    subject: str
    role: str
    user_id: str | None = None
    token_id: str = ""

    def may_touch(self, user_id: str) -> bool:
        """Whether this caller may read or write this user's data at all (customers: only their own)."""
        return self.role != "customer" or self.user_id == user_id

    def require_user(self, user_id: str) -> None:
        if not self.may_touch(user_id):
            raise Forbidden("a customer token may only touch its own user")

    def require(self, *roles: str, what: str) -> None:
        if self.role not in roles:
            raise Forbidden(f"role {self.role!r} may not {what} (needs {' or '.join(roles)})")


def secret_from_env() -> str:
    """The signing secret from SPENDSENSE_API_SECRET (ValueError when missing or too short)."""
    value = os.environ.get(SECRET_ENV, "")
    if len(value) < MIN_SECRET_LENGTH:
        raise ValueError(f"{SECRET_ENV} must be set to at least {MIN_SECRET_LENGTH} characters "
                         f"(e.g. `openssl rand -hex 32`)")
    return value


def new_secret() -> str:
    return secrets.token_hex(32)


def issue(secret: str, role: str, subject: str, user_id: str | None = None, ttl_s: int = DEFAULT_TTL_S) -> str:
    """A signed token for a role (a customer token needs the user_id it is limited to)."""
    if role not in ROLES:
        raise ValueError(f"unknown role {role!r}; expected one of {', '.join(ROLES)}")
    if (role == "customer") != bool(user_id):
        raise ValueError("a customer token needs --user-id (and only a customer token takes one)")
    if not subject or not subject.strip():
        raise ValueError("a token needs a subject (who it is issued to)")
    now = int(time.time())
    claims = {"iss": ISSUER, "sub": subject.strip()[:80], "role": role, "iat": now, "exp": now + int(ttl_s),
              "jti": secrets.token_hex(8)}
    if user_id:
        claims["user_id"] = user_id
    return jwt.encode(claims, secret, algorithm=ALGORITHM)


def verify(secret: str, authorization: str | None) -> Principal:
    """The caller of an `Authorization: Bearer <token>` header (Unauthenticated when absent, bad or expired)."""
    scheme, _, token = (authorization or "").partition(" ")
    if scheme.lower() != "bearer" or not token.strip():
        raise Unauthenticated()
    try:
        claims = jwt.decode(token.strip(), secret, algorithms=[ALGORITHM], issuer=ISSUER,
                            options={"require": ["exp", "iat", "sub", "iss"]})
    except jwt.ExpiredSignatureError:
        raise Unauthenticated("the bearer token has expired") from None
    except jwt.PyJWTError:
        raise Unauthenticated("the bearer token is not valid") from None
    role = claims.get("role")
    if role not in ROLES or (role == "customer" and not claims.get("user_id")):
        raise Unauthenticated("the bearer token carries no valid role")
    return Principal(str(claims["sub"]), role, claims.get("user_id") if role == "customer" else None,
                     str(claims.get("jti", "")))
