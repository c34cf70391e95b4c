"""Issue 12: run ids, runs folders, unique ids, publish/delivery atomicity, disk full, parameters checked early,
consent re-checked at publish. Fast: no notebook runs (steps=() or the step functions called directly)."""

from __future__ import annotations

import errno
import subprocess
import sys
from pathlib import Path

import duckdb
import pandas as pd
import pytest

from spendsense import notebook_runner, opstore, paths, runs
from spendsense.config import ConfigError
from spendsense.params import RunParams, load_run_params


@pytest.fixture
def ops(opstore_location, monkeypatch) -> str:
    """The run's operational store (SPENDSENSE_OPSTORE): an SQLite file, then a PostgreSQL database."""
    monkeypatch.setenv("SPENDSENSE_OPSTORE", opstore_location)
    return opstore_location


def params(tmp_path: Path, **kw) -> RunParams:
    return RunParams(runs_dir=str(tmp_path / "runs"), data_dir=str(tmp_path / "synthetic"), **kw)


# ------------------------------------------------------------------------------ case 6: run id and runs_dir


@pytest.mark.parametrize("bad", ["../../decoy", "a/b", "..", ".staging", "latest", "failed", "", "x" * 65,
                                 "/etc", "a\\b", "run id"])
def test_unsafe_run_ids_are_refused(bad, tmp_path, ops):
    with pytest.raises(runs.RunError, match="is not allowed"):
        notebook_runner.run_pipeline(params(tmp_path), run_id=bad, steps=())
    assert not (tmp_path / "runs").exists() or not any((tmp_path / "runs").iterdir())


def test_the_decoy_attack_moves_nothing(tmp_path, spendsense_cmd, run_env):
    decoy = tmp_path / "decoy"
    decoy.mkdir()
    (decoy / "secret.txt").write_text("mine")
    out = tmp_path / "runs"
    result = spendsense_cmd("run", "-p", "runs_dir", str(out), "--run-id", "../decoy", env=run_env["env"],
                            timeout=120)
    assert result.returncode == 1 and "run id '../decoy' is not allowed" in result.stderr, result.stderr
    assert "Traceback" not in result.stderr
    assert (decoy / "secret.txt").read_text() == "mine" and not out.exists()


@pytest.mark.parametrize("where", ["root", "foreign"])
def test_a_runs_dir_that_is_not_a_runs_folder_is_refused(where, tmp_path, ops):
    if where == "root":
        target = Path("/")
    else:
        target = tmp_path / "home"
        target.mkdir()
        (target / "notes.txt").write_text("x")
    with pytest.raises(runs.RunError, match="neither empty nor a SpendSense runs folder"):
        notebook_runner.run_pipeline(RunParams(runs_dir=str(target)), steps=())
    assert not (target / ".lock").exists()


def test_new_empty_and_existing_runs_folders_are_accepted(tmp_path, ops):
    for sub in ("new", "empty"):
        if sub == "empty":
            (tmp_path / sub).mkdir()
        result = notebook_runner.run_pipeline(RunParams(runs_dir=str(tmp_path / sub)), steps=())
        again = notebook_runner.run_pipeline(RunParams(runs_dir=str(tmp_path / sub)), steps=())
        assert result.run_dir.parent == again.run_dir.parent == tmp_path / sub


# --------------------------------------------------------------------------------- case 7: unique run ids


def test_runs_started_in_the_same_second_get_distinct_ids(tmp_path, ops, monkeypatch):
    monkeypatch.setattr(runs, "new_run_id", lambda now=None: "20261128T013000Z")
    ids = [notebook_runner.run_pipeline(params(tmp_path), steps=()).run_id for _ in range(3)]
    assert ids == ["20261128T013000Z", "20261128T013000Z-2", "20261128T013000Z-3"]
    assert not any((tmp_path / "runs" / runs.STAGING).iterdir())


def test_two_concurrent_waiting_runs_both_publish(tmp_path, run_env):
    """Two real `spendsense run --wait` processes started together (the steps are skipped via a tiny driver)."""
    driver = ("import sys; from spendsense.notebook_runner import run_pipeline; from spendsense.params import "
              "RunParams; r = run_pipeline(RunParams(runs_dir=sys.argv[1]), wait=True, steps=()); print(r.run_id)")
    procs = [subprocess.Popen([sys.executable, "-c", driver, str(tmp_path / "runs")], stdout=subprocess.PIPE,
                              stderr=subprocess.PIPE, text=True, env=run_env["env"]) for _ in range(2)]
    outs = [p.communicate(timeout=120) for p in procs]
    assert all(p.returncode == 0 for p in procs), outs
    ids = [o[0].strip().splitlines()[-1] for o in outs]
    assert len(set(ids)) == 2
    assert all((tmp_path / "runs" / i).is_dir() for i in ids)


