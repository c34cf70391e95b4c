"""Behavioral signals over 30- and 180-day windows (subscriptions, savings, credit, income, fees).

compute_signals returns frames (SignalTables); write_signal_tables writes them into the warehouse.
"""

from spendsense.signals.catalog import SIGNAL_NAMES, SIGNALS, TABLE_COLUMNS, SignalSpec
from spendsense.signals.compute import SignalTables, compute_signals
from spendsense.signals.config import SignalConfig, load_signal_config
from spendsense.signals.store import write_signal_tables

__all__ = [
    "SIGNALS", "SIGNAL_NAMES", "TABLE_COLUMNS", "SignalConfig", "SignalSpec", "SignalTables",
    "compute_signals", "load_signal_config", "write_signal_tables",
]
