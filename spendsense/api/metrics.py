"""Prometheus metrics of one worker: requests and latency per route, recommendations served, consent changes."""

from __future__ import annotations

from prometheus_client import CONTENT_TYPE_LATEST, CollectorRegistry, Counter, Histogram, generate_latest


class ApiMetrics:
    """The counters and histograms of one app (its own registry, so several apps in one process do not clash)."""

    content_type = CONTENT_TYPE_LATEST

    def __init__(self):
        self.registry = CollectorRegistry()
        self.requests = Counter("spendsense_api_requests", "API requests by route, method and status",
                                ["route", "method", "status"], registry=self.registry)
        self.latency = Histogram("spendsense_api_request_seconds", "API request latency by route",
                                 ["route", "method"], registry=self.registry,
                                 buckets=(0.002, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5))
        self.recommendations_served = Counter("spendsense_api_recommendations_served",
                                              "Recommendation items served to callers", registry=self.registry)
        self.consent_changes = Counter("spendsense_api_consent_changes", "Consent events recorded via the API",
                                       ["event"], registry=self.registry)

    def observe(self, route: str, method: str, status: int, seconds: float) -> None:
        self.requests.labels(route, method, str(status)).inc()
        self.latency.labels(route, method).observe(seconds)

    def text(self) -> bytes:
        return generate_latest(self.registry)
