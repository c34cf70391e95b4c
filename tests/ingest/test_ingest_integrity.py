"""Issue 12: ingest never drops a row silently and never answers bad files with a traceback.

Big files are built quickly in tmp_path (sparse files via truncate, one long line written once); each case
checks exit 65 (through the real CLI) or IngestError naming file and line, and that the warehouse and opstore of
a previous good ingest are unchanged.
"""

from __future__ import annotations

import datetime as dt
import os
import shutil
import subprocess
import sys
from pathlib import Path

import duckdb
import pytest
from ingest_tiny_dataset import fingerprint, tiny_tables, write_csv

from spendsense import opstore
from spendsense.ingest import IngestError, ingest
from spendsense.ingest.readers import MAX_LINE_BYTES

MiB = 2**20


@pytest.fixture
def loaded(tmp_path: Path):
    """A good CSV dataset ingested once; returns (csv folder, warehouse, opstore)."""
    folder = write_csv(tiny_tables(), tmp_path / "data" / "csv")
    db, ops = tmp_path / "w.duckdb", tmp_path / "ops.sqlite"
    ingest([folder.parent], db, ops)
    return folder, db, ops


def cli(*args: str) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, "-m", "spendsense", "ingest", *args, "--no-progress"],
                          capture_output=True, text=True, check=False, timeout=300)


def rejected(folder: Path, db: Path, ops: Path, *expected: str) -> str:
    """Ingest through the CLI must exit 65 without a traceback, name every expected text, write nothing."""
    before = fingerprint(db, ops)
    result = cli(str(folder.parent), "--db", str(db), "--opstore", str(ops))
    assert result.returncode == 65, result.stdout + result.stderr
    assert "Traceback" not in result.stderr
    for text in expected:
        assert text in result.stderr, result.stderr
    assert fingerprint(db, ops) == before
    return result.stderr


def test_one_huge_unquoted_field_is_a_problem_not_a_dropped_row(loaded):
    folder, db, ops = loaded
    with (folder / "transactions.csv").open("ab") as fh:
        fh.write(b"t_huge,a_chk," + b"x" * (100 * MiB) + b",1.00\n")
    rejected(folder, db, ops, "transactions.csv", f"longer than {MAX_LINE_BYTES:,} bytes")


def test_a_line_longer_than_duckdbs_default_but_within_the_limit_is_loaded_not_dropped(loaded):
    folder, db, ops = loaded
    path = folder / "transactions.csv"
    lines = path.read_text().splitlines()
    fields = lines[1].split(",")
    fields[lines[0].split(",").index("name")] = '"' + "y" * (3 * MiB) + '"'  # > DuckDB's default 2 MB line
    path.write_text("\n".join([lines[0], ",".join(fields)] + lines[2:]) + "\n")
    with duckdb.connect(str(db), read_only=True) as con:
        before = con.execute("select count(*) from transactions").fetchone()[0]
    assert ingest([folder.parent], db, ops).rows["transactions"] == before
    with pytest.raises(IngestError):  # and one byte over the limit is a problem, never a dropped row
        fields[lines[0].split(",").index("name")] = '"' + "y" * MAX_LINE_BYTES + '"'
        path.write_text("\n".join([lines[0], ",".join(fields)] + lines[2:]) + "\n")
        ingest([folder.parent], db, ops)


@pytest.mark.parametrize("filler", [b"\0", b"A"], ids=["nul", "letters"])
def test_header_then_40_mb_of_one_byte_is_rejected(loaded, filler):
    folder, db, ops = loaded
    path = folder / "transactions.csv"
    header = path.read_text().splitlines()[0]
    path.write_bytes(header.encode() + b"\n" + filler * (40 * MiB))
    rejected(folder, db, ops, "transactions.csv", "line 2:")


def test_nul_only_file_is_rejected(loaded):
    folder, db, ops = loaded
    (folder / "users.csv").write_bytes(b"\0" * MiB)
    rejected(folder, db, ops, "users.csv", "line 1: NUL byte")


def test_valid_file_with_a_one_gib_sparse_tail_is_rejected_quickly(loaded):
    folder, db, ops = loaded
    path = folder / "transactions.csv"
    n_lines = len(path.read_text().splitlines())
    os.truncate(path, path.stat().st_size + 2**30)
    rejected(folder, db, ops, "transactions.csv", f"line {n_lines + 1}: NUL byte")


def test_one_gib_without_a_newline_is_a_problem_with_bounded_memory(loaded, tmp_path):
    folder, db, ops = loaded
    path = folder / "users.csv"
    with path.open("wb") as fh:  # 1 GiB of text, no newline (written in 64 MiB blocks)
        block = b"u" * (64 * MiB)
        for _ in range(16):
            fh.write(block)
    probe = ("import resource, sys; from spendsense.ingest import ingest, IngestError\n"
             "try:\n    ingest([sys.argv[1]], sys.argv[2], None)\nexcept IngestError as e:\n    print(e)\n"
             "print('maxrss_kib', resource.getrusage(resource.RUSAGE_SELF).ru_maxrss)\n")
    out = subprocess.run([sys.executable, "-c", probe, str(folder.parent), str(tmp_path / "x.duckdb")],
                         capture_output=True, text=True, check=True, timeout=300).stdout
    assert "users.csv: line 1: longer than" in out
    assert int(out.split("maxrss_kib")[1]) < 1024 * 1024, out  # imports included; far from the 2.2 GB it took
    rejected(folder, db, ops, "users.csv", "line 1: longer than")


