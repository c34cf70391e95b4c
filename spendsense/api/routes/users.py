"""/v1/users: register a user, read one (role-masked), list with filters and cursor pagination."""

from __future__ import annotations

from typing import Annotated, Literal

from fastapi import APIRouter, Query, Request

from spendsense import opstore_api
from spendsense.api.app import envelope
from spendsense.api.deps import Caller, Store, touching
from spendsense.api.errors import Conflict, Forbidden, NotFound
from spendsense.api.models import ERROR_RESPONSES, Envelope, NewUser
from spendsense.api.views import plain
from spendsense.dashboard.access import FLAG_OPTIONS

router = APIRouter(prefix="/v1/users", tags=["users"], responses=ERROR_RESPONSES)
MAX_LIMIT = 100
SCAN_LIMIT = 1_000_000  # every match, then the page is cut by cursor
CURSOR_PATTERN = r"^[A-Za-z0-9][A-Za-z0-9_.:-]*$"


@router.post("", response_model=Envelope, status_code=201)
async def register_user(body: NewUser, request: Request, who: Caller,
                        v: Store):
    """Register a user the next run will pick up (admin, operator); 409 if the user_id is taken."""
    who.require("admin", "operator", what="register users")
    touching(request, body.user_id)
    data = v.data(who)
    if data.has_user(body.user_id) or not v.write(lambda con: opstore_api.register_user(
            con, body.user_id, body.name, body.source, f"{who.role}:{who.subject}", who.role)):
        raise Conflict("this user_id is already registered")
    return envelope(request, {"user_id": body.user_id, "in_published_run": False, "registered": True},
                    "registered; the user appears in the next published run", status=201)


@router.get("/{user_id}", response_model=Envelope)
async def get_user(user_id: str, request: Request, who: Caller, v: Store):
    """One user as the caller's role may see them (names masked for operators and customers)."""
    touching(request, user_id)
    who.require_user(user_id)
    if who.role == "analyst":
        raise Forbidden("role 'analyst' may not read one person's data (aggregates only)")
    data = v.data(who)
    if not data.has_user(user_id):
        registered = v.write(lambda con: opstore_api.registered_user(con, user_id))
        if registered is None:
            raise NotFound("no such user")
        return envelope(request, {"user_id": user_id, "in_published_run": False,
                                  "registered_at": registered["registered_at"]})
    data = v.person(who, user_id)
    return envelope(request, {**plain(data.user_profile(user_id)), "in_published_run": True})


@router.get("", response_model=Envelope)
async def list_users(request: Request, who: Caller, v: Store,
                     persona: Annotated[str | None, Query(max_length=64)] = None,
                     flag: Literal[tuple(FLAG_OPTIONS)] | None = None,
                     q: Annotated[str | None, Query(max_length=64)] = None,
                     limit: Annotated[int, Query(ge=1, le=MAX_LIMIT)] = 50,
                     cursor: Annotated[str | None, Query(max_length=64, pattern=CURSOR_PATTERN)] = None):
    """Users by persona, flag and id text, ordered by user_id, `limit` per page; pass `next_cursor` (the last
    user_id of the page) as `cursor` for the next."""
    who.require("admin", "operator", what="list users")
    data = v.data(who)
    found = data.search_users(q or "", "id", SCAN_LIMIT)
    ids = set(found["user_id"])
    if persona:
        ids &= set(data.search_users(persona, "persona", SCAN_LIMIT)["user_id"])
    if flag:
        ids &= set(data.search_users(flag, "flag", SCAN_LIMIT)["user_id"])
    after = cursor or ""
    page = sorted(u for u in ids if u > after)[: limit + 1]
    more = len(page) > limit
    page = page[:limit]
    labels = dict(zip(found["user_id"], found["label"]))
    return envelope(request, {"items": [{"user_id": u, "label": labels.get(u, u)} for u in page],
                              "next_cursor": page[-1] if more else None})
