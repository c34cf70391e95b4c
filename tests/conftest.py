"""Session fixtures shared by every test folder: the throwaway PostgreSQL server (tests/pg_fixture.py)."""

from __future__ import annotations

import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).parent))

import pg_fixture

pg_server = pg_fixture.pg_server  # by name, for pytest
pg_url = pg_fixture.pg_url
opstore_location = pg_fixture.opstore_location
