"""A quick visual profile of the ingested data (notebook 01): volumes, balances, income."""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass
from pathlib import Path

import duckdb
import pandas as pd

from spendsense import sql

SOURCE_SUMMARY = "source.json"  # in a run directory: what the run read (pipeline.describe_source writes it)


@dataclass(frozen=True)
class DataProfile:
    """Tables behind the notebook 01 charts."""

    table_counts: pd.DataFrame
    monthly: pd.DataFrame
    balances: pd.DataFrame
    income: pd.DataFrame


def data_profile(con: duckdb.DuckDBPyConnection, as_of: dt.date) -> DataProfile:
    """Row counts, monthly volumes, balances and income of the warehouse's raw tables."""
    return DataProfile(
        table_counts=con.execute(*sql.query("profile/counts.sql").bind()).df(),
        monthly=con.execute(*sql.query("profile/profile.sql").bind()).df(),
        balances=con.execute(*sql.query("profile/balances.sql").bind()).df(),
        income=con.execute(*sql.query("profile/income.sql").bind(as_of=as_of)).df(),
    )


def archetype_counts(dataset_dir: Path | str) -> pd.DataFrame:
    """Users per generator archetype (mixtures joined with '+'), from the dataset's manifest.json.

    Read from the manifest the generator wrote, never from the ground truth; empty for non-synthetic data.
    """
    path = Path(dataset_dir) / "manifest.json"
    if not path.exists():
        return pd.DataFrame(columns=["archetype", "users"])
    text, params = sql.query("profile/archetypes.sql").bind(manifest=str(path))
    return duckdb.sql(text, params=params).df()


def source_summary(con: duckdb.DuckDBPyConnection, source: str, files: tuple[str, ...] | list[str],
                   as_of: dt.date, windows: tuple[int, ...] | list[int], seed: int | None = None,
                   n_users: int | None = None) -> dict:
    """What the run's input actually is: the source, its files by format, and users, accounts, transactions and
    their date range as loaded (the synthetic seed and size only when the source is synthetic)."""
    text, params = sql.query("profile/source.sql").bind(as_of=as_of, window_days=min(windows))
    cur = con.execute(text, params)
    row = {d[0]: (v.isoformat() if isinstance(v, dt.date) else (None if v is None else int(v)))
           for d, v in zip(cur.description, cur.fetchall()[0], strict=True)}
    formats: dict[str, int] = {}
    for f in files:
        fmt = Path(f).suffix.lower().lstrip(".") or "other"
        formats[fmt] = formats.get(fmt, 0) + 1
    summary = {"source": source, "synthetic": source == "synthetic", "files": len(files),
               "formats": dict(sorted(formats.items())), "as_of": as_of.isoformat(),
               "shortest_window_days": min(windows), **row}
    if source == "synthetic":
        summary.update(seed=seed, n_users=n_users)
    return summary


def source_lines(summary: dict) -> list[str]:
    """The source summary as short plain sentences (run header, report, dashboard)."""
    if not summary:
        return ["source not recorded for this run"]
    formats = ", ".join(f"{n} {fmt}" for fmt, n in summary.get("formats", {}).items())
    what = (f"synthetic data, {summary.get('n_users')} users generated with seed {summary.get('seed')}"
            if summary.get("synthetic") else f"{summary['source']}")
    files = summary.get("files", 0)
    lines = [f"source: {what} ({files} file{'' if files == 1 else 's'} read: {formats or 'none'})"]
    users = summary.get("users") or 0
    unknown = summary.get("users_without_demographics") or 0
    lines.append(f"users: {users:,}" + (f" ({unknown:,} without a users row: demographics unknown)" if unknown
                                         else "") + f"; accounts: {summary.get('accounts') or 0:,}")
    n_tx = summary.get("transactions") or 0
    span = (f", {summary['first_date']} to {summary['last_date']}" if summary.get("first_date") else "")
    lines.append(f"transactions: {n_tx:,}{span} (of {summary.get('users_with_transactions') or 0:,} users)")
    lines.append(f"windows end at as_of {summary['as_of']}: {summary.get('transactions_in_shortest_window') or 0:,} "
                 f"transactions in the {summary['shortest_window_days']}-day window")
    after = summary.get("transactions_after_as_of") or 0
    if after:
        lines.append(f"note: {after:,} transactions are dated after as_of and are in no window "
                     f"(set -p as_of {summary['last_date']} to include them)")
    if not users:
        lines.append("note: no users in the input: nothing is processed")
    return lines


def source_markdown(summary: dict) -> str:
    """The source summary as a Markdown list (the report's "Data source" section)."""
    return "\n".join(f"- {line}" for line in source_lines(summary))


def read_source_summary(run_dir: Path | str) -> dict:
    """A run's source.json ({} for runs made before it was recorded)."""
    import json

    path = Path(run_dir) / SOURCE_SUMMARY
    return json.loads(path.read_text(encoding="utf-8")) if path.exists() else {}
