"""The fixtures of a published fixture run and a seeded opstore, shared by the dashboard and the API tests."""

from __future__ import annotations

from pathlib import Path

import fixture_run
import pytest


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


@pytest.fixture(name="opstore_path", params=["sqlite", "postgresql"])
def opstore_path_each_backend(request, tmp_path, monkeypatch):
    """opstore_path once on SQLite and once on PostgreSQL (a fresh database of the session's server): a module
    that assigns this to `opstore_path` runs its tests on both backends."""
    location = tmp_path / "opstore.sqlite" if request.param == "sqlite" else request.getfixturevalue("pg_url")
    monkeypatch.setenv("SPENDSENSE_OPSTORE", str(location))
    fixture_run.seed_opstore(location)
    return location


@pytest.fixture(name="opstore_path")
def opstore_path_postgresql(pg_url, monkeypatch) -> str:
    """opstore_path as a seeded fresh PostgreSQL database: a module that assigns this to `opstore_path` runs its
    (and its imported) tests on PostgreSQL only."""
    monkeypatch.setenv("SPENDSENSE_OPSTORE", pg_url)
    fixture_run.seed_opstore(pg_url)
    return pg_url
