"""Compute every behavioral signal for all consenting users at once: a few DuckDB queries, no per-user loop."""

from __future__ import annotations

import warnings
from collections.abc import Iterable, Iterator
from contextlib import contextmanager
from datetime import date
from pathlib import Path

import duckdb
import numpy as np
import pandas as pd
import pyarrow as pa
import pyarrow.compute as pc
from tqdm.auto import tqdm

from spendsense import sql
from spendsense.consent import by_user
from spendsense.schema import STORED_ARROW_TYPES
from spendsense.signals.catalog import CATEGORICAL_SIGNALS, SIGNAL_NAMES, TABLE_COLUMNS, Columns
from spendsense.signals.config import SignalConfig

SQL_DIR = Path(__file__).resolve().parent
FAMILY_QUERIES = ("spending", "subscriptions", "savings", "credit", "income", "fees")
STAGING = ("parameters", "staging")  # the files creating the staging layer, in order (docs/signals.md, "Staging")
Table = pa.Table | pd.DataFrame


class SignalTables:
    """The signal step's outputs (docs/schema.md, derived tables): typed Arrow tables, read as DataFrames."""

    def __init__(self, signals: Table | None, signals_wide: Table, credit_cards: Table, recurring_streams: Table,
                 payroll_deposits: Table, skipped_users: Table):
        """signals=None: the long form is derived from signals_wide on first use (the warehouse keeps it as a
        view, so the batch never builds it)."""
        self._tables = {"signals": signals, "signals_wide": signals_wide, "credit_cards": credit_cards,
                        "recurring_streams": recurring_streams, "payroll_deposits": payroll_deposits,
                        "skipped_users": skipped_users}
        self._frames: dict[str, pd.DataFrame] = {}

    def frame(self, name: str) -> pd.DataFrame:
        """One table as a DataFrame (converted from Arrow once, on first use)."""
        if name not in self._frames:
            table = self.source(name)
            self._frames[name] = table if isinstance(table, pd.DataFrame) else to_frame(table)
        return self._frames[name]

    def source(self, name: str) -> Table:
        """One table as given: an Arrow table (as computed) or a DataFrame."""
        if self._tables[name] is None and name == "signals":
            wide = self._tables["signals_wide"]
            wide = wide if isinstance(wide, pa.Table) else pa.Table.from_pandas(wide, preserve_index=False)
            self._tables[name] = long_signals(wide)
        return self._tables[name]

    def frames(self) -> dict[str, pd.DataFrame]:
        """The tables by warehouse table name."""
        return {name: self.frame(name) for name in self._tables}

    signals = property(lambda self: self.frame("signals"), doc="Long form: user_id, window_days, signal, value.")
    signals_wide = property(lambda self: self.frame("signals_wide"), doc="One row per user and window.")
    credit_cards = property(lambda self: self.frame("credit_cards"), doc="One row per card, user and window.")
    recurring_streams = property(lambda self: self.frame("recurring_streams"), doc="Recurring streams.")
    payroll_deposits = property(lambda self: self.frame("payroll_deposits"), doc="Payroll deposits.")
    skipped_users = property(lambda self: self.frame("skipped_users"), doc="Users not processed, with why.")


def sql_files() -> tuple[Path, ...]:
    """Every .sql file of the signal step."""
    return tuple(sorted(SQL_DIR.glob("*.sql")))


def statements(name: str) -> tuple[sql.Query, ...]:
    """The queries of one of the signal step's .sql files (e.g. 'subscriptions'), in file order."""
    return tuple(sql.queries(f"signals/{name}.sql").values())


