"""`spendsense run -p source DIR` on a folder of Plaid JSON with consent_events.csv beside it and no users file,
through every notebook with papermill; and runs with nothing to process (no users, no consent) that still publish.

The folder plaid_folder/ is hand-made (as_of 2026-08-31, the 30-day window is Aug 2-31, the 180-day one Mar 5 -
Aug 31; cadence signals look back max(window, 90) days, i.e. from Jun 3 for the 30-day window):
- item_subs: Netflix 15.49, Spotify 10.99 and City Gym 40.00 on Jun 5, Jul 5 and Aug 5: three MONTHLY streams of 3
  occurrences each, so recurring_merchant_count 3 and recurring_spend_monthly 15.49 + 10.99 + 40.00 = 66.48 in
  the 30-day window (>= 50): subscription_heavy; over 180 days 9 charges of 199.44 / 6 months = 33.24 a month.
- item_card (in nested/2026-08-31/: JSON is read at any depth): a card at 900 of a 1,000 limit, utilization 0.90
  >= 0.50: high_utilization in both windows.
- item_quiet: two purchases in April only: no transaction in the 30-day window (spending 0), persona none.
- item_biz: only a business account: ingest leaves the account out, but the item is still a user, processed
  with nothing to analyze (persona none, spending 0).
Personal transactions: 9 + 1 + 2 = 12, from 2026-04-10 to 2026-08-20; 4 of them (Aug 5 x 3, Aug 20) in 30 days.
"""

import json
import os
import shutil
from pathlib import Path

import duckdb
import nbformat
import pytest

from spendsense.jupyter_env import project_jupyter_env

pytestmark = pytest.mark.slow

FOLDER = Path(__file__).parent / "plaid_folder"
STEPS = ["01_generate_data", "02_compute_signals", "03_assign_personas", "04_recommend", "05_evaluate"]


def _run(spendsense_cmd, base: Path, source: Path, run_id: str):
    """One complete run of the given source with its own opstore and runs folder."""
    env = {**os.environ, **project_jupyter_env(), "SPENDSENSE_OPSTORE": str(base / "opstore.sqlite")}
    proc = spendsense_cmd("run", "--run-id", run_id, "-p", "source", str(source), "-p", "as_of", "2026-08-31",
                          "-p", "runs_dir", str(base / "runs"), "-p", "replay_sample", "5",
                          "-p", "latency_sample", "2", env=env)
    assert proc.returncode == 0, f"spendsense run failed:\n{proc.stdout}\n{proc.stderr}"
    return proc, base / "runs" / run_id


@pytest.fixture(scope="module")
def plaid_run(spendsense_cmd, tmp_path_factory):
    """The hand-made Plaid folder, run end to end."""
    base = tmp_path_factory.mktemp("plaid")
    return _run(spendsense_cmd, base, FOLDER, "plaid")


def _query(run_dir: Path, sql: str) -> list[tuple]:
    with duckdb.connect(str(run_dir / "warehouse.duckdb"), read_only=True) as con:
        return con.execute(sql).fetchall()


def _no_error_outputs(run_dir: Path) -> None:
    for step in STEPS:
        nb = nbformat.read(run_dir / "notebooks" / f"{step}.ipynb", as_version=4)
        errors = [o for c in nb.cells if c.cell_type == "code" for o in c.get("outputs", [])
                  if o.get("output_type") == "error"]
        assert not errors, f"{step} has error outputs"


def test_every_plaid_item_with_a_personal_account_is_a_user_with_unknown_demographics(plaid_run):
    _, run_dir = plaid_run
    users = _query(run_dir, "select user_id, age_band, gender, region, income_tier, credit_score from users"
                            " order by user_id")
    assert users == [(u, "unknown", "unknown", "unknown", "unknown", None)
                     for u in ("item_biz", "item_card", "item_quiet", "item_subs")]
    _no_error_outputs(run_dir)


