"""/v1/feedback: a customer's reaction to one of their recommendations (append-only; the evaluation reads it as
click-through)."""

from __future__ import annotations

from fastapi import APIRouter, Request

from spendsense import opstore_api
from spendsense.api.app import envelope
from spendsense.api.deps import Caller, Store, touching
from spendsense.api.errors import NotFound
from spendsense.api.models import ERROR_RESPONSES, Envelope, Feedback

router = APIRouter(prefix="/v1/feedback", tags=["feedback"], responses=ERROR_RESPONSES)


@router.post("", response_model=Envelope, status_code=201,
             responses={200: {"model": Envelope, "description": "already recorded (same feedback_id)"}})
async def feedback(body: Feedback, request: Request, who: Caller, v: Store):
    """Record a reaction (helpful, not_helpful, dismissed, clicked) to a recommendation of the published run; the
    customer's own (or staff recording it for them); needs granted consent. A repeated feedback_id adds nothing."""
    touching(request, body.user_id)
    who.require("customer", "admin", "operator", what="record feedback")
    data = v.person(who, body.user_id)
    recs = data.recommendations(body.user_id)
    row = recs[recs["recommendation_id"] == body.recommendation_id]
    if not len(row):
        raise NotFound("no such recommendation for this user in the published run")
    feedback_id, added = v.write(lambda con: opstore_api.record_feedback(
        con, body.user_id, body.recommendation_id, data.run_id, body.reaction, f"{who.role}:{who.subject}",
        who.role, item_id=str(row["item_id"].iat[0]), note=body.note, feedback_id=body.feedback_id))
    return envelope(request, {"feedback_id": feedback_id, "recorded": added, "run_id": data.run_id},
                    "feedback recorded" if added else "feedback already recorded", status=201 if added else 200)
