"""`spendsense consent`: grant / revoke / import / status / history through the real CLI and real SQLite."""

from __future__ import annotations

import json
import os
import subprocess
import sys

import duckdb
import pandas as pd
import pytest

from spendsense import cli, opstore

USERS = ["u1", "u2", "u3", "u4"]


@pytest.fixture
def env(tmp_path, monkeypatch, opstore_location) -> dict:
    """A published run whose warehouse knows USERS, and an empty opstore (both through the environment), the
    store once on SQLite and once on PostgreSQL."""
    runs_root = tmp_path / "runs"
    run_dir = runs_root / "20260101T000000Z"
    run_dir.mkdir(parents=True)
    with duckdb.connect(str(run_dir / "warehouse.duckdb")) as con:
        con.execute("create table users as select unnest($u) as user_id", {"u": USERS})
    (runs_root / "latest").symlink_to(run_dir.name)
    values = {"SPENDSENSE_OPSTORE": opstore_location, "SPENDSENSE_RUNS_DIR": str(runs_root)}
    for key, value in values.items():
        monkeypatch.setenv(key, value)
    return values


def run_cli(*args: str) -> subprocess.CompletedProcess:
    """The real console entry point in a subprocess (environment inherited from the fixture)."""
    return subprocess.run([sys.executable, "-m", "spendsense", "consent", *args], capture_output=True, text=True, check=False,
                          env=os.environ.copy(), timeout=120)


def call(capsys, *args: str) -> tuple[int, str, str]:
    """The CLI in-process: (exit code, stdout, stderr)."""
    try:
        code = cli.main(["consent", *args])
    except SystemExit as exc:  # argparse usage errors
        code = exc.code
    out = capsys.readouterr()
    return code, out.out, out.err


def store(env) -> opstore.sqlite3.Connection:
    return opstore.connect(env["SPENDSENSE_OPSTORE"])


def counts(env) -> tuple[int, int]:
    with store(env) as con:
        return (con.execute("select count(*) from consent_events").fetchone()[0],
                con.execute("select count(*) from audit_log").fetchone()[0])


def test_grant_then_status_shows_granted(env):
    r = run_cli("grant", "u1", "u2", "--actor", "alice", "--reason", "signed the form")
    assert r.returncode == 0, r.stderr
    assert "recorded 2 events" in r.stdout
    r = run_cli("status")
    assert r.returncode == 0, r.stderr
    lines = {line.split()[0]: line.split()[1] for line in r.stdout.splitlines()[1:3]}
    assert lines == {"u1": "granted", "u2": "granted"}
    with store(env) as con:
        audit = opstore.audit_log(con)
    granted = audit[audit["action"] == "consent.granted"]
    assert set(granted["target"]) == {"u1", "u2"} and set(granted["actor"]) == {"alice"}
    assert all(d["reason"] == "signed the form" for d in granted["detail"])


def test_revoke_wins_and_history_lists_both_with_actor_and_reason(env, capsys):
    assert call(capsys, "grant", "u1", "--actor", "alice", "--reason", "signed the form")[0] == 0
    assert call(capsys, "revoke", "u1", "--actor", "bob", "--reason", "called to opt out")[0] == 0
    code, out, _ = call(capsys, "status", "u1", "--json")
    assert code == 0 and json.loads(out)[0]["status"] == "revoked"
    code, out, _ = call(capsys, "history", "u1", "--json")
    rows = json.loads(out)
    assert [(r["event"], r["actor"], r["reason"]) for r in rows] == [
        ("granted", "alice", "signed the form"), ("revoked", "bob", "called to opt out")]
    code, out, _ = call(capsys, "history", "u1")
    assert code == 0 and "called to opt out" in out and "signed the form" in out and "current status revoked" in out


@pytest.mark.parametrize("fmt", ["csv", "parquet"])
def test_import_round_trip(env, tmp_path, capsys, fmt):
    events = pd.DataFrame({
        "user_id": ["u1", "u2", "u1", "u3"],
        "event": ["granted", "granted", "revoked", "granted"],
        "occurred_at": ["2026-01-01T09:00:00Z", "2026-01-02T09:00:00Z", "2026-01-03T09:00:00Z", "2026-01-04"],
        "source": ["signup", "signup", "app", "signup"],
    })
    path = tmp_path / f"consent_events.{fmt}"
    events.to_csv(path, index=False) if fmt == "csv" else events.to_parquet(path, index=False)
    r = run_cli("import", str(path), "--actor", "nightly export")
    assert r.returncode == 0, r.stderr
    assert "4 events added" in r.stdout
    code, out, _ = call(capsys, "status", "--json")
    got = {r["user_id"]: (r["status"], r["occurred_at"][:10], r["source"]) for r in json.loads(out)}
    assert got == {"u1": ("revoked", "2026-01-03", "app"), "u2": ("granted", "2026-01-02", "signup"),
                   "u3": ("granted", "2026-01-04", "signup")}
    with store(env) as con:
        stored = opstore.consent_events(con)
    assert set(stored["actor"]) == {"nightly export"}
    # importing the same file again adds nothing (content-derived event ids)
    before = counts(env)
    code, out, _ = call(capsys, "import", str(path))
    assert code == 0 and "0 events added" in out and "4 already present" in out
    assert counts(env)[0] == before[0]


