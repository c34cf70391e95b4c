"""Plaid JSON responses (/accounts/get, /transactions/get or /sync, /liabilities/get) staged as contract tables:
read in chunks by DuckDB, flattened to the contract's columns, each response's user assigned, parts merged."""

from __future__ import annotations

from collections.abc import Iterable

import duckdb

from spendsense.ingest.problems import Problem
from spendsense.ingest.readers import Source, Staged, Staging, duckdb_message, quote
from spendsense.schema import TABLES

JSON_CHUNK = 500  # JSON files read per DuckDB call
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
        "next_cursor": "VARCHAR",
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
    Transactions listed in a sync response's `removed` are not loaded; they stay listed in json_removed (the raw
    store tombstones them), and each sync response's next_cursor is kept per user in json_sync_cursors.
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
    _sync_cursors(con)
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


def _sync_cursors(con: duckdb.DuckDBPyConnection) -> None:
    """json_sync_cursors: each user's (item's) next_cursor from its last /transactions/sync response, in file order."""
    con.execute("create table json_sync_cursors as select u.user_id, last(d.next_cursor order by d._src) as next_cursor"
                " from json_docs d join json_doc_users u using (_src)"
                " where nullif(trim(d.next_cursor), '') is not null group by u.user_id")


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
            notes.append(f"{n_removed} transaction(s) listed as removed by /transactions/sync: not loaded "
                         "(the raw store records them as removed)")
        if n_merged:
            notes.append(f"{n_merged} {table} record(s) appeared in more than one JSON file; "
                         "the copy from the later file was kept")
        con.execute(f"drop table json_{table}_all")
    return notes
