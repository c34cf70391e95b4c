"""A quick visual profile of the ingested data (notebook 01): volumes, balances, income."""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass
from pathlib import Path

import duckdb
import pandas as pd

from spendsense import sql


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
