"""Recommendations: candidate funnel, scores, rationales, guardrails and replayable decision traces.

Public API:
    recommend(inputs, catalog, scoring, guardrails, run_id, created_at, versions) -> RecommendOutputs
    read_inputs(con, consent, history, as_of) -> RecommendInputs;  write_outputs(con, outputs)
    delivered_recommendations(warehouse_path, opstore_path=None, delivered_at=None) -> DataFrame
    recompute_user(warehouse_path, user_id, as_of=None, opstore_path=None, run_id="on-demand", con=None,
                   created_at=None) -> UserRecompute (a dict of tables; .outputs, .signals, .reason)
    explain(warehouse_path, rec_id) -> str;  replay(warehouse_path, rec_id) -> ReplayResult
    replay_sample(warehouse_path, n=50, seed=0) -> DataFrame;  full_trace(con, rec_id) -> dict
"""

from spendsense.recommend.engine import RecommendInputs, RecommendOutputs, recommend
from spendsense.recommend.single_user import UserRecompute, cached_config, recompute_user
from spendsense.recommend.store import (
    create_tables,
    current_versions,
    delivered_recommendations,
    read_inputs,
    write_outputs,
)
from spendsense.recommend.tables import TABLE_COLUMNS
from spendsense.recommend.traces import (
    ReplayResult,
    UnknownRecommendation,
    explain,
    explain_text,
    full_trace,
    full_traces,
    replay,
    replay_sample,
    replay_trace,
)

__all__ = [
    "TABLE_COLUMNS",
    "RecommendInputs",
    "RecommendOutputs",
    "ReplayResult",
    "UnknownRecommendation",
    "UserRecompute",
    "cached_config",
    "create_tables",
    "current_versions",
    "delivered_recommendations",
    "explain",
    "explain_text",
    "full_trace",
    "full_traces",
    "read_inputs",
    "recommend",
    "recompute_user",
    "replay",
    "replay_sample",
    "replay_trace",
    "write_outputs",
]
