"""Fixtures of the dashboard tests: a published fixture run, a seeded opstore, a DashboardData per role."""

from __future__ import annotations

import sys
from pathlib import Path

import pytest

sys.path.insert(0, str(Path(__file__).parent))

import published_fixtures

template_run = published_fixtures.template_run  # the shared fixtures, by name for pytest
runs_root = published_fixtures.runs_root
opstore_path = published_fixtures.opstore_path


@pytest.fixture
def make_data(runs_root, opstore_path):
    """Factory: DashboardData over the fixture run for a role (closed after the test)."""
    from spendsense.dashboard.access import DashboardData

    made = []

    def make(role: str = "operator", operator: str = "alice"):
        data = DashboardData(runs_root=runs_root, role=role, operator=operator, opstore_path=opstore_path)
        made.append(data)
        return data

    yield make
    for data in made:
        data.close()
