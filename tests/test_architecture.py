"""The import rules of docs/architecture.md, checked on the source: every module under spendsense/ is parsed with
`ast`, mapped to its unit (top-level package or module), and every import it makes (module level, inside
functions, `importlib.import_module("spendsense....")` and "spendsense.<unit>" string references) is checked
against the layer table below. A unit may import a unit of a lower layer; within a layer only the pairs listed in
SAME_LAYER. New units must be placed in LAYERS (and in docs/architecture.md).
"""

from __future__ import annotations

import ast
import re
from collections import defaultdict
from pathlib import Path

import pytest

from spendsense import paths

# top to bottom: the table is the rule, docs/architecture.md explains it
LAYERS: dict[str, list[str]] = {
    "front ends": ["__main__", "cli", "commands", "bench", "bench_usage", "bench_probes", "bench_report", "api",
                   "dashboard", "viz"],
    "orchestration": ["pipeline", "notebook_runner", "recompute", "engine_config", "params", "jupyter_env",
                      "spark"],
    "steps": ["generate", "ingest", "signals", "personas", "recommend", "evaluate", "profile"],
    "rules": ["content", "guardrails"],
    "store": ["sql", "opstore", "opstore_api", "opstore_pg", "consent", "runs", "schema", "serving"],
    "foundation": ["config", "paths", "memdb", "spendsense"],  # "spendsense": the package's own __init__
}
# imports within one layer (importer, imported); everything else in a layer stays independent
SAME_LAYER: set[tuple[str, str]] = {
    ("__main__", "cli"), ("cli", "commands"), ("commands", "dashboard"), ("commands", "bench"),
    ("bench", "bench_usage"), ("bench", "bench_probes"),  # a stage's CPU and memory; the probes after the stages
    ("bench_probes", "dashboard"),  # the benchmark times the dashboard's user switch
    ("bench", "bench_report"), ("commands", "bench_report"),  # targets judged, the run's block in the docs
    ("pipeline", "engine_config"), ("pipeline", "params"), ("engine_config", "params"),
    ("notebook_runner", "params"), ("notebook_runner", "jupyter_env"),
    ("pipeline", "recompute"), ("recompute", "engine_config"), ("recompute", "params"),
    ("pipeline", "spark"),  # the Spark engine's step functions (issue 18)
    ("personas", "signals"), ("recommend", "signals"),  # signal definitions (names, columns), not their code
    ("guardrails", "content"),  # guardrails check catalog entries (content.models)
    ("opstore", "consent"), ("opstore", "sql"), ("consent", "sql"),
    ("config", "paths"),
    ("commands", "api"), ("api", "dashboard"), ("bench_probes", "api"),  # the API reads through the dashboard's access
    ("opstore_api", "opstore"), ("opstore_api", "sql"),
    ("serving", "sql"),  # a published run's serving index, read through the one SQL loader
    ("opstore", "opstore_pg"), ("opstore_pg", "sql"),  # the PostgreSQL connection and migrations of the store
}
# Imports on main that break the rules and are being fixed on other branches (issue 13). Each is
# (importing module, imported unit). Delete an entry when its branch is merged; the test fails on a stale entry
# and on any forbidden import not listed here.
ALLOWED_FOR_NOW: set[tuple[str, str]] = set()

ROOT = paths.PACKAGE_DIR
_NAME = re.compile(r"^spendsense(\.[A-Za-z_]\w*)+$")


def layer_of(unit: str) -> int:
    for i, units in enumerate(LAYERS.values()):
        if unit in units:
            return i
    raise KeyError(unit)


def allowed(importer: str, imported: str) -> bool:
    a, b = layer_of(importer), layer_of(imported)
    return a < b or (a == b and (importer, imported) in SAME_LAYER)


def module_name(path: Path) -> str:
    parts = path.relative_to(ROOT).with_suffix("").parts
    parts = parts[:-1] if parts[-1] == "__init__" else parts
    return ".".join(("spendsense", *parts))


def unit_of(module: str) -> str:
    parts = module.split(".")
    return parts[1] if len(parts) > 1 else "spendsense"


def imported_modules(tree: ast.AST) -> list[tuple[int, str]]:
    """(line, dotted name) of every spendsense module a file refers to, at any depth."""
    out = []
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            out += [(node.lineno, a.name) for a in node.names]
        elif isinstance(node, ast.ImportFrom):
            assert node.level == 0, f"line {node.lineno}: relative import (write spendsense.<unit>...)"
            if node.module == "spendsense":
                out += [(node.lineno, f"spendsense.{a.name}") for a in node.names]
            else:
                out.append((node.lineno, node.module))
        elif isinstance(node, ast.Constant) and isinstance(node.value, str) and _NAME.match(node.value):
            out.append((node.lineno, node.value))  # importlib.import_module("spendsense.x"), ("spendsense.x", f)
        elif isinstance(node, ast.JoinedStr) and node.values and isinstance(node.values[0], ast.Constant):
            head = str(node.values[0].value)
            if head.startswith("spendsense.") and _NAME.match(head.rstrip(".")):
                out.append((node.lineno, head.rstrip(".")))
    return [(line, name) for line, name in out if name == "spendsense" or name.startswith("spendsense.")]


