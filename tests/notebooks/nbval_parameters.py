"""pytest plugin for the nbval run of the committed notebooks: papermill-style parameters.

nbval executes each notebook as committed, in its own `spendsense` kernel started in notebooks/. Like
papermill, this plugin overrides the values of the cell tagged `parameters` (only the names that cell
declares), so the run uses a tiny dataset and temporary folders instead of the interactive defaults.
No other cell is touched. Used by tests/notebooks/test_notebooks_nbval.py:

    python -m pytest -p nbval_parameters --nbval-lax --nbval-parameters '{"n_users": 20, ...}' notebooks/0*.ipynb
"""

from __future__ import annotations

import ast
import json


def pytest_addoption(parser):
    parser.addoption("--nbval-parameters", default="{}",
                     help="JSON object of values for the notebooks' `parameters` cells (names they declare)")


def declared(source: str) -> list[str]:
    """The names a parameters cell assigns at top level."""
    return [t.id for node in ast.parse(source).body if isinstance(node, ast.Assign)
            for t in node.targets if isinstance(t, ast.Name)]


def pytest_collection_modifyitems(config, items):
    values = json.loads(config.getoption("nbval_parameters"))
    for item in items:
        cell = getattr(item, "cell", None)  # nbval's IPyNbCell
        if cell is None or "parameters" not in cell.get("metadata", {}).get("tags", []):
            continue
        names = declared(cell.source)
        lines = [f"{name} = {values[name]!r}" for name in names if name in values]
        cell.source = cell.source.rstrip("\n") + "\n# injected by nbval_parameters\n" + "\n".join(lines) + "\n"
