"""A real `spendsense run` (papermill, all five notebooks) on a small synthetic dataset, shared by the tests."""

import os
import subprocess
import sys
from pathlib import Path

import pytest

sys.path.insert(0, str(Path(__file__).parent))  # golden_outputs (tests run with --import-mode=importlib)

from spendsense import paths
from spendsense.jupyter_env import project_jupyter_env

SMALL_USERS = 40


def _spendsense(*args: str, env: dict, timeout: float = 900) -> subprocess.CompletedProcess:
    """Run the CLI in a subprocess, as a user or a scheduler would."""
    return subprocess.run([sys.executable, "-m", "spendsense", *args], check=False, env=env, capture_output=True, text=True,
                          timeout=timeout, cwd=paths.PROJECT_ROOT)


@pytest.fixture(scope="session")
def spendsense_cmd():
    """The CLI runner."""
    return _spendsense


@pytest.fixture(scope="session")
def run_env(tmp_path_factory) -> dict:
    """Environment and parameters that keep a test run's outputs in a temporary folder."""
    base = tmp_path_factory.mktemp("pipeline")
    env = {**os.environ, **project_jupyter_env(), "SPENDSENSE_OPSTORE": str(base / "opstore.sqlite")}
    params = ["-p", "n_users", str(SMALL_USERS), "-p", "runs_dir", str(base / "runs"),
              "-p", "data_dir", str(base / "synthetic"), "-p", "replay_sample", "10", "-p", "latency_sample", "5"]
    return {"env": env, "base": base, "params": params, "runs": base / "runs"}


@pytest.fixture(scope="session")
def first_run(run_env) -> Path:
    """The published directory of one complete run."""
    proc = _spendsense("run", "--run-id", "first", *run_env["params"], env=run_env["env"])
    assert proc.returncode == 0, f"spendsense run failed:\n{proc.stdout}\n{proc.stderr}"
    return run_env["runs"] / "first"