def scan() -> tuple[set[str], dict[tuple[str, str], list[str]]]:
    """The units under spendsense/, and for each (importing module, imported unit) where it happens."""
    units = set()
    found: dict[tuple[str, str], list[str]] = defaultdict(list)
    for path in sorted(ROOT.rglob("*.py")):
        module = module_name(path)
        unit = unit_of(module)
        units.add(unit)
        for line, name in imported_modules(ast.parse(path.read_text(encoding="utf-8"), str(path))):
            target = unit_of(name)
            if target != unit and ((ROOT / target).is_dir() or (ROOT / f"{target}.py").is_file()):
                found[(module, target)].append(f"{path.relative_to(ROOT.parent)}:{line}")
    return units, found


UNITS, FOUND = scan()


def test_every_unit_has_a_layer_and_is_documented():
    placed = [u for units in LAYERS.values() for u in units]
    assert len(placed) == len(set(placed)), "a unit is in two layers"
    assert not UNITS - set(placed), f"place these in LAYERS and docs/architecture.md: {sorted(UNITS - set(placed))}"
    doc = (paths.PROJECT_ROOT / "docs" / "architecture.md").read_text(encoding="utf-8")
    missing = [u for u in placed if u != "spendsense" and f"`{u}`" not in doc]
    assert not missing, f"docs/architecture.md does not name {missing}"


def test_the_rule_table_is_consistent():
    for a, b in SAME_LAYER:
        assert layer_of(a) == layer_of(b), f"{a} -> {b} crosses layers; SAME_LAYER is for one layer"
    graph = defaultdict(set)
    for a, b in SAME_LAYER:
        graph[a].add(b)
    assert not cycles(graph), "SAME_LAYER has a cycle"


def test_no_forbidden_import():
    bad = {pair: where for pair, where in FOUND.items()
           if not allowed(unit_of(pair[0]), pair[1]) and pair not in ALLOWED_FOR_NOW}
    lines = [f"{unit_of(m)} may not import {t} ({', '.join(w)})" for (m, t), w in sorted(bad.items())]
    assert not lines, "forbidden imports (see docs/architecture.md):\n" + "\n".join(lines)


def test_known_exceptions_are_still_needed():
    stale = {pair for pair in ALLOWED_FOR_NOW if pair not in FOUND or allowed(unit_of(pair[0]), pair[1])}
    assert not stale, f"fixed: delete from ALLOWED_FOR_NOW: {sorted(stale)}"


def cycles(graph: dict[str, set[str]]) -> list[list[str]]:
    """Every elementary cycle's start found by depth-first search (enough to say whether there is one)."""
    out, state = [], {}

    def visit(node, stack):
        state[node] = 1
        for nxt in sorted(graph.get(node, ())):
            if state.get(nxt) == 1:
                out.append(stack[stack.index(nxt):] + [nxt])
            elif nxt not in state:
                visit(nxt, stack + [nxt])
        state[node] = 2

    for node in sorted(graph):
        if node not in state:
            visit(node, [node])
    return out


def test_no_package_cycles_besides_the_known_exceptions():
    graph = defaultdict(set)
    for (module, target) in FOUND:
        if (module, target) not in ALLOWED_FOR_NOW:
            graph[unit_of(module)].add(target)
    assert not cycles(graph), f"package cycles: {cycles(graph)}"


@pytest.mark.parametrize("importer, imported, ok", [
    ("signals", "recommend", False), ("content", "recommend", False), ("recommend", "pipeline", False),
    ("generate", "dashboard", False), ("evaluate", "bench", False), ("ingest", "commands", False),
    ("recommend", "evaluate", False), ("opstore", "signals", False), ("pipeline", "dashboard", False),
    ("dashboard", "recommend", True), ("pipeline", "sql", True), ("signals", "consent", True),
])
def test_the_table_says_what_the_architecture_doc_says(importer, imported, ok):
    assert allowed(importer, imported) is ok


def test_the_scanner_sees_function_level_and_string_imports():
    tree = ast.parse("def f():\n    from spendsense.recommend import x\n"
                     "import importlib\nimportlib.import_module('spendsense.dashboard.access')\n"
                     "M = importlib.import_module(f'spendsense.commands.{n}')\n")
    assert [n for _, n in imported_modules(tree)] == ["spendsense.recommend", "spendsense.dashboard.access",
                                                      "spendsense.commands"]
