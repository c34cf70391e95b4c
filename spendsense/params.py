"""Run parameters: config/run.yaml validated, with overrides from a file or `-p key value` pairs."""

from __future__ import annotations

import datetime as dt
from pathlib import Path
from typing import Annotated, Literal

import yaml
from pydantic import Field, field_validator

from spendsense import paths
from spendsense.config import StrictModel, load_config, read_yaml, validate_config


class RunParams(StrictModel):
    """Everything one pipeline run depends on besides config/ and content/."""

    seed: Annotated[int, Field(ge=0, le=2**32 - 1)] = 42
    n_users: Annotated[int, Field(ge=1, le=10_000_000)] = 100
    as_of: Annotated[dt.date, Field(ge=dt.date(1971, 1, 1), le=dt.date(2100, 12, 31))] = dt.date(2026, 10, 31)
    source: Annotated[str, Field(min_length=1)] = "synthetic"
    data_dir: Annotated[str, Field(min_length=1)] = "data/synthetic"
    runs_dir: Annotated[str, Field(min_length=1)] = "reports/runs"
    windows: Annotated[tuple[Annotated[int, Field(ge=1, le=3650)], ...], Field(min_length=1)] = (30, 180)
    replay_sample: Annotated[int, Field(ge=0)] = 10
    latency_sample: Annotated[int, Field(ge=0)] = 0
    raw_store: str | None = None  # None: a synthetic dataset's own store, else $SPENDSENSE_RAW_STORE or data/raw
    batch: Annotated[int, Field(ge=1)] | None = None  # raw-store batch the run reads; None: the latest
    engine: Literal["duckdb", "spark"] = "duckdb"
    spark_master: str = ""  # "" = local[*] unless SPARK_CONF_DIR / spark-submit configures a master

    @field_validator("windows")
    @classmethod
    def _distinct_windows(cls, windows: tuple[int, ...]) -> tuple[int, ...]:
        if len(set(windows)) != len(windows):
            raise ValueError(f"windows must be distinct, got {list(windows)}")
        return windows

    @field_validator("source")
    @classmethod
    def _source_exists(cls, source: str) -> str:
        if source != "synthetic":
            path = Path(source) if Path(source).is_absolute() else paths.PROJECT_ROOT / source
            if not path.exists():
                raise ValueError(f"source must be 'synthetic' or an existing path; {path} does not exist")
        return source

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
        try:
            merged[key] = yaml.safe_load(raw)
        except (yaml.YAMLError, ValueError):  # e.g. 2026-02-30: YAML's date parser raises; let validation say it
            merged[key] = raw
        source = f"{source} + -p {key}"
    return validate_config(merged, RunParams, source)


def default_run_params() -> RunParams:
    """The parameters `make run` uses."""
    return load_config(paths.CONFIG_DIR / "run.yaml", RunParams)
