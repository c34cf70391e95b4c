"""content is the bottom layer of the recommendation packages: it never imports guardrails or recommend (the tone
matcher it validates texts with is its own leaf, content.tone_match)."""

import ast
from pathlib import Path

import spendsense.content

CONTENT = Path(spendsense.content.__file__).parent
UPPER = ("spendsense.guardrails", "spendsense.recommend", "spendsense.pipeline", "spendsense.recompute")


def _imports(path: Path) -> set[str]:
    names = set()
    for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
        if isinstance(node, ast.ImportFrom) and node.module:
            names.add(node.module)
        elif isinstance(node, ast.Import):
            names.update(a.name for a in node.names)
    return names


def test_content_imports_no_upper_layer():
    bad = {f"{p.name}: {m}" for p in CONTENT.glob("*.py") for m in _imports(p) if m.startswith(UPPER)}
    assert not bad, sorted(bad)


def test_tone_matcher_is_a_leaf():
    own = {m for m in _imports(CONTENT / "tone_match.py") if m.startswith("spendsense")}
    assert own == {"spendsense.content.tone_models"}
