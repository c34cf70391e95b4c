"""Persona assignment: five personas declared in config/personas.yaml, evaluated per window on signals_wide."""

from spendsense.personas.assign import assign_personas
from spendsense.personas.config import NONE_PERSONA_ID, PersonaConfig, load_persona_config
from spendsense.personas.store import PERSONA_ASSIGNMENT_COLUMNS, write_persona_assignments

__all__ = ["NONE_PERSONA_ID", "PERSONA_ASSIGNMENT_COLUMNS", "PersonaConfig", "assign_personas",
           "load_persona_config", "write_persona_assignments"]
