"""The operator dashboard (Voila): role-enforced data access, one widget class per view, and `build_app`.

notebooks/operator_dashboard.ipynb only calls `build_app()` and displays the result; `spendsense dashboard`
serves that notebook with Voila on 127.0.0.1 behind a token.
"""

from spendsense.dashboard.app import DashboardApp, build_app

__all__ = ["DashboardApp", "build_app"]
