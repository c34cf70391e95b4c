"""Check staged input against the raw-table contract (spendsense.schema), all rows at once in SQL.

Each raw table gets a union view `t_<table>` over its staged files with, for every contract column `c`, the value
as found (`c`, text, NULL when empty) and the parsed value (`c__v`, the contract type, NULL when unparseable), and
`_kept` (false for a JSON record superseded by a later file's copy: such copies are validated but not loaded, nor
counted as duplicates). Each file's part of it is also a view `t_<table>_<n>`. `t_users` also holds a derived row
(demographics 'unknown') for every account owner without a users row (ingest/derived_users.sql).
Checks compare the two and look values up in allowed-value tables; failures land in the `_problems` table, one
row per (row, column, check). No Python loop touches rows: a check is one SQL statement over every file.
Row checks are written per file: a column a typed file (Parquet) already stores in its contract type cannot fail
to parse, and its text is just the value cast, so its checks skip the text entirely (the costly part at scale).
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass, field

import duckdb

from spendsense import consent, sql
from spendsense.ingest import templates
from spendsense.ingest.plaid_json import json_field_label
from spendsense.ingest.problems import KEEP_CAP, Problem
from spendsense.ingest.readers import Source, Staging, quote
from spendsense.schema import ACCOUNT_TYPES, ENUMS, FOREIGN_KEYS, PRIMARY_KEYS, TABLES, Column, category_codes

MIN_DATE, MAX_DATE = dt.date(1970, 1, 1), dt.date(2100, 12, 31)
NON_NEGATIVE = {("accounts", "balance_limit"), ("credit_aprs", "apr_percentage"),
                ("mortgage_liabilities", "interest_rate_percentage"),
                ("student_liabilities", "interest_rate_percentage")}
BOUNDS = {("users", "credit_score"): (300, 850)}
CODE_DOMAINS = {("transactions", "pfc_primary"): "pfc", ("transactions", "pfc_detailed"): "pfc"}
MASK_PATTERN = "[0-9]{4}"
OPTIONAL_PARENTS = {"users"}
# the signal step sums amounts as DECIMAL(18,2): every number must cast to that type (as the signal step casts it)
AMOUNT_TYPE = "DECIMAL(18,2)"  # references to these are checked only when the table is given

INTEGER_TYPES = {"TINYINT", "SMALLINT", "INTEGER", "BIGINT", "HUGEINT", "UTINYINT", "USMALLINT", "UINTEGER",
                 "UBIGINT", "UHUGEINT"}
FRACTIONAL_TYPES = {"FLOAT", "DOUBLE", "DECIMAL"}
TIMESTAMP_TYPES = {"TIMESTAMP", "TIMESTAMP_S", "TIMESTAMP_MS", "TIMESTAMP_NS"}
TEXT_TYPES = {"VARCHAR", "ENUM"}
TYPE_WORDS = {"DOUBLE": "a number", "INTEGER": "a whole number", "BOOLEAN": "true or false",
              "DATE": "a valid date (YYYY-MM-DD)", "TIMESTAMP": "a valid timestamp (ISO-8601)"}
ENUM_WORDS = {"currency": "a supported currency code", "pfc": "a personal_finance_category code (taxonomy v1 or v2)"}

PROBLEMS_DDL = """
create table _problems (
    src integer, row bigint, loc varchar, tbl varchar, col varchar, chk varchar, val varchar, extra varchar,
    ref_src integer, ref_row bigint, ref_loc varchar
)
"""


@dataclass(frozen=True)
class PartView:
    """One staged file's rows as a view shaped like its table's union view, and what its columns hold."""

    name: str
    present: frozenset[str]  # contract columns the file has, in a type that can hold the contract type
    native: frozenset[str]  # of those, non-text columns already in the contract type (parsing is the identity)


@dataclass
class Views:
    """The per-table union views and, per table, the views of its staged files."""

    given: set[str] = field(default_factory=set)  # tables with at least one staged file
    parts: dict[str, list[PartView]] = field(default_factory=dict)  # table -> one view per staged file


def consent_latest() -> dt.datetime:
    """The latest occurred_at a consent event may have (naive UTC): now plus the clock-skew allowance."""
    now = dt.datetime.now(dt.UTC).replace(tzinfo=None)
    return now + consent.max_skew().to_pytimedelta()


def _base_type(dtype: str) -> str:
    """DECIMAL(18,3) -> DECIMAL, TIMESTAMP WITH TIME ZONE -> TIMESTAMPTZ."""
    base = dtype.upper().split("(")[0].strip()
    return "TIMESTAMPTZ" if base == "TIMESTAMP WITH TIME ZONE" else base


def parsed_sql(x: str, source_type: str, dtype: str) -> str | None:
    """SQL parsing staged column x (of source_type) into the contract dtype, NULL if unparseable; None if the
    source type can never hold that dtype."""
    base = _base_type(source_type)
    if base in TEXT_TYPES:
        t = f"trim(cast({x} as varchar))"
        return {
            "VARCHAR": f"nullif(cast({x} as varchar), '')",
            "DOUBLE": f"try_cast({t} as double)",
            "INTEGER": f"case when regexp_full_match({t}, '[+-]?[0-9]+') then try_cast({t} as integer) end",
            "BOOLEAN": f"case when lower({t}) in ('true', 't', '1') then true"
                       f" when lower({t}) in ('false', 'f', '0') then false end",
            "DATE": f"case when try_cast({t} as timestamp) = try_cast({t} as date) then try_cast({t} as date) end",
            "TIMESTAMP": f"timezone('UTC', try_cast({t} as timestamptz))",
        }[dtype]
    if dtype == "VARCHAR":
        return f"cast({x} as varchar)"
    numeric = base in INTEGER_TYPES or base in FRACTIONAL_TYPES
    if dtype == "DOUBLE" and numeric:
        return f"cast({x} as double)"
    if dtype == "INTEGER" and base in INTEGER_TYPES:
        return f"try_cast({x} as integer)"
    if dtype == "INTEGER" and base in FRACTIONAL_TYPES:
        return f"case when {x} = trunc({x}) then try_cast({x} as integer) end"
    if dtype == "BOOLEAN" and base == "BOOLEAN":
        return x
    if dtype == "BOOLEAN" and base in INTEGER_TYPES:
        return f"case when {x} = 1 then true when {x} = 0 then false end"
    if dtype == "DATE" and base == "DATE":
        return x
    if dtype == "DATE" and base in TIMESTAMP_TYPES | {"TIMESTAMPTZ"}:
        ts = f"timezone('UTC', {x})" if base == "TIMESTAMPTZ" else f"cast({x} as timestamp)"
        return f"case when {ts} = cast({ts} as date) then cast({ts} as date) end"
    if dtype == "TIMESTAMP" and (base == "DATE" or base in TIMESTAMP_TYPES):
        return f"cast({x} as timestamp)"
    if dtype == "TIMESTAMP" and base == "TIMESTAMPTZ":
        return f"timezone('UTC', {x})"
    return None


def _raw_sql(x: str, source_type: str) -> str:
    """SQL for a staged value as text, NULL when missing or empty."""
    if _base_type(source_type) in TEXT_TYPES:
        return f"nullif(cast({x} as varchar), '')"
    return f"cast({x} as varchar)"


def build_views(con: duckdb.DuckDBPyConnection, staging: Staging, sources: list[Source]) -> tuple[Views, list[Problem]]:
    """Create t_<table> (and t_<table>_<n> per file) for every raw table; report missing, extra, mistyped columns."""
    views, problems, unions = Views(), [], {}
    for table, columns in TABLES.items():
        parts = [s for s in staging.staged if s.table == table]
        selects = []
        for n, part in enumerate(parts):
            name = sources[part.src].name if part.src is not None else None
            contract = {c.name for c in columns}
            if part.fmt != "json":
                problems += [Problem(name, None, c, f"unexpected column: not in the {table} contract "
                                                    f"({', '.join(c.name for c in columns)})", part.fmt)
                             for c in part.columns if c not in contract]
            exprs, present, native = [], set(), set()
            for col in columns:
                source_type = part.columns.get(col.name)
                typed = parsed_sql(quote(col.name), source_type, col.dtype) if source_type else None
                if source_type is None:
                    problems.append(Problem(name, None, col.name, f"missing column: the {table} contract "
                                                                  "requires it", part.fmt))
                elif typed is None:
                    problems.append(Problem(name, None, col.name, f"column has type {source_type}; the contract "
                                                                  f"needs {col.dtype} (or text)", part.fmt))
                if typed is None:
                    exprs.append(f"null::varchar as {quote(col.name)}, null::{col.dtype} as {quote(col.name + '__v')}")
                else:
                    present.add(col.name)
                    if col.dtype != "VARCHAR" and _base_type(source_type) == col.dtype:
                        native.add(col.name)
                    exprs.append(f"{_raw_sql(quote(col.name), source_type)} as {quote(col.name)}, "
                                 f"{typed} as {quote(col.name + '__v')}")
            select = (f"select {part.src_expr} as _src, {part.row_expr} as _row, {part.loc_expr} as _loc, "
                      f"{part.kept_expr} as _kept, " + ", ".join(exprs) + f" from {part.relation}")
            part_view = PartView(templates.view(table, n), frozenset(present), frozenset(native))
            con.execute(f"create view {part_view.name} as {select}")
            views.parts.setdefault(table, []).append(part_view)
            selects.append(select)
        if parts:
            views.given.add(table)
        else:
            selects = ["select null::integer as _src, null::bigint as _row, null::varchar as _loc, "
                       "null::boolean as _kept, "
                       + ", ".join(f"null::varchar as {quote(c.name)}, null::{c.dtype} as {quote(c.name + '__v')}"
                                   for c in columns) + " where false"]
        unions[table] = "\nunion all\n".join(selects)
        if table != "users":
            con.execute(f"create view {templates.view(table)} as " + unions[table])
    users_sql = _users_sql(unions["users"], views, staging)
    con.execute(f"create view {templates.view('users')} as " + users_sql)
    if users_sql != unions["users"]:
        derived = con.execute(f"select count(*) from {templates.view('users')} where _src is null").fetchall()[0][0]
        if derived:
            staging.notes.append(f"{derived} user(s) derived from accounts without a users row (Plaid items): "
                                 "demographics 'unknown', no credit score")
    return views, problems


def _users_sql(given: str, views: Views, staging: Staging) -> str:
    """The users view: the given rows plus one derived row per account owner without a users row (for every
    accounts file when no users file is given, else for the Plaid JSON accounts only)."""
    accounts = [s for s in staging.staged if s.table == "accounts"]
    owners = [part.name for part, staged in zip(views.parts.get("accounts", []), accounts, strict=True)
              if "users" not in views.given or staged.fmt == "json"]
    if not owners:
        return given
    return sql.query("ingest/derived_users.sql").fill(
        given=given, owners="\nunion all\n".join(f"select * from {name}" for name in owners)).text


def create_allowed_values(con: duckdb.DuckDBPyConnection) -> None:
    """Lookup tables of allowed values: one per enum, the PFC taxonomy codes, and valid (type, subtype) pairs."""
    domains = {**ENUMS, "pfc": tuple(sorted(category_codes()))}
    for domain, values in domains.items():
        con.execute(f"create table _enum_{domain} (value varchar primary key)")
        con.execute(f"insert into _enum_{domain} select unnest($values)", {"values": list(values)})
    pairs = [(t, s) for t, subs in ACCOUNT_TYPES.items() for s in subs]
    con.execute("create table _subtypes (type varchar, subtype varchar, primary key (type, subtype))")
    con.execute("insert into _subtypes select unnest($types), unnest($subtypes)",
                {"types": [t for t, _ in pairs], "subtypes": [s for _, s in pairs]})
    con.execute(PROBLEMS_DDL)


def _part_checks_sql(table: str, part: PartView, params: dict) -> str | None:
    """The flagged rows of one file's view (None if none of its columns can fail); adds bound parameters."""
    findings, conditions, joins = [], [], []

    def add(col: Column, chk: str, cond: str, shown: str, extra: str = "null") -> None:
        conditions.append(f"({cond})")  # NULL counts as passed, both in `where` and in `case when`
        findings.append(f"case when {cond} then {{'col': '{col.name}', 'chk': '{chk}', "
                        f"'val': left({shown}, 80), 'extra': cast({extra} as varchar)}} end")

    for i, col in enumerate(TABLES[table]):
        if col.name not in part.present:  # a missing column is reported once, not per row
            continue
        raw, val = f"staged.{quote(col.name)}", f"staged.{quote(col.name + '__v')}"
        native = col.name in part.native  # text is cast(val), NULL exactly when val is, never blank or unparseable
        shown = f"cast({val} as varchar)" if native else raw
        if not col.nullable:  # blank: only spaces, so nothing is left after ltrim (as after trim, at half the cost)
            add(col, "required", f"{val} is null" if native else f"({raw} is null or ltrim({raw}) = '')", shown)
        if col.dtype != "VARCHAR" and not native:
            add(col, "type", f"{raw} is not null and {val} is null", shown)
        if col.dtype == "DOUBLE":
            add(col, "nonfinite", f"not isfinite({val})", shown)
            add(col, "storage_range", f"isfinite({val}) and try_cast({val} as {AMOUNT_TYPE}) is null", shown)
        if (table, col.name) == ("consent_events", "occurred_at"):
            params["consent_latest"] = consent_latest()
            add(col, "future", f"{val} > $consent_latest", shown, extra="cast($consent_latest as varchar)")
        if col.dtype == "DATE":
            params.update(min_date=MIN_DATE, max_date=MAX_DATE)
            add(col, "date_range", f"{val} not between $min_date and $max_date", shown)
        if col.dtype == "TIMESTAMP":
            params.update(min_ts=dt.datetime.combine(MIN_DATE, dt.time()),
                          max_ts=dt.datetime.combine(MAX_DATE, dt.time.max))
            add(col, "date_range", f"{val} not between $min_ts and $max_ts", shown)
        domain = CODE_DOMAINS.get((table, col.name), col.enum)
        if domain == "account_subtype":
            joins.append("left join _enum_account_type e_type on e_type.value = staged.\"type__v\"")
            joins.append("left join _subtypes st on st.type = staged.\"type__v\" and st.subtype = staged.\"subtype__v\"")
            add(col, "subtype", f"{val} is not null and e_type.value is not null and st.subtype is null", shown,
                extra="staged.\"type__v\"")
        elif domain:
            joins.append(f"left join _enum_{domain} e_{i} on e_{i}.value = {val}")
            add(col, f"enum:{domain}", f"{val} is not null and e_{i}.value is null", shown)
        if (table, col.name) in NON_NEGATIVE:
            add(col, "negative", f"{val} < 0", shown)
        if (table, col.name) in BOUNDS:
            params[f"low_{i}"], params[f"high_{i}"] = BOUNDS[(table, col.name)]
            add(col, "bounds", f"{val} not between $low_{i} and $high_{i}", shown,
                extra=f"$low_{i} || '-' || $high_{i}")
        if (table, col.name) == ("accounts", "mask"):
            params["mask_pattern"] = MASK_PATTERN
            add(col, "mask", f"{val} is not null and not regexp_full_match({val}, $mask_pattern)", shown)
    if not conditions:
        return None
    return sql.query("ingest/row_checks_part.sql").fill(view=part.name, findings=",\n        ".join(findings),
                                          joins="\n    ".join(joins), any_failed="\n    or ".join(conditions)).text


