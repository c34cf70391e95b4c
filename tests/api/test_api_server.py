"""The API as `spendsense api` serves it: a real uvicorn process (two workers) on a free 127.0.0.1 port, the
printed admin token, tokens from `spendsense api token`, and the customer's curl-style session over HTTP."""

from __future__ import annotations

import os
import subprocess
import sys
import time
from pathlib import Path

import httpx
import pytest
from api_fixture import SECRET

from spendsense.api.load import free_port, stop

BIN = Path(sys.executable).parent


@pytest.fixture
def server(runs_root, opstore_path):
    """`spendsense api --port P --workers 2` until the test ends; yields (base url, printed admin token, env)."""
    port = free_port()
    env = {**os.environ, "SPENDSENSE_RUNS_DIR": str(runs_root), "SPENDSENSE_OPSTORE": str(opstore_path),
           "SPENDSENSE_API_SECRET": SECRET, "SPENDSENSE_API_RATE_LIMIT": "20/minute"}
    proc = subprocess.Popen([str(BIN / "spendsense"), "api", "--port", str(port), "--workers", "2"], env=env,
                            stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)
    base = f"http://127.0.0.1:{port}"
    try:
        lines = [proc.stdout.readline() for _ in range(3)]
        assert lines[0].startswith(f"SpendSense API at http://127.0.0.1:{port}/v1"), lines
        token = lines[2].strip()
        deadline = time.monotonic() + 180  # a loaded 2-core machine: workers load the catalog first
        while True:
            try:
                if httpx.get(f"{base}/v1/health/ready", timeout=2).status_code == 200:
                    break
            except httpx.TransportError:
                pass
            assert proc.poll() is None and time.monotonic() < deadline, "the API did not start"
            time.sleep(0.3)
        yield base, token, env
    finally:
        stop(proc)


def issued(env, *args) -> dict:
    out = subprocess.run([str(BIN / "spendsense"), "api", "token", *args], env=env, capture_output=True,
                         text=True, check=True).stdout.strip()
    return {"Authorization": f"Bearer {out}"}


def test_a_customer_session_over_http(server):
    base, admin_token, env = server
    admin = {"Authorization": f"Bearer {admin_token}"}
    operator = issued(env, "--role", "operator", "--subject", "alice")
    me = issued(env, "--role", "customer", "--user-id", "u001")
    with httpx.Client(base_url=base, timeout=10) as http:
        assert http.get("/v1/users/u001", headers=admin).json()["data"]["name"] == "Jane Doe"
        r = http.post("/v1/operator/review/r_u001_180_edu_budget", json={"action": "approve"}, headers=operator)
        assert r.status_code == 201 and r.json()["status"] == "ok"
        items = http.get("/v1/recommendations/u001", headers=me).json()["data"]["items"]
        assert [i["item_id"] for i in items] == ["edu_budget"]
        fb = http.post("/v1/feedback", json={"user_id": "u001", "recommendation_id": items[0]["recommendation_id"],
                                             "reaction": "helpful"}, headers=me)
        assert fb.status_code == 201
        assert http.post("/v1/consent", json={"user_id": "u001", "event": "revoked"}, headers=me).status_code == 201
        # the next call, whichever worker answers it, hides them
        for _ in range(4):
            r = http.get("/v1/recommendations/u001", headers=me)
            assert r.status_code == 403 and r.json()["data"]["code"] == "consent_required"
        assert "spendsense_api_requests_total" in http.get("/metrics").text


def test_rate_limit_over_http_answers_429_with_retry_after(server):
    base, _, env = server
    h = issued(env, "--role", "analyst")
    with httpx.Client(base_url=base, timeout=10) as http:
        codes = [http.get("/v1/runs/latest", headers=h) for _ in range(45)]  # 20/minute per worker, 2 workers
    limited = [r for r in codes if r.status_code == 429]
    assert limited and all(r.status_code == 200 for r in codes[:20])
    assert int(limited[0].headers["Retry-After"]) >= 1 and limited[0].json()["data"]["code"] == "rate_limited"


def test_token_command_refuses_without_a_secret(tmp_path):
    env = {k: v for k, v in os.environ.items() if k != "SPENDSENSE_API_SECRET"}
    r = subprocess.run([str(BIN / "spendsense"), "api", "token", "--role", "operator"], env=env,
                       capture_output=True, text=True, check=False)
    assert r.returncode == 2 and "SPENDSENSE_API_SECRET" in r.stderr
    r = subprocess.run([str(BIN / "spendsense"), "api", "token", "--role", "customer"],
                       env={**env, "SPENDSENSE_API_SECRET": SECRET}, capture_output=True, text=True, check=False)
    assert r.returncode == 2 and "--user-id" in r.stderr