def sql_parameters(as_of: date, cfg: SignalConfig, windows: tuple[int, ...],
                   user_ids: list[str] | None) -> dict[str, object]:
    """Every named parameter the signal queries may bind, from the run date, config and scope."""
    f = cfg.frequency
    return {
        "as_of": as_of,
        "windows": list(windows),
        "user_ids": user_ids,
        "min_lookback_days": cfg.cadence_min_lookback_days,
        "max_lookback_days": max(max(windows), cfg.cadence_min_lookback_days),
        "spending_excluded_primary": list(cfg.spending.excluded_primary),
        "spending_excluded_detailed": list(cfg.spending.excluded_detailed),
        "sub_excluded_primary": list(cfg.subscriptions.excluded_primary),
        "sub_excluded_detailed": list(cfg.subscriptions.excluded_detailed),
        "min_occurrences": cfg.subscriptions.min_occurrences,
        "amount_tolerance_fraction": cfg.subscriptions.amount_tolerance_fraction,
        "amount_tolerance_min": cfg.subscriptions.amount_tolerance_min,
        "subscription_frequencies": list(cfg.subscriptions.subscription_frequencies),
        "weekly_min": f.weekly.min_days, "weekly_max": f.weekly.max_days,
        "semi_monthly_min": f.semi_monthly.min_days, "semi_monthly_max": f.semi_monthly.max_days,
        "semi_monthly_min_concentration": f.semi_monthly_min_concentration,
        "biweekly_min": f.biweekly.min_days, "biweekly_max": f.biweekly.max_days,
        "monthly_min": f.monthly.min_days, "monthly_max": f.monthly.max_days,
        "annually_min": f.annually.min_days, "annually_max": f.annually.max_days,
        "savings_subtypes": list(cfg.savings.savings_like_subtypes),
        "util_flag_30": cfg.credit.utilization_flag_30,
        "util_flag_50": cfg.credit.utilization_flag_50,
        "util_flag_80": cfg.credit.utilization_flag_80,
        "minimum_payment_tolerance": cfg.credit.minimum_payment_tolerance,
        "payment_categories": list(cfg.credit.payment_categories),
        "interest_categories": list(cfg.credit.interest_categories),
        "payroll_categories": list(cfg.income.payroll_categories),
        "payroll_name_pattern": cfg.income.payroll_name_pattern,
        "fee_categories": list(cfg.fees.fee_categories),
    }


def _bound(query: sql.Query, values: dict[str, object]) -> tuple[str, dict]:
    """A query's text and the values of the parameters it uses (a missing one is an error naming it)."""
    return query.bind(**{k: values[k] for k in query.params if k in values})


def stage(con: duckdb.DuckDBPyConnection, values: dict[str, object]) -> None:
    """Create the staging layer on con: stg_parameters from the run's values, then the staging views."""
    for name in STAGING:
        for query in statements(name):
            con.execute(*_bound(query, values))


def run_query(con: duckdb.DuckDBPyConnection, name: str, values: dict[str, object]) -> pa.Table:
    """Run one .sql file with the parameters it uses bound by name; the result as an Arrow table."""
    result = con.execute(*_bound(sql.query(f"signals/{name}.sql"), values))
    with warnings.catch_warnings():
        # DuckDB warns that a DB-API result copies its rows into Arrow; con.sql(...) would not copy but plans the
        # query twice (bind, then run), which costs more than the copy, and most of a one-user call
        warnings.simplefilter("ignore", UserWarning)
        return result.to_arrow_table()


@contextmanager
def registered(con: duckdb.DuckDBPyConnection, **tables: object) -> Iterator[None]:
    """Register frames/Arrow tables as views for the duration of a block."""
    try:
        for view, table in tables.items():
            con.register(view, table)
        yield
    finally:
        for view in tables:
            con.unregister(view)


def typed_table(table: pa.Table, columns: Columns, what: str) -> pa.Table:
    """A query result with its declared columns, in order, cast to their declared types (docs/schema.md)."""
    names = [c for c, _ in columns]
    if sorted(table.column_names) != sorted(names):
        raise ValueError(f"{what}: columns {table.column_names} do not match the declared columns {names}")
    target = pa.schema([(c, STORED_ARROW_TYPES[t]) for c, t in columns])
    return table.select(names).cast(target)


def to_frame(table: pa.Table) -> pd.DataFrame:
    """An Arrow table as a DataFrame, list columns Arrow-backed."""
    # one numpy array per row of a list column would cost seconds at 1M streams
    return table.to_pandas(date_as_object=False,
                           types_mapper=lambda t: pd.ArrowDtype(t) if pa.types.is_list(t) else None)


