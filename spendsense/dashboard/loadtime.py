"""The dashboard's speed as an operator sees it: first load and user switch, in headless Chromium (`spendsense bench`).

Starts the real `spendsense dashboard` on a free 127.0.0.1 port over a run directory, logs in through the token
page, then times (1) request to a usable page (the overview's figures drawn), each page on a fresh preheated
kernel, and (2) picking a user in the list until the Signals & personas panel shows them.
"""

from __future__ import annotations

import os
import secrets
import signal
import socket
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import numpy as np

CHROMIUM = "/usr/bin/chromium"
CHROMIUM_ARGS = ["--no-sandbox", "--disable-gpu", "--no-first-run", "--disable-background-networking",
                 "--disable-component-update", "--disable-sync"]
# the dashboard's line once a preheated kernel is built and warm (spendsense.dashboard.app.announce_ready); Voila's
# own "pool is filled" line comes when the kernel has started, seconds before its notebook has run at 100,000 users
KERNEL_READY = "spendsense: preheated dashboard kernel ready"
TIMEOUT_MS = 180_000


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def _wait(predicate, timeout: float, what: str, proc: subprocess.Popen, log: Path) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if proc.poll() is not None:
            raise RuntimeError(f"dashboard exited with {proc.returncode}: {log.read_text()[-2000:]}")
        if predicate():
            return
        time.sleep(0.25)
    raise RuntimeError(f"dashboard: {what} not within {timeout:.0f} s")


def _listening(port: int) -> bool:
    try:
        with socket.create_connection(("127.0.0.1", port), timeout=1):
            return True
    except OSError:
        return False


def _kernels_ready(log: Path) -> int:
    return log.read_text(errors="replace").count(KERNEL_READY)


def _stats(ms: list[float], name: str) -> dict:
    if not ms:
        return {}
    return {f"{name}_p50_ms": round(float(np.percentile(ms, 50)), 1),
            f"{name}_p95_ms": round(float(np.percentile(ms, 95)), 1), f"{name}_ms": [round(m, 1) for m in ms]}


def measure(run_dir: Path, opstore: Path, pages: int = 3, switches: int = 10, echo=print) -> dict:
    """First-load and user-switch times in the browser; {"browser_skipped": why} without Playwright or Chromium."""
    try:
        from playwright.sync_api import sync_playwright
    except ImportError:
        return {"browser_skipped": "playwright (Python) is not installed"}
    if not Path(CHROMIUM).exists():
        return {"browser_skipped": f"{CHROMIUM} is absent (apt-get install chromium)"}
    from spendsense import paths
    from spendsense.jupyter_env import project_jupyter_env

    token, port = secrets.token_urlsafe(24), _free_port()
    log = Path(tempfile.mkstemp(prefix="spendsense-dashboard-", suffix=".log")[1])
    env = {**os.environ, **project_jupyter_env(), "SPENDSENSE_OPSTORE": str(opstore),
           "SPENDSENSE_DASHBOARD_TOKEN": token, "PYTHONUNBUFFERED": "1"}
    with log.open("w") as fh:
        proc = subprocess.Popen([sys.executable, "-m", "spendsense", "dashboard", "--port", str(port), "--run-dir",
                                 str(run_dir), "--preheat", "1"], cwd=paths.PROJECT_ROOT, env=env, stdout=fh,
                                stderr=subprocess.STDOUT, start_new_session=True)
    url = f"http://127.0.0.1:{port}/"
    loads, picks = [], []
    try:
        _wait(lambda: _listening(port), 120, "listening", proc, log)
        _wait(lambda: _kernels_ready(log) >= 1, 180, "preheated kernel", proc, log)
        with sync_playwright() as pw:
            browser = pw.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS, headless=True)
            context = browser.new_context(viewport={"width": 1280, "height": 900})
            context.route("**/*", lambda r: r.continue_() if r.request.url.startswith(url) else r.abort())
            page = context.new_page()
            page.goto(f"{url}login", timeout=TIMEOUT_MS)
            page.fill("#password_input", token)
            page.click("#login_submit")
            page.wait_for_selector(".ss-overview .ss-kpis", timeout=TIMEOUT_MS)
            for i in range(pages):  # the login claimed one kernel, each load before this one another
                _wait(lambda need=i + 2: _kernels_ready(log) >= need, 180, "pool refill", proc, log)
                t0 = time.perf_counter()
                page.goto(url, timeout=TIMEOUT_MS, wait_until="commit")
                page.wait_for_selector(".ss-overview .ss-persona-plot .js-plotly-plot", timeout=TIMEOUT_MS)
                loads.append((time.perf_counter() - t0) * 1000)
                echo(f"    first load {loads[-1]:.0f} ms")
            page.locator(".lm-TabBar-tab", has_text="Customers").first.click()
            page.wait_for_selector(".ss-user-list select")
            users = page.eval_on_selector_all(".ss-user-list option", "os => os.map(o => o.textContent)")
            ids = [u.split()[0] for u in users][: switches + 1]
            for i, user in enumerate(ids):
                value = page.locator(".ss-user-list option", has_text=user).first.get_attribute("value")
                t0 = time.perf_counter()
                page.select_option(".ss-user-list select", value=value)
                page.wait_for_selector(f".ss-user-title:has-text('{user} ·')", timeout=TIMEOUT_MS)
                if i:  # the first pick also builds the panel; switches are the ones after it
                    picks.append((time.perf_counter() - t0) * 1000)
            browser.close()
    finally:
        if proc.poll() is None:
            os.killpg(proc.pid, signal.SIGTERM)
            try:
                proc.wait(timeout=20)
            except subprocess.TimeoutExpired:
                os.killpg(proc.pid, signal.SIGKILL)
        try:
            os.killpg(proc.pid, signal.SIGKILL)  # any kernel left in the session
        except ProcessLookupError:
            pass
        log.unlink(missing_ok=True)
    return {**_stats(loads, "browser_first_load"), **_stats(picks, "browser_user_switch")}
