"""Schemathesis: requests generated from /v1/openapi.json (as an admin, and as a customer) get no 500 and
answers that match the documented schema (status codes, content types, the envelope). Bounded: a few examples
per operation so it runs in well under a minute."""

from __future__ import annotations

import sys
from pathlib import Path

import pytest
import schemathesis
from hypothesis import HealthCheck, settings

sys.path.insert(0, str(Path(__file__).parent.parent / "dashboard"))
sys.path.insert(0, str(Path(__file__).parent))

import fixture_run
from api_fixture import SECRET

from spendsense.api import auth
from spendsense.api.app import create_app
from spendsense.api.limits import RateLimits


def _app():
    import tempfile

    root = Path(tempfile.mkdtemp(prefix="spendsense-schemathesis-"))
    fixture_run.build_run(root / "runs")
    fixture_run.seed_opstore(root / "opstore.sqlite")
    return create_app(SECRET, root / "runs", root / "opstore.sqlite", RateLimits("100000/minute", "100000/minute"))


schema = schemathesis.openapi.from_asgi("/v1/openapi.json", _app())
HEADERS = {"admin": {"Authorization": "Bearer " + auth.issue(SECRET, "admin", "schemathesis", ttl_s=3600)},
           "customer": {"Authorization": "Bearer " + auth.issue(SECRET, "customer", "schemathesis", "u001",
                                                                ttl_s=3600)}}


@pytest.mark.parametrize("role", ["admin", "customer"])
@schema.parametrize()
@settings(max_examples=3, deadline=None, suppress_health_check=list(HealthCheck), derandomize=True)
def test_no_server_error_and_no_schema_violation(case, role):
    case.call_and_validate(headers=HEADERS[role])
