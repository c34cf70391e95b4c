"""A quick visual profile of the ingested data (notebook 01): volumes, balances, income."""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass
from pathlib import Path

import duckdb
import pandas as pd

SQL_DIR = Path(__file__).parent


@dataclass(frozen=True)
class DataProfile:
    """Tables behind the notebook 01 charts."""

    table_counts: pd.DataFrame
    monthly: pd.DataFrame
    balances: pd.DataFrame
    income: pd.DataFrame


def _sql(name: str) -> str:
    return (SQL_DIR / f"{name}.sql").read_text()


def data_profile(con: duckdb.DuckDBPyConnection, as_of: dt.date) -> DataProfile:
    """Row counts, monthly volumes, balances and income of the warehouse's raw tables."""
    return DataProfile(
        table_counts=con.execute(_sql("counts")).df(),
        monthly=con.execute(_sql("profile")).df(),
        balances=con.execute(_sql("balances")).df(),
        income=con.execute(_sql("income"), {"as_of": as_of}).df(),
    )


def archetype_counts(dataset_dir: Path | str) -> pd.DataFrame:
    """Users per generator archetype (mixtures joined with '+'), from the dataset's manifest.json.

    Read from the manifest the generator wrote, never from the ground truth; empty for non-synthetic data.
    """
    path = Path(dataset_dir) / "manifest.json"
    if not path.exists():
        return pd.DataFrame(columns=["archetype", "users"])
    return duckdb.sql(_sql("archetypes"), params={"manifest": str(path)}).df()
