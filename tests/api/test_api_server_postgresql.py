"""Two uvicorn workers (`spendsense api --workers 2`) sharing an operational store on PostgreSQL, written to by
concurrent clients while a run records its deliveries: every consent change, feedback and audit row is there once."""

from __future__ import annotations

import os
import subprocess
import sys
import time
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import fixture_run
import httpx
import pandas as pd
import pytest
from api_fixture import SECRET

from spendsense import opstore, opstore_api
from spendsense.api.load import free_port, stop

BIN = Path(sys.executable).parent
CLIENTS, CALLS_EACH, PUBLISHED = 4, 10, 5_000


@pytest.fixture
def pg_server_api(runs_root, pg_url):
    """`spendsense api --workers 2` over a seeded PostgreSQL store until the test ends; yields (base url, url)."""
    fixture_run.seed_opstore(pg_url)
    port = free_port()
    env = {**os.environ, "SPENDSENSE_RUNS_DIR": str(runs_root), "SPENDSENSE_OPSTORE": pg_url,
           "SPENDSENSE_API_SECRET": SECRET, "SPENDSENSE_API_RATE_LIMIT": "1000/minute"}
    proc = subprocess.Popen([str(BIN / "spendsense"), "api", "--port", str(port), "--workers", "2"], env=env,
                            stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    base = f"http://127.0.0.1:{port}"
    try:
        deadline = time.monotonic() + 180  # a loaded 2-core machine: workers load the catalog first
        while True:
            try:
                if httpx.get(f"{base}/v1/health/ready", timeout=2).status_code == 200:
                    break
            except httpx.TransportError:
                pass
            assert proc.poll() is None and time.monotonic() < deadline, "the API did not start"
            time.sleep(0.3)
        yield base, pg_url
    finally:
        stop(proc)


def test_two_workers_and_a_publish_on_postgresql_lose_nothing(pg_server_api, token):
    base, url = pg_server_api
    admin, me = token("admin", subject="root"), token("customer", "u001")

    def client(c: int) -> list[int]:
        codes = []
        with httpx.Client(base_url=base, timeout=30) as http:
            for i in range(CALLS_EACH):
                body = {"user_id": "u002", "event": "revoked" if i % 2 else "granted", "reason": f"c{c} i{i}"}
                codes.append(http.post("/v1/consent", json=body, headers=admin).status_code)
                fb = {"user_id": "u001", "recommendation_id": "r_u001_30_edu_util", "reaction": "helpful",
                      "feedback_id": f"fb-{c:02d}-{i:04d}"}
                codes.append(http.post("/v1/feedback", json=fb, headers=me).status_code)
        return codes

    published = pd.DataFrame({"run_id": "PUB", "user_id": [f"p{i}" for i in range(PUBLISHED)], "item_id": "i1",
                              "kind": "education"})
    with ThreadPoolExecutor(CLIENTS + 1) as pool:
        calls = [pool.submit(client, c) for c in range(CLIENTS)]
        con = opstore.connect(url)
        try:
            assert opstore.record_deliveries(con, published) == PUBLISHED  # the publish, meanwhile
        finally:
            con.close()
        codes = [code for f in calls for code in f.result()]
    assert codes == [201] * (2 * CLIENTS * CALLS_EACH)

    with opstore.connect(url) as con:
        events = opstore.consent_events(con)
        api_events = events[events["source"] == "api"]
        assert len(api_events) == CLIENTS * CALLS_EACH and api_events["event_id"].is_unique
        assert events["recorded_at"].is_monotonic_increasing  # one serial history across both workers
        feedback = opstore_api.feedback(con)
        assert sorted(feedback["feedback_id"]) == sorted(f"fb-{c:02d}-{i:04d}" for c in range(CLIENTS)
                                                         for i in range(CALLS_EACH))
        assert (opstore.deliveries(con)["run_id"] == "PUB").sum() == PUBLISHED
        audit = opstore.audit_log(con)
        api_calls = audit[audit["action"] == "api.post"]
        posts = api_calls[api_calls["detail"].map(lambda d: d.get("route") in ("/v1/consent", "/v1/feedback"))]
        assert len(posts) == 2 * CLIENTS * CALLS_EACH  # every call audited once
        assert (audit["action"] == "feedback.helpful").sum() == CLIENTS * CALLS_EACH