def row_checks_sql(table: str, views: Views) -> tuple[str | None, dict]:
    """The row-check query of one table (None if nothing can fail) and its bound parameters."""
    params: dict = {}
    flagged = [text for part in views.parts.get(table, []) if (text := _part_checks_sql(table, part, params))]
    if not flagged:
        return None, params
    return sql.query("ingest/row_checks.sql").fill(flagged="\n    union all\n".join(flagged)).text, params


def check_rows(con: duckdb.DuckDBPyConnection, table: str, views: Views) -> None:
    """Record every row-level problem of one table."""
    text, params = row_checks_sql(table, views)
    if text is None:
        return
    con.execute(f"insert into _problems (src, row, loc, tbl, col, chk, val, extra) "
                f"select src, row, loc, $tbl, col, chk, val, extra from ({text})", {**params, "tbl": table})


def check_duplicates(con: duckdb.DuckDBPyConnection, table: str) -> None:
    """Record every repeated primary key of one table (each copy after the first)."""
    found = sql.query("ingest/duplicates.sql").fill(
        view=templates.view(table),
        key_values=", ".join(f"{templates.column(table, k, parsed=True)} as {templates.column(table, k)}"
                             for k in PRIMARY_KEYS[table]),
        key_not_null=templates.keys(table, parsed=True, sep=" and ", suffix=" is not null"),
        key_columns=templates.keys(table),
        key_columns_qualified=templates.keys(table, prefix="staged."),
    ).text
    con.execute(f"insert into _problems (src, row, loc, tbl, col, chk, val, ref_src, ref_row, ref_loc) "
                f"select src, row, loc, $tbl, $col, 'duplicate', val, ref_src, ref_row, ref_loc from ({found})",
                {"tbl": table, "col": PRIMARY_KEYS[table][0]})


