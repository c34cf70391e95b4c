"""Fixtures of the API tests: the dashboard tests' fixture run published in a temp folder, a seeded opstore, the
app in process (TestClient) and tokens per role."""

from __future__ import annotations

import sys
from pathlib import Path

import pytest

sys.path.insert(0, str(Path(__file__).parent.parent / "dashboard"))
sys.path.insert(0, str(Path(__file__).parent))

import fixture_run
from api_fixture import SECRET


@pytest.fixture(scope="session")
def template_run(tmp_path_factory) -> Path:
    """The dashboard tests' fixture run (3 users), built once per session."""
    return fixture_run.build_run(tmp_path_factory.mktemp("api_template") / "runs")


@pytest.fixture
def runs_root(tmp_path, template_run) -> Path:
    from spendsense import runs

    root = tmp_path / "runs"
    runs.publish(fixture_run.copy_run(template_run, root, template_run.name), root)
    return root


@pytest.fixture
def opstore_path(tmp_path, monkeypatch) -> Path:
    path = tmp_path / "opstore.sqlite"
    monkeypatch.setenv("SPENDSENSE_OPSTORE", str(path))
    fixture_run.seed_opstore(path)
    return path


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
