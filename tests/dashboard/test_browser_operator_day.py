"""The operator's day in headless Chromium: the token login page, deep links, the trace summary, consent
confirmation, the export download, and kernels that end when pages close (issue 15, items 3-6).

Its own `spendsense dashboard` (admin, a preheated kernel, idle kernels without a page culled after 20 s)
over the fixture run; kernels are counted as the server's ipykernel child processes.
"""

from __future__ import annotations

import json
import re
import time
from pathlib import Path

import dashboard_server
import pytest
from test_browser import (
    CHROMIUM,
    CHROMIUM_ARGS,
    DOCS_IMG,
    LOAD_TIMEOUT_MS,
    SCREENSHOTS,
    STEP_TIMEOUT_MS,
    _store,
)

TOKEN = "opday-token-8d2e71-Kq4Zr7wLp3Xn"
CULL_IDLE = 20  # seconds
PAGES = 10

pytestmark = [
    pytest.mark.browser,
    pytest.mark.skipif(not Path(CHROMIUM).exists(), reason=f"{CHROMIUM} is absent (apt-get install chromium)"),
]


@pytest.fixture(scope="module")
def server(tmp_path_factory):
    with dashboard_server.serve(tmp_path_factory.mktemp("opday"), TOKEN, "--role", "admin", "--operator", "day",
                                "--cull-idle", str(CULL_IDLE), "--preheat", "1") as running:
        _until(lambda: "is filled with" in running["log"].read_text(errors="replace"), 180, "preheated kernel")
        yield running


@pytest.fixture(scope="module")
def browser():
    sync_api = pytest.importorskip("playwright.sync_api", reason="playwright (Python) is not installed")
    with sync_api.sync_playwright() as pw:
        b = pw.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS, headless=True)
        try:
            yield b
        finally:
            b.close()


@pytest.fixture
def context(browser):
    ctx = browser.new_context(viewport={"width": 1280, "height": 900}, accept_downloads=True)
    ctx.route(re.compile(r"^(?!http://127\.0\.0\.1[:/])"), lambda route: route.abort())  # offline
    ctx.set_default_timeout(STEP_TIMEOUT_MS)
    yield ctx
    ctx.close()


def _until(predicate, seconds: float, what: str):
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        if predicate():
            return
        time.sleep(0.5)
    raise AssertionError(f"{what}: not within {seconds} s")


def _open(page, server, query: str = ""):
    page.goto(f"{server['url']}?token={TOKEN}{query}", timeout=LOAD_TIMEOUT_MS, wait_until="commit")
    page.wait_for_selector(".ss-app", timeout=LOAD_TIMEOUT_MS)


def _tab(page, title: str):
    page.locator(".lm-TabBar-tab", has_text=re.compile(f"^{re.escape(title)}$")).click()


def test_login_page_is_a_token_form_that_works(server, context):
    page = context.new_page()
    response = page.goto(server["url"], timeout=LOAD_TIMEOUT_MS)
    assert "/login" in page.url and response.status == 200
    assert page.locator(".ss-login h1").inner_text() == "SpendSense operator dashboard"
    assert "Setup a Password" not in page.content() and page.locator("input[name=new_password]").count() == 0
    page.fill("#password_input", "not-the-token-at-all-0000")
    with page.expect_response(lambda r: r.request.method == "POST") as answer:
        page.click("#login_submit")
    assert answer.value.status == 401  # refused, not a server error
    assert "Invalid credentials" in page.locator(".ss-login-error").inner_text()
    page.fill("#password_input", TOKEN)
    page.click("#login_submit")
    page.wait_for_selector(".ss-overview .ss-kpis", timeout=LOAD_TIMEOUT_MS)
    assert "/login" not in page.url


def test_deep_link_opens_that_user(server, context):
    page = context.new_page()
    _open(page, server, "&user=u002")
    page.wait_for_selector(".ss-user-title:has-text('u002 ·')", timeout=LOAD_TIMEOUT_MS)
    assert page.locator(".ss-main-tabs > .lm-TabBar .lm-mod-current").inner_text() == "Customers"
    _open(page, server, "&user=u999")
    page.wait_for_selector(".ss-notice:has-text('No customer u999 in run')")


