"""From the hand-built warehouse to personas: compute_signals -> assign_personas -> the warehouse tables."""

from __future__ import annotations

import json

import pytest
from signal_fixtures import AS_OF, CONSENT, build_fixture, consent_frame

from spendsense.personas import assign_personas, load_persona_config, write_persona_assignments
from spendsense.signals import compute_signals, load_signal_config, write_signal_tables


@pytest.fixture(scope="module")
def run():
    con = build_fixture().build()
    tables = compute_signals(con, AS_OF, consent_frame(CONSENT), load_signal_config())
    write_signal_tables(con, tables)
    assignments = assign_personas(tables.signals_wide, load_persona_config())
    write_persona_assignments(con, assignments)
    return con, assignments


def test_fixture_users_get_the_expected_personas(run):
    _, assignments = run
    got = {(r.user_id, r.window_days): r.persona_id for r in assignments.itertuples()}
    assert got == {
        ("u_card", 30): "high_utilization", ("u_card", 180): "high_utilization",
        ("u_biz", 30): "cash_flow_stressed", ("u_biz", 180): "cash_flow_stressed",   # 1 fee in 30d, 3 in 180d
        ("u_saver", 30): "savings_builder", ("u_saver", 180): "savings_builder",     # no cards: passes util < 0.30
        ("u_sub", 30): "none", ("u_sub", 180): "none",               # 3 subs in 180d but $47.14/month and 4.2%
        ("u_irregular", 30): "none", ("u_irregular", 180): "none",   # 43/51-day gaps but 1.3 / 4 months of buffer
        ("u_biweekly", 30): "none", ("u_biweekly", 180): "none",
        ("u_semimonthly", 30): "none", ("u_semimonthly", 180): "none",
    }


def test_assignment_trace_quotes_the_signal_values(run):
    _, assignments = run
    row = assignments.query("user_id == 'u_saver' and window_days == 180").iloc[0]
    growth = next(c for c in json.loads(row.criteria) if c["signal"] == "savings_growth_rate")
    assert growth["value"] == pytest.approx(1204.10 / (5000 - 1204.10)) and growth["passed"]


def test_no_rows_for_non_consenting_users_anywhere(run):
    con, _ = run
    for table in ("signals", "signals_wide", "credit_cards", "recurring_streams", "payroll_deposits",
                  "persona_assignments"):
        assert con.execute(f"select count(*) from {table} where user_id in ('u_revoked', 'u_noconsent')"
                           ).fetchone() == (0,), table
    assert con.execute("select count(*) from skipped_users").fetchone() == (2,)
