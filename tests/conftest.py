"""Suite-wide isolation: every test gets its own raw store unless it names one.

Ingest of a source that is not a synthetic dataset appends to $SPENDSENSE_RAW_STORE (default data/raw/); without
this, tests would merge their datasets into the repository's store and into each other's.
"""

from __future__ import annotations

import hashlib
import os

import pytest


@pytest.hookimpl(tryfirst=True)
def pytest_runtest_setup(item):
    """Point SPENDSENSE_RAW_STORE at a folder of this test before its fixtures are set up (a module or session
    fixture set up here keeps the store it was given: its run warehouses' views name it)."""
    base = item.config._tmp_path_factory.getbasetemp()
    test = hashlib.sha256(item.nodeid.encode()).hexdigest()[:12]
    os.environ["SPENDSENSE_RAW_STORE"] = str(base / "raw_stores" / test)
