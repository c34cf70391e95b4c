"""Validated configuration: every YAML file is parsed into a strict pydantic model at load."""

from __future__ import annotations

from pathlib import Path
from typing import TypeVar

import yaml
from pydantic import BaseModel, ConfigDict, ValidationError

from spendsense import paths


class StrictModel(BaseModel):
    """Base for every config model: unknown keys are rejected, values are immutable."""

    model_config = ConfigDict(extra="forbid", frozen=True)


class ConfigError(ValueError):
    """A configuration or content file is invalid; the message names the file and the location."""


M = TypeVar("M", bound=BaseModel)


def _location(loc: tuple) -> str:
    """Render a pydantic error location as a dotted YAML path, e.g. items[3].persona_tags."""
    out = ""
    for part in loc:
        out += f"[{part}]" if isinstance(part, int) else (f".{part}" if out else str(part))
    return out or "(top level)"


def read_yaml(path: Path | str) -> object:
    """Parse a YAML file, raising ConfigError that names the file on syntax errors."""
    path = Path(path)
    try:
        with path.open(encoding="utf-8") as fh:
            return yaml.safe_load(fh)
    except FileNotFoundError as exc:
        raise ConfigError(f"{path}: file not found") from exc
    except yaml.YAMLError as exc:
        raise ConfigError(f"{path}: not valid YAML: {exc}") from exc


def validate_config(data: object, model: type[M], source: Path | str) -> M:
    """Validate parsed YAML against a model; every problem is listed with file and key path."""
    try:
        return model.model_validate(data if data is not None else {})
    except ValidationError as exc:
        lines = [f"{source}: invalid configuration ({exc.error_count()} problem(s))"]
        for err in exc.errors():
            lines.append(f"  - {_location(err['loc'])}: {err['msg']}")
        raise ConfigError("\n".join(lines)) from None


def load_config(path: Path | str, model: type[M]) -> M:
    """Read and validate one YAML file into its model."""
    return validate_config(read_yaml(path), model, path)


def config_path(name: str) -> Path:
    """Path of a file in the project's config/ folder."""
    return paths.CONFIG_DIR / name
