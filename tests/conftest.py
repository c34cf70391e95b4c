"""Suite-wide isolation and shared fixtures: every test gets its own raw store unless it names one, and the
throwaway PostgreSQL server (tests/pg_fixture.py) is available to every test folder.

Ingest of a source that is not a synthetic dataset appends to $SPENDSENSE_RAW_STORE (default data/raw/); without
this, tests would merge their datasets into the repository's store and into each other's.
"""

from __future__ import annotations

import hashlib
import os
import sys
from pathlib import Path

import pytest

sys.path.insert(0, str(Path(__file__).parent))

import pg_fixture

pg_server = pg_fixture.pg_server  # by name, for pytest
pg_url = pg_fixture.pg_url
opstore_location = pg_fixture.opstore_location


@pytest.hookimpl(tryfirst=True)
def pytest_runtest_setup(item):
    """Point SPENDSENSE_RAW_STORE at a folder of this test before its fixtures are set up (a module or session
    fixture set up here keeps the store it was given: its run warehouses' views name it)."""
    base = item.config._tmp_path_factory.getbasetemp()
    test = hashlib.sha256(item.nodeid.encode()).hexdigest()[:12]
    os.environ["SPENDSENSE_RAW_STORE"] = str(base / "raw_stores" / test)
