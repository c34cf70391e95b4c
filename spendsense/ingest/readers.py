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
JSON_CHUNK = 500  # JSON files read per DuckDB call
MAX_LINE_BYTES = 4 * 2**20  # a CSV line longer than this is a problem (DuckDB would drop it, Python would balloon)
SCAN_CHUNK_BYTES = 4 * 2**20  # CSV files are pre-scanned in chunks of this size: memory stays bounded
JSON_MIN_OBJECT_BYTES = 16 * 2**20

# Plaid JSON -> contract columns: path of each column inside its array element (nested objects flattened).
JSON_FIELDS: dict[str, dict[str, tuple[str, ...]]] = {
    "accounts": {
        "account_id": ("account_id",), "name": ("name",), "official_name": ("official_name",), "mask": ("mask",),
        "type": ("type",), "subtype": ("subtype",), "balance_available": ("balances", "available"),
        "balance_current": ("balances", "current"), "balance_limit": ("balances", "limit"),
        "iso_currency_code": ("balances", "iso_currency_code"), "holder_category": ("holder_category",),
    },
    "transactions": {
        **{c: (c,) for c in ("transaction_id", "account_id", "date", "authorized_date", "amount",
                             "iso_currency_code", "name", "merchant_name", "merchant_entity_id",
                             "payment_channel", "pending")},
        "pfc_primary": ("personal_finance_category", "primary"),
        "pfc_detailed": ("personal_finance_category", "detailed"),
        "pfc_confidence_level": ("personal_finance_category", "confidence_level"),
    },
    "credit_liabilities": {c.name: (c.name,) for c in TABLES["credit_liabilities"]},
    "credit_aprs": {c.name: (c.name,) for c in TABLES["credit_aprs"] if c.name != "account_id"},
    "mortgage_liabilities": {
        **{c.name: (c.name,) for c in TABLES["mortgage_liabilities"]},
        "interest_rate_percentage": ("interest_rate", "percentage"),
        "interest_rate_type": ("interest_rate", "type"),
    },
    "student_liabilities": {c.name: (c.name,) for c in TABLES["student_liabilities"]},
}
# Columns that JSON does not hold per element but ingest derives; the label says where the value comes from.
JSON_DERIVED = {
    ("accounts", "user_id"): "user_id (from item.item_id, or the file name)",
    ("credit_aprs", "account_id"): "account_id (of the enclosing credit entry)",
}
JSON_TRANSACTION_PARTS = (("transactions", 0), ("added", 0), ("modified", 1))  # later part wins on merge
JSON_LIABILITY_KINDS = {"credit_liabilities": "credit", "mortgage_liabilities": "mortgage",
                        "student_liabilities": "student"}
JSON_KEYS = ("accounts", "transactions", "added", "modified", "removed", "liabilities")
JSON_MERGE_KEYS = {"accounts": "account_id", "transactions": "transaction_id", "credit_liabilities": "account_id",
                   "credit_aprs": "account_id", "mortgage_liabilities": "account_id",
                   "student_liabilities": "account_id"}


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
    """A dataset directory: its parquet/ (preferred), csv/ or json/ folder, else its own table files."""
    for fmt in FORMATS:
        if (directory / fmt).is_dir():
            return _scan_format_dir(directory / fmt, fmt, recursive_json=True)
    for fmt in FORMATS:
        if any(directory.glob(f"*.{fmt}")) or any(p.is_dir() and p.name in TABLES and any(p.glob(f"*.{fmt}"))
                                                  for p in directory.iterdir()):
            return _scan_format_dir(directory, fmt, recursive_json=False)
    return [], [Problem(str(directory), None, None,
                        "no input found: expected a parquet/, csv/ or json/ folder, or .parquet/.csv/.json files")]


def _scan_format_dir(directory: Path, fmt: str, recursive_json: bool):
    """Files of one format in a folder: <table>.<fmt> and <table>/*.<fmt> parts; for JSON every *.json."""
    if fmt == "json":
        files = sorted(directory.rglob("*.json") if recursive_json else directory.glob("*.json"))
        files = [f for f in files if f.is_file() and not set(f.relative_to(directory).parts) & set(SKIPPED_DIRS)]
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


