"""Writing persona_assignments and persona_counterfactuals into the warehouse (typed, one transaction)."""

from __future__ import annotations

import duckdb
import pandas as pd

from spendsense.signals.store import write_tables

PERSONA_ASSIGNMENT_COLUMNS = (
    ("user_id", "VARCHAR"), ("window_days", "INTEGER"), ("persona_id", "VARCHAR"), ("persona_name", "VARCHAR"),
    ("matched_personas", "VARCHAR[]"), ("criteria", "JSON"),
)

PERSONA_COUNTERFACTUAL_COLUMNS = (
    ("user_id", "VARCHAR"), ("window_days", "INTEGER"), ("persona_id", "VARCHAR"), ("target_persona_id", "VARCHAR"),
    ("cost", "DOUBLE"), ("changes", "JSON"), ("text_operator", "VARCHAR"), ("text_customer", "VARCHAR"),
)


def write_persona_assignments(con: duckdb.DuckDBPyConnection, df: pd.DataFrame) -> None:
    """CREATE OR REPLACE TABLE persona_assignments from assign_personas' frame."""
    write_tables(con, {"persona_assignments": df}, {"persona_assignments": PERSONA_ASSIGNMENT_COLUMNS})


def write_persona_counterfactuals(con: duckdb.DuckDBPyConnection, df: pd.DataFrame) -> None:
    """CREATE OR REPLACE TABLE persona_counterfactuals from persona_counterfactuals' frame."""
    write_tables(con, {"persona_counterfactuals": df}, {"persona_counterfactuals": PERSONA_COUNTERFACTUAL_COLUMNS})


def read_signals_wide(con: duckdb.DuckDBPyConnection) -> pd.DataFrame:
    """The persona step's input: signals_wide as stored (the run warehouse, or one bucket's copy on Spark)."""
    return con.execute("select * from signals_wide").df()