def test_the_hand_made_users_get_the_hand_computed_signals_and_personas(plaid_run):
    _, run_dir = plaid_run
    personas = {(u, w): p for u, w, p in _query(
        run_dir, "select user_id, window_days, persona_id from persona_assignments")}
    assert personas == {("item_subs", 30): "subscription_heavy", ("item_subs", 180): "subscription_heavy",
                        ("item_card", 30): "high_utilization", ("item_card", 180): "high_utilization",
                        ("item_quiet", 30): "none", ("item_quiet", 180): "none",
                        ("item_biz", 30): "none", ("item_biz", 180): "none"}
    signals = {(u, w): rest for u, w, *rest in _query(
        run_dir, "select user_id, window_days, recurring_merchant_count, recurring_spend_monthly, max_utilization,"
                 " avg_monthly_spending from signals_wide")}
    assert signals[("item_subs", 30)][:2] == [3, pytest.approx(66.48)]
    assert signals[("item_subs", 180)][:2] == [3, pytest.approx(33.24)]
    assert signals[("item_card", 30)][2] == pytest.approx(0.90)
    assert signals[("item_quiet", 30)][3] == 0  # no transaction in the 30-day window: processed, spends nothing
    assert signals[("item_biz", 180)][3] == 0  # business accounts only: processed, nothing personal to analyze
    metrics = json.loads((run_dir / "metrics.json").read_text())
    assert (metrics["users"], metrics["consenting_users"]) == (4, 4)
    assert metrics["recommendations"]["users_with_recommendations"] >= 2
    # no spending in a window: no rationale quotes "$0 a month" (true but hollow); balances may still be quoted
    idle = _query(run_dir, "select user_id, window_days, template_id, rationale from recommendations"
                           " where user_id = 'item_biz' or (user_id = 'item_quiet' and window_days = 30)")
    assert [r for r in idle if "$0 a month" in r[3] or r[0] == "item_biz"] == []
    assert {r[2] for r in idle} == {"separate_savings"}  # "Your checking balance is $1,200, and none of ..."


def test_the_fairness_analysis_reports_the_unknown_group_instead_of_dropping_it(plaid_run):
    _, run_dir = plaid_run
    ratios = json.loads((run_dir / "metrics.json").read_text())["fairness"]["ratios"]
    assert len(ratios) == 12  # 3 outcomes x 4 attributes, none dropped
    assert {r["verdict"] for r in ratios} == {"demographics unknown"}
    assert all(r["groups"] == 1 and r["groups_compared"] == 0 for r in ratios)


def test_header_report_and_dashboard_describe_the_actual_source(plaid_run):
    proc, run_dir = plaid_run
    assert "source " in proc.stdout.splitlines()[0] and "seed" not in proc.stdout.splitlines()[0]
    assert "100 users" not in proc.stdout
    summary = json.loads((run_dir / "source.json").read_text())
    assert {k: summary[k] for k in ("synthetic", "files", "formats", "users", "users_without_demographics",
                                    "accounts", "transactions", "first_date", "last_date",
                                    "transactions_in_shortest_window", "transactions_after_as_of")} == {
        "synthetic": False, "files": 8, "formats": {"csv": 1, "json": 7}, "users": 4,
        "users_without_demographics": 4, "accounts": 4, "transactions": 12, "first_date": "2026-04-10",
        "last_date": "2026-08-20", "transactions_in_shortest_window": 4, "transactions_after_as_of": 0}
    expected = "transactions: 12, 2026-04-10 to 2026-08-20 (of 3 users)"
    assert expected in proc.stdout
    report = (run_dir / "report.html").read_text(encoding="utf-8")
    assert "Data source" in report and expected in report and "users: 4 (4 without a users row" in report
    from spendsense.dashboard.data.run import PublishedRun

    run = PublishedRun(run_dir)
    try:
        assert expected in run.source_lines()
    finally:
        run.close()


def test_a_run_with_no_users_publishes_an_honest_empty_result(spendsense_cmd, tmp_path):
    source = tmp_path / "consent_only"  # consent events, but no accounts and no users: nobody to process
    source.mkdir()
    shutil.copy(FOLDER / "consent_events.csv", source)
    proc, run_dir = _run(spendsense_cmd, tmp_path, source, "nobody")
    _no_error_outputs(run_dir)
    metrics = json.loads((run_dir / "metrics.json").read_text())
    assert (metrics["users"], metrics["consenting_users"], metrics["recommendations"]["total"]) == (0, 0, 0)
    assert metrics["note"].startswith("No users processed: the input has no users")
    assert metrics["coverage"]["overall"] is None and metrics["latency"]["per_user_ms"] is None
    report = (run_dir / "report.html").read_text(encoding="utf-8")
    assert "No users processed" in report and "Nothing to show" in report
    assert "note: no users in the input: nothing is processed" in proc.stdout


def test_a_run_where_nobody_consented_processes_no_one_and_says_why(spendsense_cmd, tmp_path):
    source = tmp_path / "no_consent"
    shutil.copytree(FOLDER, source, ignore=shutil.ignore_patterns("consent_events.csv"))
    _, run_dir = _run(spendsense_cmd, tmp_path, source, "unconsented")
    _no_error_outputs(run_dir)
    metrics = json.loads((run_dir / "metrics.json").read_text())
    assert (metrics["users"], metrics["consenting_users"], metrics["recommendations"]["total"]) == (4, 0, 0)
    assert metrics["note"] == ("No users processed: none of the 4 users has consent granted (4 no consent on "
                               "record); every share below is n/a, not 0% or 100%.")
    assert _query(run_dir, "select count(*) from recommendations") == [(0,)]
