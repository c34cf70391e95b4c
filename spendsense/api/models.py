"""Request bodies (unknown fields rejected) and the response envelope of every answer."""

from __future__ import annotations

import datetime as dt
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field

ID = Field(min_length=1, max_length=64, pattern=r"^[A-Za-z0-9][A-Za-z0-9_.:-]*$")
TEXT = Field(default=None, max_length=500)


class Strict(BaseModel):
    model_config = ConfigDict(extra="forbid")


class Envelope(BaseModel):
    """Every response: status ok|error, the data (for errors: code and details), a message, when, which request."""

    status: Literal["ok", "error"]
    data: Any = None
    message: str = ""
    timestamp: str
    request_id: str


class NewUser(Strict):
    user_id: str = ID
    name: str = Field(min_length=1, max_length=120)
    source: str = Field(default="api", min_length=1, max_length=40)


class ConsentChange(Strict):
    user_id: str = ID
    event: Literal["granted", "revoked"]
    occurred_at: dt.datetime | None = None
    reason: str | None = TEXT


class Feedback(Strict):
    user_id: str = ID
    recommendation_id: str = ID
    reaction: Literal["helpful", "not_helpful", "dismissed", "clicked"]
    note: str | None = TEXT
    feedback_id: str | None = Field(default=None, min_length=8, max_length=64, pattern=r"^[A-Za-z0-9_-]+$")


class Review(Strict):
    action: Literal["approve", "override", "suppress", "flag"]
    reason: str | None = TEXT
    replacement_item_id: str | None = Field(default=None, min_length=1, max_length=64)
    # the review id the caller saw as the latest ("" for none): a decision on a stale state answers 409 conflict
    expected_review_id: str | None = Field(default=None, max_length=64)


class BulkApproval(Strict):
    action: Literal["approve"] = "approve"
    recommendation_ids: list[str] = Field(min_length=1, max_length=100)
    reason: str | None = TEXT


def _error(description: str) -> dict:
    return {"model": Envelope, "description": description}


ERROR_RESPONSES = {
    400: _error("validation: the body cannot be parsed"),
    401: _error("unauthenticated: no valid bearer token"), 403: _error("forbidden or consent_required"),
    404: _error("not_found"), 405: _error("method_not_allowed"), 409: _error("conflict"),
    413: _error("validation: body too large"), 422: _error("validation"), 429: _error("rate_limited"),
    503: _error("unavailable: no published run"),
}