def consent_table(consent: pd.DataFrame) -> pa.Table:
    """The consent status (user_id, status[, occurred_at]; events are reduced to one row per user) as Arrow."""
    missing = {"user_id", "status"} - set(consent.columns)
    if missing:
        raise ValueError(f"consent frame: missing column(s) {', '.join(sorted(missing))}")
    if consent["user_id"].isna().any():
        raise ValueError(f"consent frame: row {int(consent['user_id'].isna().to_numpy().argmax())}: user_id is empty")
    consent = by_user(consent)  # one row per user, by the one status rule
    occurred = (pd.to_datetime(consent["occurred_at"]) if "occurred_at" in consent.columns
                else pd.Series(pd.NaT, index=consent.index, dtype="datetime64[us]"))
    return pa.table({
        "user_id": pa.array(consent["user_id"].astype(str).tolist(), pa.string()),
        "status": pa.array([None if pd.isna(s) else str(s) for s in consent["status"].tolist()], pa.string()),
        "occurred_at": pa.array(occurred.dt.tz_localize(None) if occurred.dt.tz is not None else occurred,
                                pa.timestamp("us")),
    })


def long_signals(wide: pa.Table) -> pa.Table:
    """The long form (user_id, window_days, signal, value, value_text) of signals_wide, catalogue order."""
    n, k = wide.num_rows, len(SIGNAL_NAMES)
    row = pa.array(np.repeat(np.arange(n, dtype=np.int64), k))
    which = pa.array(np.tile(np.arange(k, dtype=np.int32), n))
    values = np.full((n, k), np.nan)
    text = pa.nulls(n * k, pa.string())
    for j, name in enumerate(SIGNAL_NAMES):
        column = wide.column(name)
        if name in CATEGORICAL_SIGNALS:
            text = pc.if_else(pc.equal(which, j), column.cast(pa.string()).take(row), text)
        else:
            values[:, j] = column.cast(pa.float64()).to_numpy(zero_copy_only=False)
    return pa.table({
        "user_id": wide.column("user_id").cast(pa.string()).take(row),
        "window_days": pa.array(np.repeat(wide.column("window_days").cast(pa.int32()).to_numpy(), k)),
        "signal": pa.array(SIGNAL_NAMES, pa.string()).take(which),
        "value": pa.array(values.ravel(), from_pandas=True),
        "value_text": text,
    })


def _windows(windows: Iterable[int]) -> tuple[int, ...]:
    """Validated window lengths in days."""
    out = tuple(int(w) for w in windows)
    if not out or any(w <= 0 for w in out) or len(set(out)) != len(out):
        raise ValueError(f"windows must be distinct positive day counts, got {list(windows)}")
    return out


def compute_signals(con: duckdb.DuckDBPyConnection, as_of: date, consent: pd.DataFrame, cfg: SignalConfig,
                    windows: Iterable[int] = (30, 180), user_ids: Iterable[str] | None = None,
                    progress: bool = False) -> SignalTables:
    """Every signal for every consenting user (or the given subset) and window, plus evidence tables."""
    windows = _windows(windows)
    ids = None if user_ids is None else sorted({str(u) for u in user_ids})
    values = sql_parameters(as_of, cfg, windows, ids)
    if ids is not None and "user_id" in consent.columns:
        consent = consent[consent["user_id"].isin(ids)]
    steps = tqdm(total=len(FAMILY_QUERIES) + 3, desc="signals", disable=not progress)

    results: dict[str, pa.Table] = {}
    with registered(con, signal_consent=consent_table(consent)):
        stage(con, values)
        skipped = run_query(con, "scope", values)
        steps.update()
        for name in FAMILY_QUERIES:
            results[name] = run_query(con, name, values)
            steps.update()
        with registered(con, signal_payroll_deposits=results["income"]):
            income = run_query(con, "income_signals", values)
        steps.update()
        with registered(con, signal_spending=results["spending"], signal_recurring_streams=results["subscriptions"],
                        signal_savings=results["savings"], signal_credit_cards=results["credit"],
                        signal_income=income, signal_fees=results["fees"]):
            wide_table = run_query(con, "signals_wide", values)
        steps.update()
    steps.close()

    wide = typed_table(wide_table, TABLE_COLUMNS["signals_wide"], "signals_wide")
    return SignalTables(
        signals=None,
        signals_wide=wide,
        credit_cards=typed_table(results["credit"], TABLE_COLUMNS["credit_cards"], "credit_cards"),
        recurring_streams=typed_table(results["subscriptions"], TABLE_COLUMNS["recurring_streams"],
                                      "recurring_streams"),
        payroll_deposits=typed_table(results["income"], TABLE_COLUMNS["payroll_deposits"], "payroll_deposits"),
        skipped_users=typed_table(skipped.rename_columns(["user_id", "reason"]), TABLE_COLUMNS["skipped_users"],
                                  "skipped_users"),
    )
