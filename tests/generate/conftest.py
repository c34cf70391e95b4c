"""Shared generated datasets for the generator tests (small, generated once per session)."""

from __future__ import annotations

import datetime as dt
import sys
from pathlib import Path

import pytest

sys.path.insert(0, str(Path(__file__).parent))  # generate_oracle (tests run with --import-mode=importlib)

from spendsense.generate import generate, write_dataset

AS_OF = dt.date(2026, 10, 31)


@pytest.fixture(scope="session")
def default_run():
    """The default dataset: 100 users, seed 42."""
    return generate(100, 42, AS_OF)


@pytest.fixture(scope="session")
def other_run():
    """Another seed, more users, and an as_of in the middle of a month."""
    return generate(250, 7, dt.date(2026, 6, 17))


@pytest.fixture(scope="session")
def small_run():
    """A small dataset for the file formats."""
    return generate(30, 42, AS_OF)


@pytest.fixture(scope="session")
def written(tmp_path_factory, small_run):
    """The small dataset written in every format."""
    out = tmp_path_factory.mktemp("dataset") / "seed42_n30"
    return write_dataset(small_run.tables, out)
