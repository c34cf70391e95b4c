"""Fixtures of the ingest tests."""

from __future__ import annotations

import sys
from pathlib import Path

import pandas as pd
import pytest

sys.path.insert(0, str(Path(__file__).parent))  # ingest_tiny_dataset (tests run with --import-mode=importlib)

from ingest_tiny_dataset import tiny_tables


@pytest.fixture
def tables() -> dict[str, pd.DataFrame]:
    """A fresh copy of the tiny valid dataset."""
    return tiny_tables()