@pytest.mark.parametrize("fmt,row", [("csv", "data row 3"), ("parquet", "row index 2")])
def test_malformed_file_is_rejected_whole(env, tmp_path, fmt, row):
    assert run_cli("grant", "u4", "--actor", "alice", "--reason", "form").returncode == 0
    before = counts(env)
    events = pd.DataFrame({"user_id": ["u1", "u2", "u3"], "event": ["granted", "granted", "maybe"],
                           "occurred_at": ["2026-01-01", "2026-01-02", "2026-01-03"]})
    path = tmp_path / f"bad.{fmt}"
    events.to_csv(path, index=False) if fmt == "csv" else events.to_parquet(path, index=False)
    r = run_cli("import", str(path))
    assert r.returncode == 65
    assert str(path) in r.stderr and row in r.stderr and "field event" in r.stderr and "'maybe'" in r.stderr
    assert "nothing was written" in r.stderr
    assert counts(env) == before


@pytest.mark.parametrize("bad,field", [
    ("user_id,event,occurred_at\nu1,granted,yesterday\n", "field occurred_at"),
    ("user_id,event,occurred_at\n,granted,2026-01-01\n", "field user_id"),
    ("user_id,event,occurred_at\nu1,granted,2099-01-01\n", "field occurred_at"),
    ("user_id,event,occurred_at,colour\nu1,granted,2026-01-01,red\n", "unexpected column(s) colour"),
    ("user_id,event\nu1,granted\n", "missing column(s) occurred_at"),
    ("user_id,event,occurred_at\nu1,granted,2026-01-01\nu9,granted,2026-01-01\n", "data row 2, field user_id"),
])
def test_other_bad_files(env, tmp_path, capsys, bad, field):
    path = tmp_path / "events.csv"
    path.write_text(bad)
    code, _, err = call(capsys, "import", str(path))
    assert code == 65 and field in err, err
    assert counts(env) == (0, 0)


def test_future_dated_grant_is_refused(env, capsys):
    code, _, err = call(capsys, "grant", "u1", "--actor", "a", "--reason", "r", "--occurred-at", "2099-01-01")
    assert code == 65 and "in the future" in err
    assert counts(env) == (0, 0)


def test_unknown_user_is_a_clear_error_and_nothing_is_recorded(env, capsys):
    code, _, err = call(capsys, "grant", "u1", "nobody", "--actor", "alice", "--reason", "form")
    assert code == 65
    assert "unknown user nobody" in err and "20260101T000000Z" in err and "nothing was recorded" in err
    assert counts(env) == (0, 0)  # u1 was not recorded either: all or nothing
    code, _, err = call(capsys, "history", "nobody")
    assert code == 66 and "unknown user nobody" in err
    assert call(capsys, "grant", "nobody", "--actor", "a", "--reason", "r", "--allow-new-users")[0] == 0
    assert call(capsys, "history", "nobody")[0] == 0  # known now: the opstore has an event


def test_without_a_run_the_error_says_so(env, tmp_path, monkeypatch, capsys):
    monkeypatch.setenv("SPENDSENSE_RUNS_DIR", str(tmp_path / "empty-runs"))
    code, _, err = call(capsys, "revoke", "u1", "--actor", "alice", "--reason", "r")
    assert code == 65 and "no published run" in err


def test_usage_errors_exit_64(env, capsys):
    assert call(capsys, "grant", "u1", "--reason", "r")[0] == 64  # --actor missing
    assert call(capsys, "grant", "u1", "--actor", " ", "--reason", "r")[0] == 64
    assert call(capsys)[0] == 64
    r = run_cli("--help")
    assert r.returncode == 0 and "Examples:" in r.stdout and "consent import" in r.stdout


def test_status_json_parses_and_names_users_without_events(env, capsys):
    call(capsys, "grant", "u1", "--actor", "a", "--reason", "r")
    code, out, _ = call(capsys, "status", "u1", "u2", "--json")
    assert code == 0
    assert [(r["user_id"], r["status"]) for r in json.loads(out)] == [("u1", "granted"), ("u2", "none")]


SCRIPTS = [  # (user, event, occurred_at or None = now), in recording order
    [("u1", "granted", "2026-01-01T00:00:00Z"), ("u1", "revoked", "2026-01-01T00:00:00Z")],  # tie: later wins
    [("u1", "revoked", "2026-02-01"), ("u1", "granted", "2026-01-01")],  # older event recorded later loses
    [("u1", "granted", None), ("u2", "granted", "2026-01-05"), ("u2", "revoked", "2026-01-04"),
     ("u3", "revoked", None), ("u3", "granted", None)],
    [("u1", "granted", "2026-01-01"), ("u1", "revoked", "2026-01-01"), ("u1", "granted", "2026-01-01")],
]


@pytest.mark.parametrize("script", SCRIPTS)
@pytest.mark.parametrize("via", ["grant/revoke", "import"])
def test_status_agrees_with_opstore_consent_status(env, tmp_path, capsys, script, via):
    if via == "import":
        path = tmp_path / "events.csv"
        pd.DataFrame([{"user_id": u, "event": e, "occurred_at": t or pd.Timestamp.now(tz="UTC").isoformat()}
                      for u, e, t in script]).to_csv(path, index=False)
        assert call(capsys, "import", str(path))[0] == 0
    else:
        for user, event, occurred in script:
            args = ["grant" if event == "granted" else "revoke", user, "--actor", "a", "--reason", "r"]
            assert call(capsys, *args, *(["--occurred-at", occurred] if occurred else []))[0] == 0
    code, out, _ = call(capsys, "status", "--json")
    assert code == 0
    cli_status = {r["user_id"]: (r["status"], r["occurred_at"]) for r in json.loads(out)}
    with store(env) as con:
        rule = opstore.consent_status(con)
    expected = {r.user_id: (r.status, opstore.utc_text(r.occurred_at)) for r in rule.itertuples()}
    assert cli_status == expected
    named = sorted(expected)
    code, out, _ = call(capsys, "status", *named, "--json")
    assert {r["user_id"]: (r["status"], r["occurred_at"]) for r in json.loads(out)} == expected