# ---------------------------------------------------------------------------------------------------- JSON


def _struct_type(paths: Iterable[tuple[str, ...]]) -> str:
    """The DuckDB STRUCT type holding the given field paths as VARCHAR leaves."""
    tree: dict = {}
    for path in paths:
        node = tree
        for part in path[:-1]:
            node = node.setdefault(part, {})
        node.setdefault(path[-1], None)

    def render(node: dict) -> str:
        return "STRUCT(" + ", ".join(f"{quote(k)} {'VARCHAR' if v is None else render(v)}"
                                     for k, v in node.items()) + ")"

    return render(tree)


def _json_columns() -> dict[str, str]:
    """read_json column types: the Plaid response keys ingest reads, every leaf as text; the rest is ignored."""
    account = _struct_type(JSON_FIELDS["accounts"].values())
    transaction = _struct_type(JSON_FIELDS["transactions"].values())
    credit = _struct_type(JSON_FIELDS["credit_liabilities"].values())[:-1] + ", \"aprs\" " + _struct_type(
        JSON_FIELDS["credit_aprs"].values()) + "[])"
    mortgage = _struct_type(JSON_FIELDS["mortgage_liabilities"].values())
    student = _struct_type(JSON_FIELDS["student_liabilities"].values())
    return {
        "accounts": account + "[]",
        "transactions": transaction + "[]",
        "added": transaction + "[]",
        "modified": transaction + "[]",
        "removed": 'STRUCT("transaction_id" VARCHAR)[]',
        "liabilities": f'STRUCT("credit" {credit}[], "mortgage" {mortgage}[], "student" {student}[])',
        "item": 'STRUCT("item_id" VARCHAR)',
    }


def json_field_label(table: str, column: str) -> str:
    """How a contract column appears inside a JSON element, e.g. personal_finance_category.primary."""
    if (table, column) in JSON_DERIVED:
        return JSON_DERIVED[(table, column)]
    return ".".join(JSON_FIELDS[table].get(column, (column,)))


def _path_sql(alias: str, path: tuple[str, ...]) -> str:
    """SQL reading a nested field of a struct alias."""
    return alias + "".join("." + quote(p) for p in path)


def stage_json(con: duckdb.DuckDBPyConnection, sources: list[Source], staging: Staging, tick=lambda n: None
               ) -> list[Problem]:
    """Stage Plaid response JSON files: flatten accounts, transactions (also /transactions/sync) and liabilities.

    The same account, transaction or liability appearing in several files (e.g. accounts in both a
    /transactions/get and a /liabilities/get response) is the same record: the later file's copy is kept.
    Transactions listed in a sync response's `removed` are dropped.
    """
    problems: list[Problem] = []
    columns = _json_columns()
    con.execute("create table json_files (_src integer, path varchar, stem varchar)")
    con.execute("insert into json_files select unnest($src), unnest($path), unnest($stem)",
                {"src": [s.index for s in sources], "path": [str(s.path) for s in sources],
                 "stem": [s.path.name.split(".")[0] for s in sources]})
    con.execute("create table json_raw (" + ", ".join(f"{quote(k)} {v}" for k, v in columns.items())
                + ", filename varchar)")
    failed: set[int] = set()
    for start in range(0, len(sources), JSON_CHUNK):
        chunk = sources[start:start + JSON_CHUNK]
        try:
            _read_json(con, chunk, columns)
        except duckdb.Error:
            for src in chunk:  # find the culprits one file at a time
                try:
                    _read_json(con, [src], columns)
                except duckdb.Error as exc:
                    failed.add(src.index)
                    problems.append(Problem(src.name, None, None, f"cannot read JSON: {duckdb_message(exc)}"))
        tick(len(chunk))
    if failed:
        staging.broken_tables.update(JSON_FIELDS)
    by_index = {s.index: s for s in sources}
    for src, n in con.execute(
        "select f._src, count(r.filename) from json_files f left join json_raw r on r.filename = f.path"
        " where not list_contains($failed, f._src) group by f._src having count(r.filename) <> 1 order by 1",
        {"failed": sorted(failed)},
    ).fetchall():
        failed.add(src)
        problems.append(Problem(by_index[src].name, None, None,
                                f"expected one JSON object (a Plaid API response) per file, found {n} records"))
    keys_present = " or ".join(f"r.{quote(k)} is not null" for k in JSON_KEYS)
    con.execute(
        "create table json_docs as select f._src, nullif(trim(r.item.item_id), '') as _item_id, f.stem as _stem,"
        f" r.* exclude (filename, item) from json_files f join json_raw r on r.filename = f.path"
        f" where not list_contains($failed, f._src) and ({keys_present})",
        {"failed": sorted(failed)},
    )
    for (src,) in con.execute(
        "select _src from json_files where not list_contains($failed, _src)"
        " and _src not in (select _src from json_docs) order by 1", {"failed": sorted(failed)}
    ).fetchall():
        problems.append(Problem(by_index[src].name, None, None,
                                "not a Plaid response that ingest reads: no accounts, transactions, "
                                "added/modified/removed or liabilities"))
    con.execute("drop table json_raw")
    _flatten_json(con)
    _assign_json_users(con)
    problems += _json_owner_conflicts(con, by_index)
    staging.notes += _merge_json(con)
    for table in JSON_FIELDS:
        cols = [c.name for c in TABLES[table]]
        staging.staged.append(Staged(table, f"json_{table}", {c: "VARCHAR" for c in cols}, None, "json", "_row",
                                     "_loc", "_kept"))
    return problems


