"""Table equality for the parity tests: same rows, floats within 1e-9, order ignored; a difference names the
table, the column and the rows."""

from __future__ import annotations

import numpy as np
import pandas as pd

TOLERANCE = 1e-9


def _cell_text(value) -> str:
    """A non-float cell as comparable text (None, NaN and NaT alike; lists and arrays by their items)."""
    if isinstance(value, (list, tuple, np.ndarray)):
        return "[" + ", ".join(_cell_text(v) for v in value) + "]"
    if isinstance(value, dict):
        return "{" + ", ".join(f"{k}: {_cell_text(v)}" for k, v in sorted(value.items())) + "}"
    if value is None or (not isinstance(value, str) and pd.isna(value)):
        return "NULL"
    return str(value)


def assert_tables_equal(table: str, want: pd.DataFrame, got: pd.DataFrame) -> None:
    """want (DuckDB path) and got (Spark path) hold the same rows; AssertionError naming table, column, rows."""
    assert sorted(want.columns) == sorted(got.columns), f"{table}: columns {list(want.columns)} != {list(got.columns)}"
    assert len(want) == len(got), f"{table}: {len(want)} rows on DuckDB, {len(got)} on Spark"
    floats = [c for c in want.columns if pd.api.types.is_float_dtype(want[c]) or pd.api.types.is_float_dtype(got[c])]
    others = [c for c in want.columns if c not in floats]

    def canonical(frame: pd.DataFrame) -> pd.DataFrame:
        text = pd.DataFrame({c: frame[c].map(_cell_text) for c in others}, index=frame.index)
        order = text.sort_values(others, kind="mergesort").index if others else frame.index
        out = text.loc[order].reset_index(drop=True)
        for c in floats:
            out[c] = pd.to_numeric(frame.loc[order, c], errors="coerce").to_numpy(dtype=float)
        return out

    a, b = canonical(want), canonical(got)
    for c in others:
        bad = np.flatnonzero(a[c].to_numpy() != b[c].to_numpy())
        if bad.size:
            rows = [(a.loc[i, c], b.loc[i, c]) for i in bad[:3]]
            raise AssertionError(f"{table}.{c}: {bad.size} row(s) differ, e.g. rows {bad[:3].tolist()} "
                                 f"(DuckDB, Spark) = {rows}")
    for c in floats:
        x, y = a[c].to_numpy(), b[c].to_numpy()
        same = (np.isnan(x) & np.isnan(y)) | (np.abs(x - y) <= TOLERANCE * np.maximum(1.0, np.abs(x)))
        bad = np.flatnonzero(~same)
        if bad.size:
            rows = [(x[i], y[i]) for i in bad[:3]]
            raise AssertionError(f"{table}.{c}: {bad.size} row(s) differ beyond {TOLERANCE}, e.g. rows "
                                 f"{bad[:3].tolist()} (DuckDB, Spark) = {rows}")
