"""/v1/operator/review: the review queue (paginated) and review decisions, one or many (the dashboard's rules:
reasons, eligible replacements, consent)."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Query, Request

from spendsense import opstore
from spendsense.api.app import envelope
from spendsense.api.deps import Caller, Store, touching
from spendsense.api.errors import Conflict, ConsentRequired, Forbidden, NotFound, ValidationFailed
from spendsense.api.models import ERROR_RESPONSES, BulkApproval, Envelope, Review
from spendsense.api.views import records
from spendsense.dashboard.access import AccessDenied, DashboardData, QueueFilter

router = APIRouter(prefix="/v1/operator/review", tags=["operator"], responses=ERROR_RESPONSES)
STAFF = ("admin", "operator")


def review_one(data: DashboardData, recommendation_id: str, body: Review) -> str:
    """Record one review through the dashboard's access (its rules); API errors for its refusals."""
    try:
        return data.record_review(recommendation_id, body.action, body.reason or "", body.replacement_item_id,
                                  body.expected_review_id)
    except opstore.StaleDecision as exc:
        raise Conflict(str(exc)) from None
    except AccessDenied as exc:
        raise Forbidden(str(exc)) from None
    except KeyError:
        raise NotFound("no such recommendation in the published run") from None
    except PermissionError:
        raise ConsentRequired("the user has not granted consent; their recommendations cannot be approved") \
            from None
    except ValueError as exc:
        raise ValidationFailed(str(exc)) from None


@router.get("", response_model=Envelope)
async def queue(request: Request, who: Caller, v: Store,
                limit: Annotated[int, Query(ge=1, le=100)] = 50,
                cursor: Annotated[int, Query(ge=0, le=10_000_000)] = 0):
    """Recommendations waiting for a decision (flagged first, then pending) among consenting users; pass
    `next_cursor` (a position in the queue) as `cursor` for the next page."""
    who.require(*STAFF, what="see the review queue")
    data = v.data(who)
    page = data.review_queue(QueueFilter(offset=cursor, page_size=limit))
    rows = page.rows
    more = cursor + limit < page.total
    return envelope(request, {"items": records(rows), "total": page.total,
                              "next_cursor": cursor + limit if more else None})


@router.post("/{recommendation_id}", response_model=Envelope, status_code=201)
async def review(recommendation_id: str, body: Review, request: Request, who: Caller,
                 v: Store):
    """Approve, override (with an eligible replacement and a reason), suppress or flag one recommendation."""
    who.require(*STAFF, what="review recommendations")
    data = v.data(who)
    review_id = review_one(data, recommendation_id, body)
    touching(request, recommendation_id)
    return envelope(request, {"review_id": review_id, "recommendation_id": recommendation_id,
                              "action": body.action}, "review recorded", status=201)


@router.post("", response_model=Envelope, status_code=201)
async def approve_many(body: BulkApproval, request: Request, who: Caller,
                       v: Store):
    """Approve many recommendations at once; each is checked and recorded on its own, the answer lists each
    outcome (recorded, or the refusal's code)."""
    who.require(*STAFF, what="review recommendations")
    data = v.data(who)
    results = []
    for rec_id in dict.fromkeys(body.recommendation_ids):
        try:
            results.append({"recommendation_id": rec_id, "review_id": review_one(
                data, rec_id, Review(action="approve", reason=body.reason)), "code": "ok"})
        except (NotFound, ConsentRequired, ValidationFailed, Conflict) as exc:
            results.append({"recommendation_id": rec_id, "review_id": None, "code": exc.code})
    done = sum(r["code"] == "ok" for r in results)
    return envelope(request, {"results": results, "approved": done},
                    f"{done} of {len(results)} approved", status=201)
