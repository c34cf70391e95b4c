"""The review queue in headless Chromium over the grown fixture run (queue_fixture: 190 items waiting, 62 users):
paging, sorting and filtering with exact counts, a bulk approval of 100 items, and two operators on one item (two
browser contexts on one server): the stale decision refused with the fresh state shown, and the other page
learning of a decision without a reload. Run with `-m browser -k queue`.
"""

from __future__ import annotations

import json
import re
import time

import dashboard_server
import pytest
import queue_fixture
from test_browser import (  # noqa: F401 - `browser` is a fixture
    DOCS_IMG,
    LOAD_TIMEOUT_MS,
    SCREENSHOTS,
    STEP_TIMEOUT_MS,
    TOKEN,
    _store,
    _tab,
    browser,
    pytestmark,
)

POLL_S = "1"


@pytest.fixture(scope="module")
def server(tmp_path_factory):
    """`spendsense dashboard` (operator role, operator named by each page's URL) over the grown run, polling 1 s."""
    with dashboard_server.serve(tmp_path_factory.mktemp("queue"), TOKEN, "--role", "operator",
                                build_run=queue_fixture.build_run,
                                env_extra={"SPENDSENSE_DASHBOARD_POLL_S": POLL_S}) as running:
        yield running


@pytest.fixture
def open_queue(browser, server):  # noqa: F811 - the imported fixture
    """Factory: a new browser context's page on the review queue as operator `name` (extra URL query optional)."""
    contexts = []

    def make(name: str, query: str = ""):
        context = browser.new_context(viewport={"width": 1500, "height": 1100})
        context.route(re.compile(r"^(?!http://127\.0\.0\.1[:/])"), lambda route: route.abort())
        contexts.append(context)
        page = context.new_page()
        page.set_default_timeout(STEP_TIMEOUT_MS)
        page.goto(f"{server['url']}?token={TOKEN}&operator={name}{query}", timeout=LOAD_TIMEOUT_MS,
                  wait_until="commit")
        page.wait_for_selector(".ss-app", timeout=LOAD_TIMEOUT_MS)
        _tab(page, "Review queue")
        page.locator(".ss-queue-showing").wait_for()
        return page

    yield make
    for context in contexts:
        context.close()


def _showing(page, text: str):
    page.locator(f".ss-queue-showing:has-text('{text}')").wait_for()


def _select(page, css: str, label: str):
    page.select_option(f"{css} select", label=label)


def _row(page, recommendation_id: str):
    return page.locator(f".ss-q-id-{recommendation_id}")


def _first_row_id(page) -> str:
    return page.locator(".ss-q-row .ss-q-id").first.inner_text()


def test_queue_pages_sorts_and_filters_with_exact_counts(open_queue):
    page = open_queue("alice")
    _showing(page, f"showing 1-50 of {queue_fixture.WAITING}")
    assert "62 user(s)" in page.locator(".ss-queue-showing").inner_text()
    expect = pytest.importorskip("playwright.sync_api").expect
    expect(page.locator(".ss-q-row")).to_have_count(50, timeout=STEP_TIMEOUT_MS)
    expect(page.locator(".ss-queue-pick option")).to_have_count(62, timeout=STEP_TIMEOUT_MS)  # every matching user, not only the page's
    page.locator("button.ss-page-next").click()
    _showing(page, f"showing 51-100 of {queue_fixture.WAITING}")
    page.locator("button.ss-page-prev").click()
    _showing(page, f"showing 1-50 of {queue_fixture.WAITING}")

    _select(page, ".ss-sort", "score")  # ascending: the two 0.25 offers first, by id
    ids = page.locator(".ss-q-row .ss-q-id")  # expect retries: the rows redraw one by one
    expect(ids.nth(0)).to_have_text("r_u100_30_offer_bt", timeout=STEP_TIMEOUT_MS)
    expect(ids.nth(1)).to_have_text("r_u140_30_offer_bt", timeout=STEP_TIMEOUT_MS)
    page.locator(".ss-sort-desc").click()
    page.locator(".ss-q-row .ss-q-id:has-text('r_u001_30_edu_util')").first.wait_for()
    assert _first_row_id(page) == "r_u001_30_edu_util"  # 0.91, the highest score
    row = _row(page, "r_u001_30_edu_util")
    assert "Visa ending in ••23" in row.inner_text() and "4523" not in row.inner_text()  # rationale, masked
    assert "also in 180 days: pending" in row.inner_text()

    _select(page, ".ss-filter-kind", "offer")
    _showing(page, f"showing 1-50 of {queue_fixture.OFFERS}")
    _select(page, ".ss-filter-window", "180 days")
    _showing(page, "showing 1-1 of 1")
    assert _first_row_id(page) == "r_u001_180_offer_bt"
    _select(page, ".ss-filter-window", "any")
    _select(page, ".ss-filter-persona", "subscription_heavy")
    _showing(page, "showing 1-31 of 31")  # u002's offer_subapp + the 30 odd-numbered added users' offers
    page.locator(".ss-filter-score-min input").fill("0.5")
    page.locator(".ss-filter-score-min input").press("Enter")
    _showing(page, "showing 1-9 of 9")  # u002's 0.55 and the odd i with 0.25 + i % 40 / 100 >= 0.5: 25, 27..39
    page.locator(".ss-header").scroll_into_view_if_needed()
    SCREENSHOTS.mkdir(parents=True, exist_ok=True)
    page.screenshot(path=str(SCREENSHOTS / "queue_filtered.png"), full_page=False)


