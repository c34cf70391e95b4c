"""/v1/runs/latest, /v1/health (liveness and readiness) and /metrics (Prometheus text format)."""

from __future__ import annotations

import yaml
from fastapi import APIRouter, Depends, Request
from fastapi.responses import Response

from spendsense import opstore_api
from spendsense.api.app import envelope
from spendsense.api.deps import Caller, Store, anyone
from spendsense.api.errors import Unavailable
from spendsense.api.models import ERROR_RESPONSES, Envelope
from spendsense.api.views import Views, plain

router = APIRouter(tags=["system"], responses=ERROR_RESPONSES)


@router.get("/v1/runs/latest", response_model=Envelope)
async def latest_run(request: Request, who: Caller, v: Store):
    """The published run: id, as-of date, parameters, metrics, and the click-through of its feedback."""
    who.require("admin", "operator", "analyst", what="read run metadata")
    data = v.data(who)
    params_file = data.run_dir / "params.yaml"
    params = yaml.safe_load(params_file.read_text()) if params_file.exists() else None
    delivered = data.counts()["recommendations"]
    return envelope(request, {"run_id": data.run_id, "as_of": data.as_of, "params": plain(params),
                              "metrics": plain(data.metrics()), "counts": data.counts(),
                              "click_through": v.write(lambda con: opstore_api.click_through(
                                  con, data.run_id, delivered))})


def readiness(v: Views) -> dict:
    """Whether a published run is there and the operational store answers."""
    out = {"live": True, "published_run": None, "store": False}
    try:
        out["store"] = v.write(lambda con: con.execute("select 1").fetchone()[0] == 1)
    except Exception:  # noqa: BLE001 - readiness reports, it does not raise
        out["store"] = False
    try:
        from spendsense.dashboard.access import latest_run_dir

        out["published_run"] = latest_run_dir(v.runs_root).name
    except FileNotFoundError:
        pass
    out["ready"] = bool(out["store"] and out["published_run"])
    return out


@router.get("/v1/health", response_model=Envelope, dependencies=[Depends(anyone)])
async def health(request: Request, v: Store):
    """Liveness (always 200 while the process serves) with the readiness facts."""
    return envelope(request, readiness(v))


@router.get("/v1/health/ready", response_model=Envelope, dependencies=[Depends(anyone)],
            responses={503: {"model": Envelope}})
async def ready(request: Request, v: Store):
    """Readiness: 200 with a published run and a reachable store, else 503 (unavailable)."""
    facts = readiness(v)
    if not facts["ready"]:
        raise Unavailable("not ready: " + ("no published run" if not facts["published_run"] else "store down"),
                          details=facts)
    return envelope(request, facts)


@router.get("/metrics", dependencies=[Depends(anyone)], response_class=Response,
            responses={200: {"content": {"text/plain": {}}}})
async def metrics(request: Request):
    """Prometheus text format: requests and latency per route, recommendations served, consent changes."""
    m = request.app.state.metrics
    return Response(m.text(), media_type=m.content_type)
