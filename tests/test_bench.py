"""The benchmark harness runs end to end on 1,000 users (a smoke test: no timing is asserted)."""

import json

import pytest

from spendsense.bench import KEPT_STAGES, STAGES, WorkDirError, run_benchmark
from spendsense.bench_report import target_checks, update_performance_doc


def _report(n_users: int, signals_seconds: float) -> dict:
    """A hand-made benchmark report (the shape run_benchmark returns)."""
    stages = [{"stage": s, "seconds": 2.0, "cpu_seconds": 3.0, "peak_rss_mb": 1024.0} for s in STAGES]
    stages[STAGES.index("signals")]["seconds"] = signals_seconds
    report = {"n_users": n_users, "timestamp": "2026-11-28T04:00:00+00:00", "load_average": 0.1,
              "machine": {"cores": 2, "memory_gb": 23.4, "python": "3.11.7", "duckdb": "1.4", "pandas": "2.3"},
              "stages": stages, "after_generation_seconds": 10 + signals_seconds, "generate_seconds": 2.0,
              "per_user_ms": 0.1, "peak_rss_gb": 1.0, "floor_scan_seconds": 0.5,
              "signals_over_floor": signals_seconds / 0.5, "single_user_p50_ms": 40.0, "single_user_p95_ms": 120.0,
              "user_switch_p50_ms": 30.0, "user_switch_p95_ms": 45.0, "run_seconds": 8 + signals_seconds,
              "ingest_seconds": 40.0, "ingest_day_seconds": 6.0}
    report["targets"] = target_checks(report)
    return report


RUN = "nightly run at 100,000 users, raw store loaded (raw views → publish)"


def test_targets_judge_scale_targets_only_at_100k():
    small = {t["measure"]: t["met"] for t in _report(1000, 4.0)["targets"]}
    assert small[RUN] is None  # 12 s at 1,000 users proves nothing
    assert small["signals stage / floor scan"] is True  # 8x
    assert small["single-user recompute p95"] is False  # 120 ms
    full = {t["measure"]: t["met"] for t in _report(100_000, 6.0)["targets"]}
    assert full[RUN] is True  # 14 s
    assert full["first ingest of 100,000 users into the raw store"] is True  # 40 s
    assert full["incremental batch of one day's transactions, 100,000 users"] is False  # 6 s
    assert full["signals stage / floor scan"] is False  # 12x
    assert full["decision-trace export on disk, 100,000 users"] is None  # not in this report


def test_doc_update_replaces_only_the_block_of_the_same_size(tmp_path):
    doc = tmp_path / "performance.md"
    doc.write_text("# Performance\n\nIntro kept.\n\n## Latest benchmark runs\n\nold\n\n## History\n\nkept too\n")
    update_performance_doc(_report(1000, 4.0), doc)
    update_performance_doc(_report(100_000, 6.0), doc)
    update_performance_doc(_report(1000, 3.0), doc)
    text = doc.read_text()
    assert text.count("<!-- bench n=1000 -->") == 1 and text.count("<!-- bench n=100000 -->") == 1
    assert "| signals | 3.0 s | 3.0 s | 1,024 MiB |" in text and "| signals | 4.0 s |" not in text
    assert text.index("n=100000") < text.index("n=1000 ")  # largest first
    assert "Intro kept." in text and "## History\n\nkept too" in text
    assert "| signals stage / floor scan | <= 8 x | 12.0 x | **no** |" in text
    assert "2 cores, 23.4 GB memory" in text


@pytest.mark.slow
def test_bench_times_every_stage_and_the_probes(tmp_path, monkeypatch):
    monkeypatch.setenv("SPENDSENSE_OPSTORE", str(tmp_path / "opstore.sqlite"))
    report = run_benchmark(1000, seed=3, cache_dir=tmp_path / "cache", out_dir=tmp_path / "bench",
                           single_user_samples=5, echo=lambda *a, **k: None)
    assert [s["stage"] for s in report["stages"]] == list(STAGES)
    assert all(s["seconds"] > 0 and s["cpu_seconds"] > 0 and s["peak_rss_mb"] > 0 for s in report["stages"])
    assert {t["measure"] for t in report["targets"]} >= {"signals stage / floor scan", "single-user recompute p95"}
    assert report["floor_scan_seconds"] > 0 and report["signals_over_floor"] > 0
    assert report["single_user_p95_ms"] >= report["single_user_p50_ms"] > 0
    assert report["machine"]["cores"] >= 1
    saved = json.loads((tmp_path / "bench" / report["path"].split("/")[-1]).read_text())
    assert saved["n_users"] == 1000


@pytest.mark.slow
def test_a_kept_work_dir_resumes_after_the_last_finished_stage(tmp_path, monkeypatch):
    monkeypatch.setenv("SPENDSENSE_OPSTORE", str(tmp_path / "opstore.sqlite"))
    work = tmp_path / "work"
    args = {"seed": 3, "cache_dir": tmp_path / "cache", "out_dir": tmp_path / "bench", "single_user_samples": 5,
            "echo": lambda *a, **k: None, "work_dir": work}
    first = run_benchmark(300, **args)
    assert first["stages_from_earlier_runs"] == [] and (work / "warehouse.duckdb").exists()
    lines = (work / KEPT_STAGES).read_text().splitlines()
    assert [json.loads(line)["stage"] for line in lines] == [*STAGES, "probes", "api"]  # generated: not cached
    # as if the run had stopped in evaluate: the stages before it are kept, evaluate onwards run again
    cut = [json.loads(line)["stage"] for line in lines].index("evaluate")
    (work / KEPT_STAGES).write_text("".join(line + "\n" for line in lines[:cut]))
    second = run_benchmark(300, **args)
    assert second["stages_from_earlier_runs"] == sorted(STAGES[:STAGES.index("evaluate")])
    before = {s["stage"]: s for s in first["stages"]}
    after = {s["stage"]: s for s in second["stages"]}
    assert all(after[s] == before[s] for s in STAGES[:STAGES.index("evaluate")])
    assert after["evaluate"]["finished_at"] >= before["evaluate"]["finished_at"]
    assert after["evaluate"]["trace_export_bytes"] == before["evaluate"]["trace_export_bytes"]
    assert second["single_user_p95_ms"] > 0


def test_a_kept_work_dir_refuses_another_benchmark_and_a_foreign_folder(tmp_path):
    quiet = {"cache_dir": tmp_path / "cache", "out_dir": tmp_path / "bench", "echo": lambda *a, **k: None}
    foreign = tmp_path / "foreign"
    foreign.mkdir()
    (foreign / "notes.txt").write_text("mine")
    with pytest.raises(WorkDirError, match="not empty"):
        run_benchmark(10, work_dir=foreign, **quiet)
    kept = tmp_path / "kept"
    kept.mkdir()
    (kept / "bench.json").write_text(json.dumps({"n_users": 20, "seed": 42, "as_of": "2026-10-31",
                                                 "dataset_dir": str(tmp_path / "cache" / "seed42_n20_2026-10-31"),
                                                 "engine": "duckdb"}))
    with pytest.raises(WorkDirError, match=r"n_users 20 \(asked 10\)"):
        run_benchmark(10, work_dir=kept, **quiet)
    assert (foreign / "notes.txt").read_text() == "mine" and sorted(p.name for p in kept.iterdir()) == ["bench.json"]
