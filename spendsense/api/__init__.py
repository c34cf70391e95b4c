"""The REST API (FastAPI): the published run and the operational store for a bank's apps and operators.

app (factory, middleware) · errors (stable codes) · auth (signed tokens, roles) · limits (rate limits) ·
models (strict request bodies) · views (the dashboard's role-enforced data access per caller) · routes/ (one
router per resource) · metrics (Prometheus).
"""
