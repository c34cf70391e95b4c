"""Assembling the engine's six output tables from its decisions, one module per table (plus common.py: the shared
Decisions and column helpers). Each builder returns the Arrow table it names."""

from spendsense.recommend.assemble.common import Decisions, Rendered
from spendsense.recommend.assemble.contexts import WindowFacts, context_table
from spendsense.recommend.assemble.guardrail_events import guardrail_event_table
from spendsense.recommend.assemble.recommendations import recommendations_table
from spendsense.recommend.assemble.shortfalls import funnel_table, shortfall_table
from spendsense.recommend.assemble.traces import trace_table

__all__ = ["Decisions", "Rendered", "WindowFacts", "context_table", "funnel_table", "guardrail_event_table",
           "recommendations_table", "shortfall_table", "trace_table"]
