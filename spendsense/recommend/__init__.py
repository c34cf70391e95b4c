"""Recommendations: candidate funnel, scores, rationales, guardrails and replayable decision traces.

Public API:
    recommend(inputs, catalog, scoring, guardrails, run_id, created_at, versions) -> RecommendOutputs
    read_inputs(con, consent, history, as_of) -> RecommendInputs;  write_outputs(con, outputs)
    delivered_recommendations(warehouse_path, opstore_path=None, delivered_at=None) -> DataFrame
    delivered_recommendation_chunks(...) -> Iterator[DataFrame] (the same, a chunk of users at a time)
    replay(warehouse_path, rec_id, catalog, guardrails) -> ReplayResult (config passed in by the caller)
    explain(warehouse_path, rec_id) -> str;  full_trace(con, rec_id) -> dict
    replay_sample(warehouse_path, catalog, guardrails, n=50, seed=0) -> DataFrame

The single-user recompute lives with the orchestration (spendsense.recompute).
"""

from spendsense.recommend.engine import RecommendInputs, RecommendOutputs, recommend
from spendsense.recommend.store import (
    create_tables,
    delivered_recommendation_chunks,
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
    "create_tables",
    "delivered_recommendation_chunks",
    "delivered_recommendations",
    "explain",
    "explain_text",
    "full_trace",
    "full_traces",
    "read_inputs",
    "recommend",
    "replay",
    "replay_sample",
    "replay_trace",
    "write_outputs",
]

