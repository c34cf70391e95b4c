"""`spendsense run` end to end: all notebooks through papermill, atomic publishing, failure handling."""

import json
import os
import signal
import subprocess
import sys
import time

import duckdb
import nbformat
import pytest

from spendsense import paths

pytestmark = pytest.mark.slow

STEPS = ["01_generate_data", "02_compute_signals", "03_assign_personas", "04_recommend", "05_evaluate"]


def test_a_run_publishes_every_output_and_points_latest_at_it(first_run, run_env):
    assert (run_env["runs"] / "latest").resolve() == first_run.resolve()
    for name in ("warehouse.duckdb", "serving.sqlite", "metrics.json", "metrics.csv", "report.html", "params.yaml", "run.log",
                 "run.json"):
        assert (first_run / name).is_file(), name
    for step in STEPS:
        nb = nbformat.read(first_run / "notebooks" / f"{step}.ipynb", as_version=4)
        errors = [o for c in nb.cells if c.cell_type == "code" for o in c.get("outputs", [])
                  if o.get("output_type") == "error"]
        assert not errors, f"{step} has error outputs"
        assert nb.metadata["papermill"]["parameters"]["run_id"] == "first"


def test_the_warehouse_holds_every_stage_table(first_run):
    with duckdb.connect(str(first_run / "warehouse.duckdb"), read_only=True) as con:
        tables = {r[0] for r in con.execute("select table_name from information_schema.tables").fetchall()}
        for t in ("users", "accounts", "transactions", "signals", "signals_wide", "credit_cards",
                  "recurring_streams", "persona_assignments", "recommendations", "decision_traces"):
            assert t in tables, t
        users = con.execute("select count(*) from users").fetchone()[0]
        recs = con.execute("select count(distinct user_id) from recommendations").fetchone()[0]
    assert users == 40 and 0 < recs <= users


def test_the_serving_index_answers_every_user_as_the_warehouse_does(first_run):
    from spendsense import serving
    from spendsense.dashboard.data.run import PublishedRun

    indexed, plain = PublishedRun(first_run), PublishedRun(first_run)
    plain.serving.close()
    plain.serving = None
    users = [r[0] for r in plain.con.execute("select user_id from users order by 1").fetchall()]
    rows = 0
    for (file, name), table in serving.SERVES.items():
        assert indexed.serving.answers(file, name), (name, table)  # a full run has every table the index copies
        for user_id in users:
            params = {"user_ids": [user_id]} if name in ("known_users", "user_names") else {"user_id": user_id}
            got, want = indexed.rows(file, name, **params), plain.rows(file, name, **params)
            assert sorted(got) == sorted(want) if name == "account_masks" else got == want, (name, user_id)
            rows += len(want)
    assert rows > 400  # users, masks, recommendations and counterfactuals of every user


def test_the_published_warehouse_agrees_with_the_metrics_on_consent_skips(first_run):
    """Nothing changed consent during the run: no one is withheld, and every consent skip stays on record."""
    metrics = json.loads((first_run / "metrics.json").read_text())
    with duckdb.connect(str(first_run / "warehouse.duckdb"), read_only=True) as con:
        skips = con.execute("select count(distinct user_id) from guardrail_events where guardrail = 'consent'") \
            .fetchone()[0]
        withheld = con.execute("select count(*) from skipped_users where reason like '%during the run%'").fetchone()[0]
    assert skips == metrics["guardrails"]["consent_skips"] > 0
    assert withheld == 0


def test_the_report_hides_code_and_shows_the_metrics(first_run):
    html = (first_run / "report.html").read_text()
    assert "from spendsense" not in html  # inputs excluded
    metrics = json.loads((first_run / "metrics.json").read_text())
    assert "plotly" in html.lower() and f"{metrics['coverage']['overall']:.0%}"[:-1] in html


def test_a_failing_step_stops_the_run_names_the_notebook_and_keeps_the_published_run(first_run, run_env, tmp_path,
                                                                                     spendsense_cmd):
    bad = tmp_path / "bad"
    bad.mkdir()
    (bad / "transactions.csv").write_text("transaction_id,account_id\nt1,missing\n")
    proc = spendsense_cmd("run", "--run-id", "broken", *run_env["params"], "-p", "source", str(bad),
                          env=run_env["env"])
    assert proc.returncode == 1
    assert "step 01_generate_data failed" in proc.stderr
    assert "failed/broken/notebooks/01_generate_data.ipynb" in proc.stderr
    assert (run_env["runs"] / "latest").resolve() == first_run.resolve()
    assert not (run_env["runs"] / "broken").exists()


def test_a_run_killed_mid_way_leaves_the_published_run_intact_and_the_next_run_succeeds(first_run, run_env,
                                                                                       spendsense_cmd):
    proc = subprocess.Popen([sys.executable, "-m", "spendsense", "run", "--run-id", "killed", *run_env["params"]],
                            env=run_env["env"], cwd=paths.PROJECT_ROOT, stdout=subprocess.PIPE,
                            stderr=subprocess.STDOUT, start_new_session=True)
    staging = run_env["runs"] / ".staging" / "killed" / "notebooks"
    deadline = time.time() + 300
    while time.time() < deadline and not (staging / "02_compute_signals.ipynb").exists():
        time.sleep(0.5)
    os.killpg(proc.pid, signal.SIGKILL)
    proc.wait()
    latest = run_env["runs"] / "latest"
    assert latest.resolve() == first_run.resolve()
    with duckdb.connect(str(latest / "warehouse.duckdb"), read_only=True) as con:
        assert con.execute("select count(*) from recommendations").fetchone()[0] > 0
    assert not (run_env["runs"] / "killed").exists()

    again = spendsense_cmd("run", "--run-id", "after-kill", *run_env["params"], env=run_env["env"])
    assert again.returncode == 0, again.stderr
    assert "removed the unfinished run" in again.stdout
    assert latest.resolve() == (run_env["runs"] / "after-kill").resolve()


def test_a_second_concurrent_run_refuses_with_a_clear_message(run_env, spendsense_cmd):
    from spendsense.runs import run_lock

    with run_lock(run_env["runs"]):
        proc = spendsense_cmd("run", "--run-id", "concurrent", *run_env["params"], env=run_env["env"])
    assert proc.returncode == 75
    assert "another spendsense run is in progress" in proc.stderr
