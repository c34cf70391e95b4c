"""Find the files behind ingest's paths and stage their rows, as found, in the staging DuckDB database.

Staging keeps every value as the file has it (CSV: text; Parquet: its own types; Plaid JSON: text), with each row's
position (`_src` file, `_row` number, `_loc` JSON path) so that validation can name file, row and field.
Nothing here judges the values; spendsense.ingest.validate does.
"""

from __future__ import annotations

import csv
import errno
import re
from collections.abc import Iterable
from dataclasses import dataclass, field
from pathlib import Path

import duckdb
import numpy as np

from spendsense.ingest.problems import KEEP_CAP, Problem
from spendsense.schema import TABLES

FORMATS = ("parquet", "csv", "json")
SKIPPED_DIRS = ("ground_truth",)
MAX_LINE_BYTES = 4 * 2**20  # a CSV line longer than this is a problem (DuckDB would drop it, Python would balloon)
SCAN_CHUNK_BYTES = 4 * 2**20  # CSV files are pre-scanned in chunks of this size: memory stays bounded
@dataclass(frozen=True)
class Source:
    """One input file: its position in the run's file list, path, format and (CSV/Parquet) table."""

    index: int
    path: Path
    fmt: str
    table: str | None = None

    @property
    def name(self) -> str:
        """The file as shown in messages."""
        return str(self.path)


@dataclass
class Staged:
    """A relation in the staging database holding one table's rows from one file (or from all JSON files)."""

    table: str
    relation: str
    columns: dict[str, str]  # column name -> DuckDB type as staged
    src: int | None  # the Source index, or None when the relation holds a `_src` column (JSON)
    fmt: str
    row_expr: str  # SQL for the row number
    loc_expr: str = "NULL::VARCHAR"  # SQL for the JSON path of the row
    kept_expr: str = "true"  # SQL: is this row loaded (JSON: false for superseded copies of a record)

    @property
    def src_expr(self) -> str:
        """SQL for the row's source index."""
        return str(int(self.src)) if self.src is not None else "_src"


@dataclass
class Staging:
    """Everything staged, plus what staging found out along the way."""

    staged: list[Staged] = field(default_factory=list)
    broken_tables: set[str] = field(default_factory=set)  # a file of this table could not be read
    notes: list[str] = field(default_factory=list)


def quote(identifier: str) -> str:
    """A DuckDB identifier, double-quoted."""
    return '"' + identifier.replace('"', '""') + '"'


# ----------------------------------------------------------------------------------------------- discovery


def discover(paths: Iterable[Path | str]) -> tuple[list[Source], list[Problem]]:
    """The input files behind the given paths (directories, table files, Plaid JSON) and path-level problems."""
    found: list[tuple[Path, str, str | None]] = []
    problems: list[Problem] = []
    for raw in paths:
        path = Path(raw)
        if not path.exists():
            problems.append(_openable(path)[1] or Problem(str(path), None, None, "no such file or directory"))
        elif path.is_dir():
            files, probs = _scan_directory(path)
            found += files
            problems += probs
        else:
            item, prob = _classify_file(path)
            if item:
                found.append(item)
            if prob:
                problems.append(prob)
    sources, seen = [], set()
    for path, fmt, table in found:
        key, prob = _openable(path)
        if prob:
            problems.append(prob)
        elif key not in seen:
            seen.add(key)
            sources.append(Source(len(sources), path, fmt, table))
    if not sources and not problems:
        problems.append(Problem(", ".join(str(p) for p in paths) or "(no paths)", None, None, "no input files given"))
    return sources, problems


def _openable(path: Path) -> tuple[Path | None, Problem | None]:
    """The file's real path, or the problem that it cannot be opened (symlink loop, dangling link, no access)."""
    try:
        real = path.resolve(strict=True)
        if not real.is_file():
            return None, Problem(str(path), None, None, "not a regular file")
        with real.open("rb"):
            pass
        return real, None
    except RuntimeError:  # Python < 3.13 reports a symlink loop so
        return None, Problem(str(path), None, None, "cannot open: symbolic link loop")
    except OSError as exc:
        reason = "symbolic link loop" if exc.errno == errno.ELOOP else (exc.strerror or str(exc)).lower()
        return None, Problem(str(path), None, None, f"cannot open: {reason}")


def _classify_file(path: Path) -> tuple[tuple[Path, str, str | None] | None, Problem | None]:
    """A single file: <table>.parquet, <table>.csv or a Plaid response .json."""
    suffix = path.suffix.lower()
    if suffix == ".json":
        return (path, "json", None), None
    if suffix in (".parquet", ".csv"):
        table = path.name[: -len(suffix)]
        if table not in TABLES:
            return None, Problem(str(path), None, None,
                                 f"unknown table {table!r}: a {suffix} file must be named after one of "
                                 f"{', '.join(TABLES)}")
        return (path, suffix[1:], table), None
    return None, Problem(str(path), None, None, "unsupported file type (expected .parquet, .csv or .json)")


