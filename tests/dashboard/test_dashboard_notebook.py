"""notebooks/operator_dashboard.ipynb: no logic, no outputs, the project's kernel."""

from __future__ import annotations

import json
import re

from spendsense import paths


def test_notebook_only_builds_and_displays():
    nb = json.loads((paths.NOTEBOOKS_DIR / "operator_dashboard.ipynb").read_text())
    assert nb["metadata"]["kernelspec"]["name"] == "spendsense"
    code = "\n".join("".join(c["source"]) for c in nb["cells"] if c["cell_type"] == "code")
    assert not re.search(r"^\s*(def|class|for|while|if)\b", code, re.MULTILINE)
    assert "build_app()" in code
    for cell in nb["cells"]:
        assert cell.get("outputs", []) == [] and cell.get("execution_count") is None