def check_references(con: duckdb.DuckDBPyConnection, views: Views, staging: Staging,
                     sources: list[Source]) -> list[Problem]:
    """Record rows whose foreign key matches nothing; a needed parent table that is absent is one problem."""
    problems = []
    for child, (column, parent, parent_column) in FOREIGN_KEYS.items():
        if child not in views.given or parent in staging.broken_tables:
            continue
        if parent not in views.given:
            if parent not in OPTIONAL_PARENTS:
                files = sorted({sources[s.src].name if s.src is not None else "JSON input"
                                for s in staging.staged if s.table == child})
                problems.append(Problem(", ".join(files), None, column,
                                        f"{child} given without {parent}: every {column} must match a {parent} row"))
            continue
        found = sql.query("ingest/references.sql").fill(
            child=templates.view(child), parent=templates.view(parent),
            child_value=templates.column(child, column, parsed=True),
            parent_value=templates.column(parent, parent_column, parsed=True)).text
        con.execute(f"insert into _problems (src, row, loc, tbl, col, chk, val, extra) "
                    f"select src, row, loc, $tbl, $col, 'reference', val, $parent from ({found})",
                    {"tbl": child, "col": column, "parent": parent})
    return problems


# ------------------------------------------------------------------------------------------------ reporting


def _reason(tbl: str, col: str, chk: str, val: str | None, extra: str | None, ref: str | None) -> str:
    """A plain-language reason for one recorded problem."""
    dtype = next(c.dtype for c in TABLES[tbl] if c.name == col)
    shown = repr(val)
    if chk == "required":
        return f"missing value: {col} is required"
    if chk == "type":
        return f"{shown} is not {TYPE_WORDS[dtype]}"
    if chk == "nonfinite":
        return f"{shown} is not a finite number"
    if chk == "storage_range":
        return f"{shown} does not fit the stored type {AMOUNT_TYPE} (at most 16 digits before the point)"
    if chk == "future":
        return (f"{shown} is in the future (after {extra} UTC, now plus the allowed clock skew of "
                f"{consent.max_skew().total_seconds():g} s): consent events cannot be dated after they are recorded")
    if chk == "date_range":
        return f"{shown} is outside the plausible range {MIN_DATE} to {MAX_DATE}"
    if chk.startswith("enum:"):
        domain = chk.split(":", 1)[1]
        allowed = "" if domain == "pfc" else f" (allowed: {', '.join(ENUMS[domain])})"
        return f"{shown} is not {ENUM_WORDS.get(domain, 'an allowed ' + domain.replace('_', ' '))}{allowed}"
    if chk == "subtype":
        allowed = ", ".join(ACCOUNT_TYPES.get(extra or "", ()))
        return f"{shown} is not a subtype of account type {extra!r} (allowed: {allowed})"
    if chk == "negative":
        return f"{shown} is negative; {col} must be 0 or more"
    if chk == "bounds":
        return f"{shown} is outside {extra}"
    if chk == "mask":
        return f"{shown} is not exactly 4 digits"
    if chk == "duplicate":
        keys = " / ".join(PRIMARY_KEYS[tbl])
        return f"duplicate {tbl} key {keys} = {shown} (first seen at {ref})"
    if chk == "reference":
        return f"{col} {shown} matches no row of {extra}"
    return chk


