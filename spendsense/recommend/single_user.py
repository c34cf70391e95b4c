"""Old home of the single-user recompute (now spendsense.recompute), kept importable for the dashboard."""

from spendsense.engine_config import EngineConfig, cached_config
from spendsense.recompute import UserRecompute, recompute_user

__all__ = ["EngineConfig", "UserRecompute", "cached_config", "recompute_user"]
