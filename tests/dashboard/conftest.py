"""Fixtures of the dashboard tests: a published fixture run, a seeded opstore, a DashboardData per role."""

from __future__ import annotations

import sys
from pathlib import Path

import pytest

sys.path.insert(0, str(Path(__file__).parent))

import fixture_run


@pytest.fixture(scope="session")
def template_run(tmp_path_factory) -> Path:
    """The fixture run, built once per session (tests publish copies of it)."""
    return fixture_run.build_run(tmp_path_factory.mktemp("template") / "runs")


@pytest.fixture
def runs_root(tmp_path, template_run) -> Path:
    """A runs folder whose `latest` points at a fresh copy of the fixture run."""
    from spendsense import runs

    root = tmp_path / "runs"
    runs.publish(fixture_run.copy_run(template_run, root, template_run.name), root)
    return root


@pytest.fixture
def opstore_path(tmp_path, monkeypatch) -> Path:
    """A temporary operational store (SPENDSENSE_OPSTORE) seeded with the fixture's consent events."""
    path = tmp_path / "opstore.sqlite"
    monkeypatch.setenv("SPENDSENSE_OPSTORE", str(path))
    fixture_run.seed_opstore(path)
    return path


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
