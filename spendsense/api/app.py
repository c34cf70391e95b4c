"""The FastAPI application factory: routers under /v1, the envelope, request ids, size and rate limits, errors
by stable code, Prometheus metrics and an audit row in the operational store for every call."""

from __future__ import annotations

import datetime as dt
import logging
import os
import re
import time
import uuid
from contextlib import asynccontextmanager
from pathlib import Path

from fastapi import FastAPI, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse
from starlette.exceptions import HTTPException as StarletteHTTPException
from starlette.routing import Match

from spendsense import opstore, paths
from spendsense.api import auth
from spendsense.api.errors import ApiError, TooLarge
from spendsense.api.limits import RateLimits, check_size
from spendsense.api.metrics import ApiMetrics
from spendsense.api.views import Views
from spendsense.dashboard.data.catalog import load_entries

log = logging.getLogger("spendsense.api")
MAX_BODY_BYTES = 64 * 1024
REQUEST_ID = re.compile(r"^[A-Za-z0-9._:-]{1,128}$")
UNAUDITED = ("/metrics", "/v1/health", "/v1/health/ready")  # probes; every other call is audited
HTTP_CODES = {400: "validation", 401: "unauthenticated", 403: "forbidden", 404: "not_found",
              405: "method_not_allowed", 409: "conflict", 413: "validation", 422: "validation", 429: "rate_limited",
              503: "unavailable"}


def now_text() -> str:
    return dt.datetime.now(dt.UTC).isoformat(timespec="milliseconds")


def envelope(request: Request, data=None, message: str = "", status: int = 200, ok: bool = True,
             headers: dict | None = None) -> JSONResponse:
    """The architecture's response envelope {status, data, message, timestamp, request_id}."""
    body = {"status": "ok" if ok else "error", "data": data, "message": message, "timestamp": now_text(),
            "request_id": getattr(request.state, "request_id", "")}
    return JSONResponse(body, status_code=status, headers=headers)


def error_response(request: Request, code: str, message: str, status: int, details=None,
                   headers: dict | None = None) -> JSONResponse:
    data = {"code": code} if details is None else {"code": code, "details": details}
    request.state.outcome = code
    return envelope(request, data, message, status, ok=False, headers=headers)


def create_app(secret: str | None = None, runs_root: Path | str | None = None,
               opstore_path: Path | str | None = None, rate_limits: RateLimits | None = None,
               cors_origins: list[str] | None = None) -> FastAPI:
    """The API over the latest published run (under runs_root) and the operational store."""
    from spendsense.api.routes import ROUTERS

    @asynccontextmanager
    async def lifespan(app: FastAPI):
        load_entries()  # the content catalog (seconds to load) before the first call, not during it
        yield
        app.state.views.close()

    app = FastAPI(lifespan=lifespan, title="SpendSense API", version="1", openapi_url="/v1/openapi.json", docs_url="/v1/docs",
                  redoc_url=None, description="Explainable financial-education recommendations: consent, "
                  "profiles, recommendations, feedback and operator review over the latest published run.")
    app.state.secret = secret or auth.secret_from_env()
    app.state.views = Views(Path(runs_root) if runs_root else None, paths.opstore_location(opstore_path) if opstore_path else None)
    app.state.limits = rate_limits or RateLimits.from_env()
    app.state.metrics = ApiMetrics()
    for router in ROUTERS:
        app.include_router(router)
    origins = cors_origins if cors_origins is not None else \
        [o for o in os.environ.get("SPENDSENSE_API_CORS_ORIGINS", "").split(",") if o.strip()]
    if origins:  # CORS is off unless origins are named
        from fastapi.middleware.cors import CORSMiddleware

        app.add_middleware(CORSMiddleware, allow_origins=origins, allow_methods=["GET", "POST"],
                           allow_headers=["Authorization", "Content-Type", "X-Request-ID"])

    @app.middleware("http")
    async def around_every_call(request: Request, call_next):
        started = time.perf_counter()
        given = request.headers.get("x-request-id", "")
        request.state.request_id = given if REQUEST_ID.match(given) else uuid.uuid4().hex
        request.state.outcome, request.state.target, request.state.principal = "ok", None, None
        try:
            check_size(request.headers.get("content-length"), MAX_BODY_BYTES)
            response = await call_next(request)
        except TooLarge as exc:
            response = error_response(request, exc.code, exc.message, exc.status)
        except ApiError as exc:
            response = error_response(request, exc.code, exc.message, exc.status, exc.details, exc.headers)
        except Exception:
            log.exception("unexpected error in %s %s (request %s)", request.method, request.url.path,
                          request.state.request_id)
            response = error_response(request, "internal", "internal error; quote the request id", 500)
        route = request.scope.get("route")
        template = getattr(route, "path", "unmatched")
        seconds = time.perf_counter() - started
        app.state.metrics.observe(template, request.method, response.status_code, seconds)
        response.headers["X-Request-ID"] = request.state.request_id
        if template not in UNAUDITED:
            audit(app, request, template, response.status_code, seconds)
        return response

    @app.exception_handler(ApiError)
    async def api_error(request: Request, exc: ApiError):
        return error_response(request, exc.code, exc.message, exc.status, exc.details, exc.headers)

    @app.exception_handler(RequestValidationError)
    async def invalid(request: Request, exc: RequestValidationError):
        fields = [{"location": [str(p) for p in e.get("loc", ())], "problem": e.get("msg", ""),
                   "type": e.get("type", "")} for e in exc.errors()]  # never the input values
        return error_response(request, "validation", "the request is not valid", 422, fields)

    @app.exception_handler(StarletteHTTPException)
    async def http_error(request: Request, exc: StarletteHTTPException):
        if exc.status_code == 405:  # every method of the path, not only those of the first route matching it
            allowed = sorted({m for r in app.routes if getattr(r, "methods", None)
                              and r.matches(request.scope)[0] == Match.PARTIAL for m in r.methods})
            exc.headers = {"Allow": ", ".join(allowed)}
        code = HTTP_CODES.get(exc.status_code, "validation" if exc.status_code < 500 else "unavailable")
        message = {404: "no such route", 405: "method not allowed on this route"}.get(exc.status_code,
                                                                                     str(exc.detail))
        return error_response(request, code, message, exc.status_code, headers=getattr(exc, "headers", None))

    return app


def audit(app: FastAPI, request: Request, route: str, status: int, seconds: float) -> None:
    """One audit row per call: who, route, the user touched, outcome (a failure to audit is logged, not hidden)."""
    who = request.state.principal
    detail = {"route": route, "method": request.method, "status": status, "outcome": request.state.outcome,
              "request_id": request.state.request_id, "ms": round(seconds * 1000, 2),
              "client": request.client.host if request.client else None}
    try:
        app.state.views.write(lambda con: opstore.record_audit(
            con, who.subject if who else "anonymous", who.role if who else "anonymous",
            f"api.{request.method.lower()}", request.state.target, detail))
    except Exception:
        log.exception("could not audit request %s", request.state.request_id)



def app_from_env() -> FastAPI:
    """The app as `spendsense api` serves it (uvicorn factory): secret, runs and store from the environment."""
    return create_app()