def _read_json(con: duckdb.DuckDBPyConnection, chunk: list[Source], columns: dict[str, str]) -> None:
    """Append one chunk of JSON files to json_raw (all or nothing for the chunk)."""
    largest = max(s.path.stat().st_size for s in chunk)
    con.execute(
        "insert into json_raw by name select * from read_json($files, columns=$columns, filename=true,"
        " format='auto', records=true, maximum_object_size=$size)",
        {"files": [str(s.path) for s in chunk], "columns": columns,
         "size": max(JSON_MIN_OBJECT_BYTES, 2 * largest + 1024)},
    )


def _element_columns(table: str, alias: str, derived: dict[str, str]) -> str:
    """The contract columns of one JSON element, in contract order, as text."""
    out = []
    for col in TABLES[table]:
        if col.name in derived:
            expr = derived[col.name]
        elif col.name in JSON_FIELDS[table]:
            expr = _path_sql(alias, JSON_FIELDS[table][col.name])
        else:
            expr = "NULL"
        out.append(f"cast({expr} as varchar) as {quote(col.name)}")
    return ", ".join(out)


def _flatten_json(con: duckdb.DuckDBPyConnection) -> None:
    """json_<table>_all: one row per array element with its file (_src), order (_part, _row) and JSON path."""
    def unnest_from(list_sql: str, extra: str = "") -> str:
        return (f"select d._src{extra}, unnest({list_sql}) as e, unnest(range(len({list_sql}))) as i"
                f" from json_docs d where {list_sql} is not null")

    con.execute(
        "create table json_accounts_all as select _src, 0 as _part, i as _row, 'accounts[' || i || ']' as _loc, "
        + _element_columns("accounts", "e", {"user_id": "null"})
        + f" from ({unnest_from('d.accounts')})"
    )
    parts = [f"select _src, {order} as _part, i as _row, '{key}[' || i || ']' as _loc, "
             + _element_columns("transactions", "e", {})
             + f" from ({unnest_from('d.' + quote(key))})" for key, order in JSON_TRANSACTION_PARTS]
    con.execute("create table json_transactions_all as " + " union all ".join(parts))
    con.execute("create table json_removed as select distinct unnest(removed).transaction_id as transaction_id"
                " from json_docs where removed is not null")
    for table, kind in JSON_LIABILITY_KINDS.items():
        list_sql = f"d.liabilities.{quote(kind)}"
        con.execute(
            f"create table json_{table}_all as select _src, 0 as _part, i as _row,"
            f" 'liabilities.{kind}[' || i || ']' as _loc, " + _element_columns(table, "e", {})
            + f" from ({unnest_from(list_sql)})"
        )
    con.execute(
        "create table json_credit_aprs_all as select _src, 0 as _part, i as _row,"
        " 'liabilities.credit[' || i || '].aprs[' || j || ']' as _loc, "
        + _element_columns("credit_aprs", "a", {"account_id": "parent_account_id"})
        + " from (select _src, i, e.account_id as parent_account_id, unnest(e.aprs) as a,"
          " unnest(range(len(e.aprs))) as j"
          f" from ({unnest_from('d.liabilities.credit')}) where e.aprs is not null)"
    )


