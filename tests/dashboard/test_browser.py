"""End to end in headless Chromium: `spendsense dashboard` (Voila) over the fixture run, driven by Playwright.

Debian's chromium is launched by path (no browser download). The server runs as a subprocess with a token;
each step checks the operational store. The user-switch time is measured and written to
reports/screenshots/user_switch.json (reported, not asserted).
"""

from __future__ import annotations

import json
import re
import shutil
import statistics
import time
from pathlib import Path

import dashboard_server
import fixture_run
import pytest

from spendsense import opstore, paths

CHROMIUM = "/usr/bin/chromium"
CHROMIUM_ARGS = ["--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
                 "--disable-background-networking", "--disable-component-update", "--disable-sync"]
TOKEN = "e2e-token-4f1c9a-7Qx2Lm9pRz5w"
OPERATOR = "e2e-tester"
LOAD_TIMEOUT_MS = 180_000
STEP_TIMEOUT_MS = 30_000
SCREENSHOTS = paths.REPORTS_DIR / "screenshots"
DOCS_IMG = paths.PROJECT_ROOT / "docs" / "img"

pytestmark = [
    pytest.mark.browser,
    pytest.mark.skipif(not Path(CHROMIUM).exists(),
                       reason=f"{CHROMIUM} is absent: install Debian's chromium (apt-get install chromium); "
                              ".ci/run does this"),
]


@pytest.fixture(scope="module")
def server(tmp_path_factory):
    """`spendsense dashboard --role admin` on a free port over a fresh fixture run and opstore."""
    with dashboard_server.serve(tmp_path_factory.mktemp("e2e"), TOKEN, "--role", "admin",
                                "--operator", OPERATOR) as running:
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
def page(browser):
    context = browser.new_context(viewport={"width": 1500, "height": 1100})
    context.route(re.compile(r"^(?!http://127\.0\.0\.1[:/])"), lambda route: route.abort())  # offline
    page = context.new_page()
    page.dialogs = []

    def on_dialog(dialog):  # an alert() would mean injected markup ran
        page.dialogs.append(dialog.message)
        dialog.dismiss()

    page.on("dialog", on_dialog)
    page.set_default_timeout(STEP_TIMEOUT_MS)
    yield page
    context.close()


def _store(path: Path, what: str):
    con = opstore.connect(path)
    try:
        return {"reviews": opstore.reviews, "consent": opstore.consent_events, "audit": opstore.audit_log}[what](con)
    finally:
        con.close()


def _open(page, server, query: str = ""):
    page.goto(f"{server['url']}?token={TOKEN}{query}", timeout=LOAD_TIMEOUT_MS, wait_until="commit")
    page.wait_for_selector(".ss-app", timeout=LOAD_TIMEOUT_MS)
    assert "token" not in page.url and TOKEN not in page.url  # redirected to the same URL without it


def _tab(page, title: str):
    page.locator(".lm-TabBar-tab", has_text=re.compile(f"^{re.escape(title)}$")).click()


def _pick_user(page, user_id: str):
    value = page.locator(".ss-user-list option", has_text=re.compile(f"^{user_id}\\b")).first.get_attribute("value")
    page.select_option(".ss-user-list select", value=value)
    page.wait_for_selector(f".ss-user-title:has-text('{user_id} ·')")


def _card(page, window: int, item: str):
    return page.locator(f".ss-rec-{window}-{item}")


def _status(page, window: int, item: str, status: str):
    _card(page, window, item).locator(f".ss-status-{status}").wait_for()


def test_token_is_required(server, page):
    response = page.goto(server["url"], timeout=LOAD_TIMEOUT_MS, wait_until="domcontentloaded")
    assert "/login" in page.url or (response is not None and response.status in (401, 403))
    page.goto(f"{server['url']}?token=wrong-token", timeout=LOAD_TIMEOUT_MS, wait_until="domcontentloaded")
    assert "/login" in page.url and "wrong-token" not in page.url
    assert page.locator(".ss-app").count() == 0


