"""`spendsense ingest` through the real console entry point (python -m spendsense)."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

from ingest_tiny_dataset import fingerprint, tiny_tables, write_csv


def run(*args: str) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, "-m", "spendsense", "ingest", *args], capture_output=True, text=True,
                          check=False, timeout=300)


def test_cli_loads_and_prints_the_report(tmp_path: Path):
    write_csv(tiny_tables(), tmp_path / "data" / "csv")
    db, ops = tmp_path / "w.duckdb", tmp_path / "ops.sqlite"
    result = run(str(tmp_path / "data"), "--db", str(db), "--opstore", str(ops), "--no-progress")
    assert result.returncode == 0, result.stderr
    assert "transactions" in result.stdout and "business accounts excluded: 1" in result.stdout
    assert "consent events added" in result.stdout
    assert db.exists() and ops.exists()


def test_cli_rejects_bad_input_with_the_report_and_exit_65(tmp_path: Path):
    tables = tiny_tables()
    tables["transactions"]["amount"] = tables["transactions"]["amount"].astype(object)
    tables["transactions"].loc[2, "amount"] = "12,50"
    write_csv(tables, tmp_path / "data" / "csv")
    db = tmp_path / "w.duckdb"
    result = run(str(tmp_path / "data"), "--db", str(db), "--no-opstore")
    assert result.returncode == 65
    assert "transactions.csv: data row 3, field amount: '12,50' is not a number" in result.stderr
    assert fingerprint(db) == {str(db): None, f"{db}-wal": None, f"{db}-shm": None, f"{db}.wal": None}


def test_cli_help_explains_inputs():
    result = subprocess.run([sys.executable, "-m", "spendsense", "ingest", "--help"], capture_output=True,
                            text=True, check=False, timeout=120)
    assert result.returncode == 0
    for words in ("parquet/", "Plaid", "--db", "--opstore", "65", "data row"):
        assert words in result.stdout
