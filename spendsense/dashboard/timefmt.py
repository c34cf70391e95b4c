"""Timestamps as people read them: '2 Dec 2026, 14:02 UTC' (the one formatter every dashboard panel uses)."""

from __future__ import annotations

import datetime as dt
import math

import pandas as pd

DASH = "—"


def human_time(value: object, zone: str = "UTC") -> str:
    """A timestamp (ISO text, datetime, pandas Timestamp) as '2 Dec 2026, 14:02 UTC'; a date as '2 Dec 2026'.

    Naive timestamps are taken to be UTC (the opstore and the warehouse store UTC); aware ones are converted.
    Seconds and microseconds are dropped. Missing or unreadable values render as an em dash / the text given.
    """
    if value is None or (isinstance(value, float) and math.isnan(value)) or value is pd.NaT:
        return DASH
    if isinstance(value, str):
        text = value.strip()
        if not text:
            return DASH
        if len(text) == 10 and text[4] == "-" and text[7] == "-":
            try:
                return human_date(dt.date.fromisoformat(text))
            except ValueError:
                return text
        try:
            value = pd.Timestamp(text.replace(" UTC", "").replace("Z", "+00:00"))
        except (ValueError, TypeError):
            return text
    elif isinstance(value, dt.date) and not isinstance(value, dt.datetime):
        return human_date(value)
    try:
        ts = pd.Timestamp(value)
    except (ValueError, TypeError):
        return str(value)
    if ts is pd.NaT:
        return DASH
    ts = ts.tz_localize("UTC") if ts.tzinfo is None else ts
    ts = ts.tz_convert(zone)
    return f"{ts.day} {ts.strftime('%b %Y')}, {ts.strftime('%H:%M')} {zone}"


def human_date(value: dt.date) -> str:
    """A date as '2 Dec 2026'."""
    return f"{value.day} {value.strftime('%b %Y')}"
