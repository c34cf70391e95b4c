"""Notebooks 01-05 validated the Jupyter way: nbval runs the committed files, cell by cell, in the project's
kernel, as someone opening them in JupyterLab would (kernel started in notebooks/, no papermill).

`--nbval-lax`: a cell passes when it runs without error (the committed notebooks carry no outputs to compare).
The papermill runs of the same notebooks are in tests/pipeline; this run only swaps the `parameters` cell's
values for a tiny dataset and temporary folders (nbval_parameters.py, papermill's way of injecting them).
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import nbformat
import pytest

from spendsense import paths
from spendsense.jupyter_env import project_jupyter_env

pytestmark = pytest.mark.slow

STEPS = ["01_generate_data", "02_compute_signals", "03_assign_personas", "04_recommend", "05_evaluate"]
NBVAL_USERS = 20


def test_the_committed_notebooks_run_under_nbval(tmp_path):
    run_dir = tmp_path / "run"
    parameters = {
        "run_id": "nbval", "run_dir": str(run_dir), "n_users": NBVAL_USERS,
        "dataset_dir": str(tmp_path / "synthetic" / f"seed42_n{NBVAL_USERS}"),
        "warehouse": str(run_dir / "warehouse.duckdb"), "opstore": str(tmp_path / "opstore.sqlite"),
        "replay_sample": 5, "latency_sample": 3,
    }
    env = {**os.environ, **project_jupyter_env(), "SPENDSENSE_OPSTORE": parameters["opstore"],
           "PYTHONPATH": os.pathsep.join(p for p in (str(Path(__file__).parent), os.environ.get("PYTHONPATH")) if p)}
    notebooks = [str(paths.NOTEBOOKS_DIR / f"{step}.ipynb") for step in STEPS]
    proc = subprocess.run(
        [sys.executable, "-m", "pytest", "-p", "nbval_parameters", "-p", "no:cacheprovider", "--nbval-lax",
         "--nbval-parameters", json.dumps(parameters), "--nbval-kernel-startup-timeout", "180",
         "--nbval-cell-timeout", "600", "-q", "-o", "addopts=", *notebooks],
        check=False, env=env, cwd=paths.PROJECT_ROOT, capture_output=True, text=True, timeout=1500,
    )
    assert proc.returncode == 0, f"nbval failed:\n{proc.stdout[-6000:]}\n{proc.stderr[-3000:]}"
    cells = sum(c.cell_type == "code" for nb in notebooks for c in nbformat.read(nb, as_version=4).cells)
    assert f"{cells} passed" in proc.stdout, proc.stdout[-2000:]
    stages = [json.loads(line)["stage"] for line in (run_dir / "stage_timings.jsonl").read_text().splitlines()]
    assert stages == ["generate", "ingest", "signals", "personas", "recommend", "evaluate"]
    assert not (paths.NOTEBOOKS_DIR / "reports").exists() and not (paths.NOTEBOOKS_DIR / "data").exists()
