"""On-demand recompute of one user through the engine's single-user path, for display only, masked for the role.

The engine function is `spendsense.recompute.recompute_user`, imported plainly (on first use: the
engine's imports are not paid at kernel start). The published run is never modified.
"""

from __future__ import annotations

import datetime as dt
import time
from collections.abc import Callable

import pandas as pd

from spendsense.dashboard.data.redaction import redact_deep
from spendsense.dashboard.render import parse_json

FUNCTION_NAME = "spendsense.recompute.recompute_user"
JSON_COLUMNS = ("criteria", "trace", "facts")


def engine_function() -> Callable | None:
    """The engine's single-user recompute, or None when this install does not provide it."""
    try:
        from spendsense.recompute import recompute_user
    except ImportError:
        return None
    return recompute_user


def unavailable_reason() -> str:
    return f"on-demand recompute unavailable: {FUNCTION_NAME}(warehouse, user_id, ...) is not provided by this install"


def run(fn: Callable, warehouse, con, user_id: str, as_of: str, opstore_path) -> tuple[dict, float]:
    """The engine's result for one user (as a dict of tables) and the seconds it took."""
    t0 = time.perf_counter()
    result = fn(warehouse, user_id, as_of=dt.date.fromisoformat(as_of[:10]) if as_of else None, con=con,
                opstore_path=opstore_path)
    seconds = time.perf_counter() - t0
    return (result if isinstance(result, dict) else {"result": result}), seconds


def masked(result: dict, role: str, redact: Callable) -> dict:
    """The result's tables with every text column masked for the role (JSON columns parsed, masked inside)."""
    out = {}
    for key, value in result.items():
        if isinstance(value, pd.DataFrame) and role != "admin":
            value = value.copy()
            for col in value.columns:
                if value[col].dtype == object or str(value[col].dtype).startswith(("str", "string")):
                    value[col] = [redact_deep(parse_json(v) if col in JSON_COLUMNS else v, redact)
                                  for v in value[col]]
        out[key] = value
    return out