def _scan_directory(directory: Path) -> tuple[list[tuple[Path, str, str | None]], list[Problem]]:
    """A dataset directory: its parquet/ (preferred), csv/ or json/ folder; else a Plaid folder (JSON at any
    depth plus the table files beside it, e.g. users.csv and consent_events.csv); else its own table files."""
    for fmt in FORMATS:
        if (directory / fmt).is_dir():
            return _scan_format_dir(directory / fmt, fmt, recursive_json=True)
    if _json_files(directory):
        return _scan_plaid_dir(directory)
    for fmt in FORMATS:
        if any(directory.glob(f"*.{fmt}")) or any(p.is_dir() and p.name in TABLES and any(p.glob(f"*.{fmt}"))
                                                  for p in directory.iterdir()):
            return _scan_format_dir(directory, fmt, recursive_json=False)
    return [], [Problem(str(directory), None, None,
                        "no input found: expected a parquet/, csv/ or json/ folder, or .parquet/.csv/.json files")]


def _json_files(directory: Path) -> list[Path]:
    """Every .json file under a folder, at any depth, sorted (ground_truth/ folders skipped)."""
    files = sorted(f for f in directory.rglob("*.json") if f.is_file())
    return [f for f in files if not set(f.relative_to(directory).parts) & set(SKIPPED_DIRS)]


def _scan_plaid_dir(directory: Path) -> tuple[list[tuple[Path, str, str | None]], list[Problem]]:
    """A Plaid folder: every .json file at any depth, and the table files at its top level (a table given both
    as .parquet and as .csv is read from the .parquet, as for dataset folders)."""
    found: list[tuple[Path, str, str | None]] = [(f, "json", None) for f in _json_files(directory)]
    problems: list[Problem] = []
    tables: dict[str, tuple[Path, str, str | None]] = {}
    for fmt in ("csv", "parquet"):  # parquet second: it replaces a csv of the same table
        for f in sorted(directory.glob(f"*.{fmt}")):
            item, prob = _classify_file(f)
            if item:
                tables[item[2]] = item
            if prob:
                problems.append(prob)
    return found + [tables[t] for t in TABLES if t in tables], problems


def _scan_format_dir(directory: Path, fmt: str, recursive_json: bool):
    """Files of one format in a folder: <table>.<fmt> and <table>/*.<fmt> parts; for JSON every *.json."""
    if fmt == "json":
        files = _json_files(directory) if recursive_json else sorted(f for f in directory.glob("*.json")
                                                                       if f.is_file())
        if not files:
            return [], [Problem(str(directory), None, None, "no .json files found")]
        return [(f, "json", None) for f in files], []
    found, problems = [], []
    for f in sorted(directory.glob(f"*.{fmt}")):
        item, prob = _classify_file(f)
        found += [item] if item else []
        problems += [prob] if prob else []
    for table in TABLES:
        part_dir = directory / table
        if part_dir.is_dir():
            found += [(f, fmt, table) for f in sorted(part_dir.glob(f"*.{fmt}"))]
    if not found and not problems:
        problems.append(Problem(str(directory), None, None, f"no .{fmt} table files found"))
    return found, problems


# ------------------------------------------------------------------------------------------------- staging


def scan_csv(source: Source) -> tuple[int | None, list[Problem]]:
    """Read a CSV file once in bounded chunks before DuckDB does: a NUL byte (a binary or sparse file) or a line
    longer than MAX_LINE_BYTES is a problem naming the line. Otherwise count its records (rows after the header,
    blank lines aside) with the csv module, so that ingest can prove every record was staged or reported."""
    line, current = 1, 0  # current: bytes of the line being read so far
    try:
        with source.path.open("rb") as fh:
            while chunk := fh.read(SCAN_CHUNK_BYTES):
                nul = chunk.find(b"\0")
                if nul >= 0:
                    at = line + chunk.count(b"\n", 0, nul)
                    return None, [Problem(source.name, None, None,
                                          f"line {at}: NUL byte (not CSV text: a binary, padded or sparse file)")]
                ends = np.flatnonzero(np.frombuffer(chunk, np.uint8) == 10)
                lengths = np.diff(ends, prepend=-1) - 1  # bytes of each line ending in this chunk
                if len(ends):
                    lengths[0] += current
                    current = len(chunk) - 1 - int(ends[-1])
                else:
                    current += len(chunk)
                too_long = np.flatnonzero(lengths > MAX_LINE_BYTES)
                if len(too_long) or current > MAX_LINE_BYTES:
                    at = line + (int(too_long[0]) if len(too_long) else len(ends))
                    return None, [Problem(source.name, None, None,
                                          f"line {at}: longer than {MAX_LINE_BYTES:,} bytes (the longest line "
                                          "ingest reads); nothing in the contract is that long")]
                line += len(ends)
        limit = csv.field_size_limit()
        csv.field_size_limit(max(limit, MAX_LINE_BYTES))
        try:
            with source.path.open(encoding="utf-8-sig", newline="") as fh:
                records = sum(1 for row in csv.reader(fh) if row)
        finally:
            csv.field_size_limit(limit)
    except (UnicodeDecodeError, csv.Error):
        return None, []  # DuckDB reports the malformed line itself
    except OSError as exc:
        return None, [Problem(source.name, None, None, f"cannot read: {(exc.strerror or str(exc)).lower()}")]
    return max(records - 1, 0), []


