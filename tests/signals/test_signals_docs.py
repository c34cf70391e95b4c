"""docs/signals.md and docs/personas.md cover every signal, table column and persona."""

from __future__ import annotations

from spendsense import paths
from spendsense.personas import PERSONA_ASSIGNMENT_COLUMNS, load_persona_config
from spendsense.signals import SIGNAL_NAMES, TABLE_COLUMNS


def test_every_signal_has_a_row_in_docs_signals():
    text = (paths.PROJECT_ROOT / "docs" / "signals.md").read_text(encoding="utf-8")
    first_cells = [line.split("|")[1] for line in text.splitlines() if line.startswith("| `")]
    missing = [name for name in SIGNAL_NAMES if not any(f"`{name}`" in cell for cell in first_cells)]
    assert not missing, f"signals without a definition row in docs/signals.md: {missing}"


def test_every_table_column_is_documented():
    text = (paths.PROJECT_ROOT / "docs" / "signals.md").read_text(encoding="utf-8")
    for table, columns in TABLE_COLUMNS.items():
        if table == "signals_wide":
            continue
        section = text[text.index(f"- **{table}**"):]
        section = section[:section.index("\n- **") if "\n- **" in section else len(section)]
        assert all(c in section for c, _ in columns), table


def test_every_persona_is_documented():
    text = (paths.PROJECT_ROOT / "docs" / "personas.md").read_text(encoding="utf-8")
    for persona in load_persona_config().personas:
        assert f"| {persona.priority} | `{persona.id}` |" in text
    assert all(c in text for c, _ in PERSONA_ASSIGNMENT_COLUMNS)
