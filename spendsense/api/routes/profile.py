"""/v1/profile/{user_id}: one window's signals with their evidence, the persona with every criterion, and what
would change it."""

from __future__ import annotations

from typing import Literal

from fastapi import APIRouter, Request

from spendsense.api.app import envelope
from spendsense.api.deps import Caller, Store, touching
from spendsense.api.models import ERROR_RESPONSES, Envelope
from spendsense.api.views import plain, records

router = APIRouter(prefix="/v1/profile", tags=["profile"], responses=ERROR_RESPONSES)


def in_window(df, window: int):
    return df[df["window_days"] == window] if len(df) and "window_days" in df.columns else df.iloc[0:0]


@router.get("/{user_id}", response_model=Envelope)
async def profile(user_id: str, request: Request, who: Caller, v: Store,
                  window: Literal["30", "180"] = "180"):
    """Signals (value and text) of the window, their evidence (cards, recurring streams, payroll), the persona
    with its matched personas and criteria, and the 'what would change this' texts where they exist."""
    touching(request, user_id)
    who.require("admin", "operator", what="read a profile")
    data = v.person(who, user_id)
    w = int(window)
    signals = data.signals(user_id)
    keep = [c for c in ("signal", f"value_{w}", f"text_{w}") if c in signals.columns]
    signals = signals[keep].rename(columns={f"value_{w}": "value", f"text_{w}": "text"})
    personas = in_window(data.personas(user_id), w)
    changes = in_window(data.counterfactuals(user_id), w)
    return envelope(request, {
        "user_id": user_id, "window_days": w, "run_id": data.run_id, "as_of": data.as_of,
        "signals": records(signals),
        "evidence": {"credit_cards": records(in_window(data.credit_cards(user_id), w)),
                     "recurring_streams": records(in_window(data.recurring_streams(user_id), w)),
                     "payroll_deposits": records(in_window(data.payroll_deposits(user_id), w))},
        "persona": plain(personas.iloc[0].to_dict()) if len(personas) else None,
        "what_would_change": records(changes),
    })