def stage_csv(con: duckdb.DuckDBPyConnection, source: Source, staging: Staging) -> list[Problem]:
    """Stage one CSV file as text; malformed lines (wrong field count, bad quoting, not UTF-8) are problems, and
    so is any difference between the records in the file and the rows staged plus the lines reported."""
    records, problems = scan_csv(source)
    header, header_problems = _csv_header(source) if not problems else (None, [])
    problems += header_problems
    if header is None:
        staging.broken_tables.add(source.table)
        return problems
    relation, rejects = f"stage_{source.index}", f"rejects_{source.index}"
    try:
        con.execute(
            f"create table {relation} as select * from read_csv($path, columns=$columns, header=true,"
            " auto_detect=false, delim=',', quote='\"', escape='\"', strict_mode=true, store_rejects=true,"
            " rejects_table=$rejects, rejects_scan=$scan, max_line_size=$max_line)",
            {"path": str(source.path), "columns": {name: "VARCHAR" for name in header}, "rejects": rejects,
             "scan": f"rejects_scan_{source.index}", "max_line": MAX_LINE_BYTES + 2},
        )
    except duckdb.Error as exc:
        staging.broken_tables.add(source.table)
        return [Problem(source.name, None, None, f"cannot read CSV: {duckdb_message(exc)}")]
    n_bad = con.execute(f"select count(*) from {rejects}").fetchall()[0][0]
    if n_bad:
        staging.broken_tables.add(source.table)
        bad = con.execute(f"select line, column_name, error_type, error_message from {rejects}"
                          " order by line limit $cap", {"cap": KEEP_CAP}).fetchall()
        problems = [Problem(source.name, int(line) - 1, col, f"malformed CSV record ({kind.lower()}): {msg}", "csv")
                    for line, col, kind, msg in bad]
        if n_bad > len(bad):
            problems.append(Problem(source.name, None, None, f"... and {n_bad - len(bad)} more malformed records"))
        return problems
    staged = con.execute(f"select count(*) from {relation}").fetchall()[0][0]
    if records is None or staged != records:
        staging.broken_tables.add(source.table)
        read = "an unknown number of" if records is None else f"{records:,}"
        return [Problem(source.name, None, None,
                        f"{read} records read but {staged:,} staged and none reported: the file is rejected "
                        "rather than loaded with rows missing")]
    staging.staged.append(Staged(source.table, relation, {h: "VARCHAR" for h in header}, source.index, "csv",
                                 "rowid + 1"))
    return []


def _csv_header(source: Source) -> tuple[list[str] | None, list[Problem]]:
    """The header line's column names, or problems if the file has no usable header."""
    try:
        with source.path.open(encoding="utf-8-sig", newline="") as fh:
            header = next(csv.reader(fh), None)
    except UnicodeDecodeError as exc:
        return None, [Problem(source.name, None, None, f"not UTF-8 text ({exc.reason} at byte {exc.start})")]
    if not header or all(not h.strip() for h in header):
        return None, [Problem(source.name, None, None, "empty file: no header line")]
    names = [h.strip() for h in header]
    dupes = sorted({n for n in names if names.count(n) > 1})
    problems = [Problem(source.name, None, n, "column appears more than once in the header", "csv") for n in dupes]
    problems += [Problem(source.name, None, f"#{i + 1}", "blank column name in the header", "csv")
                 for i, n in enumerate(names) if not n]
    return (None, problems) if problems else (names, [])


def stage_parquet(con: duckdb.DuckDBPyConnection, source: Source, staging: Staging) -> list[Problem]:
    """Stage one Parquet file as a view (no copy) with its own column types and 0-based row indexes."""
    relation = f"stage_{source.index}"
    try:
        con.read_parquet(str(source.path), file_row_number=True).create_view(relation)
        columns = {name: dtype for name, dtype in con.execute(f"select column_name, column_type from "
                                                              f"(describe {relation})").fetchall()
                   if name != "file_row_number"}
    except duckdb.Error as exc:
        staging.broken_tables.add(source.table)
        return [Problem(source.name, None, None, f"cannot read Parquet: {duckdb_message(exc)}")]
    staging.staged.append(Staged(source.table, relation, columns, source.index, "parquet", "file_row_number"))
    return []


def duckdb_message(exc: Exception) -> str:
    """A DuckDB error without its generic hints."""
    text = str(exc).split("\n\n")[0]
    text = re.sub(r"\n?Try (setting|increasing).*", "", text, flags=re.DOTALL)
    return " ".join(text.split())
