"""Timestamps as people read them, with the zone named: '2 Dec 2026, 14:02 UTC' (`human_time`, every panel) and
the compact '14:02 UTC' / '1 Dec 14:02 UTC' of a queue row (`short_time`). Stored times are UTC."""

from __future__ import annotations

import datetime as dt
import math

import pandas as pd

DASH = "—"


def _timestamp(value: object) -> pd.Timestamp | dt.date | str | None:
    """An aware UTC Timestamp, a date (for date-only values), the text itself when unreadable, or None if missing."""
    if value is None or (isinstance(value, float) and math.isnan(value)) or value is pd.NaT:
        return None
    if isinstance(value, str):
        text = value.strip()
        if not text:
            return None
        if len(text) == 10 and text[4] == "-" and text[7] == "-":
            try:
                return dt.date.fromisoformat(text)
            except ValueError:
                return text
        try:
            value = pd.Timestamp(text.replace(" UTC", "").replace("Z", "+00:00"))
        except (ValueError, TypeError):
            return text
    elif isinstance(value, dt.date) and not isinstance(value, dt.datetime):
        return value
    try:
        ts = pd.Timestamp(value)
    except (ValueError, TypeError):
        return str(value)
    if ts is pd.NaT:
        return None
    return ts.tz_localize("UTC") if ts.tzinfo is None else ts.tz_convert("UTC")


def _shown_without_time(ts: pd.Timestamp | dt.date | str | None) -> str | None:
    """What a value that is not a timestamp shows: a dash when missing, a date as a date, unreadable text as is."""
    if ts is None:
        return DASH
    if isinstance(ts, str):
        return ts
    return None if isinstance(ts, pd.Timestamp) else human_date(ts)


def human_time(value: object, zone: str = "UTC") -> str:
    """A timestamp (ISO text, datetime, pandas Timestamp) as '2 Dec 2026, 14:02 UTC'; a date as '2 Dec 2026'.

    Naive timestamps are taken to be UTC (the opstore and the warehouse store UTC); aware ones are converted.
    Seconds and microseconds are dropped. Missing values render as an em dash, unreadable ones as given.
    """
    ts = _timestamp(value)
    if (shown := _shown_without_time(ts)) is not None:
        return shown
    ts = ts.tz_convert(zone)
    return f"{ts.day} {ts.strftime('%b %Y')}, {ts.strftime('%H:%M')} {zone}"


def human_date(value: dt.date) -> str:
    """A date as '2 Dec 2026'."""
    return f"{value.day} {value.strftime('%b %Y')}"


def short_time(value: object, now: dt.datetime | None = None) -> str:
    """'14:02 UTC' today, '1 Dec 14:02 UTC' this year, '1 Dec 2025 14:02 UTC' before; an em dash when missing."""
    ts = _timestamp(value)
    if (shown := _shown_without_time(ts)) is not None:
        return shown
    today = (now or dt.datetime.now(dt.UTC)).astimezone(dt.UTC).date()
    if ts.date() == today:
        return ts.strftime("%H:%M UTC")
    day = f"{ts.day} {ts.strftime('%b')}"
    return f"{day} {ts.strftime('%H:%M')} UTC" if ts.year == today.year else f"{day} {ts.year} {ts.strftime('%H:%M')} UTC"
