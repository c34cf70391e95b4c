"""Rate limits per route: per token and per client address, moving windows from the `limits` library.

Limits are kept in the worker's memory (each uvicorn worker counts on its own, so N workers admit up to N times
the limit); SPENDSENSE_API_RATE_LIMIT (per token, default 600/minute) and SPENDSENSE_API_IP_RATE_LIMIT (per
address, default 1200/minute) take the library's notation, e.g. "100/minute" or "10/second".
"""

from __future__ import annotations

import math
import os
import time
from dataclasses import dataclass

from limits import parse
from limits.storage import MemoryStorage
from limits.strategies import MovingWindowRateLimiter

from spendsense.api.errors import RateLimited, TooLarge, ValidationFailed

TOKEN_ENV, IP_ENV = "SPENDSENSE_API_RATE_LIMIT", "SPENDSENSE_API_IP_RATE_LIMIT"
DEFAULT_TOKEN_LIMIT, DEFAULT_IP_LIMIT = "600/minute", "1200/minute"


def parse_limit(text: str, what: str):
    """A `limits` rate item from text like '100/minute' (ValueError naming the setting otherwise)."""
    try:
        return parse(text)
    except ValueError:
        raise ValueError(f"{what}={text!r} is not a rate limit like '100/minute'") from None


@dataclass
class RateLimits:
    """The per-token and per-address limits of one worker."""

    per_token: str = DEFAULT_TOKEN_LIMIT
    per_ip: str = DEFAULT_IP_LIMIT

    def __post_init__(self):
        self._token = parse_limit(self.per_token, TOKEN_ENV)
        self._ip = parse_limit(self.per_ip, IP_ENV)
        self._limiter = MovingWindowRateLimiter(MemoryStorage())

    @classmethod
    def from_env(cls) -> RateLimits:
        return cls(os.environ.get(TOKEN_ENV) or DEFAULT_TOKEN_LIMIT, os.environ.get(IP_ENV) or DEFAULT_IP_LIMIT)

    def check(self, route: str, client_ip: str, token_id: str | None) -> None:
        """Count one call; RateLimited (with Retry-After) when the address or the token is over its limit."""
        checks = [(self._ip, "ip", client_ip)] + ([(self._token, "token", token_id)] if token_id else [])
        for item, kind, key in checks:
            if not self._limiter.hit(item, route, kind, key):
                reset = self._limiter.get_window_stats(item, route, kind, key).reset_time
                retry = max(1, math.ceil(reset - time.time()))
                raise RateLimited(f"too many requests for this route; retry after {retry} s",
                                  headers={"Retry-After": str(retry)})


def check_size(content_length: str | None, limit: int) -> None:
    """Refuse a declared body larger than `limit` bytes."""
    if content_length is None:
        return
    try:
        size = int(content_length)
    except ValueError:
        raise ValidationFailed("Content-Length is not a number") from None
    if size > limit:
        raise TooLarge(f"request body of {size} bytes is over the limit of {limit} bytes")
