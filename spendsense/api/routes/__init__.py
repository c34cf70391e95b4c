"""One router per resource, all under /v1 (GET /metrics at the root, as Prometheus expects)."""

from spendsense.api.routes import consent, feedback, operator, profile, recommendations, system, users

ROUTERS = [users.router, consent.router, profile.router, recommendations.router, feedback.router,
           operator.router, system.router]
