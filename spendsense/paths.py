"""Where SpendSense keeps its inputs, stores and reports, relative to the project root."""

from __future__ import annotations

import os
from pathlib import Path

PACKAGE_DIR = Path(__file__).resolve().parent
PROJECT_ROOT = Path(os.environ.get("SPENDSENSE_ROOT", PACKAGE_DIR.parent)).resolve()

CONFIG_DIR = PROJECT_ROOT / "config"
CONTENT_DIR = PROJECT_ROOT / "content"
DATA_DIR = PROJECT_ROOT / "data"
REPORTS_DIR = PROJECT_ROOT / "reports"
NOTEBOOKS_DIR = PROJECT_ROOT / "notebooks"
RUNS_DIR = REPORTS_DIR / "runs"
TAXONOMY_DIR = PACKAGE_DIR / "taxonomy"


OPSTORE_URL_PREFIXES = ("postgresql://", "postgres://")


def opstore_path() -> Path | str:
    """Where the operational store is (consent, reviews, audit, delivery history): an SQLite file's Path, or a
    postgresql:// URL (text) naming a PostgreSQL database (SPENDSENSE_OPSTORE)."""
    return opstore_location(os.environ.get("SPENDSENSE_OPSTORE") or None)


def opstore_location(value: Path | str | None = None) -> Path | str:
    """An opstore location as given (None: the default): a postgresql:// URL stays text (Path would fold its
    `//`), anything else is an SQLite file's Path."""
    if value is None:
        return opstore_path() if os.environ.get("SPENDSENSE_OPSTORE") else DATA_DIR / "opstore.sqlite"
    if str(value).startswith(OPSTORE_URL_PREFIXES):
        return str(value)
    return Path(value)


def opstore_shown(location: Path | str | None) -> str | None:
    """An opstore location as reports and errors show it: a URL's password replaced by ***."""
    if location is None:
        return None
    text = str(location)
    if text.startswith(OPSTORE_URL_PREFIXES):
        scheme, rest = text.split("://", 1)
        credentials, at, host = rest.rpartition("@")
        if at and ":" in credentials:
            text = f"{scheme}://{credentials.split(':', 1)[0]}:***@{host}"
    return text
