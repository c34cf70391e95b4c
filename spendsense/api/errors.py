"""The API's error hierarchy: each error has a stable code and HTTP status; the message carries no internals."""

from __future__ import annotations


class ApiError(Exception):
    """An error answered to the client: stable `code`, HTTP `status`, a safe message and optional details."""

    code = "internal"
    status = 500

    def __init__(self, message: str, details: dict | list | None = None, headers: dict | None = None):
        super().__init__(message)
        self.message, self.details, self.headers = message, details, headers or {}


class ValidationFailed(ApiError):
    code, status = "validation", 422


class TooLarge(ApiError):
    code, status = "validation", 413


class Unauthenticated(ApiError):
    code, status = "unauthenticated", 401

    def __init__(self, message: str = "a valid bearer token is required"):
        super().__init__(message, headers={"WWW-Authenticate": "Bearer"})


class Forbidden(ApiError):
    code, status = "forbidden", 403


class ConsentRequired(ApiError):
    code, status = "consent_required", 403


class NotFound(ApiError):
    code, status = "not_found", 404


class Conflict(ApiError):
    code, status = "conflict", 409


class RateLimited(ApiError):
    code, status = "rate_limited", 429


class Unavailable(ApiError):
    code, status = "unavailable", 503


CODES = {cls.code: cls.status for cls in (ValidationFailed, Unauthenticated, Forbidden, ConsentRequired, NotFound,
                                          Conflict, RateLimited, Unavailable)}
