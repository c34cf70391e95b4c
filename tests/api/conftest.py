"""Fixtures of the API tests: the dashboard tests' fixture run published in a temp folder, a seeded opstore, the
app in process (TestClient) and tokens per role."""

from __future__ import annotations

import sys
from pathlib import Path

import pytest

sys.path.insert(0, str(Path(__file__).parent.parent / "dashboard"))
sys.path.insert(0, str(Path(__file__).parent))

import published_fixtures
from api_fixture import SECRET

template_run = published_fixtures.template_run  # the shared fixtures, by name for pytest
runs_root = published_fixtures.runs_root
opstore_path = published_fixtures.opstore_path


@pytest.fixture
def token():
    """Factory: a bearer header for a role (customers name their user)."""
    from spendsense.api import auth

    def make(role: str = "operator", user_id: str | None = None, subject: str | None = None, ttl: int = 600):
        return {"Authorization": "Bearer " + auth.issue(SECRET, role, subject or f"{role}-tester", user_id, ttl)}

    return make


@pytest.fixture
def make_app(runs_root, opstore_path):
    from spendsense.api.app import create_app
    from spendsense.api.limits import RateLimits

    def make(per_token: str = "1000/minute", per_ip: str = "5000/minute"):
        return create_app(SECRET, runs_root, opstore_path, RateLimits(per_token, per_ip))

    return make


@pytest.fixture
def client(make_app):
    from fastapi.testclient import TestClient

    with TestClient(make_app()) as c:
        yield c
