"""Run parameters: config/run.yaml validated, with overrides from a file or `-p key value` pairs."""

from __future__ import annotations

import datetime as dt
from pathlib import Path

import yaml

from spendsense import paths
from spendsense.config import StrictModel, load_config, read_yaml, validate_config


class RunParams(StrictModel):
    """Everything one pipeline run depends on besides config/ and content/."""

    seed: int = 42
    n_users: int = 100
    as_of: dt.date = dt.date(2026, 10, 31)
    source: str = "synthetic"
    data_dir: str = "data/synthetic"
    runs_dir: str = "reports/runs"
    windows: tuple[int, ...] = (30, 180)
    replay_sample: int = 50
    latency_sample: int = 20

    def resolve(self, path: str) -> Path:
        """A path parameter made absolute against the project root."""
        p = Path(path)
        return p if p.is_absolute() else paths.PROJECT_ROOT / p

    def dataset_dir(self) -> Path:
        """Folder of the input dataset: the synthetic cache for this seed/size/date, or the given source."""
        if self.source == "synthetic":
            return self.resolve(self.data_dir) / f"seed{self.seed}_n{self.n_users}_{self.as_of.isoformat()}"
        return self.resolve(self.source)


def load_run_params(params_file: Path | str | None = None, overrides: list[tuple[str, str]] = ()) -> RunParams:
    """Defaults from config/run.yaml, then a parameters file, then `-p key value` overrides (YAML-parsed)."""
    default_path = paths.CONFIG_DIR / "run.yaml"
    merged: dict = dict(read_yaml(default_path) or {})
    source = str(default_path)
    if params_file:
        extra = read_yaml(params_file) or {}
        if not isinstance(extra, dict):
            validate_config(extra, RunParams, params_file)  # not a mapping: raises ConfigError naming the file
        merged.update(extra)
        source = str(params_file)
    for key, raw in overrides:
        merged[key] = yaml.safe_load(raw)
        source = f"{source} + -p {key}"
    return validate_config(merged, RunParams, source)


def default_run_params() -> RunParams:
    """The parameters `make run` uses."""
    return load_config(paths.CONFIG_DIR / "run.yaml", RunParams)