def test_an_explicit_run_id_already_used_is_refused_before_any_step(tmp_path, ops):
    notebook_runner.run_pipeline(params(tmp_path), run_id="nightly", steps=())
    with pytest.raises(runs.RunError, match="already used"):
        notebook_runner.run_pipeline(params(tmp_path), run_id="nightly", steps=("01_generate_data",))


# ------------------------------------------------------------------- case 8: publish and deliveries atomic


def _published_run_with_recommendations(tmp_path: Path, run_id: str) -> Path:
    """A published run whose warehouse holds recommendations for u1 (granted) and u2."""
    root = tmp_path / "runs"
    notebook_runner.run_pipeline(params(tmp_path), run_id="seed-run", steps=())
    staged = runs.staging_dir(run_id, root)
    staged.mkdir(parents=True)
    with duckdb.connect(str(staged / runs.WAREHOUSE)) as con:
        con.execute("create table recommendations as select * from (values "
                    "($r, 'u1', 'edu-1', 'education', 'rec-1', timestamp '2026-10-31 00:00:00'),"
                    "($r, 'u2', 'edu-1', 'education', 'rec-2', timestamp '2026-10-31 00:00:00'))"
                    " t(run_id, user_id, item_id, kind, recommendation_id, created_at)", {"r": run_id})
    return runs.publish(staged, root)  # ... and the process is "killed" before recording deliveries


def test_a_crash_between_publish_and_delivery_recording_is_repaired_by_the_next_run(tmp_path, ops):
    con = opstore.connect(ops)
    opstore.record_consent(con, "u1", "granted", "test", "t")
    con.close()
    published = _published_run_with_recommendations(tmp_path, "crashed")
    con = opstore.connect(ops)
    assert not opstore.has_deliveries(con, "crashed")
    con.close()
    notebook_runner.run_pipeline(params(tmp_path), steps=())
    con = opstore.connect(ops)
    got = opstore.deliveries(con)
    con.close()
    assert got.loc[got["run_id"] == "crashed", "user_id"].tolist() == ["u1"]  # u2 never consented: not delivered
    assert published.is_dir()
    notebook_runner.run_pipeline(params(tmp_path), steps=())  # replay is idempotent
    con = opstore.connect(ops)
    assert len(opstore.deliveries(con)) == len(got)
    con.close()


def test_a_failed_delivery_recording_says_so_in_one_line_and_is_replayed(tmp_path, ops, monkeypatch):
    con = opstore.connect(ops)
    opstore.record_consent(con, "u1", "granted", "test", "t")
    con.close()
    _published_run_with_recommendations(tmp_path, "first")

    def full(*a, **k):
        raise opstore.sqlite3.OperationalError("database or disk is full")

    monkeypatch.setattr(opstore, "record_deliveries", full)
    with pytest.raises(runs.RunError, match="are not recorded and could not be recorded now"):
        notebook_runner.run_pipeline(params(tmp_path), steps=())
    monkeypatch.undo()
    monkeypatch.setenv("SPENDSENSE_OPSTORE", str(ops))
    notebook_runner.run_pipeline(params(tmp_path), steps=())
    con = opstore.connect(ops)
    assert "first" in set(opstore.deliveries(con)["run_id"])
    con.close()


# ---------------------------------------------------------------------------------------- case 9: disk full


def test_disk_full_is_one_line_and_the_staging_folder_is_removed(tmp_path, ops, monkeypatch):
    real = Path.write_text

    def write_text(self, data, *a, **k):  # the OS write at the edge fails as on a full file system
        if self.name == "run.json":
            raise OSError(errno.ENOSPC, "No space left on device", str(self))
        return real(self, data, *a, **k)

    monkeypatch.setattr(Path, "write_text", write_text)
    with pytest.raises(runs.RunError) as caught:
        notebook_runner.run_pipeline(params(tmp_path), run_id="full", steps=())
    message = str(caught.value)
    assert "\n" not in message and message.startswith("disk full while writing run full")
    assert not (tmp_path / "runs" / runs.STAGING / "full").exists()
    assert not (tmp_path / "runs" / "full").exists()


