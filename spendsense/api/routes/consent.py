"""/v1/consent: record a grant or revocation, read a user's status and history (by the one consent rule)."""

from __future__ import annotations

from fastapi import APIRouter, Request

from spendsense import opstore
from spendsense.api.app import envelope
from spendsense.api.deps import Caller, Store, touching
from spendsense.api.errors import Forbidden, NotFound, ValidationFailed
from spendsense.api.models import ERROR_RESPONSES, ConsentChange, Envelope
from spendsense.api.views import plain, records
from spendsense.dashboard.access import AccessDenied
from spendsense.dashboard.data import consent as consent_rules

router = APIRouter(prefix="/v1/consent", tags=["consent"], responses=ERROR_RESPONSES)
SOURCE = "api"


@router.post("", response_model=Envelope, status_code=201)
async def record_consent(body: ConsentChange, request: Request, who: Caller,
                         v: Store):
    """Record consent: a customer for themself (grant or revoke); staff by the dashboard's rule (operators
    revoke, granting on a customer's behalf needs an admin); analysts never."""
    touching(request, body.user_id)
    who.require_user(body.user_id)
    if who.role == "analyst":
        raise Forbidden("role 'analyst' may not record consent")
    if who.role != "customer":
        try:
            consent_rules.check_event(body.event, who.role)
        except AccessDenied as exc:
            raise Forbidden(str(exc)) from None
    data = v.data(who)
    if not data.has_user(body.user_id):
        raise NotFound("no such user in the published run")
    try:
        event_id = v.write(lambda con: opstore.record_consent(
            con, body.user_id, body.event, SOURCE, f"{who.role}:{who.subject}", body.occurred_at, who.role,
            body.reason))
    except opstore.FutureConsentError:
        raise ValidationFailed("occurred_at lies in the future beyond the allowed clock skew") from None
    request.app.state.metrics.consent_changes.labels(body.event).inc()
    return envelope(request, {"event_id": event_id, "user_id": body.user_id, "event": body.event,
                              "status": v.consent_status(data, body.user_id)}, "consent recorded", status=201)


@router.get("/{user_id}", response_model=Envelope)
async def consent_of(user_id: str, request: Request, who: Caller, v: Store):
    """The user's consent status and every event (oldest first)."""
    touching(request, user_id)
    data = v.person(who, user_id, consent_needed=False)
    return envelope(request, {"user_id": user_id, **plain(data.consent(user_id)),
                              "history": records(data.consent_history(user_id))})
