"""/v1/recommendations/{user_id}: what the customer may see (the dashboard's customer preview: approved items of
both windows merged, with rationale and disclosure); ?include=trace adds the decision traces for staff."""

from __future__ import annotations

from typing import Literal

from fastapi import APIRouter, Request

from spendsense.api.app import envelope
from spendsense.api.deps import Caller, Store, touching
from spendsense.api.errors import ConsentRequired, Forbidden
from spendsense.api.models import ERROR_RESPONSES, Envelope
from spendsense.api.views import plain, records

router = APIRouter(prefix="/v1/recommendations", tags=["recommendations"], responses=ERROR_RESPONSES)


@router.get("/{user_id}", response_model=Envelope)
async def recommendations(user_id: str, request: Request, who: Caller, v: Store,
                          include: Literal["trace"] | None = None):
    """The customer's recommendations; refused (consent_required) without granted consent, except to an admin
    auditing them, who also sees every recommendation of the run with ?include=trace."""
    touching(request, user_id)
    if include and who.role not in ("admin", "operator"):
        raise Forbidden(f"role {who.role!r} may not see decision traces (needs admin or operator)")
    data = v.person(who, user_id, consent_needed=False)
    preview = data.customer_preview(user_id)  # decides consent by the one rule, once
    if preview.consent_status != "granted" and who.role != "admin":
        raise ConsentRequired("this user has not granted consent; their data is not shown")
    body = {"user_id": user_id, "run_id": preview.run_id, "as_of": preview.as_of,
            "consent_status": preview.consent_status, "items": plain(preview.rows),
            "disclosure": preview.disclosure, "notes": preview.notes,
            "what_would_change": preview.what_would_change}
    if include == "trace":
        body["recommendations"] = records(data.recommendations(user_id))
        body["traces"] = plain(data.traces(user_id))
    request.app.state.metrics.recommendations_served.inc(len(preview.rows))
    return envelope(request, body, preview.message)
