"""The benchmark harness runs end to end on 1,000 users (a smoke test: no timing is asserted)."""

import json

import pytest

from spendsense.bench import STAGES, run_benchmark

pytestmark = pytest.mark.slow


def test_bench_times_every_stage_and_the_probes(tmp_path, monkeypatch):
    monkeypatch.setenv("SPENDSENSE_OPSTORE", str(tmp_path / "opstore.sqlite"))
    report = run_benchmark(1000, seed=3, cache_dir=tmp_path / "cache", out_dir=tmp_path / "bench",
                           single_user_samples=5, echo=lambda *a, **k: None)
    assert [s["stage"] for s in report["stages"]] == list(STAGES)
    assert all(s["seconds"] > 0 and s["peak_rss_mb"] > 0 for s in report["stages"])
    assert report["floor_scan_seconds"] > 0 and report["signals_over_floor"] > 0
    assert report["single_user_p95_ms"] >= report["single_user_p50_ms"] > 0
    assert report["machine"]["cores"] >= 1
    saved = json.loads((tmp_path / "bench" / report["path"].split("/")[-1]).read_text())
    assert saved["n_users"] == 1000
