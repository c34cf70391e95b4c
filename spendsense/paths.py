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


def opstore_path() -> Path:
    """Path of the operational store (consent, reviews, audit, delivery history)."""
    return Path(os.environ.get("SPENDSENSE_OPSTORE", DATA_DIR / "opstore.sqlite"))
