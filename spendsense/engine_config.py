"""The engine's configuration, loaded and validated once, and the versions recorded with every run.

Orchestration (spendsense.pipeline, spendsense.recompute, the commands) loads an EngineConfig here and passes its
parts to the steps; no step loads YAML or asks git itself. `load_engine_config()` reads every file now (one run);
`cached_config()` keeps one per process and reloads it only when a file under config/ or content/ changes (for the
long-lived dashboard). The versions (config hashes, content version, package version and git commit) are taken once
per load, never per user or per recommendation.
"""

from __future__ import annotations

import functools
import hashlib
import subprocess
from dataclasses import dataclass
from importlib import metadata
from pathlib import Path

from spendsense import paths


@dataclass(frozen=True)
class EngineConfig:
    """Everything the engine is configured with, loaded and validated once."""

    catalog: object
    scoring: object
    guardrails: object
    signal_config: object
    persona_config: object
    versions: dict
    stamp: tuple
    signal_phrases: object = None  # content/signal_phrases.yaml, for the counterfactuals


# ---------------------------------------------------------------------------------------------- versions


def config_hashes(config_dir: Path | None = None) -> dict[str, str]:
    """sha256 (first 16 hex digits) of each config/*.yaml file's bytes, by file name."""
    config_dir = Path(config_dir) if config_dir is not None else paths.CONFIG_DIR
    return {p.name: hashlib.sha256(p.read_bytes()).hexdigest()[:16] for p in sorted(config_dir.glob("*.yaml"))}


def config_version(hashes: dict[str, str]) -> str:
    """One hash over every config file (names and contents)."""
    h = hashlib.sha256()
    for name, digest in sorted(hashes.items()):
        h.update(f"{name}\0{digest}\0".encode())
    return h.hexdigest()[:16]


@functools.cache
def code_version() -> dict[str, str | None]:
    """The package version and, when the project is a git checkout, the commit (and whether files changed)."""
    try:
        version = metadata.version("spendsense")
    except metadata.PackageNotFoundError:
        version = None
    commit = dirty = None
    try:
        commit = subprocess.run(["git", "rev-parse", "HEAD"], cwd=paths.PROJECT_ROOT, capture_output=True,
                                text=True, timeout=5, check=True).stdout.strip() or None
        status = subprocess.run(["git", "status", "--porcelain", "--untracked-files=no"], cwd=paths.PROJECT_ROOT,
                                capture_output=True, text=True, timeout=5, check=True).stdout
        dirty = bool(status.strip())
    except (OSError, subprocess.SubprocessError):
        pass
    return {"spendsense": version, "git_commit": commit, "git_dirty": dirty}


def current_versions(catalog) -> dict:
    """Versions recorded in every decision context: config (one hash + per file), content, code."""
    hashes = config_hashes()
    return {"config": config_version(hashes), "config_files": hashes, "content": catalog.version,
            "code": code_version()}


# ------------------------------------------------------------------------------------------------ loading


def config_stamp() -> tuple:
    """(path, mtime, size) of every YAML file under config/ and content/: what a cached config depends on."""
    files = sorted([*paths.CONFIG_DIR.glob("*.yaml"), *paths.CONTENT_DIR.glob("*.yaml")])
    return tuple((str(p), p.stat().st_mtime_ns, p.stat().st_size) for p in files)


def load_engine_config(stamp: tuple | None = None) -> EngineConfig:
    """Load the catalog, scoring, guardrails, signal and persona configs and phrases, and record the versions."""
    from spendsense.content import load_catalog, load_guardrails, load_scoring
    from spendsense.personas import load_persona_config, load_signal_phrases
    from spendsense.signals import load_signal_config

    guardrails = load_guardrails()
    catalog = load_catalog(guardrails=guardrails)
    return EngineConfig(catalog, load_scoring(), guardrails, load_signal_config(), load_persona_config(),
                        current_versions(catalog), stamp if stamp is not None else config_stamp(),
                        load_signal_phrases())


_CONFIG: EngineConfig | None = None


def cached_config() -> EngineConfig:
    """The process's EngineConfig, reloaded when a file under config/ or content/ changes."""
    global _CONFIG
    stamp = config_stamp()
    if _CONFIG is None or _CONFIG.stamp != stamp:
        _CONFIG = load_engine_config(stamp)
    return _CONFIG
