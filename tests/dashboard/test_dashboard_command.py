"""`spendsense dashboard`: help, refusal without a run, and the Voila command line it builds."""

from __future__ import annotations

import pytest

from spendsense.cli import build_parser, main
from spendsense.commands import dashboard


def test_help_explains_token_and_roles(capsys):
    with pytest.raises(SystemExit):
        build_parser().parse_args(["dashboard", "--help"])
    text = capsys.readouterr().out
    for word in ("SPENDSENSE_DASHBOARD_TOKEN", "admin", "operator", "analyst", "127.0.0.1", "--port", "--role"):
        assert word in text


def test_refuses_without_a_published_run(tmp_path, monkeypatch, capsys):
    monkeypatch.setenv("SPENDSENSE_RUNS_DIR", str(tmp_path / "runs"))
    monkeypatch.delenv("SPENDSENSE_RUN_DIR", raising=False)
    assert main(["dashboard", "--port", "8999"]) == 2
    assert "no published run" in capsys.readouterr().err


def test_voila_binds_localhost_and_keeps_the_token_off_the_command_line():
    argv = dashboard.voila_argv(dashboard.TEMPLATE_ROOT, 8866)
    assert "--Voila.ip=127.0.0.1" in argv and "--no-browser" in argv and "--template=spendsense" in argv
    assert not any("token" in a for a in argv)
    assert (dashboard.TEMPLATE_ROOT / "voila" / "templates" / "spendsense" / "index.html.j2").exists()


def test_environment_for_kernels(monkeypatch, tmp_path):
    monkeypatch.setenv("JUPYTER_PATH", "/somewhere")
    env = dashboard.dashboard_env("analyst", "alice", str(tmp_path))
    assert env["SPENDSENSE_ROLE"] == "analyst" and env["SPENDSENSE_OPERATOR"] == "alice"
    assert env["SPENDSENSE_RUN_DIR"] == str(tmp_path.resolve())
    assert env["JUPYTER_PATH"].split(":") == [str(dashboard.TEMPLATE_ROOT), "/somewhere"]
    assert env["JUPYTER_CONFIG_DIR"].endswith(".jupyter/config") and env["IPYTHONDIR"].endswith(".ipython")


def test_busy_port_is_refused():
    import socket

    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        s.listen()
        with pytest.raises(SystemExit, match="in use"):
            dashboard.choose_port(s.getsockname()[1])


@pytest.mark.parametrize("weak", ["s3cret", "a" * 40, "12341234123412341234123412", "e2e-token-4f1c9a"])
def test_weak_chosen_tokens_are_refused(weak, tmp_path, monkeypatch, capsys):
    run = tmp_path / "run"
    run.mkdir()
    (run / "warehouse.duckdb").write_bytes(b"")
    monkeypatch.setenv("SPENDSENSE_DASHBOARD_TOKEN", weak)
    assert main(["dashboard", "--run-dir", str(run), "--port", "8999"]) == 2
    err = capsys.readouterr().err
    assert "SPENDSENSE_DASHBOARD_TOKEN" in err and weak not in err


def test_a_strong_token_passes_and_the_start_message_keeps_tokens_out_of_urls():
    strong = "Zq8-vL2m_Xr5tN9wKc4yHb7J"
    assert dashboard.token_problem(strong) is None
    chosen = dashboard.start_message("operator", 8866, strong, chosen=True)
    assert strong not in chosen and "?token" not in chosen and "http://127.0.0.1:8866/" in chosen
    generated = dashboard.start_message("operator", 8866, strong, chosen=False)
    assert "?token" not in generated and generated.count(strong) == 1


def test_kernel_settings_cull_pageless_kernels_and_preheat():
    config = dashboard.kernel_config(600, 1)
    assert config["MappingKernelManager"] == {"cull_idle_timeout": 600, "cull_interval": 60,
                                              "cull_connected": False, "cull_busy": False}
    assert config["VoilaConfiguration"] == {"preheat_kernel": True, "default_pool_size": 1}
    short = dashboard.kernel_config(20.5, 0)
    assert short["MappingKernelManager"]["cull_idle_timeout"] == 21 and short["MappingKernelManager"]["cull_interval"] == 10
    assert short["VoilaConfiguration"] == {"preheat_kernel": False, "default_pool_size": 0}
    settings = dashboard.voila_settings("t" * 30, (10, 60.0), 120, 2)
    assert settings["config"]["MappingKernelManager"]["cull_idle_timeout"] == 120
    assert settings["config"]["VoilaConfiguration"]["default_pool_size"] == 2


def test_cull_and_preheat_options_are_checked(monkeypatch):
    monkeypatch.delenv("SPENDSENSE_DASHBOARD_CULL_IDLE", raising=False)
    assert dashboard.positive_option(None, "SPENDSENSE_DASHBOARD_CULL_IDLE", 600.0, 1) == 600.0
    monkeypatch.setenv("SPENDSENSE_DASHBOARD_CULL_IDLE", "45")
    assert dashboard.positive_option(None, "SPENDSENSE_DASHBOARD_CULL_IDLE", 600.0, 1) == 45.0
    assert dashboard.positive_option(30, "SPENDSENSE_DASHBOARD_CULL_IDLE", 600.0, 1) == 30.0  # option wins
    with pytest.raises(ValueError, match="below 1"):
        dashboard.positive_option(0, "SPENDSENSE_DASHBOARD_CULL_IDLE", 600.0, 1)
    with pytest.raises(ValueError):
        dashboard.positive_option("soon", "X", 1.0, 0)
