"""Reading a consent events file (CSV or Parquet) for `spendsense consent import`: every row checked first,
problems named by file, row and field, so the import is all-or-nothing."""

from __future__ import annotations

import math
import uuid
from pathlib import Path

REQUIRED = ("user_id", "event", "occurred_at")
OPTIONAL = ("event_id", "source", "actor")
EVENT_ID_NAMESPACE = uuid.UUID("6f1c3a52-5b8e-4c1e-9d0a-2b7f0c4e8a11")
REPORT_CAP = 50
SOURCE_IMPORT = "import"


def read_events(path: Path, actor: str) -> tuple[object, list]:
    """The file's events as the frame opstore.import_consent_events takes, and the problems found (Problem list).

    Row numbers follow ingest's convention: CSV data row from 1, Parquet row index from 0."""
    import pandas as pd

    from spendsense import consent as consent_rule
    from spendsense import opstore
    from spendsense.ingest.problems import Problem

    name = str(path)
    suffix = path.suffix.lower()
    fmt = {".csv": "csv", ".parquet": "parquet", ".pq": "parquet"}.get(suffix)
    if fmt is None:
        return None, [Problem(name, None, None, "not a .csv or .parquet file")]
    if not path.is_file():
        return None, [Problem(name, None, None, "no such file")]
    try:
        if fmt == "csv":
            df = pd.read_csv(path, dtype=str, keep_default_na=False, na_values=[])
        else:
            df = pd.read_parquet(path)
    except Exception as exc:  # noqa: BLE001 - any reader failure is a problem with the file
        return None, [Problem(name, None, None, f"cannot read: {exc}")]
    first = 1 if fmt == "csv" else 0
    problems: list[Problem] = []
    columns = [str(c) for c in df.columns]
    missing = [c for c in REQUIRED if c not in columns]
    extra = [c for c in columns if c not in REQUIRED + OPTIONAL]
    if missing:
        problems.append(Problem(name, None, None, f"missing column(s) {', '.join(missing)}"))
    if extra:
        problems.append(Problem(name, None, None, f"unexpected column(s) {', '.join(extra)}; expected "
                                                  f"{', '.join(REQUIRED)} and optionally {', '.join(OPTIONAL)}"))
    if problems:
        return None, problems

    def text(col: str) -> pd.Series:
        s = df[col]
        return s.map(lambda v: "" if v is None or (isinstance(v, float) and math.isnan(v)) else str(v).strip())

    def row(i: int) -> int:
        return i + first

    texts = {c: text(c) for c in columns if c != "occurred_at"}
    for col in texts:
        for i in [int(i) for i in (texts[col] == "").to_numpy().nonzero()[0]]:
            problems.append(Problem(name, row(i), col, "empty value", fmt))
    for i, value in enumerate(texts["event"]):
        if value and value not in opstore.CONSENT_EVENTS:
            problems.append(Problem(name, row(i), "event", f"{value!r} is not granted or revoked", fmt))
    raw_times = df["occurred_at"]
    if pd.api.types.is_datetime64_any_dtype(raw_times):
        occurred = raw_times.dt.tz_localize("UTC") if raw_times.dt.tz is None else raw_times.dt.tz_convert("UTC")
        for i in [int(i) for i in occurred.isna().to_numpy().nonzero()[0]]:
            problems.append(Problem(name, row(i), "occurred_at", "empty value", fmt))
    else:
        values = text("occurred_at")
        parsed = []
        for i, value in enumerate(values):
            ts = pd.NaT
            if not value:
                problems.append(Problem(name, row(i), "occurred_at", "empty value", fmt))
            else:
                try:
                    ts = pd.Timestamp(value)
                    ts = ts.tz_localize("UTC") if ts.tzinfo is None else ts.tz_convert("UTC")
                except (ValueError, TypeError):
                    problems.append(Problem(name, row(i), "occurred_at", f"{value!r} is not an ISO-8601 time",
                                            fmt))
                    ts = pd.NaT
            parsed.append(ts)
        occurred = pd.Series(pd.to_datetime(parsed, utc=True), index=df.index)
    now = pd.Timestamp.now(tz="UTC")
    future = consent_rule.future_mask(occurred, now)
    for i in [int(i) for i in future.to_numpy().nonzero()[0]]:
        problems.append(Problem(name, row(i), "occurred_at",
                                consent_rule.future_message(opstore.utc_text(occurred.iat[i]), opstore.utc_text(now)),
                                fmt))
    if "event_id" in texts:
        ids = texts["event_id"]
        dup = ids.duplicated(keep="first") & (ids != "")
        for i in [int(i) for i in dup.to_numpy().nonzero()[0]]:
            problems.append(Problem(name, row(i), "event_id", f"duplicate event_id {ids.iat[i]!r} in the file", fmt))
    if problems:
        return None, problems
    stamps = occurred.map(opstore.utc_text)
    source = texts["source"] if "source" in texts else pd.Series(SOURCE_IMPORT, index=df.index)
    actors = texts["actor"] if "actor" in texts else pd.Series(actor, index=df.index)
    if "event_id" in texts:
        event_ids = texts["event_id"]
    else:  # content-derived: re-importing the file adds nothing; identical rows get their occurrence number
        key = texts["user_id"] + "\x1f" + texts["event"] + "\x1f" + stamps + "\x1f" + source
        nth = key.groupby(key).cumcount().astype(str)
        event_ids = (key + "\x1f" + nth).map(lambda k: uuid.uuid5(EVENT_ID_NAMESPACE, k).hex)
    frame = pd.DataFrame({"event_id": event_ids.to_numpy(), "user_id": texts["user_id"].to_numpy(),
                          "event": texts["event"].to_numpy(), "occurred_at": stamps.to_numpy(),
                          "source": source.to_numpy(), "actor": actors.to_numpy()})
    return frame, []


def import_report(path: Path, problems: list) -> str:
    """The rejection message: how many problems, the first REPORT_CAP of them."""
    n = len(problems)
    lines = [f"consent import rejected {path}: {n} problem{'s' if n != 1 else ''}; nothing was written."]
    lines += [f"  - {p}" for p in problems[:REPORT_CAP]]
    if n > REPORT_CAP:
        lines.append(f"  ... and {n - REPORT_CAP} more")
    return "\n".join(lines)
