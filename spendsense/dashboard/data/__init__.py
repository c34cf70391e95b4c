"""The dashboard's data access, one module per concern, behind the thin `spendsense.dashboard.access.DashboardData`.

roles (who may do what) · run (the published run and its aggregates) · redaction (masks) · consent (status by the
one rule) · reviews (review state, validation, bulk decisions) · queue (the review queue, paged in SQL) ·
replacements · evidence (one user's tables) · search · preview (the customer's view) · recompute (the engine's single-user path) · catalog (content titles).
Each module's SQL lives beside it in a .sql file of named sections, loaded with `spendsense.sql`.
"""