def test_login_form_leaves_no_token_in_the_url(server, page):
    page.goto(f"{server['url']}?role=analyst", timeout=LOAD_TIMEOUT_MS, wait_until="domcontentloaded")
    page.locator("#password_input").fill(TOKEN)
    page.locator("#login_submit").click()
    page.wait_for_selector(".ss-overview .ss-kpis", timeout=LOAD_TIMEOUT_MS)
    assert page.url == f"{server['url']}?role=analyst"
    assert TOKEN not in page.content()


def test_operator_workflow_end_to_end(server, page):
    _open(page, server)
    overview = page.locator(".ss-overview").inner_text()
    assert "high_utilization" in overview and "review queue (pending + flagged)" in overview
    page.locator(".ss-persona-plot .js-plotly-plot").wait_for()

    # pick a user: signals side by side, personas with criteria, evidence, timeline
    _tab(page, "Customers")
    page.wait_for_selector(".ss-user-list select")
    _pick_user(page, "u001")
    signals = page.locator(".ss-signals").inner_text()
    assert re.search(r"max_utilization\s+68\.0%\s+68\.0%", signals)
    personas = page.locator(".ss-personas").inner_text()
    assert "High Utilization" in personas and "highest card utilization ≥ 50.0%" in personas
    evidence = page.locator(".ss-evidence-panel")
    evidence.locator("details.ss-stream").first.wait_for()
    for details in evidence.locator("details.ss-stream").all():
        details.locator("summary").click()
    assert fixture_run.XSS_MERCHANT in evidence.inner_text()  # markup shows as text
    assert page.locator(".ss-evidence-panel img").count() == 0
    page.locator(".ss-timeline .js-plotly-plot").wait_for()

    # user-switch time, measured in the browser
    switches = []
    for user in ("u002", "u001") * 4:
        t0 = time.perf_counter()
        _pick_user(page, user)
        switches.append(time.perf_counter() - t0)
    SCREENSHOTS.mkdir(parents=True, exist_ok=True)
    (SCREENSHOTS / "user_switch.json").write_text(json.dumps({
        "user_switch_ms": [round(s * 1000, 1) for s in switches],
        "median_ms": round(statistics.median(switches) * 1000, 1), "max_ms": round(max(switches) * 1000, 1),
        "note": "select a user in the list until the signals panel shows them (fixture run, 3 users)"}, indent=2))
    print(f"\nuser switch: median {statistics.median(switches) * 1000:.0f} ms, max {max(switches) * 1000:.0f} ms")
    page.locator(".ss-header").scroll_into_view_if_needed()  # Voila scrolls an inner panel, not the window
    page.screenshot(path=str(SCREENSHOTS / "dashboard.png"), full_page=False)
    DOCS_IMG.mkdir(parents=True, exist_ok=True)
    shutil.copyfile(SCREENSHOTS / "dashboard.png", DOCS_IMG / "dashboard.png")

    # recommendations with rationale, disclosure and trace; the XSS rationale renders as text
    _tab(page, "Recommendations")
    _card(page, 30, "edu_util").wait_for()
    assert page.locator(".ss-rec-card").count() == 6
    autopay = _card(page, 30, "edu_autopay")
    assert f"Because {fixture_run.XSS} you pay" in autopay.inner_text()
    assert fixture_run.DISCLOSURE in autopay.inner_text()
    util = _card(page, 30, "edu_util")
    assert "Admitted because highest card utilization" in util.locator(".ss-trace-summary").inner_text()
    util.locator("details.ss-trace > summary").click()
    util.locator("details.ss-trace-stages > summary").click()
    util.locator("details.ss-removed > summary").first.click()
    trace = util.locator("details.ss-trace").inner_text()
    util.scroll_into_view_if_needed()
    assert "Ranking and caps" in trace and "offer_payday" in trace and f"predatory product {fixture_run.XSS}" in trace
    page.screenshot(path=str(SCREENSHOTS / "dashboard_recommendations.png"), full_page=False)

    # approve one
    util.locator("button.ss-approve").click()
    _status(page, 30, "edu_util", "approved")
    reviews = _store(server["opstore"], "reviews")
    last = reviews.iloc[-1]
    assert (last["recommendation_id"], last["action"], last["operator"], last["role"]) == (
        "r_u001_30_edu_util", "approve", OPERATOR, "admin")

    # flag one, with a reason
    autopay.locator(".ss-reason input").fill("wording needs a second look")
    autopay.locator("button.ss-flag").click()
    _status(page, 30, "edu_autopay", "flagged")
    last = _store(server["opstore"], "reviews").iloc[-1]
    assert (last["recommendation_id"], last["action"], last["reason"]) == (
        "r_u001_30_edu_autopay", "flag", "wording needs a second look")

    # override one with an eligible replacement
    budget = _card(page, 180, "edu_budget")
    budget.locator(".ss-reason input").fill("autopay matters more now")
    budget.locator(".ss-replacement select").select_option(value=budget.locator(
        ".ss-replacement option", has_text="edu_autopay").get_attribute("value"))
    budget.locator("button.ss-override").click()
    _status(page, 180, "edu_budget", "overridden")
    last = _store(server["opstore"], "reviews").iloc[-1]
    assert (last["recommendation_id"], last["action"], last["replacement_item_id"]) == (
        "r_u001_180_edu_budget", "override", "edu_autopay")

    # approve the offer in both windows: the preview shows it once
    for window in (30, 180):
        _card(page, window, "offer_bt").locator("button.ss-approve").click()
        _status(page, window, "offer_bt", "approved")
    _tab(page, "Customer preview")
    page.locator(".ss-preview .ss-item-offer_bt").wait_for()
    assert page.locator(".ss-preview .ss-item-offer_bt").count() == 1
    assert fixture_run.DISCLOSURE in page.locator(".ss-preview").inner_text()
    page.locator("button.ss-export").click()
    page.locator(".ss-export-path a.ss-download").wait_for()
    assert len(list(server["previews"].glob("u001_*.html"))) == 1

    # revoke consent: recorded, audited, and the customer sees nothing
    _tab(page, "Consent")
    page.locator(".ss-consent-note input").fill("customer asked by phone")
    page.locator("button.ss-consent-revoke").click()
    page.locator("button.ss-consent-confirm-yes").click()  # the confirmation step
    page.locator(".ss-consent-status:has-text('revoked')").wait_for()
    events = _store(server["opstore"], "consent")
    last = events.iloc[-1]
    assert (last["user_id"], last["event"], last["source"], last["actor"]) == ("u001", "revoked", "dashboard",
                                                                              OPERATOR)
    audit = _store(server["opstore"], "audit")
    assert audit[audit["action"] == "consent.revoked"].iloc[-1]["target"] == "u001"
    _tab(page, "Customer preview")
    page.locator(".ss-preview:has-text('Consent revoked')").wait_for()
    assert page.locator(".ss-preview .ss-item").count() == 0

    # the review queue: u001 (consent revoked) and u003 left it; u002's 4 items wait; our decisions are listed
    _tab(page, "Review queue")
    page.locator(".ss-queue-counts:has-text('pending: 4')").wait_for()
    page.locator(".ss-review-history:has-text('autopay matters more now')").wait_for()
    assert "r_u001_180_edu_budget" in page.locator(".ss-review-history").inner_text()
    assert page.dialogs == []  # no injected script ever ran
    assert "Traceback" not in page.content()


def test_query_parameter_can_only_narrow_the_role(server, page):
    _open(page, server, "&role=analyst")
    page.locator(".ss-overview .ss-kpis").wait_for()
    assert page.locator(".lm-TabBar-tab", has_text=re.compile("^Customers$")).count() == 0
    assert "aggregates only" in page.locator(".ss-role-note").inner_text()
    assert "role analyst" in page.locator(".ss-header").inner_text()


def test_server_log_never_shows_the_token(server):
    text = server["log"].read_text()
    assert "SpendSense dashboard (admin)" in text and "[secret]" in text  # the log is this server's, redacted
    assert TOKEN not in text
