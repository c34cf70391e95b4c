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
