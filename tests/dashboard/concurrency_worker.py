"""A separate process for the concurrency test: writes reviews through DashboardData, or publishes runs."""

from __future__ import annotations

import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).parent))


def wait_for_go(sync: Path, name: str) -> None:
    """Say ready, then wait until the test says go (so every process is past its imports)."""
    (sync / f"ready-{name}").touch()
    while not (sync / "go").exists():
        time.sleep(0.01)


def write(root: str, opstore_path: str, operator: str, count: int, sync: str) -> None:
    """Record `count` flags as `operator`, re-resolving the latest run before each; log the runs seen."""
    from spendsense.dashboard.access import DashboardData

    data = DashboardData(runs_root=root, role="operator", operator=operator, opstore_path=opstore_path)
    ids = [r for u in ("u001", "u002") for r in data.recommendations(u)["recommendation_id"]]
    seen = []
    wait_for_go(Path(sync), operator)
    for j in range(count):
        data.reload()
        seen.append(data.run_dir.name)
        data.record_review(ids[j % len(ids)], "flag", f"{operator}-{j}")
        time.sleep(0.02)
    data.close()
    (Path(sync) / f"seen-{operator}").write_text("\n".join(seen))


def publish(root: str, template: str, count: int, sync: str) -> None:
    """Publish `count` copies of the template run one after another (each swaps `latest`)."""
    import fixture_run

    from spendsense import runs

    wait_for_go(Path(sync), "publisher")
    for i in range(count):
        runs.publish(fixture_run.copy_run(Path(template), Path(root), f"20261101T{i:06d}Z"), Path(root))
        time.sleep(0.05)


if __name__ == "__main__":
    mode, *args = sys.argv[1:]
    if mode == "write":
        write(args[0], args[1], args[2], int(args[3]), args[4])
    elif mode == "publish":
        publish(args[0], args[1], int(args[2]), args[3])
    else:
        raise SystemExit(f"unknown mode {mode!r}")
