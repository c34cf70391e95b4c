"""Route dependencies: the authenticated caller (rate-limited per token and address). They and the routes are
`async def`: one worker serves one call at a time on its event loop, so the DuckDB and SQLite connections are
never shared between threads (more workers give more parallelism)."""

from __future__ import annotations

from typing import Annotated

from fastapi import Depends, Request

from spendsense.api.auth import Principal, verify
from spendsense.api.views import Views


def client_ip(request: Request) -> str:
    return request.client.host if request.client else "unknown"


def route_of(request: Request) -> str:
    return getattr(request.scope.get("route"), "path", request.url.path)


async def caller(request: Request) -> Principal:
    """The caller of a protected route: a valid bearer token, within the route's rate limits."""
    who = verify(request.app.state.secret, request.headers.get("authorization"))
    request.state.principal = who
    request.app.state.limits.check(route_of(request), client_ip(request), who.token_id or who.subject)
    return who


async def anyone(request: Request) -> None:
    """An open route (health, metrics): only the per-address rate limit."""
    request.app.state.limits.check(route_of(request), client_ip(request), None)


async def views(request: Request) -> Views:
    return request.app.state.views


def touching(request: Request, user_id: str | None) -> None:
    """Name the user this call touches (for its audit row)."""
    request.state.target = user_id


Caller = Annotated[Principal, Depends(caller)]
Store = Annotated[Views, Depends(views)]
