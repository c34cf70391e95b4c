"""A bounded loopback load test of GET /v1/recommendations/{user_id}: a real `spendsense api` process, 16
concurrent clients (threads, one keep-alive connection each), p50/p95 latency and throughput."""

from __future__ import annotations

import os
import socket
import subprocess
import sys
import threading
import time
from pathlib import Path

import numpy as np

CLIENTS = 16
SECRET_FOR_LOAD = "load-test-" + "5f3a9c1e7b2d4068" * 3


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def start_server(runs_root: Path, opstore_path: Path, workers: int) -> tuple[subprocess.Popen, str]:
    """`spendsense api` on a free loopback port, once it answers ready; returns (process, base url)."""
    import httpx

    port = free_port()
    env = {**os.environ, "SPENDSENSE_RUNS_DIR": str(runs_root), "SPENDSENSE_OPSTORE": str(opstore_path),
           "SPENDSENSE_API_SECRET": SECRET_FOR_LOAD, "SPENDSENSE_API_RATE_LIMIT": "100000000/minute",
           "SPENDSENSE_API_IP_RATE_LIMIT": "100000000/minute"}
    proc = subprocess.Popen([sys.executable, "-m", "spendsense", "api", "--port", str(port), "--workers",
                             str(workers)], env=env, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
    base = f"http://127.0.0.1:{port}"
    deadline = time.monotonic() + 120
    while time.monotonic() < deadline:
        if proc.poll() is not None:
            raise RuntimeError(f"the API exited: {proc.stderr.read().decode()[-500:]}")
        try:
            if httpx.get(f"{base}/v1/health/ready", timeout=2).status_code == 200:
                return proc, base
        except httpx.TransportError:
            pass
        time.sleep(0.3)
    proc.kill()
    raise RuntimeError("the API did not become ready within 120 s")


def hammer(base: str, user_ids: list[str], seconds: float, clients: int = CLIENTS) -> dict:
    """`clients` threads each GET /v1/recommendations/{id} (cycling through user_ids) for `seconds`."""
    if not user_ids:
        raise ValueError("the load test needs at least one user with granted consent")
    import httpx

    from spendsense.api import auth

    headers = {"Authorization": "Bearer " + auth.issue(SECRET_FOR_LOAD, "operator", "load-test")}
    latencies: list[list[float]] = [[] for _ in range(clients)]
    statuses: list[dict[int, int]] = [{} for _ in range(clients)]
    sessions = [httpx.Client(base_url=base, headers=headers, timeout=30) for _ in range(clients)]
    stop = time.perf_counter() + seconds  # after the clients exist: their set-up is not timed

    def client(i: int) -> None:
        with sessions[i] as http:
            n = i
            while time.perf_counter() < stop:
                t0 = time.perf_counter()
                r = http.get(f"/v1/recommendations/{user_ids[n % len(user_ids)]}")
                latencies[i].append(time.perf_counter() - t0)
                statuses[i][r.status_code] = statuses[i].get(r.status_code, 0) + 1
                n += clients

    started = stop - seconds
    threads = [threading.Thread(target=client, args=(i,)) for i in range(clients)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    elapsed = time.perf_counter() - started
    if not any(latencies):
        raise RuntimeError("the load test's clients made no request (see the errors above)")
    ms = np.concatenate([np.asarray(x) for x in latencies]) * 1000
    codes: dict[int, int] = {}
    for s in statuses:
        for k, v in s.items():
            codes[k] = codes.get(k, 0) + v
    return {"clients": clients, "requests": len(ms), "seconds": round(elapsed, 2),
            "requests_per_second": round(len(ms) / elapsed, 1),
            "p50_ms": round(float(np.percentile(ms, 50)), 2), "p95_ms": round(float(np.percentile(ms, 95)), 2),
            "statuses": {str(k): v for k, v in sorted(codes.items())}}


def load_test(runs_root: Path, opstore_path: Path, user_ids: list[str], seconds: float = 20.0,
              workers: int = 2) -> dict:
    """Start the API over a published run, warm it, hammer it; the figures and the server's worker count."""
    proc, base = start_server(runs_root, opstore_path, workers)
    try:
        hammer(base, user_ids, 2.0)  # warm-up: connections opened, caches filled
        return {"workers": workers, **hammer(base, user_ids, seconds)}
    finally:
        stop(proc)


def stop(proc: subprocess.Popen) -> None:
    """Stop a server process: SIGTERM (uvicorn shuts its workers down), SIGKILL after 15 s."""
    proc.terminate()
    try:
        proc.wait(timeout=15)
    except subprocess.TimeoutExpired:
        proc.kill()
        proc.wait()
