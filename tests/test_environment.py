"""environment.yml (conda) and pyproject.toml (pip) declare the same environment."""

import re
import tomllib

import yaml

from spendsense import paths

CONDA_NAMES = {"python-duckdb": "duckdb"}  # conda-forge package name -> PyPI name


def _split(spec: str) -> tuple[str, str]:
    spec = spec.split(";")[0]  # an environment marker (pip) has no conda equivalent: conda picks per platform
    name, constraint = re.match(r"^([A-Za-z0-9_.\-]+)\s*(.*)$", spec.strip()).groups()
    return name.lower(), constraint.replace(" ", "")


def _pyproject() -> dict[str, str]:
    data = tomllib.loads((paths.PROJECT_ROOT / "pyproject.toml").read_text())
    specs = data["project"]["dependencies"] + data["project"]["optional-dependencies"]["dev"]
    return dict(_split(s) for s in specs)


def _conda() -> tuple[dict[str, str], list]:
    env = yaml.safe_load((paths.PROJECT_ROOT / "environment.yml").read_text())
    conda, pip = {}, []
    for dep in env["dependencies"]:
        if isinstance(dep, dict):
            pip = dep["pip"]
            continue
        name, constraint = _split(dep)
        if name not in ("python", "pip"):
            conda[CONDA_NAMES.get(name, name)] = constraint
    return conda, pip


def test_conda_environment_lists_every_pyproject_dependency_with_the_same_bounds():
    conda, _ = _conda()
    assert conda == _pyproject()


def test_conda_environment_installs_the_project_itself_and_pins_python_311():
    env = yaml.safe_load((paths.PROJECT_ROOT / "environment.yml").read_text())
    _, pip = _conda()
    assert pip == ["-e .[dev]"]
    assert "python=3.11" in env["dependencies"]
