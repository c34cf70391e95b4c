"""On-demand recompute for one user: signals -> persona -> recommendations, from the published warehouse.

Orchestration for the operator dashboard (beside spendsense.pipeline's batch steps). Reads only that user's rows
(bound parameter) from a read-only warehouse into a small in-memory database, computes the signals and persona
there, and runs the same engine as the batch. Consent is read fresh from the operational store first; a user
without granted consent gets nothing (with the reason). The configuration is spendsense.engine_config's (loaded
once per process, reloaded only when a file under config/ or content/ changes) unless one is passed in.
"""

from __future__ import annotations

import datetime as dt
import threading
from pathlib import Path

import duckdb
import pandas as pd

from spendsense import paths, sql
from spendsense.engine_config import EngineConfig, cached_config
from spendsense.ingest.rawstore import run_batch
from spendsense.recommend.engine import recommend
from spendsense.recommend.inputs import RecommendInputs, naive_utc
from spendsense.recommend.outputs import RecommendOutputs, empty_outputs

ROWS_SQL = "recompute_rows.sql"
OPSTORE_SQL = "recompute_opstore.sql"


class UserRecompute(dict):
    """The single-user result: a dict of tables for display (status, recommendations, shortfalls, signals_wide,
    persona_assignments, credit_cards, recurring_streams, guardrail_events), plus attributes `outputs`
    (RecommendOutputs), `signals` (SignalTables or None) and `reason` (why nothing was computed, or None)."""

    def __init__(self, outputs: RecommendOutputs, signals=None, personas: pd.DataFrame | None = None,
                 reason: str | None = None):
        status = reason or (f"{len(outputs.recommendations)} recommendation(s) recomputed (not published)")
        super().__init__(
            status=status,
            recommendations=outputs.recommendations,
            shortfalls=outputs.shortfalls,
            persona_assignments=personas if personas is not None else pd.DataFrame(),
            signals_wide=signals.signals_wide if signals is not None else pd.DataFrame(),
            credit_cards=signals.credit_cards if signals is not None else pd.DataFrame(),
            recurring_streams=signals.recurring_streams if signals is not None else pd.DataFrame(),
            guardrail_events=outputs.guardrail_events,
        )
        self.outputs = outputs
        self.signals = signals
        self.reason = reason


# ----------------------------------------------------------------------------------------------- reads


def _opstore_reads(opstore_path: Path, user_id: str, since: pd.Timestamp) -> tuple[pd.DataFrame, pd.DataFrame]:
    """The user's latest consent event and recent deliveries, read with the opstore's per-user indexes."""
    from spendsense import opstore

    con = opstore.connect(opstore_path)
    try:
        consent = opstore.consent_status(con, user_id=user_id)
        text, params = sql.query(OPSTORE_SQL, "deliveries").bind(user_id=user_id, since=opstore.utc_text(since))
        history = opstore.frame(con, text, params, times=("delivered_at",))
    finally:
        con.close()
    return consent, history


_MEM: duckdb.DuckDBPyConnection | None = None
_MEM_LOCK = threading.Lock()


def _scratch() -> duckdb.DuckDBPyConnection:
    """A process-wide in-memory DuckDB for one user's rows (single-threaded: the queries are tiny, and opening
    a database costs more than running them)."""
    global _MEM
    if _MEM is None:
        _MEM = duckdb.connect()
        _MEM.execute("set threads = 1")
    return _MEM


def _load_user_rows(mem: duckdb.DuckDBPyConnection, con: duckdb.DuckDBPyConnection, user_id: str) -> list[str]:
    """Register the user's raw rows in `mem` as views named like the warehouse tables; returns the view names."""
    names = []
    for table, query in sql.queries(ROWS_SQL).items():
        text, params = query.bind(user_id=user_id)
        mem.register(table, con.sql(text, params=params).to_arrow_table())
        names.append(table)
    return names