def recorded_problems(con: duckdb.DuckDBPyConnection, sources: list[Source], limit: int = KEEP_CAP
                      ) -> tuple[int, list[Problem], list[str]]:
    """Total recorded problems, the first `limit` of them as Problems, and a count per file, field and check."""
    total = con.execute("select count(*) from _problems").fetchall()[0][0]
    rows = con.execute(
        "select src, row, loc, tbl, col, chk, val, extra, ref_src, ref_row, ref_loc from _problems"
        " order by src, row, loc, tbl, col, chk limit $limit", {"limit": max(0, limit)}
    ).fetchall()
    problems = []
    for src, row, loc, tbl, col, chk, val, extra, ref_src, ref_row, ref_loc in rows:
        source = sources[src]
        field = json_field_label(tbl, col) if source.fmt == "json" else col
        ref = None
        if ref_src is not None:
            first = sources[ref_src]
            ref_field = json_field_label(tbl, col) if first.fmt == "json" else None
            where = Problem(first.name, ref_loc if first.fmt == "json" else ref_row, ref_field, "", first.fmt)
            ref = f"{first.name}: {where.location()}"
        problems.append(Problem(source.name, loc if source.fmt == "json" else int(row), field,
                                _reason(tbl, col, chk, val, extra, ref), source.fmt))
    summary = [f"{sources[src].name}: {json_field_label(tbl, col) if sources[src].fmt == 'json' else col}: "
               f"{n} x {chk.split(':')[0]}"
               for src, tbl, col, chk, n in con.execute(
                   "select src, tbl, col, chk, count(*) from _problems group by all order by src, tbl, col, chk"
                   " limit 200").fetchall()]
    return total, problems, summary
