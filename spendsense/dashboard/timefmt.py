"""Timestamps as an operator reads them: minutes, the zone named, the date only when it is not today (UTC)."""

from __future__ import annotations

import datetime as dt

import pandas as pd

from spendsense.dashboard.render import is_missing


def short_time(value, now: dt.datetime | None = None) -> str:
    """'14:02 UTC' today, '1 Dec 14:02 UTC' this year, '1 Dec 2025 14:02 UTC' before; '—' when missing.

    Stored times are UTC (ISO text with an offset, or naive UTC timestamps)."""
    if is_missing(value) or (isinstance(value, str) and not value.strip()):
        return "—"
    ts = pd.Timestamp(value)
    ts = ts.tz_localize("UTC") if ts.tzinfo is None else ts.tz_convert("UTC")
    today = (now or dt.datetime.now(dt.UTC)).astimezone(dt.UTC).date()
    if ts.date() == today:
        return ts.strftime("%H:%M UTC")
    day = f"{ts.day} {ts.strftime('%b')}"
    return f"{day} {ts.strftime('%H:%M')} UTC" if ts.year == today.year else f"{day} {ts.year} {ts.strftime('%H:%M')} UTC"
