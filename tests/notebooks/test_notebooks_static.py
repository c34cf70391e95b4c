"""The committed notebooks 01-05 are thin: no outputs, no functions or classes, no SQL, one papermill
`parameters` cell of plain values first, the project's kernel. (operator_dashboard.ipynb has its own,
stricter test in tests/dashboard/test_dashboard_notebook.py.)"""

from __future__ import annotations

import ast
import re

import nbformat
import pytest

from spendsense import paths

STEPS = ["01_generate_data", "02_compute_signals", "03_assign_personas", "04_recommend", "05_evaluate"]
SQL_WORDS = re.compile(r"^\s*(select|with|insert|update|delete|create|drop|pragma|attach|copy)\s", re.IGNORECASE)

# Known SQL in a notebook on main, to move behind a pipeline function (the orchestration owner's work); delete
# the entry once it is gone. Any other SQL string in a notebook fails.
SQL_ALLOWED_FOR_NOW: set[tuple[str, str]] = set()


def code_cells(step: str) -> list[nbformat.NotebookNode]:
    nb = nbformat.read(paths.NOTEBOOKS_DIR / f"{step}.ipynb", as_version=4)
    return [c for c in nb.cells if c.cell_type == "code"]


@pytest.mark.parametrize("step", STEPS)
def test_committed_notebook_has_no_outputs(step):
    nb = nbformat.read(paths.NOTEBOOKS_DIR / f"{step}.ipynb", as_version=4)
    assert nb.metadata["kernelspec"]["name"] == "spendsense"
    for i, cell in enumerate(code_cells(step)):
        assert cell.get("outputs", []) == [], f"{step} cell {i} has outputs"
        assert cell.get("execution_count") is None, f"{step} cell {i} has an execution count"


@pytest.mark.parametrize("step", STEPS)
def test_committed_notebook_has_no_def_class_or_sql(step):
    found_sql = set()
    for i, cell in enumerate(code_cells(step)):
        tree = ast.parse(cell.source)
        for node in ast.walk(tree):
            assert not isinstance(node, ast.FunctionDef | ast.AsyncFunctionDef | ast.ClassDef | ast.Lambda), \
                f"{step} cell {i} defines {type(node).__name__} (logic belongs in spendsense/)"
            if isinstance(node, ast.Constant) and isinstance(node.value, str) and SQL_WORDS.match(node.value):
                found_sql.add((step, " ".join(node.value.split())))
    new = found_sql - SQL_ALLOWED_FOR_NOW
    gone = {e for e in SQL_ALLOWED_FOR_NOW if e[0] == step} - found_sql
    assert not gone, f"no longer in the notebook, delete from SQL_ALLOWED_FOR_NOW: {sorted(gone)}"
    assert not new, f"SQL in a notebook (put it in a .sql file behind a spendsense function): {sorted(new)}"


@pytest.mark.parametrize("step", STEPS)
def test_the_first_code_cell_is_the_parameters_cell_of_plain_values(step):
    cells = code_cells(step)
    assert [i for i, c in enumerate(cells) if "parameters" in c.metadata.get("tags", [])] == [0]
    for node in ast.parse(cells[0].source).body:
        assert isinstance(node, ast.Assign) and len(node.targets) == 1 and isinstance(node.targets[0], ast.Name)
        ast.literal_eval(node.value)  # papermill can override only literal values