def test_bulk_approve_of_100_items_updates_the_counts(open_queue, server):
    page = open_queue("alice")
    _select(page, ".ss-page-size", "100")
    _showing(page, f"showing 1-100 of {queue_fixture.WAITING}")
    page.locator(".ss-select-page input").check()
    page.locator("button.ss-bulk-approve:has-text('Approve selected (100)')").wait_for()
    page.locator(".ss-bulk-reason input").fill("checked against the new wording")
    started = time.perf_counter()
    page.locator("button.ss-bulk-approve").click()
    _showing(page, f"showing 1-{queue_fixture.WAITING - 100} of {queue_fixture.WAITING - 100}")
    seconds = time.perf_counter() - started
    assert "Approved 100 of 100 by alice" in page.locator(".ss-review-queue .ss-message").inner_text()
    page.locator(".ss-queue-counts:has-text('approved: 100')").wait_for()
    reviews = _store(server["opstore"], "reviews")
    approved = reviews[(reviews["action"] == "approve") & (reviews["operator"] == "alice")]
    assert len(approved) == 100 and approved["recommendation_id"].is_unique
    assert set(approved["reason"]) == {"checked against the new wording"}
    SCREENSHOTS.mkdir(parents=True, exist_ok=True)
    (SCREENSHOTS / "queue_bulk.json").write_text(json.dumps({"bulk_approve_100_s": round(seconds, 2)}))
    print(f"\nbulk approve of 100: {seconds:.2f} s (click to counts updated)")


def test_two_operators_stale_decision_refused_and_others_learn_without_reload(open_queue, server):
    alice = open_queue("alice")  # polls every second
    bob = open_queue("bob", "&poll=0")  # never polls: keeps showing what it loaded
    for page in (alice, bob):
        _select(page, ".ss-filter-status", "any status")
        _select(page, ".ss-filter-item", "offer_subapp")
        _showing(page, "showing 1-1 of 1")
    rid = "r_u002_30_offer_subapp"
    alice_row, bob_row = _row(alice, rid), _row(bob, rid)
    bob_status = bob_row.locator(".ss-q-status").inner_text()

    alice_row.locator(".ss-q-reason input").fill("partner changed its terms")
    alice_row.locator("button.ss-q-flag").click()
    alice_row.locator(".ss-status-flagged").wait_for()
    assert bob_row.locator(".ss-q-status").inner_text() == bob_status  # bob's page still shows the old state

    bob_row.locator(".ss-q-reason input").fill("wording")
    bob_row.locator("button.ss-q-flag").click()
    message = bob.locator(".ss-review-queue .ss-message:has-text('the queue now shows it')")
    message.wait_for()
    assert re.search(r"alice flagged this at \d\d:\d\d UTC; the queue now shows it", message.inner_text())
    bob_row.locator(".ss-status-flagged").wait_for()  # the fresh state, shown at once
    assert "alice" in bob_row.inner_text() and "partner changed its terms" in bob_row.inner_text()
    bob.locator(".ss-header").scroll_into_view_if_needed()
    bob.screenshot(path=str(SCREENSHOTS / "queue_stale.png"), clip={"x": 0, "y": 0, "width": 1500, "height": 560})
    (DOCS_IMG / "queue_stale.png").write_bytes((SCREENSHOTS / "queue_stale.png").read_bytes())
    reviews = _store(server["opstore"], "reviews")
    mine = reviews[reviews["recommendation_id"] == rid]
    assert mine["operator"].iloc[-1] == "alice" and "bob" not in set(mine["operator"])  # refused: nothing written

    bob_row.locator("button.ss-q-approve").click()  # made against the fresh state: accepted
    bob_row.locator(".ss-status-approved").wait_for()
    started = time.perf_counter()
    alice_row.locator(".ss-status-approved").wait_for(timeout=10_000)  # alice's page learns of it, no reload
    learned = time.perf_counter() - started
    assert "bob" in alice_row.inner_text()
    print(f"\nthe other page showed the decision after {learned:.1f} s (poll {POLL_S} s)")


def test_queue_screenshot_for_the_docs(open_queue):
    page = open_queue("alice")
    _select(page, ".ss-filter-status", "any status")
    _select(page, ".ss-page-size", "25")
    _showing(page, f"showing 1-25 of {queue_fixture.WAITING}")
    page.locator(".ss-review-queue .ss-queue-counts").scroll_into_view_if_needed()
    page.screenshot(path=str(SCREENSHOTS / "queue.png"), full_page=False)
    DOCS_IMG.mkdir(parents=True, exist_ok=True)
    (DOCS_IMG / "queue.png").write_bytes((SCREENSHOTS / "queue.png").read_bytes())