def test_symlink_loop_is_a_problem_with_exit_65(loaded):
    folder, db, ops = loaded
    (folder / "users.csv").unlink()
    (folder / "users.csv").symlink_to("users.csv")
    rejected(folder, db, ops, "users.csv: cannot open: symbolic link loop")


def test_symlink_loop_given_directly_is_a_problem(tmp_path):
    loop = tmp_path / "users.csv"
    loop.symlink_to("users.csv")
    with pytest.raises(IngestError, match="symbolic link loop"):
        ingest([loop], tmp_path / "w.duckdb")


def test_a_directory_named_like_a_table_file_is_a_problem(loaded):
    folder, db, ops = loaded
    (folder / "users.csv").unlink()
    (folder / "users.csv").mkdir()
    rejected(folder, db, ops, "users.csv: not a regular file")


def test_amount_beyond_decimal_18_2_is_a_problem_naming_file_row_field(loaded):
    folder, db, ops = loaded
    path = folder / "transactions.csv"
    lines = path.read_text().splitlines()
    col = lines[0].split(",").index("amount")
    fields = lines[3].split(",")
    fields[col] = "123456789012345678901.25"
    path.write_text("\n".join(lines[:3] + [",".join(fields)] + lines[4:]) + "\n")
    rejected(folder, db, ops, "transactions.csv: data row 3, field amount: '123456789012345678901.25' does not "
                              "fit the stored type DECIMAL(18,2)")


def test_largest_decimal_18_2_amount_is_accepted(tmp_path):
    tables = tiny_tables()
    tables["transactions"]["amount"] = tables["transactions"]["amount"].astype(object)
    tables["transactions"].loc[0, "amount"] = "9999999999999998.50"
    folder = write_csv(tables, tmp_path / "csv")
    ingest([folder], tmp_path / "w.duckdb")


def test_future_consent_event_is_a_problem_at_ingest(loaded):
    folder, db, ops = loaded
    path = folder / "consent_events.csv"
    path.write_text(path.read_text() + "e9,u1,granted,2099-01-01 00:00:00,app,u1\n")
    rejected(folder, db, ops, "consent_events.csv: data row 4, field occurred_at: '2099-01-01 00:00:00' is in "
                              "the future")


def test_consent_event_within_the_clock_skew_is_accepted_and_stored_at_its_recording_time(tmp_path):
    tables = tiny_tables()
    soon = (dt.datetime.now(dt.UTC) + dt.timedelta(seconds=60)).strftime("%Y-%m-%d %H:%M:%S")
    tables["consent_events"].loc[len(tables["consent_events"])] = ["e9", "u1", "revoked", soon, "app", "u1"]
    folder = write_csv(tables, tmp_path / "csv")
    ops = tmp_path / "ops.sqlite"
    ingest([folder], tmp_path / "w.duckdb", ops)
    con = opstore.connect(ops)
    events = opstore.consent_events(con).set_index("event_id")
    con.close()
    assert events.loc["e9", "occurred_at"] <= events.loc["e9", "recorded_at"]


def test_ties_in_a_file_are_recorded_in_file_order(tmp_path):
    """Two events at the same occurred_at: the later line of the file is the later recorded, so it wins."""
    tables = tiny_tables()
    ce = tables["consent_events"]
    ce.loc[len(ce)] = ["z-first", "u1", "revoked", "2026-07-01 00:00:00", "app", "u1"]
    ce.loc[len(ce)] = ["a-second", "u1", "granted", "2026-07-01 00:00:00", "app", "u1"]
    folder = write_csv(tables, tmp_path / "csv")
    ops = tmp_path / "ops.sqlite"
    ingest([folder], tmp_path / "w.duckdb", ops)
    con = opstore.connect(ops)
    status = opstore.consent_status(con).set_index("user_id")["status"]
    con.close()
    assert status["u1"] == "granted"


def test_staging_count_matches_the_file_for_quoted_newlines(tmp_path):
    """A quoted field spanning lines is one record: the read/staged count check must not misfire."""
    tables = tiny_tables()
    tables["transactions"]["name"] = tables["transactions"]["name"].astype(object)
    tables["transactions"].loc[1, "name"] = "two\nlines"
    folder = write_csv(tables, tmp_path / "csv")
    report = ingest([folder], tmp_path / "w.duckdb")
    assert report.rows["transactions"] > 0


def test_previous_rows_survive_every_rejected_file(loaded):
    folder, db, ops = loaded
    shutil.copy(folder / "transactions.csv", folder.parent / "keep.csv")
    (folder / "transactions.csv").write_bytes(b"\0" * 10)
    rejected(folder, db, ops, "transactions.csv")