def _assign_json_users(con: duckdb.DuckDBPyConnection) -> None:
    """Each JSON document's user: item.item_id; without an item (e.g. /transactions/sync), the user that another
    document names for the same accounts; failing that, the file name before its first '.'."""
    con.execute("""
        create table json_doc_users as
        with known as (
            select distinct a.account_id, d._item_id as user_id
            from json_accounts_all a join json_docs d using (_src)
            where d._item_id is not null
        ),
        inferred as (
            select a._src, min(k.user_id) as user_id, count(distinct k.user_id) as n_users
            from json_accounts_all a join json_docs d using (_src) join known k using (account_id)
            where d._item_id is null
            group by a._src
        )
        select d._src, coalesce(d._item_id, case when i.n_users = 1 then i.user_id end, d._stem) as user_id
        from json_docs d left join inferred i using (_src)
    """)
    con.execute("update json_accounts_all set user_id = u.user_id from json_doc_users u"
                " where json_accounts_all._src = u._src")


def _json_owner_conflicts(con: duckdb.DuckDBPyConnection, by_index: dict[int, Source]) -> list[Problem]:
    """An account that appears under two different users (items) is an error."""
    rows = con.execute(
        "with owners as (select account_id, first(user_id order by _src, _row) as first_user,"
        " first(_src order by _src, _row) as first_src, first(_loc order by _src, _row) as first_loc"
        " from json_accounts_all where account_id is not null group by account_id"
        " having count(distinct user_id) > 1)"
        " select a._src, a._loc, a.account_id, a.user_id, o.first_user, o.first_src, o.first_loc"
        " from json_accounts_all a join owners o using (account_id) where a.user_id <> o.first_user"
        " order by a._src, a._row limit 1000"
    ).fetchall()
    return [Problem(by_index[src].name, loc, "account_id",
                    f"account {acc!r} belongs to user {user!r} here but to user {first_user!r} in "
                    f"{by_index[first_src].name} ({first_loc})", "json")
            for src, loc, acc, user, first_user, first_src, first_loc in rows]


def _merge_json(con: duckdb.DuckDBPyConnection) -> list[str]:
    """json_<table>: every JSON record, flagged `_kept` if it is the latest file's copy of its key (and not removed
    by a sync response). All copies are validated; only kept ones are loaded. Returns notes on what was dropped."""
    notes = []
    for table, key in JSON_MERGE_KEYS.items():
        removed = "false"
        if table == "transactions":
            removed = ("transaction_id in (select transaction_id from json_removed"
                       " where transaction_id is not null)")
        con.execute(
            f"create table json_{table} as select * exclude (_part),"
            f" not ({removed}) and ({quote(key)} is null"
            f" or dense_rank() over (partition by {quote(key)} order by _src desc, _part desc) = 1) as _kept"
            f" from json_{table}_all"
        )
        n_removed, n_merged = con.execute(
            f"select count(*) filter ({removed}), count(*) filter (not _kept and not ({removed}))"
            f" from json_{table}").fetchall()[0]
        if n_removed:
            notes.append(f"{n_removed} transaction(s) dropped: listed as removed by /transactions/sync")
        if n_merged:
            notes.append(f"{n_merged} {table} record(s) appeared in more than one JSON file; "
                         "the copy from the later file was kept")
        con.execute(f"drop table json_{table}_all")
    return notes