def test_trace_summary_in_words_and_criteria_visible_at_1280(server, context):
    page = context.new_page()
    _open(page, server, "&user=u001")
    page.wait_for_selector(".ss-user-title:has-text('u001 ·')", timeout=LOAD_TIMEOUT_MS)
    for badge in page.locator(".ss-criteria .ss-badge").all():  # pass/fail visible without sideways scrolling
        box = badge.bounding_box()
        assert box is not None and box["x"] + box["width"] <= 1280
    _tab(page, "Recommendations")
    card = page.locator(".ss-rec-30-edu_util")
    card.locator(".ss-trace-summary").wait_for()
    summary = card.locator(".ss-trace-summary").inner_text()
    assert "Admitted because highest card utilization = 0.68 (>= 0.3, clears it by 0.38)." in summary
    assert "Guardrails passed: consent, eligibility, recency, tone." in summary
    assert "Filtered out for this user: 1 not eligible, e.g. offer_payday: predatory product" in summary
    text = card.inner_text()
    assert "git_dirty" not in text and "business_rules" not in text and "filtered_out" not in text
    card.locator("details.ss-trace > summary").click()
    card.locator("details.ss-trace-stages > summary").click()
    assert "Ranking and caps" in card.locator(".ss-stages").inner_text()
    card.locator("details.ss-trace > summary").click()  # folded again for the screenshot
    card.scroll_into_view_if_needed()
    SCREENSHOTS.mkdir(parents=True, exist_ok=True)
    card.screenshot(path=str(SCREENSHOTS / "trace.png"))
    DOCS_IMG.mkdir(parents=True, exist_ok=True)
    (DOCS_IMG / "trace.png").write_bytes((SCREENSHOTS / "trace.png").read_bytes())
    assert card.bounding_box()["height"] < 1500  # the card was ~7,400 px tall with the trace laid out


def test_consent_change_asks_first_and_export_downloads(server, context):
    page = context.new_page()
    _open(page, server, "&user=u002")
    page.wait_for_selector(".ss-user-title:has-text('u002 ·')", timeout=LOAD_TIMEOUT_MS)
    _tab(page, "Customer preview")
    page.locator("button.ss-export").click()
    link = page.locator(".ss-export-path a.ss-download")
    link.wait_for()
    with page.expect_download() as download:
        link.click()
    written = next(server["previews"].glob("u002_*.html"))
    assert download.value.suggested_filename == written.name
    assert Path(download.value.path()).read_bytes() == written.read_bytes()

    _tab(page, "Consent")
    before = len(_store(server["opstore"], "consent"))
    page.locator("button.ss-consent-revoke").click()
    page.locator(".ss-consent-confirm:has-text('Revoke consent for u002?')").wait_for()
    assert len(_store(server["opstore"], "consent")) == before  # nothing recorded on the first click
    page.locator("button.ss-consent-confirm-no").click()
    page.locator(".ss-consent .ss-message:has-text('Nothing recorded')").wait_for()
    assert len(_store(server["opstore"], "consent")) == before
    page.locator("button.ss-consent-revoke").click()
    page.locator("button.ss-consent-confirm-yes").click()
    page.locator(".ss-consent-status:has-text('revoked')").wait_for()
    events = _store(server["opstore"], "consent")
    assert len(events) == before + 1
    assert (events.iloc[-1]["user_id"], events.iloc[-1]["event"]) == ("u002", "revoked")


def test_kernels_end_after_pages_close_or_reload(server, context):
    count = lambda: dashboard_server.kernel_count(server["pid"])
    # pages of the tests before closed with their context (no beacon): wait until they are culled too
    _until(lambda: count() <= 1, CULL_IDLE + 90, "only the preheated kernel left")
    baseline = count()  # the preheated kernel
    pages = []
    for _ in range(PAGES):
        page = context.new_page()
        _open(page, server)
        pages.append(page)
    opened = count()
    for page in pages[:5]:  # a reload ends the old page's kernel and starts the next
        page.reload(timeout=LOAD_TIMEOUT_MS, wait_until="commit")
        page.wait_for_selector(".ss-app", timeout=LOAD_TIMEOUT_MS)
    reloaded = count()
    for page in pages:
        page.close(run_before_unload=True)  # the page's shutdown beacon runs, as when a tab is closed
    _until(lambda: count() <= baseline, 90, "kernels of closed pages ended")
    after_close = count()
    # a page that goes away without a word (a crashed browser): its kernel is culled once idle CULL_IDLE s
    page = context.new_page()
    _open(page, server)
    page.close(run_before_unload=False)
    _until(lambda: count() <= baseline, CULL_IDLE + 90, "kernel of an abandoned page culled")
    figures = {"baseline": baseline, "after_opening_10_pages": opened, "after_reloading_5": reloaded,
               "after_closing_all": after_close, "after_abandoned_page_culled": count()}
    SCREENSHOTS.mkdir(parents=True, exist_ok=True)
    (SCREENSHOTS / "kernels.json").write_text(json.dumps(figures, indent=2))
    print(f"\nkernels: {figures}")
    assert baseline == 1 and opened >= baseline + PAGES - 1 and after_close <= baseline
    log = server["log"].read_text(errors="replace")
    assert "_xsrf' argument missing" not in log and "403 POST /voila/api/shutdown" not in log
    assert "Culling 'idle' kernel" in log
