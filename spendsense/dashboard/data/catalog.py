"""Content catalog entries by item_id (kind, title, summary) for titles and kinds the run's tables do not hold."""

from __future__ import annotations

import logging
from functools import cache

log = logging.getLogger("spendsense.dashboard")


@cache
def load_entries() -> dict[str, dict]:
    """Every catalog item by id, loaded once; empty (with a warning) when the catalog cannot load."""
    try:
        from spendsense.content.loader import load_catalog

        cat = load_catalog()
    except Exception as exc:  # noqa: BLE001 - titles are a convenience; the run's tables still work
        log.warning("content catalog unavailable for the dashboard: %s", exc)
        return {}
    return {e.id: {"item_id": e.id, "kind": kind, "title": e.title, "summary": e.summary}
            for kind, entries in (("education", cat.education), ("offer", cat.offers)) for e in entries}
