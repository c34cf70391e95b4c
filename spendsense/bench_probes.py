"""The benchmark's probes over a finished run: the floor scan, the single-user recompute, the dashboard's user-switch
data access, the REST API under load and the dashboard in headless Chromium."""

from __future__ import annotations

import shutil
import time
from pathlib import Path

from spendsense import serving, sql


def probes(ctx: dict) -> dict:
    """The floor scan, the single-user recompute and the dashboard's user-switch data access."""
    import numpy as np

    from spendsense.pipeline import as_date, connect
    from spendsense.recompute import single_user_latencies

    floor_sql = sql.query("bench_floor.sql").text
    with connect(ctx["warehouse"], read_only=True) as con:
        floor = []
        for _ in range(3):
            t0 = time.perf_counter()
            con.execute(floor_sql).fetchall()
            floor.append(time.perf_counter() - t0)
        users = [r[0] for r in con.execute("select distinct user_id from signals_wide order by 1").fetchall()]
        rng = np.random.default_rng(ctx["seed"])
        sample = rng.choice(users, size=min(ctx["single_user_samples"], len(users)), replace=False).tolist()
        single = single_user_latencies(con, ctx["warehouse"], ctx["opstore"], as_date(ctx["as_of"]), sample)
    switch = user_switch(ctx, sample[:50])
    return {"floor_seconds": round(min(floor), 4),
            "single_user_p50_ms": round(float(np.percentile(single, 50)), 2),
            "single_user_p95_ms": round(float(np.percentile(single, 95)), 2),
            **switch}


def api_load(ctx: dict) -> dict:
    """The API load test (spendsense.api.load) over the benchmark's run: 16 clients, consenting users only."""
    import duckdb

    from spendsense import consent, runs
    from spendsense.api.load import load_test

    root = Path(ctx["work_dir"]) / "api_runs"
    shutil.rmtree(root, ignore_errors=True)  # a resumed work folder's earlier publish (the bench's own folder)
    staged = runs.staging_dir("bench", root)
    staged.mkdir(parents=True)
    (staged / runs.WAREHOUSE).symlink_to(ctx["warehouse"])
    (staged / serving.FILE).symlink_to(serving.index_path(ctx["warehouse"]))
    runs.publish(staged, root)
    with duckdb.connect(ctx["warehouse"], read_only=True) as con:  # the run's consent copy, by the one rule
        events = con.execute("select user_id, event, occurred_at from consent_events order by occurred_at").df()
    status = consent.latest_status(events)
    users = sorted(status.loc[status["status"] == "granted", "user_id"])
    result = load_test(root, Path(ctx["opstore"]), users, seconds=ctx.get("api_seconds", 20.0))
    return {f"api_{k}": v for k, v in result.items()}


def user_switch(ctx: dict, users: list[str]) -> dict:
    """Time the dashboard's data access for a user switch (no browser): one user bundle per switch."""
    import numpy as np

    from spendsense.dashboard.access import DashboardData

    data = DashboardData(run_dir=Path(ctx["work_dir"]), role="operator", operator="bench",
                         opstore_path=Path(ctx["opstore"]))
    ms = []
    for user_id in users:  # one switch at a time, as an operator clicks
        t0 = time.perf_counter()
        data.user_bundle(user_id)
        ms.append(1000 * (time.perf_counter() - t0))
    return {"user_switch_p50_ms": round(float(np.percentile(ms, 50)), 2),
            "user_switch_p95_ms": round(float(np.percentile(ms, 95)), 2)}


def browser(ctx: dict, echo=print) -> dict:
    """First load and user switch in headless Chromium over the bench's warehouse, published as a run dir."""
    from spendsense import runs
    from spendsense.dashboard import loadtime

    run_dir = Path(ctx["work_dir"]) / "dashboard-run" / "bench"
    run_dir.mkdir(parents=True, exist_ok=True)
    index = serving.index_path(ctx["warehouse"])
    shutil.move(ctx["warehouse"], run_dir / runs.WAREHOUSE)
    shutil.move(index, run_dir / serving.FILE)
    try:
        return loadtime.measure(run_dir, Path(ctx["opstore"]), echo=echo)
    except Exception as exc:  # noqa: BLE001 - the browser figures are reported, their failure too
        return {"browser_skipped": f"{type(exc).__name__}: {exc}"[:300]}
    finally:
        shutil.move(run_dir / runs.WAREHOUSE, ctx["warehouse"])
        shutil.move(run_dir / serving.FILE, index)
