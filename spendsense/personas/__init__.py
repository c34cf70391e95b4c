"""Persona assignment: five personas declared in config/personas.yaml, evaluated per window on signals_wide."""

from spendsense.personas.assign import assign_personas
from spendsense.personas.config import NONE_PERSONA_ID, PersonaConfig, load_persona_config
from spendsense.personas.counterfactual import persona_counterfactuals
from spendsense.personas.phrases import SignalPhrases, load_signal_phrases
from spendsense.personas.store import (
    PERSONA_ASSIGNMENT_COLUMNS,
    PERSONA_COUNTERFACTUAL_COLUMNS,
    read_signals_wide,
    write_persona_assignments,
    write_persona_counterfactuals,
)

__all__ = ["NONE_PERSONA_ID", "PERSONA_ASSIGNMENT_COLUMNS", "PERSONA_COUNTERFACTUAL_COLUMNS", "PersonaConfig",
           "SignalPhrases", "assign_personas", "load_persona_config", "load_signal_phrases", "persona_counterfactuals",
           "read_signals_wide", "write_persona_assignments", "write_persona_counterfactuals"]
