"""`spendsense generate` end to end, through the real CLI entry point."""

from __future__ import annotations

import json

from spendsense.cli import build_parser, main


def test_generate_writes_and_summarises(tmp_path, capsys):
    out = tmp_path / "ds"
    code = main(
        [
            "generate",
            "--users",
            "12",
            "--seed",
            "5",
            "--as-of",
            "2026-03-31",
            "--out",
            str(out),
            "--formats",
            "parquet,csv",
            "--no-progress",
        ]
    )
    assert code == 0
    printed = capsys.readouterr().out
    assert f"wrote {out}" in printed
    for word in ("users", "accounts", "transactions", "time"):
        assert word in printed
    manifest = json.loads((out / "manifest.json").read_text())
    assert manifest["n_users"] == 12 and manifest["seed"] == 5 and manifest["as_of"] == "2026-03-31"
    assert (out / "csv" / "transactions.csv").is_file() and not (out / "json").exists()


def test_bad_arguments_exit_2(tmp_path, capsys):
    assert main(["generate", "--formats", "xml", "--out", str(tmp_path / "x")]) == 2
    assert "xml" in capsys.readouterr().err
    try:
        main(["generate", "--users", "0"])
    except SystemExit as exc:
        assert exc.code == 2
    assert not (tmp_path / "x").exists()


def test_help_explains_the_output():
    parser = build_parser()
    sub = next(a for a in parser._actions if a.dest == "command")
    text = sub.choices["generate"].format_help()
    for word in ("--users", "--seed", "--as-of", "--out", "--formats", "ground_truth", "manifest.json"):
        assert word in text