def _as_date(as_of: dt.date | str | None) -> dt.date:
    """as_of as a date (None: the run parameters' as_of)."""
    if as_of is None:
        from spendsense.params import default_run_params

        as_of = default_run_params().as_of
    return as_of if isinstance(as_of, dt.date) else dt.date.fromisoformat(str(as_of)[:10])


def recompute_user(warehouse_path: str | Path, user_id: str, as_of: dt.date | str | None = None,
                   opstore_path: str | Path | None = None, run_id: str = "on-demand",
                   con: duckdb.DuckDBPyConnection | None = None,
                   created_at: dt.datetime | None = None, config: EngineConfig | None = None) -> UserRecompute:
    """Recompute one user's signals, persona and recommendations now (for display; nothing is written).

    as_of defaults to the run parameters' as_of; `con` may be an open (read-only) connection to the warehouse;
    `config` defaults to the process's cached EngineConfig. Returns nothing but the reason when the user's
    consent is not granted.
    """
    from spendsense.personas import assign_personas, persona_counterfactuals
    from spendsense.signals import compute_signals

    cfg = config if config is not None else cached_config()
    as_of = _as_date(as_of)
    created = naive_utc(created_at if created_at is not None else dt.datetime.now(dt.UTC))
    since = created - pd.Timedelta(days=cfg.scoring.freshness.full_after_days)
    opstore_path = paths.opstore_location(opstore_path)
    consent, history = _opstore_reads(opstore_path, str(user_id), since)
    if not len(consent) or consent["status"].iat[0] != "granted":
        why = ("no consent on record" if not len(consent) else
               f"consent {consent['status'].iat[0]} at {consent['occurred_at'].iat[0]}")
        return UserRecompute(empty_outputs(), reason=f"refused: {why}; nothing is computed for user {user_id}")

    own = con is None
    # a caller's connection is used through its own cursor, so an open result of the caller is never disturbed
    wcon = duckdb.connect(str(warehouse_path), read_only=True) if own else con.cursor()
    with _MEM_LOCK:
        mem = _scratch()
        try:
            views = _load_user_rows(mem, wcon, str(user_id))
            raw_batch = run_batch(wcon)
        finally:
            wcon.close()
        try:
            users = mem.sql("select user_id, credit_score from users").to_arrow_table().to_pandas()
            if not len(users):
                return UserRecompute(empty_outputs(), reason=f"refused: unknown user {user_id!r} in {warehouse_path}")
            signals = compute_signals(mem, as_of, consent, cfg.signal_config, user_ids=[str(user_id)])
            accounts = mem.sql("select user_id, subtype from accounts").to_arrow_table().to_pandas()
        finally:
            for view in views:
                mem.unregister(view)
    personas = assign_personas(signals.signals_wide, cfg.persona_config)
    counterfactuals = persona_counterfactuals(signals.signals_wide, cfg.persona_config, cfg.signal_phrases)
    inputs = RecommendInputs(signals.signals_wide, signals.credit_cards, signals.recurring_streams, personas,
                             users, accounts, consent, history, as_of, counterfactuals)
    outputs = recommend(inputs, cfg.catalog, cfg.scoring, cfg.guardrails, run_id, created,
                        {**cfg.versions, "raw_batch": raw_batch})
    return UserRecompute(outputs, signals, personas)


def single_user_latencies(con: duckdb.DuckDBPyConnection, warehouse: str | Path, opstore: str | Path,
                          as_of: dt.date, user_ids: list[str], config: EngineConfig | None = None) -> list[float]:
    """Milliseconds of the on-demand single-user recompute for each user, timed one by one on purpose."""
    import time

    timings = []
    for user_id in user_ids:
        t0 = time.perf_counter()
        recompute_user(warehouse, user_id, as_of=as_of, opstore_path=opstore, con=con, config=config)
        timings.append(1000 * (time.perf_counter() - t0))
    return timings