def test_disk_full_through_the_cli_prints_one_line_without_traceback(tmp_path, run_env):
    driver = ("import errno, sys, pathlib; real = pathlib.Path.write_text\n"
              "def w(self, d, *a, **k):\n"
              "    if self.name == 'params.yaml': raise OSError(errno.ENOSPC, 'No space left on device')\n"
              "    return real(self, d, *a, **k)\n"
              "pathlib.Path.write_text = w\n"
              "from spendsense.cli import main; sys.exit(main())\n")
    result = subprocess.run([sys.executable, "-c", driver, "run", "-p", "runs_dir", str(tmp_path / "runs")],
                            capture_output=True, text=True, env=run_env["env"], timeout=120, check=False)
    assert result.returncode == 1, result.stderr
    assert "Traceback" not in result.stderr
    assert result.stderr.strip().count("\n") == 0 and "disk full while writing run" in result.stderr
    assert not any((tmp_path / "runs" / runs.STAGING).iterdir())


# ----------------------------------------------------------------------- case 11: parameters checked early


@pytest.mark.parametrize(("key", "value"), [
    ("seed", "-5"), ("replay_sample", "-1"), ("latency_sample", "-3"), ("n_users", "0"), ("n_users", "abc"),
    ("windows", "[]"), ("windows", "[30, 30]"), ("windows", "[0]"), ("as_of", "2026-02-30"),
    ("source", "/no/such/folder"), ("runs_dir", "''"), ("data_dir", "''"), ("colour", "red"),
])
def test_every_bad_parameter_is_named_before_any_notebook(key, value):
    with pytest.raises(ConfigError) as caught:
        load_run_params(None, [(key, value)])
    assert key in str(caught.value)


def test_bad_parameter_through_the_cli_fails_fast_naming_it(spendsense_cmd, run_env):
    result = spendsense_cmd("run", "-p", "seed", "-5", env=run_env["env"], timeout=60)
    assert result.returncode != 0 and "seed" in result.stderr and "Traceback" not in result.stderr
    assert "[1/5]" not in result.stdout


# ------------------------------------------------------- case 11: consent re-checked at publish (withhold)


def test_a_user_who_revokes_during_the_run_is_withheld_at_publish(tmp_path, ops):
    con = opstore.connect(ops)
    for u in ("u1", "u2"):
        opstore.record_consent(con, u, "granted", "test", "t")
    mark = opstore.consent_watermark(con)
    opstore.record_consent(con, "u2", "revoked", "dashboard", "op")  # between signals and recommend
    con.close()
    warehouse = tmp_path / "w.duckdb"
    with duckdb.connect(str(warehouse)) as w:
        w.execute("create table users as select * from (values ('u1'), ('u2')) t(user_id)")
        w.execute("create table signals_wide as select * from (values ('u1', 30), ('u2', 30)) t(user_id, w)")
        w.execute("create table persona_assignments as select * from (values ('u1', 'p'), ('u2', 'p'))"
                  " t(user_id, persona_id)")
        w.execute("create table skipped_users (user_id varchar, reason varchar)")
    assert notebook_runner.withhold_changed_consent(warehouse, mark) == ["u2"]
    with duckdb.connect(str(warehouse), read_only=True) as w:
        assert w.execute("select user_id from signals_wide").fetchall() == [("u1",)]
        assert w.execute("select user_id from persona_assignments").fetchall() == [("u1",)]
        assert w.execute("select count(*) from users").fetchone()[0] == 2  # raw input stays
        assert w.execute("select user_id, reason from skipped_users").fetchall() == [
            ("u2", notebook_runner.WITHHELD_REASON)]


def test_the_default_parameters_still_validate():
    assert load_run_params().seed == 42
    assert paths.CONFIG_DIR.exists() and pd is not None


def test_a_user_without_consent_from_the_start_keeps_the_record_of_the_skip(tmp_path, ops):
    """Nothing changed during the run: no one is withheld, and the consent-skip guardrail events stay."""
    con = opstore.connect(ops)
    opstore.record_consent(con, "u1", "granted", "test", "t")
    opstore.record_consent(con, "u3", "revoked", "test", "t")  # skipped by the signal step from the start
    mark = opstore.consent_watermark(con)
    con.close()
    warehouse = tmp_path / "w.duckdb"
    with duckdb.connect(str(warehouse)) as w:
        w.execute("create table signals_wide as select * from (values ('u1', 30)) t(user_id, w)")
        w.execute("create table guardrail_events as select * from (values ('u3', 'consent', 'skipped'))"
                  " t(user_id, guardrail, outcome)")
        w.execute("create table skipped_users as select * from (values ('u3', 'consent revoked')) t(user_id, reason)")
    assert notebook_runner.withhold_changed_consent(warehouse, mark) == []
    with duckdb.connect(str(warehouse), read_only=True) as w:
        assert w.execute("select user_id, guardrail from guardrail_events").fetchall() == [("u3", "consent")]
        assert w.execute("select user_id from signals_wide").fetchall() == [("u1",)]
